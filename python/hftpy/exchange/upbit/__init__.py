"""Upbit: REST orders with JWT + query_hash, private streams, and python-upbit's
`UpbitWebSocket` (seed 004)."""

from hftpy.exchange.upbit.rest import UpbitRestApi
from hftpy.exchange.upbit.websocket import UpbitWebSocket
from hftpy.exchange.upbit.ws_api import UpbitWsApi

__all__ = ["UpbitRestApi", "UpbitWebSocket", "UpbitWsApi"]
