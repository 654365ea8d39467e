"""`hftpy demo`: the example market maker on all four venues against the embedded simulator.

`hftpy demo` runs `examples/mm_demo` (its `MMDemoService` and `config.json`, unchanged but
for `run_seconds` and `view`) through the service runner on the in-process simulator with
synthetic order flow, for `--duration` seconds (default 20). On a terminal it shows a live
table (`rich`): per venue best bid/ask, book updates/s, resyncs, orders placed / filled /
cancelled, position and PnL, order round trip p50/p99 and venue event time -> receive p50;
otherwise it prints plain lines every few seconds. It ends by itself with a summary table;
the exit code is 0 when every venue connected and traded, else 1 with the reason.

`hftpy demo --orders [--rounds N]` is the seed document's Kraken walk-through instead: a
post-only order, one below Kraken's volume minimum (which the venue rejects), a cancel,
then N validate-only order round trips.

`Dashboard`, `VenueRow` and `percentile_us` are what the example's service draws with.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import (
    close_all,
    create_exchange_api,
    create_exchange_ws_api,
    get_exchange_ws_api,
)
from hftpy.exchange.ws_api import WsApiBase

#: Where `hftpy demo` looks for the example when `--example` is not given: the working
#: directory's `examples/mm_demo`, then the source checkout's (an editable install).
EXAMPLE = Path("examples") / "mm_demo"


def percentile_us(samples_ns: Iterable[int], q: float) -> float | None:
    """The `q` quantile (0..1, nearest rank) of ns samples, in µs; None without samples."""
    ordered = sorted(samples_ns)
    if not ordered:
        return None
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[rank] / 1000


@dataclass(frozen=True, slots=True)
class VenueRow:
    """One venue's line of the dashboard: what the market maker sees and did there."""

    #: The venue (`kraken`, ...) and its spelling of the instrument.
    venue: str
    symbol: str
    #: Best bid and ask of the book (our own quotes included), quote currency.
    bid: Decimal | None
    ask: Decimal | None
    #: Book events per second over the last refresh, and resyncs after the first snapshot.
    updates_per_s: float
    resyncs: int
    #: Orders accepted by the venue, fully filled, cancelled, refused; fills (executions);
    #: local errors (timeouts, disconnects, rate limits).
    placed: int
    filled: int
    fills: int
    cancelled: int
    rejected: int
    errors: int
    #: Net position in `base`, and PnL (cash + position at the mid, fees in) in `quote`.
    position: Decimal
    base: str
    pnl: Decimal
    quote: str
    #: Order request -> venue reply (place and cancel), and venue event time -> local
    #: receive of the book, in µs (None before the first sample).
    rtt_p50_us: float | None
    rtt_p99_us: float | None
    exch_to_recv_p50_us: float | None
    #: `quoting`, a paused side, the latest error, or why the venue is out.
    status: str


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _num(value: Decimal | None) -> str:
    return "-" if value is None else f"{value.normalize():f}"


def _money(value: Decimal, currency: str) -> str:
    places = 0 if currency == "KRW" else 2
    return f"{value:+,.{places}f} {currency}"


def _cells(row: VenueRow) -> list[str]:
    return [
        row.venue,
        row.symbol,
        _num(row.bid),
        _num(row.ask),
        f"{row.updates_per_s:.0f}",
        str(row.resyncs),
        str(row.placed),
        f"{row.filled} ({row.fills})",
        str(row.cancelled),
        f"{row.position.normalize():+f} {row.base}",
        _money(row.pnl, row.quote),
        f"{_us(row.rtt_p50_us)} / {_us(row.rtt_p99_us)}",
        _us(row.exch_to_recv_p50_us),
        row.status,
    ]


HEADERS = [
    "venue",
    "symbol",
    "bid",
    "ask",
    "upd/s",
    "resyncs",
    "placed",
    "filled (fills)",
    "cancelled",
    "position",
    "PnL",
    "order RTT p50/p99 µs",
    "event→recv p50 µs",
    "status",
]


