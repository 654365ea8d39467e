from __future__ import annotations

import pytest

from hftpy.common import CurrencyPair, Exchange, Side, venue_symbol
from hftpy.errors import ConfigError


@pytest.mark.parametrize(
    ("pair", "exchange", "symbol"),
    [
        (CurrencyPair.BTC_USD, Exchange.KRAKEN, "BTC/USD"),
        (CurrencyPair.BTC_USDT, Exchange.BINANCE, "BTCUSDT"),
        (CurrencyPair.SOL_USDC, Exchange.BACKPACK, "SOL_USDC"),
        (CurrencyPair.BTC_KRW, Exchange.UPBIT, "KRW-BTC"),
    ],
)
def test_symbol_spelling_per_venue(pair: CurrencyPair, exchange: Exchange, symbol: str) -> None:
    assert pair.symbol(exchange) == symbol
    assert CurrencyPair.from_symbol(exchange, symbol) == pair


def test_pairs_are_values() -> None:
    assert CurrencyPair.parse("btc/usd") == CurrencyPair.BTC_USD
    assert hash(CurrencyPair("BTC", "USD")) == hash(CurrencyPair.BTC_USD)
    assert str(CurrencyPair.ETH_USD) == "ETH/USD"
    with pytest.raises(AttributeError):
        CurrencyPair.BTC_USD.base = "ETH"


def test_bad_inputs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown exchange"):
        Exchange.parse("nasdaq")
    with pytest.raises(ConfigError):
        CurrencyPair.parse("BTCUSD")
    with pytest.raises(ConfigError):
        venue_symbol(Exchange.KRAKEN, "")
    assert Exchange.parse("KRAKEN") is Exchange.KRAKEN
    assert Side("buy") is Side.BUY
