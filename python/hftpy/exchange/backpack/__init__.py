"""Backpack."""