def plain_table(rows: Sequence[VenueRow]) -> str:
    """The rows as an aligned text table (headers first)."""
    table = [HEADERS, *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def plain_line(row: VenueRow, elapsed: float) -> str:
    """One venue's state on one line (what the non-terminal view prints)."""
    return (
        f"[{elapsed:5.1f}s] {row.venue:<8} {row.symbol:<8} bid {_num(row.bid)} ask {_num(row.ask)}"
        f" | {row.updates_per_s:.0f} upd/s, {row.resyncs} resyncs | placed {row.placed},"
        f" filled {row.filled} ({row.fills} fills), cancelled {row.cancelled}"
        f" | pos {row.position.normalize():+f} {row.base}, PnL {_money(row.pnl, row.quote)}"
        f" | RTT p50 {_us(row.rtt_p50_us)} µs p99 {_us(row.rtt_p99_us)} µs"
        f" | event→recv p50 {_us(row.exch_to_recv_p50_us)} µs | {row.status}"
    )


class Dashboard:
    """Shows `VenueRow`s while a service runs: `mode` `"live"` (a `rich` table redrawn in
    place), `"plain"` (lines every `every` seconds), `"off"`, or `"auto"` (live on a
    terminal, else plain). `stop()` prints the summary table and the problems found."""

    def __init__(
        self, title: str, mode: str = "auto", every: float = 2.0, out: TextIO | None = None
    ) -> None:
        if mode not in ("auto", "live", "plain", "off"):
            raise ValueError(f"view must be auto, live, plain or off, not {mode!r}")
        self.out = out or sys.stdout
        if mode == "auto":
            mode = "live" if self.out.isatty() else "plain"
        self.title = title
        self.mode = mode
        self.every = every
        self.started = time.monotonic()
        self._last_line = 0.0
        self._live: Any = None
        self._log_handlers: list[logging.Handler] | None = None

    def start(self, rows: Callable[[], list[VenueRow]]) -> None:
        """Begins the view (the live table appears at once)."""
        self.started = time.monotonic()
        if self.mode == "live":
            from rich.console import Console
            from rich.live import Live
            from rich.logging import RichHandler

            # `live` asked for on a file or pipe: wide enough for every column.
            console = Console(file=self.out, width=None if self.out.isatty() else 200)
            self._live = Live(
                self._rich_table(rows()), console=console, auto_refresh=False, transient=False
            )
            # Log records print above the table instead of through it.
            root = logging.getLogger()
            self._log_handlers = root.handlers[:]
            handler = RichHandler(console=console, show_path=False, rich_tracebacks=False)
            handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
            root.handlers = [handler]
            self._live.start()

    def update(self, rows: list[VenueRow]) -> None:
        """Redraws the live table, or prints the plain lines when `every` has passed."""
        now = time.monotonic()
        if self._live is not None:
            self._live.update(self._rich_table(rows), refresh=True)
        elif self.mode == "plain" and now - self._last_line >= self.every:
            self._last_line = now
            for row in rows:
                print(plain_line(row, now - self.started), file=self.out, flush=True)

    def stop(self, rows: list[VenueRow], problems: Sequence[str] = ()) -> None:
        """Ends the view with the summary table and one line per problem."""
        elapsed = time.monotonic() - self.started
        if self.mode == "off":
            return
        verdict = "\n".join(f"FAILED {p}" for p in problems) if problems else "every venue traded"
        if self._live is not None:
            self._live.update(self._rich_table(rows, f"summary after {elapsed:.1f} s"))
            self._live.stop()
            self._live = None
            if not self.out.isatty():
                print(file=self.out)  # a terminal's cursor is on a new line already; a file's not
            if self._log_handlers is not None:
                logging.getLogger().handlers = self._log_handlers
                self._log_handlers = None
            print(verdict, file=self.out, flush=True)
            return
        print(f"\n{self.title}: summary after {elapsed:.1f} s", file=self.out)
        print(plain_table(rows), file=self.out)
        print(verdict, file=self.out, flush=True)

    def _rich_table(self, rows: list[VenueRow], caption: str | None = None) -> Any:
        from rich.table import Table

        elapsed = time.monotonic() - self.started
        table = Table(
            title=f"{self.title}  ({elapsed:.0f} s)",
            caption=caption
            or "order RTT: request -> venue reply; event→recv: venue event time -> local receive",
        )
        for header in HEADERS:
            if header == "status":
                table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=36)
            else:
                numeric = header not in ("venue", "symbol")
                table.add_column(header, justify="right" if numeric else "left")
        for row in rows:
            style = "red" if row.status != "quoting" and "paused" not in row.status else None
            table.add_row(*_cells(row), style=style)
        return table


def find_example(given: str | os.PathLike[str] | None = None) -> Path:
    """The example's folder (holding `mm.py` and `config.json`): `given`, else
    `examples/mm_demo` under the working directory or the source checkout. Raises
    `FileNotFoundError` naming where it looked."""
    if given is not None:
        candidates = [Path(given)]
    else:
        candidates = [Path.cwd() / EXAMPLE, Path(__file__).resolve().parents[2] / EXAMPLE]
    for folder in candidates:
        if (folder / "mm.py").is_file() and (folder / "config.json").is_file():
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no mm.py and config.json in {looked}: run from the hftpy checkout or pass --example DIR"
    )


def _demo_config(source: Path, target: Path, duration: float, view: str) -> Path:
    """`source` with each service's `run_seconds` and `view` set, written to `target`."""
    document = json.loads(source.read_text(encoding="utf-8"))
    for key, entry in document.items():
        if key.startswith("service.") and isinstance(entry, dict):
            setting = entry.setdefault("setting", {})
            setting["run_seconds"] = duration
            setting["view"] = view
    path = target / source.name
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


