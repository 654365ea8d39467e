"""Conformance: recorded client frames for each documented request shape, replayed against the
simulator byte for byte (issue 11).

The cases live in `conformance/<venue>.json`: each is a short script of steps on one
connection (or REST call), every step the exact text a client sends (numbers as strings and as
numbers, every request-id form the venue documents: integers, strings, UUIDs, none) and what the
venue answers. The frames are kept as text, not re-encoded from Python objects, so `0.00010`,
`1e-4`-free decimals, big integers and key order reach the simulator exactly as recorded.

Placeholders are filled in by this runner, never by the simulator's own code: `$TOKEN` (a
Kraken WS token fetched over signed REST), `$API_KEY`, `$TIMESTAMP`, `$SIGNATURE` (Binance HMAC
over the request's own parameter text), `$NAME` for a value captured from an earlier reply.
Backpack and Upbit REST steps are signed here too (Ed25519 signing string, HS512 JWT with the
query hash), written from reference/backpack_upbit.md.

Expected replies are partial: every key given must match; `"$str"`, `"$int"`, `"$num"`
(a JSON number), `"$any"` match any value of that kind, `"$absent"` requires the key to be
missing. A WS step reads frames until one has the step's `match` keys (pushes such as status,
heartbeat or market data in between are skipped).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import ClientConnection, connect

from hftpy.sim import Simulator

from .helpers import get_token

CASES_DIR = Path(__file__).parent / "conformance"
VENUES = ("kraken", "binance", "backpack", "upbit")
READ_TIMEOUT_S = 5.0
# sim.env names of each endpoint a case can name
ENDPOINTS = {
    "kraken_ws": "HFTPY_KRAKEN_WS_URL",
    "kraken_ws_auth": "HFTPY_KRAKEN_WS_AUTH_URL",
    "kraken_rest": "HFTPY_KRAKEN_REST_URL",
    "binance_stream": "HFTPY_BINANCE_STREAM_URL",
    "binance_ws_api": "HFTPY_BINANCE_WS_API_URL",
    "binance_rest": "HFTPY_BINANCE_REST_URL",
    "backpack_ws": "HFTPY_BACKPACK_WS_URL",
    "backpack_rest": "HFTPY_BACKPACK_REST_URL",
    "upbit_ws": "HFTPY_UPBIT_WS_URL",
    "upbit_rest": "HFTPY_UPBIT_REST_URL",
}


def _cases() -> Iterator[Any]:
    for venue in VENUES:
        data = json.loads((CASES_DIR / f"{venue}.json").read_text())
        for case in data["cases"]:
            yield pytest.param(venue, case, id=f"{venue}: {case['name']}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free", synthetic_flow=False) as simulator:
        yield simulator


# ----- matching -----


def _matches(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Why `actual` does not match the partial `expected` (empty: it matches)."""
    if expected == "$any":
        return []
    if expected == "$str":
        return [] if isinstance(actual, str) else [f"{path}: {actual!r} is not a string"]
    if expected == "$int":
        ok = isinstance(actual, int) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: {actual!r} is not an integer"]
    if expected == "$num":
        ok = isinstance(actual, int | float) and not isinstance(actual, bool)
        return [] if ok else [f"{path}: {actual!r} is not a number"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r} is not an object"]
        problems = []
        for key, value in expected.items():
            if value == "$absent":
                if key in actual:
                    problems.append(f"{path}.{key}: present ({actual[key]!r}), expected absent")
            elif key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems += _matches(value, actual[key], f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return [f"{path}: {actual!r} is not a list of at least {len(expected)}"]
        problems = []
        for i, value in enumerate(expected):
            problems += _matches(value, actual[i], f"{path}[{i}]")
        return problems
    return [] if expected == actual else [f"{path}: {actual!r} != {expected!r}"]


_KINDS = frozenset({"$any", "$str", "$int", "$num", "$absent"})


def _lookup(message: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        message = message[int(part)] if isinstance(message, list) else message[part]
    return message


class Script:
    """One case's state: the simulator's credentials and the values captured so far."""

    def __init__(self, sim: Simulator) -> None:
        self.env = sim.env
        self.values: dict[str, str] = {}

    def fill(self, text: str) -> str:
        for name, value in sorted(self.values.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(f"${name}", value)
        return text

    def expand(self, expected: Any) -> Any:
        """`expected` with captured values filled into its strings."""
        if isinstance(expected, str):
            return self.fill(expected) if expected not in _KINDS else expected
        if isinstance(expected, dict):
            return {k: self.expand(v) for k, v in expected.items()}
        if isinstance(expected, list):
            return [self.expand(v) for v in expected]
        return expected

    def capture(self, step: dict[str, Any], reply: Any) -> None:
        for name, dotted in step.get("capture", {}).items():
            self.values[name] = str(_lookup(reply, dotted))


# ----- signing (independent of the simulator's code) -----


def _raw_params(frame: str) -> list[tuple[str, str]]:
    """The request's params as Binance signs them: each value's own text, in frame order."""
    params = json.loads(frame, parse_float=str, parse_int=str)["params"]
    return [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in params.items()]


def _binance_sign(frame: str, secret: str) -> str:
    payload = "&".join(f"{k}={v}" for k, v in sorted(_raw_params(frame)) if k != "signature")
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _binance_ed25519(frame: str, seed_b64: str) -> str:
    payload = "&".join(f"{k}={v}" for k, v in sorted(_raw_params(frame)) if k != "signature")
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64))
    return base64.b64encode(key.sign(payload.encode())).decode()


def _backpack_headers(script: Script, instruction: str, params: dict[str, Any]) -> dict[str, str]:
    """Backpack's X-Signature over `instruction=...&<sorted params>&timestamp=..&window=..`."""
    timestamp, window = str(int(time.time() * 1000)), "5000"
    items = "&".join(
        f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in sorted(params.items())
    )
    text = f"instruction={instruction}&" + (items + "&" if items else "")
    text += f"timestamp={timestamp}&window={window}"
    seed = base64.b64decode(script.env["HFTPY_BACKPACK_API_SECRET"])
    signature = Ed25519PrivateKey.from_private_bytes(seed).sign(text.encode())
    return {
        "X-API-Key": script.env["HFTPY_BACKPACK_API_KEY"],
        "X-Signature": base64.b64encode(signature).decode(),
        "X-Timestamp": timestamp,
        "X-Window": window,
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _upbit_headers(script: Script, query: str, alg: str = "HS512") -> dict[str, str]:
    """A JWT (HS512 or HS256) with access_key, nonce and, given parameters, query_hash."""
    payload: dict[str, Any] = {
        "access_key": script.env["HFTPY_UPBIT_API_KEY"],
        "nonce": str(uuid.uuid4()),
    }
    if query:
        payload["query_hash"] = hashlib.sha512(query.encode()).hexdigest()
        payload["query_hash_alg"] = "SHA512"
    head = _b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = _b64url(json.dumps(payload).encode())
    secret = script.env["HFTPY_UPBIT_API_SECRET"].encode()
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    sig = _b64url(hmac.new(secret, f"{head}.{body}".encode(), digest).digest())
    return {"Authorization": f"Bearer {head}.{body}.{sig}"}


# ----- steps -----


async def _ws_step(ws: ClientConnection, script: Script, step: dict[str, Any]) -> None:
    frame = script.fill(step.get("send") or "")
    if not frame:
        pass  # a read-only step: wait for what an earlier action makes the venue push
    elif "$SIGNATURE" in frame:  # Binance WS API: HMAC over the sorted params
        secret = script.env["HFTPY_BINANCE_API_SECRET"]
        frame = frame.replace("$SIGNATURE", _binance_sign(frame, secret))
    elif "$ED25519_SIGNATURE" in frame:
        seed = script.env["HFTPY_BINANCE_ED25519_KEY"]
        frame = frame.replace("$ED25519_SIGNATURE", _binance_ed25519(frame, seed))
    elif "$BACKPACK_SUBSCRIBE" in frame:  # [key, signature, timestamp, window], all strings
        signed = _backpack_headers(script, "subscribe", {})
        parts = [signed[h] for h in ("X-API-Key", "X-Signature", "X-Timestamp", "X-Window")]
        frame = frame.replace('"$BACKPACK_SUBSCRIBE"', json.dumps(parts))
    if frame:
        await ws.send(frame)
    for expected in script.expand(step.get("expect", [])):
        match = expected.get("$match", {})
        wanted = {k: v for k, v in expected.items() if k != "$match"}
        seen: list[Any] = []
        while True:
            raw = await _recv(ws, seen)
            message = json.loads(raw)
            items = message if isinstance(message, list) else [message]
            hit = next((m for m in items if not _matches(match, m)), None)
            if hit is None:
                seen.append(raw)
                continue
            problems = _matches(wanted, hit)
            assert not problems, f"{frame}\n-> {raw}\n" + "\n".join(problems)
            script.capture(step, hit)
            break


async def _recv(ws: ClientConnection, seen: list[Any]) -> Any:
    try:
        return await asyncio.wait_for(ws.recv(), READ_TIMEOUT_S)
    except TimeoutError:
        pytest.fail(f"no matching reply; frames seen: {seen[-5:]}")


async def _rest_step(
    http: aiohttp.ClientSession, base: str, script: Script, step: dict[str, Any], venue: str
) -> None:
    method = step["http"]
    query = script.fill(step.get("query", ""))
    body = script.fill(step["body"]) if "body" in step else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    sign = step.get("sign")
    if sign == "binance":  # the query string then the body, as sent, unsorted
        secret = script.env["HFTPY_BINANCE_API_SECRET"].encode()
        payload = query + (body or "")
        signature = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
        query = f"{query}&signature={signature}" if query else f"signature={signature}"
        headers["X-MBX-APIKEY"] = script.env["HFTPY_BINANCE_API_KEY"]
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif sign == "backpack":
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            decoded = json.loads(body, parse_float=str, parse_int=str)
            params.update(decoded if isinstance(decoded, dict) else {})
        headers |= _backpack_headers(script, step["instruction"], params)
    elif sign == "upbit":
        if body:
            decoded = json.loads(body, parse_float=str, parse_int=str)
            signed = query or urlencode(
                [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in decoded.items()]
            )
        else:
            signed = query
        headers |= _upbit_headers(script, signed, step.get("jwt_alg", "HS512"))
    url = base + step["path"] + (f"?{query}" if query else "")
    async with http.request(method, url, data=body, headers=headers) as response:
        text = await response.text()
        status = step.get("status", 200)
        assert response.status == status, f"{method} {url} {body}: {response.status} {text}"
        reply = json.loads(text) if text else None
        for name, value in step.get("headers", {}).items():
            assert name in response.headers, f"{name} missing from {dict(response.headers)}"
            problems = _matches(value, response.headers[name], name)
            assert not problems, problems
    if "expect" in step:
        problems = _matches(script.expand(step["expect"]), reply)
        assert not problems, f"{method} {url} {body}\n-> {text}\n" + "\n".join(problems)
    script.capture(step, reply)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("venue", "case"), list(_cases()))
async def test_recorded_frame(sim: Simulator, venue: str, case: dict[str, Any]) -> None:
    script = Script(sim)
    if case.get("token"):
        script.values["TOKEN"] = await get_token(sim)
    script.values["API_KEY"] = sim.env.get(f"HFTPY_{venue.upper()}_API_KEY", "")
    script.values["TIMESTAMP"] = str(int(time.time() * 1000))
    script.values["UUID"] = str(uuid.uuid4())
    base = sim.env[ENDPOINTS[case["endpoint"]]]
    try:
        if case["endpoint"].endswith("_rest"):
            async with aiohttp.ClientSession() as http:
                for step in case["steps"]:
                    await _rest_step(http, base, script, step, venue)
        else:
            async with connect(base + case.get("path", "")) as ws:
                for step in case["steps"]:
                    if "http" in step:  # a REST call in the middle of a WS script
                        async with aiohttp.ClientSession() as http:
                            rest_base = sim.env[ENDPOINTS[step["endpoint"]]]
                            await _rest_step(http, rest_base, script, step, venue)
                    else:
                        await _ws_step(ws, script, step)
    finally:
        sim.clear_faults()


def test_every_venue_has_cases_for_each_id_and_number_form() -> None:
    """The corpus covers what the issue names: numbers as strings and as numbers where the
    venue documents both, and every request-id form per venue."""
    for venue in VENUES:
        data = json.loads((CASES_DIR / f"{venue}.json").read_text())
        forms = {form for case in data["cases"] for form in case.get("covers", [])}
        missing = set(data["must_cover"]) - forms
        assert not missing, f"{venue}: no case covers {sorted(missing)}"
