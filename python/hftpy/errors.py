"""hftpy's exceptions: one base class, with subclasses that also derive from the builtin a
caller would naturally catch (ValueError, TimeoutError, ConnectionError)."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AuthError",
    "BadFieldError",
    "BadNumberError",
    "ConfigError",
    "DecimalError",
    "DisconnectedError",
    "FeedError",
    "FrameTooLargeError",
    "HftpyError",
    "InstrumentError",
    "InvalidOrderError",
    "MalformedFrameError",
    "MissingFieldError",
    "NotCreatedError",
    "NumberOverflowError",
    "RateLimitError",
    "RequestError",
    "RequestTimeoutError",
    "TooPreciseError",
    "UnknownLatencyKeyError",
    "UnknownLimitError",
    "UnknownSymbolError",
    "VenueError",
]


class HftpyError(Exception):
    """Base class of every error hftpy raises."""


class ConfigError(HftpyError, ValueError):
    """Bad or missing configuration: credentials, URLs, factory arguments."""


class DecimalError(HftpyError, ValueError):
    """A number's text could not be read exactly at the required scale."""


class InvalidOrderError(HftpyError, ValueError):
    """A request was refused locally before anything was sent (bad side, precision, ...)."""


class NotCreatedError(HftpyError, LookupError):
    """`get_*` was called before the matching `create_*`."""


class UnknownLimitError(HftpyError, LookupError):
    """A `RateLimiter` was asked for a limit it does not have (a name it was not built with,
    an index past its last limit)."""


class UnknownLatencyKeyError(HftpyError, LookupError):
    """A `LatencyStats` was given a key id that its `key()` never handed out."""


class RequestError(HftpyError):
    """A request ended without a successful venue reply. `response` is the dict handed to
    callbacks (the venue's reply, or the local outcome in the venue's shape)."""

    def __init__(self, message: str, response: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.response = response


class VenueError(RequestError):
    """The venue answered with an error (`success: false`)."""


class RequestTimeoutError(RequestError, TimeoutError):
    """No reply arrived within the request timeout (`hftpy:timeout`)."""


class DisconnectedError(RequestError, ConnectionError):
    """The connection dropped, or was never up, while the request was pending
    (`hftpy:disconnected`)."""


class RateLimitError(RequestError):
    """The local rate limiter refused the request (`hftpy:rate_limited`)."""


class AuthError(HftpyError, PermissionError):
    """Authentication with the venue failed (bad key, signature, nonce or token)."""


class FrameTooLargeError(HftpyError, ConnectionError):
    """The venue sent a WebSocket frame larger than the connection's `max_frame_size`: the
    connection was dropped (close code 1009) and reconnects. Raise `max_frame_size` if the
    venue's frames really are that large."""


class FeedError(HftpyError, ValueError):
    """A market-data frame could not be decoded (bad JSON, a missing field, a number that does
    not fit the instrument's scale, an unregistered symbol). The feeds of `hftpy._core` raise
    the subclasses below, one per kind of fault."""


# -- what the Rust decoders raise (rust/py/errors.rs maps each `FeedError` variant) -----------


class MalformedFrameError(FeedError):
    """A frame or REST snapshot body that is not well-formed JSON: cut short, unbalanced, a
    value of the wrong JSON type. (A frame that is not JSON at all, such as a proxy's text
    notice, is not an error: it decodes to an `OtherEvent` of kind `unparsable`.)"""


class MissingFieldError(FeedError):
    """A message lacks a field it must carry; `field` is the venue's key (`price`, `s`, ...)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BadFieldError(FeedError):
    """A field holds a value the decoder cannot accept (an unknown side, a negative size, a
    malformed timestamp, a level that is not a price and a size); `field` is the venue's key."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BadNumberError(BadFieldError, DecimalError):
    """A price or size field is not a number the instrument's scale holds exactly: empty or not
    a number here; the subclasses say when it has too many decimals or is too large."""


class TooPreciseError(BadNumberError):
    """A price or size has more decimals than the scale its symbol was registered with (the
    scale passed to `add_instrument` is coarser than what the venue sends)."""


class NumberOverflowError(BadNumberError):
    """A price or size does not fit in a 64-bit mantissa at its symbol's scale."""


class UnknownSymbolError(FeedError, LookupError):
    """A symbol not registered on this feed, by name (a frame or `symbol_id()`) or by id (the
    book, state and snapshot methods); `symbol` is the name or the id."""

    def __init__(self, message: str, symbol: str | int | None = None) -> None:
        super().__init__(message)
        self.symbol = symbol


class InstrumentError(FeedError, ConfigError):
    """`add_instrument` refused a registration: the symbol is already registered, a scale is
    above 18, or the depth is 0."""
