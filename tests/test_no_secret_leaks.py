"""No secret reaches a log, an exception, a repr or a file (issue 12).

Every venue's trading, private streams and error paths run at DEBUG logging against the
simulator, through a recording tap on loopback: a TCP relay in front of every simulator
endpoint that keeps both directions' bytes (client WebSocket frames unmasked). From what
really crossed the wire the test collects every credential-bearing value: Kraken's WS token
and API-Sign, Binance's WS API and REST signatures, Backpack's X-Signature (REST and stream
subscribe), Upbit's bearer JWTs (REST and the private WS upgrade). Then it greps for them, and
for the API secrets, in everything the program showed: every log record at DEBUG (formatted,
with tracebacks), stdout/stderr, the `str`/`repr` of every API object, response, event and
exception it met, and every file written under the run's directory.

Each kind of credential must have been seen on the wire at least once, so the check cannot
pass by having nothing to look for.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import struct
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import create_exchange_api, create_exchange_ws_api
from hftpy.exchange.ws_api import WsApiBase
from hftpy.sim import Simulator

VENUE_ORDERS = {
    Exchange.KRAKEN: (CurrencyPair.BTC_USD, "0.001", "90000"),
    Exchange.BINANCE: (CurrencyPair.BTC_USDT, "0.001", "90000.00"),
    Exchange.BACKPACK: (CurrencyPair.SOL_USDC, "1", "140.00"),
    Exchange.UPBIT: (CurrencyPair.BTC_KRW, "0.001", "130000000"),
}
# An order id of the venue's form that the venue does not know.
UNKNOWN_IDS = {
    Exchange.KRAKEN: "OAAAAA-BBBBB-CCCCCC",
    Exchange.BINANCE: "999999999",
    Exchange.BACKPACK: "999999999",
    Exchange.UPBIT: "00000000-0000-4000-8000-000000000000",
}
# What the wire carries that must never be shown, by kind: (regex over the tap's text).
CREDENTIALS = {
    "kraken ws token": re.compile(rb'"token":"([A-Za-z0-9+/=]{20,})"'),
    "kraken API-Sign": re.compile(rb"(?i)\r\nAPI-Sign: ([A-Za-z0-9+/=]{40,})"),
    "binance signature": re.compile(rb'"signature":"([A-Za-z0-9+/=]{40,})"'),
    "binance REST signature": re.compile(rb"signature=([0-9a-fA-F]{64}|[A-Za-z0-9%+/=]{40,})"),
    "backpack X-Signature": re.compile(rb"(?i)\r\nX-Signature: ([A-Za-z0-9+/=]{40,})"),
    "backpack stream signature": re.compile(rb'"signature":\["[^"]+","([A-Za-z0-9+/=]{40,})"'),
    "upbit JWT": re.compile(rb"(?i)\r\nAuthorization: Bearer (eyJ[A-Za-z0-9_.-]+)"),
}


class Tap:
    """A TCP relay in front of one endpoint; keeps what each direction carried."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.client_bytes: list[bytes] = []  # per connection, client WS frames unmasked
        self.server_bytes = bytearray()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        sent = bytearray()
        self.client_bytes.append(b"")
        index = len(self.client_bytes) - 1

        async def pump(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, keep: bytearray
        ) -> None:
            try:
                while data := await src.read(65536):
                    keep += data
                    if keep is sent:
                        self.client_bytes[index] = _readable(bytes(sent))
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        for task in (
            asyncio.create_task(pump(reader, up_writer, sent)),
            asyncio.create_task(pump(up_reader, writer, self.server_bytes)),
        ):
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


def _readable(stream: bytes) -> bytes:
    """A client's byte stream with the WebSocket frames after an upgrade unmasked."""
    head, sep, rest = stream.partition(b"\r\n\r\n")
    if not sep or b"upgrade: websocket" not in head.lower():
        return stream
    out = bytearray(head + sep)
    while len(rest) >= 6:
        length = rest[1] & 0x7F
        offset = 2
        if length == 126:
            (length,) = struct.unpack(">H", rest[2:4])
            offset = 4
        elif length == 127:
            (length,) = struct.unpack(">Q", rest[2:10])
            offset = 10
        masked = rest[1] & 0x80
        mask = rest[offset : offset + 4] if masked else b"\0\0\0\0"
        offset += 4 if masked else 0
        payload = rest[offset : offset + length]
        if len(payload) < length:
            break
        out += bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) + b"\n"
        rest = rest[offset + length :]
    return bytes(out)


@pytest.fixture
async def tapped(sim: Simulator) -> AsyncIterator[tuple[dict[str, str], list[Tap]]]:
    """sim.env with every URL pointing at a tap in front of the simulator's endpoint."""
    env = dict(sim.env)
    taps: dict[tuple[str, int], Tap] = {}
    for name, value in sim.env.items():
        if not name.endswith("_URL"):
            continue
        parts = urlsplit(value)
        assert parts.hostname and parts.port
        key = (parts.hostname, parts.port)
        if key not in taps:
            taps[key] = Tap(*key)
            tap_port = await taps[key].start()
            taps[key].port = tap_port  # type: ignore[attr-defined]
        port = taps[key].port  # type: ignore[attr-defined]
        env[name] = urlunsplit(parts._replace(netloc=f"{parts.hostname}:{port}"))
    yield env, list(taps.values())
    for tap in taps.values():
        await tap.stop()


