"""hftpy's exceptions: one base class, with subclasses that also derive from the builtin a
caller would naturally catch (ValueError, TimeoutError, ConnectionError)."""

from __future__ import annotations

from typing import Any


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
    not fit the instrument's scale, an unregistered symbol)."""
