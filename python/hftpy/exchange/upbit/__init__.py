"""Upbit."""
