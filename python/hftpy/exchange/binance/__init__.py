"""Binance spot: REST (time, exchange info, signed calls), the WS API trading client, and
the market streams."""

from hftpy.exchange.binance.rest import BinanceRestApi
from hftpy.exchange.binance.ws_api import BinanceWsApi

__all__ = ["BinanceRestApi", "BinanceWsApi"]