async def run_demo(
    duration: float = 20.0,
    *,
    view: str = "auto",
    example: str | os.PathLike[str] | None = None,
    faults: Sequence[str] = (),
) -> int:
    """`hftpy demo`: the example market maker on every venue of its config against the
    embedded simulator (synthetic order flow, this process) for `duration` seconds; `faults`
    (`kraken.reject_auth`, as `hftpy sim --fault` takes them) are started first. Returns the
    exit code: 0 when every venue connected and traded, 1 otherwise (the reason printed),
    2 when the example or a fault cannot be read."""
    from hftpy.service import ServiceConfigError, ServiceRunner, load_config
    from hftpy.sim import Simulator
    from hftpy.sim.cli import parse_fault

    try:
        folder = find_example(example)
        injected = [parse_fault(spec) for spec in faults]
    except (FileNotFoundError, ValueError) as exc:
        print(f"hftpy demo: {exc} (exit 2)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hftpy-demo-") as tmp:
        try:
            config = _demo_config(folder / "config.json", Path(tmp), duration, view)
            configs = load_config(config, sim=True)
        except (OSError, ValueError, ServiceConfigError) as exc:
            print(f"hftpy demo: {folder / 'config.json'}: {exc} (exit 2)", file=sys.stderr)
            return 2
        async with Simulator(ports="free") as sim:
            for venue, fault, params in injected:
                sim.inject(venue, fault, **params)
            runner = ServiceRunner(
                configs,
                modules=[str(folder / "mm.py")],
                sim=dict(sim.env),  # this simulator: its URLs and demo credentials
                duration=duration + 30,  # a backstop: the service stops itself at `duration`
            )
            code = await runner.run()
    problems = [
        problem
        for service in runner.services
        if getattr(service, "started", False)  # else the runner's reason says why not
        for problem in service.verdict()
    ]
    if code != 0:
        reason = "; ".join(problems) or runner.reason or "failed"
        print(f"hftpy demo: {reason} (exit {code})", file=sys.stderr, flush=True)
    return code


def _percentile(sorted_values: list[int], q: float) -> int:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run_orders_demo(rounds: int = 200) -> int:
    """`hftpy demo --orders`: starts the embedded simulator, points the environment at it and
    trades `rounds` Kraken orders through the public API, seed 000's way; returns the exit
    code (0 when every order got its reply)."""
    from hftpy.sim import Simulator

    async with Simulator(ports="free") as sim:
        os.environ.update(sim.env)  # what `eval "$(hftpy sim --print-env)"` does for a user
        try:
            return await _trade(rounds)
        finally:
            await close_all()


async def _trade(rounds: int) -> int:
    latencies: list[int] = []

    def on_response(
        request_id: int,
        method: str,
        request: dict[str, Any],
        response: dict[str, Any],
        latency: int,
    ) -> None:
        latencies.append(latency)
        WsApiBase.default_ws_callback(request_id, method, request, response, latency)
        print()

    create_exchange_api(Exchange.KRAKEN)  # key and secret from HFTPY_KRAKEN_API_KEY/_SECRET
    ws_api = create_exchange_ws_api(Exchange.KRAKEN)
    runner = asyncio.create_task(ws_api.start())
    await ws_api.wait_ready(timeout=10)

    ws_api = get_exchange_ws_api(Exchange.KRAKEN)  # the same object, from anywhere
    placed = await ws_api.place_order(
        symbol=CurrencyPair.BTC_USD,
        side=Side.BUY,
        amount=0.001,
        price=80000.0,
        order_type="limit",
        post_only=True,
        callback=on_response,
        wait=True,
    )
    rejected = await ws_api.place_order(
        symbol=CurrencyPair.BTC_USD,
        side=Side.BUY,
        amount=0.00001,  # below BTC/USD's 0.0001 minimum: Kraken refuses it
        price=80000.0,
        order_type="limit",
        post_only=True,
        callback=on_response,
        wait=True,
    )
    if not placed.ok or rejected.ok:
        print("demo: unexpected outcome", placed.response, rejected.response)
        return 1
    order_id = placed.response["result"]["order_id"]
    cancelled = await ws_api.cancel_order(order_id=order_id, callback=on_response, wait=True)
    if not cancelled.ok:
        print("demo: cancel failed", cancelled.response)
        return 1

    # Round trips without printing: validate-only orders exercise the full path
    # (frame build, socket, venue checks, reply routing) without filling the book.
    samples: list[int] = []
    for _ in range(rounds):
        reply = await ws_api.place_order(
            symbol=CurrencyPair.BTC_USD,
            side=Side.BUY,
            amount=0.001,
            price=80000.0,
            post_only=True,
            validate=True,
            wait=True,
        )
        samples.append(reply.latency_ns // 1000)
    samples.sort()
    print(
        f"Latency over {rounds} add_order round trips (validate=true, in-process simulator): "
        f"p50 {_percentile(samples, 0.5)}μs  p99 {_percentile(samples, 0.99)}μs  "
        f"min {samples[0]}μs  max {samples[-1]}μs"
    )
    print(f"Printed requests: {', '.join(f'{v}μs' for v in latencies)}")

    await ws_api.close()
    await runner
    return 0
