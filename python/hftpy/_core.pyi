"""Stub for the Rust extension `hftpy._core` (rust/py/)."""

from typing import final

__all__ = [
    "KrakenSigner",
    "__version__",
    "format_fixed",
    "hmac_sha256_hex",
    "mono_ns",
    "parse_fixed",
    "parse_natural",
    "wall_ns",
]

__version__: str

def wall_ns() -> int:
    """Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME)."""

def mono_ns() -> int:
    """Monotonic nanoseconds (CLOCK_MONOTONIC, the clock of `time.monotonic_ns()`)."""

def parse_fixed(text: str | bytes, scale: int) -> int:
    """Decimal text as an integer mantissa at `scale`; raises `hftpy.errors.DecimalError`
    when digits would be lost or the value overflows 64 bits."""

def parse_natural(text: str | bytes) -> tuple[int, int]:
    """Decimal text at its own scale: `(mantissa, scale)`."""

def format_fixed(mantissa: int, scale: int) -> str:
    """Plain decimal text with exactly `scale` fraction digits."""

def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message`, lower-case hex."""

@final
class KrakenSigner:
    """Kraken REST `API-Sign` signer holding the decoded secret; prints as `***`."""

    def __new__(cls, secret: str) -> KrakenSigner: ...
    def sign(self, uri_path: str, nonce: str, body: bytes) -> str:
        """HMAC-SHA512(secret, uri_path + SHA256(nonce + body)), base64."""
