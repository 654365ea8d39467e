"""The Rust core through its Python face: official vectors, exact decimals, clocks."""

from __future__ import annotations

import time

import pytest

from hftpy import _core
from hftpy.errors import ConfigError, DecimalError, HftpyError

# reference/kraken.md §5, Kraken's REST authentication guide.
KRAKEN_SECRET = (
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
)


def test_kraken_signing_reproduces_the_official_vector() -> None:
    signer = _core.KrakenSigner(KRAKEN_SECRET)
    body = b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    assert (
        signer.sign("/0/private/AddOrder", "1616492376594", body)
        == "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ"
        "=="
    )


def test_signer_never_shows_its_secret() -> None:
    signer = _core.KrakenSigner(KRAKEN_SECRET)
    assert repr(signer) == "KrakenSigner(***)"
    assert KRAKEN_SECRET not in repr(signer) + str(signer)


def test_bad_secret_is_a_config_error_without_the_value() -> None:
    with pytest.raises(ConfigError) as info:
        _core.KrakenSigner("%%% not base64 %%%")
    assert "%%%" not in str(info.value)
    assert isinstance(info.value, HftpyError)


@pytest.mark.parametrize(
    ("text", "scale", "mantissa"),
    [
        ("0.001", 8, 100_000),
        ("80000.0", 1, 800_000),
        (b"1E-8", 8, 1),
        ("66790.00000000", 1, 667_900),
        ("-0.5", 1, -5),
    ],
)
def test_parse_fixed_reads_text_exactly(text: str | bytes, scale: int, mantissa: int) -> None:
    assert _core.parse_fixed(text, scale) == mantissa


def test_parse_fixed_refuses_to_round_or_wrap() -> None:
    with pytest.raises(DecimalError, match="decimal places"):
        _core.parse_fixed("0.123456789", 8)
    with pytest.raises(DecimalError, match="64 bits"):
        _core.parse_fixed("1e30", 8)
    with pytest.raises(ValueError):  # DecimalError is also a ValueError
        _core.parse_fixed("12abc", 2)


def test_natural_scale_and_formatting_round_trip() -> None:
    assert _core.parse_natural("0.00100000") == (100_000, 8)
    assert _core.format_fixed(100_000, 8) == "0.00100000"
    assert _core.format_fixed(5660, 4) == "0.5660"


def test_clocks_are_the_python_clocks() -> None:
    wall = _core.wall_ns()
    assert abs(wall - time.time_ns()) < 50_000_000
    before = time.monotonic_ns()
    mono = _core.mono_ns()
    after = time.monotonic_ns()
    assert before <= mono <= after


def test_hmac_sha256_rfc4231() -> None:
    assert (
        _core.hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
