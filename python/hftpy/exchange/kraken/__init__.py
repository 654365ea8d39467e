"""Kraken spot: REST (signing, token, instruments) and the WS v2 trading API."""

from hftpy.exchange.kraken.rest import KrakenRestApi
from hftpy.exchange.kraken.ws_api import KrakenWsApi

__all__ = ["KrakenRestApi", "KrakenWsApi"]
