"""Soak: all four venues streaming at a high rate for SOAK_S seconds with faults injected; is
anything growing, and is every book valid at the end? (`make soak SOAK_S=600`, not in CI.)

The driver (this process) runs the simulator with its synthetic flow sped up and injects
faults on a schedule: a dropped connection every 60 s per venue (staggered), checksum and
sequence faults on 1 % of book frames throughout, a stall now and then. The client (a child
process running `--client`) keeps a book stream and a WS API per venue, places and cancels
orders in a loop, and prints one JSON line of counters a second. Each WS API keeps only the
last 200 finished orders (`orders.final_kept`; 10 000 by default), so that cap is full before
warm-up ends and later growth is not the tracker filling up to it. The driver samples the
child's RSS from /proc with each line, writes `soak.csv`, `soak.png` (if matplotlib is
installed: `pip install -e .[bench]`) and prints a report: growth of RSS and pending requests
after warm-up (the first 20 % of the run; goal < 2 %), resyncs and reconnects, and whether
every book was valid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

SYMBOLS = {
    "kraken": ("BTC/USD", "ETH/USD"),
    "binance": ("BTCUSDT", "ETHUSDT"),
    "backpack": ("SOL_USDC", "BTC_USDC"),
    "upbit": ("KRW-BTC", "KRW-ETH"),
}
ORDERS = {  # far from the market: they rest until cancelled
    "kraken": ("BTC/USD", "0.001", "50000"),
    "binance": ("BTCUSDT", "0.001", "50000.00"),
    "backpack": ("SOL_USDC", "0.10", "10.00"),
    "upbit": ("KRW-BTC", "0.0001", "100000000"),
}
FINAL_KEPT = 200
CONTINUITY = {"kraken": "book_checksum", "binance": "skip_sequence", "backpack": "skip_sequence"}
FIELDS = [
    "t",
    "rss_mib",
    "books_valid",
    "books",
    "resyncs",
    "reconnects",
    "pending",
    "open_orders",
    "orders_sent",
    "orders_kept",
    "outcomes",
    "decode_errors",
]


# -- the client (child process) ---------------------------------------------------------------


async def client(seconds: float) -> None:
    from hftpy.common import Exchange, Side
    from hftpy.exchange import create_exchange_api, create_exchange_stream, create_exchange_ws_api

    streams = {}
    apis = {}
    for venue in SYMBOLS:
        exchange = Exchange(venue)
        streams[venue] = create_exchange_stream(exchange)
        if exchange is Exchange.KRAKEN:
            create_exchange_api(exchange)
        apis[venue] = create_exchange_ws_api(exchange, request_timeout=5.0)
        # Finished orders are kept for late lookups up to a cap (10 000 by default); a small
        # one is reached during warm-up, so what grows after it is not the cap filling up.
        apis[venue].orders.final_kept = FINAL_KEPT
    tasks = [asyncio.create_task(s.start()) for s in streams.values()]
    tasks += [asyncio.create_task(a.start()) for a in apis.values()]
    for stream in streams.values():
        await stream.wait_ready(30)
    for venue, stream in streams.items():
        await stream.subscribe(["book", "trade"], list(SYMBOLS[venue]))
    for api in apis.values():
        await api.wait_ready(30)
    counts = {"sent": 0, "outcomes": 0}

    def outcome(*_: Any) -> None:
        counts["outcomes"] += 1

    async def trade(venue: str) -> None:
        api = apis[venue]
        symbol, amount, price = ORDERS[venue]
        while True:
            await asyncio.sleep(0.5)
            if not api.ready:
                continue
            try:
                if len(api.open_orders()) < 20:
                    await api.place_order(
                        symbol, Side.BUY, Decimal(amount), Decimal(price), callback=outcome
                    )
                else:
                    await api.cancel_all(callback=outcome)
                counts["sent"] += 1
            except Exception:  # refused locally (rate limit, down): counted as nothing sent
                pass

    tasks += [asyncio.create_task(trade(venue)) for venue in apis]
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await asyncio.sleep(1.0)
        books = [(s, sym) for s in streams.values() for sym in SYMBOLS[s.exchange.value]]
        line = {
            "t": round(time.monotonic() - started, 1),
            "books_valid": sum(s.book(sym).valid for s, sym in books),
            "books": len(books),
            "resyncs": sum(s.resyncs for s in streams.values()),
            "reconnects": sum(s.connection.connects - 1 for s in streams.values())
            + sum(a._conn.connects - 1 for a in apis.values()),
            "pending": sum(len(a._pending) for a in apis.values()),
            "open_orders": sum(len(a.open_orders()) for a in apis.values()),
            "orders_sent": counts["sent"],
            "orders_kept": sum(a.orders.finished for a in apis.values()),
            "outcomes": counts["outcomes"],
            "decode_errors": sum(s.decode_errors for s in streams.values()),
        }
        print(json.dumps(line), flush=True)
    for api in apis.values():
        await api.close()
    for stream in streams.values():
        await stream.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


# -- the driver ---------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def faults(sim: Any, seconds: float) -> None:
    """Drops every 60 s per venue (staggered by 15 s), continuity faults on 1 % of book
    frames, a 2 s stall on one venue every 90 s."""
    venues = list(SYMBOLS)
    for venue, fault in CONTINUITY.items():
        sim.inject(venue, fault, rate=0.01)
    started = time.monotonic()
    tick = 0
    while time.monotonic() - started < seconds - 20:  # the last 20 s are calm: books settle
        await asyncio.sleep(15)
        tick += 1
        sim.inject(venues[tick % 4], "drop_connection")
        if tick % 6 == 0:
            sim.inject(venues[(tick // 6) % 4], "stall", seconds=2)
    sim.clear_faults()


async def driver(seconds: float, out: Path) -> int:
    from hftpy.sim import Simulator

    async with Simulator(ports="free") as sim:
        for flow in sim.flows:
            flow.step_seconds = 0.005  # 200 flow steps/s per symbol: ~400 book changes/s each
        env = {**os.environ, **sim.env}
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--client",
            "--seconds",
            str(seconds),
            env=env,
            stdout=asyncio.subprocess.PIPE,
        )
        injector = asyncio.create_task(faults(sim, seconds))
        rows: list[dict[str, Any]] = []
        assert child.stdout is not None
        while line := await child.stdout.readline():
            row = json.loads(line)
            row["rss_mib"] = round(rss_mib(child.pid), 2)
            rows.append(row)
            if len(rows) % 30 == 0:
                print(
                    f"{row['t']:>6}s rss {row['rss_mib']} MiB, books {row['books_valid']}/"
                    f"{row['books']}, resyncs {row['resyncs']}, pending {row['pending']}"
                )
        await child.wait()
        injector.cancel()
    return report(rows, out)


def report(rows: list[dict[str, Any]], out: Path) -> int:
    if not rows:
        print("soak: the client printed nothing", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with (out / "soak.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    warm = rows[len(rows) // 5]
    last = rows[-1]
    growth = (last["rss_mib"] - warm["rss_mib"]) / warm["rss_mib"] * 100
    tail = rows[-10:]
    all_valid = last["books_valid"] == last["books"]
    lines = [
        f"soak: {last['t']:.0f} s, {len(rows)} samples",
        f"RSS {warm['rss_mib']:.1f} MiB after warm-up -> {last['rss_mib']:.1f} MiB at the end: "
        f"{growth:+.2f} % ({'ok' if growth < 2 else 'over'} the 2 % goal)",
        f"pending requests: max {max(r['pending'] for r in tail)} in the last 10 s "
        f"(max {max(r['pending'] for r in rows)} overall); open orders {last['open_orders']}",
        f"orders sent {last['orders_sent']}, outcomes {last['outcomes']}; resyncs "
        f"{last['resyncs']}, reconnects {last['reconnects']}, "
        f"decode errors {last['decode_errors']}",
        f"books valid at the end: {last['books_valid']}/{last['books']}",
    ]
    print("\n".join(lines))
    (out / "soak.txt").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib  # type: ignore[import-not-found, unused-ignore]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        print("soak: matplotlib not installed, no PNG", file=sys.stderr)
    else:
        t = [r["t"] for r in rows]
        fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
        axes[0].plot(t, [r["rss_mib"] for r in rows])
        axes[0].set_ylabel("client RSS, MiB")
        axes[1].plot(t, [r["pending"] for r in rows], label="pending requests")
        axes[1].plot(t, [r["open_orders"] for r in rows], label="open orders")
        axes[1].legend()
        axes[2].plot(t, [r["books_valid"] for r in rows], label="valid books")
        axes[2].set_ylabel("valid books")
        axes[2].set_ylim(0, rows[-1]["books"] + 1)
        resyncs = axes[2].twinx()  # cumulative, far larger: its own scale
        resyncs.plot(t, [r["resyncs"] for r in rows], color="tab:orange", label="resyncs")
        resyncs.set_ylabel("resyncs (cumulative)")
        axes[2].set_xlabel("seconds")
        fig.suptitle("hftpy soak: four venues, drops and continuity faults")
        fig.tight_layout()
        fig.savefig(out / "soak.png", dpi=100)
    return 0 if all_valid and growth < 2 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_S", 600)))
    parser.add_argument("--out", type=Path, default=Path("soak"))
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    if args.client:
        asyncio.run(client(args.seconds))
        return 0
    return asyncio.run(driver(args.seconds, args.out))


if __name__ == "__main__":
    raise SystemExit(main())
