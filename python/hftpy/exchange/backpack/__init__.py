"""Backpack: Ed25519-signed REST orders and signed private streams."""

from hftpy.exchange.backpack.rest import BackpackRestApi
from hftpy.exchange.backpack.ws_api import BackpackWsApi

__all__ = ["BackpackRestApi", "BackpackWsApi"]
