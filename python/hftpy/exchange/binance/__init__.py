"""Binance spot."""
