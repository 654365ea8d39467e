"""Backpack's private streams (reference A4) on the public WS endpoint.

`SUBSCRIBE` to `account.orderUpdate[.<sym>]`, `account.positionUpdate[.<sym>]`,
`account.rfqUpdate[.<sym>]` needs `"signature": [key, sig, ts, window]` over
`instruction=subscribe&timestamp=..&window=..`. Backpack documents no frame for a refused
signature; this one answers like its other errors:
`{"id": <id or null>, "error": {"code": 4001, "message": "..."}}`. Public streams in the same
request are subscribed by the public side once the private ones are accepted. Spot accounts
hold no positions, so `positionUpdate` stays quiet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import msgspec

from ..engine import Account, Order
from ..errors import VenueError
from ..wire import decode_json, encode_json
from .auth import BackpackAuth
from .public import BackpackConnection

__all__ = ["AUTH_ERROR_CODE", "PRIVATE_KINDS", "BackpackPrivateStreams"]

AUTH_ERROR_CODE: Final = 4001
PRIVATE_KINDS: Final = ("account.orderUpdate", "account.positionUpdate", "account.rfqUpdate")


def _is_private(name: Any) -> bool:
    return isinstance(name, str) and name.startswith("account.")


def _valid_private(name: str) -> bool:
    kind, _, _ = name.rpartition(".") if name.count(".") >= 2 else (name, "", "")
    return kind in PRIVATE_KINDS


class BackpackPrivateStreams:
    """Who is subscribed to which `account.*` stream, and the signed subscribe that admits them."""

    def __init__(self, auth: BackpackAuth) -> None:
        self.auth = auth
        self.private: dict[BackpackConnection, tuple[Account, dict[str, None]]] = {}
        #: Every private subscribe accepted: (account name, timestamp, signature).
        self.subscribe_log: list[tuple[str, str, str]] = []

    def control(self, conn: BackpackConnection, payload: bytes) -> bytes | None:
        """Handle the `account.*` streams of a (UN)SUBSCRIBE; what is left for the public side:
        the payload itself when it names no private stream, the request narrowed to its public
        streams, or None when nothing is left (or it was refused)."""
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        params = message.get("params") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(params, list):
            return payload
        private = [p for p in params if _is_private(p)]
        if not private:
            return payload
        req_id = message.get("id")
        method = message.get("method")
        public = [p for p in params if p not in private]
        if not all(_valid_private(p) for p in private):
            self._refuse(conn, req_id, 4006, "Invalid stream")
            return None
        if method == "SUBSCRIBE":
            signature = message.get("signature")
            if not isinstance(signature, list) or len(signature) != 4:
                self._refuse(conn, req_id, AUTH_ERROR_CODE, "Signature required")
                return None
            key, sig, ts, window = (str(s) for s in signature)
            try:
                account = self.auth.verify(key, sig, ts, window, "subscribe", {})
            except VenueError as exc:
                self._refuse(conn, req_id, AUTH_ERROR_CODE, exc.message)
                return None
            self.subscribe_log.append((account.name, ts, sig))
            held = self.private.get(conn)
            if held is None or held[0] is not account:
                held = self.private[conn] = (account, {})
            for name in private:
                held[1][name] = None
                conn.streams[name] = None  # so the public side's cleanup on close sees it
        elif method == "UNSUBSCRIBE":
            self.forget(conn, private)
        return encode_json({**message, "params": public}) if public else None

    @staticmethod
    def _refuse(conn: BackpackConnection, req_id: Any, code: int, message: str) -> None:
        conn.send(encode_json({"id": req_id, "error": {"code": code, "message": message}}))

    def forget(self, conn: BackpackConnection, names: list[str]) -> None:
        """Drop `names` from the connection's private streams (all of them once it closed)."""
        held = self.private.get(conn)
        if held is not None:
            for name in names:
                held[1].pop(name, None)
            if not held[1] or conn.transport is None:
                del self.private[conn]

    def publish(self, order: Order, render: Callable[[], dict[str, Any]]) -> None:
        """Send `render()` (an `orderUpdate` event's data) to every connection of the order's
        account subscribed to `account.orderUpdate` or its symbol's stream; built only when
        someone listens."""
        symbol = order.instrument.symbol
        names = ("account.orderUpdate", f"account.orderUpdate.{symbol}")
        targets = [
            (conn, name)
            for conn, (account, streams) in self.private.items()
            if account is order.account
            for name in names
            if name in streams
        ]
        if not targets:
            return
        data = render()
        for conn, name in targets:
            conn.send(encode_json({"stream": name, "data": data}))