class Shown:
    """Everything the program showed: log records at DEBUG and the reprs it met."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setLevel(logging.DEBUG)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s %(args)s"))
        self.texts: list[str] = []

    def see(self, *things: Any) -> None:
        for thing in things:
            self.texts += [str(thing), repr(thing)]
            if isinstance(thing, BaseException):
                self.texts += [str(thing.args), repr(thing.__cause__), repr(thing.__context__)]

    def __enter__(self) -> Shown:
        root = logging.getLogger()
        self.level = root.level
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self.handler)
        root.setLevel(self.level)

    @property
    def records(self) -> int:
        return self.stream.getvalue().count("\n")

    def text(self) -> str:
        return self.stream.getvalue() + "\n".join(self.texts)


async def _exercise(ws_api: WsApiBase, venue: Exchange, sim: Simulator, shown: Shown) -> None:
    """Trading, private events and error paths of one venue, showing everything met."""
    pair, amount, price = VENUE_ORDERS[venue]
    events: list[Any] = []
    ws_api.on_order_update(events.append)
    ws_api.on_fill(events.append)
    placed = await ws_api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)
    assert placed.ok, placed.response
    amended = await ws_api.amend_order(
        placed.order_id, price=Decimal(price) - 1, amount=Decimal(amount), wait=True
    )
    cancelled = await ws_api.cancel_order(placed.order_id, wait=True)
    unknown = await ws_api.cancel_order(UNKNOWN_IDS[venue], symbol=pair, wait=True)  # venue error
    assert not unknown.ok
    too_big = await ws_api.place_order(
        pair, Side.BUY, Decimal(10_000_000), Decimal(price), wait=True
    )
    shown.see(ws_api, placed, amended, cancelled, unknown, too_big, *ws_api.open_orders())
    for refused in (
        ws_api.place_order(pair, "sideways", amount, price, wait=True),  # local refusals
        ws_api.cancel_order(wait=True),
    ):
        try:
            await refused
        except Exception as exc:
            shown.see(exc)
        else:
            pytest.fail("a malformed request was not refused")
    # The session is refused and comes back (re-logon / new token / new JWT).
    counted = venue in (Exchange.BACKPACK, Exchange.UPBIT)  # Kraken, Binance: revoke all
    sim.inject(venue.value, "reject_auth", **({"count": 1} if counted else {}))
    sim.inject(venue.value, "drop_connection")
    await asyncio.sleep(0.3)
    try:
        await ws_api.wait_ready(timeout=10)
    except Exception as exc:
        shown.see(exc)
    sim.clear_faults()
    await ws_api.wait_ready(timeout=10)
    again = await ws_api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)
    await ws_api.cancel_all(wait=True) if again.ok else None
    shown.see(again, *events, ws_api.latency_stats())


@pytest.mark.parametrize("venue", list(VENUE_ORDERS), ids=str)
async def test_no_secret_is_shown_anywhere(
    sim: Simulator,
    tapped: tuple[dict[str, str], list[Tap]],
    venue: Exchange,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env, taps = tapped
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # anything written relative to the cwd is checked too
    with Shown() as shown:
        rest = create_exchange_api(venue)
        ws_api = create_exchange_ws_api(venue, request_timeout=2.0)
        runner = asyncio.create_task(ws_api.start())
        try:
            await ws_api.wait_ready(timeout=10)
            await _exercise(ws_api, venue, sim, shown)
            shown.see(rest)
        finally:
            await ws_api.close()
            await asyncio.gather(runner, return_exceptions=True)
    captured = capfd.readouterr()
    files = [p.read_bytes().decode(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    everything = "\n".join([shown.text(), captured.out, captured.err, *files])
    assert shown.records > 10  # every logger ran at DEBUG and its records were captured

    wire = b"\n".join([b"\n".join(t.client_bytes) + bytes(t.server_bytes) for t in taps])
    found: dict[str, set[str]] = {}
    for kind, pattern in CREDENTIALS.items():
        values = {m.decode() for m in pattern.findall(wire)}
        if values:
            found[kind] = values
    expected_kinds = {
        Exchange.KRAKEN: {"kraken ws token", "kraken API-Sign"},
        Exchange.BINANCE: {"binance signature"},
        Exchange.BACKPACK: {"backpack X-Signature", "backpack stream signature"},
        Exchange.UPBIT: {"upbit JWT"},
    }[venue]
    assert expected_kinds <= set(found), f"the tap saw only {sorted(found)}"

    name = venue.value.upper()
    secrets = {f"{name} API secret": {env[f"HFTPY_{name}_API_SECRET"]}} | found
    if venue is Exchange.BINANCE:
        secrets["binance ed25519 key"] = {env["HFTPY_BINANCE_ED25519_KEY"]}
    for kind, values in secrets.items():
        for value in values:
            for form in {value, value[:16]}:  # whole, or cut short by a formatter
                leaked = form in everything  # not `in` inside assert: pytest would print it
                assert not leaked, f"{kind} shown ({len(form)} characters)"
    jwt_shown = "eyJhbGciOi" in everything  # no JWT at all, whatever its key
    assert not jwt_shown
