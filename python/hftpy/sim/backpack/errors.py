"""Backpack's refusals: a `VenueError` with Backpack's code, answered as `{"code","message"}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import VenueError
from ..wire import json_response

__all__ = ["Handler", "answering", "api_error", "error_body", "error_response"]

Handler = Callable[[web.Request], Awaitable[web.Response]]


def api_error(code: str, message: str, status: int = 400) -> VenueError:
    """A refusal with Backpack's machine code (`INVALID_CLIENT_REQUEST`) and HTTP status."""
    return VenueError(message, code=code, status=status)


def error_body(exc: VenueError) -> dict[str, object]:
    """The error object Backpack sends, alone or as one entry of a batch answer."""
    return {"code": exc.code, "message": exc.message}


def error_response(exc: VenueError) -> web.Response:
    return json_response(error_body(exc), exc.status)


def answering(handler: Handler) -> Handler:
    """The REST handler with a refusal answered as Backpack's `{"code","message"}`."""

    async def answer(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except VenueError as exc:
            return error_response(exc)

    return answer
