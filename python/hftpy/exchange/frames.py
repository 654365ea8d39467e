"""Request frames written in Rust, one call per request (`hftpy._core`).

Each venue API holds the frame writer of its connection or key: `KrakenFrames` (the session
token laid out once), `BinanceFrames` (the API key and signer: HMAC-SHA256 or Ed25519 over
the sorted `k=v&...`), `BackpackFrames` (Ed25519 over the instruction's signing string) and
`UpbitFrames` (the JWT with the query_hash of the body's params). Each reads the request's
params dict as the Python path built and validated it, in its order, and writes the frame or
body (and signature) that the Python path's msgspec encoding and signing would give, byte
for byte; `tests/test_frames.py` checks them against each other for a table of orders and
for any flat params. What a writer does not cover (a nested value, text JSON would escape,
a number that is not positive, a `str` subclass) makes it return None and the caller
encodes generically, with the same result or the same error.

The number text rules of `hftpy._core.number_text`, for the validation that turns a price
or amount into what is sent:
"""

from __future__ import annotations

#: Kraken's JSON number (msgspec's float digits, `str(Decimal)`).
STYLE_KRAKEN = 0
#: Binance's decimal text (a float's repr, plain text as given).
STYLE_BINANCE = 1
#: Positional decimal text (Backpack, Upbit): `format(Decimal, "f")`.
STYLE_FIXED = 2
