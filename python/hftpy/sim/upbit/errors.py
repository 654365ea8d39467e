"""Upbit's refusals: a `VenueError` whose `code` is Upbit's error name, sent as
`{"error": {"name", "message"}}` the same way everywhere (REST, the private WS upgrade and
WS error frames)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import VenueError
from ..wire import encode_json, json_response

__all__ = [
    "auth_error",
    "error_body",
    "error_frame",
    "error_response",
    "insufficient",
    "invalid",
    "maintenance",
    "not_found",
    "post_only",
    "request_error",
    "too_many",
    "upbit_error",
]


def upbit_error(status: int, name: str, message: str) -> VenueError:
    """A refusal with Upbit's error name (`invalid_query_payload`) and HTTP status."""
    return VenueError(message, code=name, status=status)


def error_body(exc: VenueError) -> dict[str, Any]:
    return {"error": {"name": exc.code, "message": exc.message}}


def error_frame(exc: VenueError) -> bytes:
    return encode_json(error_body(exc))


def error_response(exc: VenueError) -> web.Response:
    return json_response(error_body(exc), exc.status)


def request_error(name: str, message: str) -> VenueError:
    """A WS request refused (`WRONG_FORMAT`, `NO_TICKET`, ...), answered in a frame."""
    return upbit_error(400, name, message)


def auth_error(name: str, message: str) -> VenueError:
    return upbit_error(401, name, message)


def invalid(message: str) -> VenueError:
    return upbit_error(400, "validation_error", message)


def not_found() -> VenueError:
    return upbit_error(404, "order_not_found", "주문을 찾지 못했습니다.")


def too_many() -> VenueError:
    return upbit_error(429, "too_many_requests", "요청 수 제한을 초과했습니다.")


def post_only() -> VenueError:
    return upbit_error(400, "post_only_order_would_match", "post_only 주문이 즉시 체결됩니다.")


def insufficient(suffix: str) -> VenueError:
    return upbit_error(400, f"insufficient_funds_{suffix}", "주문가능한 금액이 부족합니다.")


def maintenance() -> VenueError:
    return upbit_error(503, "server_maintenance", "서버 점검 중입니다.")
