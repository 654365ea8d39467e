"""The one exception a simulated venue raises to refuse a request."""

from __future__ import annotations

from typing import Any

__all__ = ["VenueError"]


class VenueError(Exception):
    """A request the venue refuses, with the venue's own error as its front-end sends it.

    `message` is the venue's text (Kraken's `EGeneral:Invalid arguments`, Binance's
    `Unknown order sent.`); `code` its machine code where it has one (Binance `-2011`, Backpack
    `INVALID_CLIENT_REQUEST`, Upbit `invalid_query_payload`); `status` the HTTP status of a REST
    answer; `data` any extra fields the venue puts beside them. Distinct from the client's
    `hftpy.errors.RequestError` on purpose: the simulator shares no code with the client.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        status: int = 400,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.data = data

    def __repr__(self) -> str:
        return f"VenueError({self.message!r}, code={self.code!r}, status={self.status})"
