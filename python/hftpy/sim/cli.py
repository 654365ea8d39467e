"""`hftpy sim`: serve the simulator on loopback until SIGINT/SIGTERM.

`hftpy/cli.py` wires this in with `add_arguments(subparser)` and `await run(args)`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from typing import Any, Final

from .replay import parse_rate
from .simulator import REPLAY_VENUES, SERVED_VENUES, VENUE_FAULTS, Simulator

__all__ = ["add_arguments", "parse_fault", "parse_replay", "run"]

# How the `=VALUE` of `--fault venue.fault=VALUE` is read, by the fault's first parameter.
_PARAM_TYPES: Final[dict[str, Callable[[str], Any]]] = {
    "seconds": float,
    "count": int,
    "rate": float,
    "text": str,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ports",
        choices=("default", "free"),
        default="default",
        help="fixed default ports (8790-8822), or free ones picked by the OS",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print the export lines for the default ports and exit without serving",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="VENUE.FAULT[=VALUE]",
        help="start a fault once serving, e.g. kraken.book_checksum=0.01; faults: "
        + "; ".join(f"{venue}: {', '.join(faults)}" for venue, faults in VENUE_FAULTS.items()),
    )
    parser.add_argument("--no-flow", action="store_true", help="no synthetic order flow")
    parser.add_argument("--seed", type=int, default=0, help="seed of ids and synthetic flow")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--replay",
        action="append",
        default=[],
        metavar="VENUE=FILE",
        help="serve a recorded capture instead of synthetic flow for that venue ("
        + ", ".join(REPLAY_VENUES)
        + "); repeat for several Binance files, in order",
    )
    parser.add_argument(
        "--rate",
        type=parse_rate,
        default=1.0,
        help="replay speed multiplier over the recorded timing; 0 or max: as fast as possible",
    )


def parse_fault(spec: str) -> tuple[str, str, dict[str, Any]]:
    """`kraken.stall=2` -> ("kraken", "stall", {"seconds": 2.0}); ValueError when malformed."""
    target, has_value, value = spec.partition("=")
    venue, _, fault = target.partition(".")
    if not venue or not fault:
        raise ValueError(f"--fault {spec!r}: expected VENUE.FAULT[=VALUE]")
    if venue not in SERVED_VENUES:
        raise ValueError(f"--fault {spec!r}: venue {venue!r} is not simulated")
    faults = VENUE_FAULTS[venue]
    if fault not in faults:
        raise ValueError(f"--fault {spec!r}: unknown {venue} fault; known: {', '.join(faults)}")
    params: dict[str, Any] = {}
    if has_value:
        names = faults[fault]
        if not names:
            raise ValueError(f"--fault {spec!r}: {fault} takes no value")
        try:
            params[names[0]] = _PARAM_TYPES[names[0]](value)
        except ValueError:
            raise ValueError(f"--fault {spec!r}: bad {names[0]} {value!r}") from None
    return venue, fault, params


def parse_replay(specs: list[str]) -> dict[str, list[str]]:
    """`["binance=a.gz", "binance=b.gz"]` -> {"binance": ["a.gz", "b.gz"]}; ValueError if bad."""
    replay: dict[str, list[str]] = {}
    for spec in specs:
        venue, sep, path = spec.partition("=")
        if not sep or not path:
            raise ValueError(f"--replay {spec!r}: expected VENUE=FILE")
        if venue not in REPLAY_VENUES:
            raise ValueError(f"--replay {spec!r}: no capture format for {venue!r}")
        replay.setdefault(venue, []).append(path)
    return replay


async def run(args: argparse.Namespace) -> int:
    try:
        faults = [parse_fault(spec) for spec in args.fault]
        replay = parse_replay(args.replay)
        sim = Simulator(
            ports=args.ports,
            synthetic_flow=not args.no_flow,
            seed=args.seed,
            host=args.host,
            replay=replay,
            replay_rate=args.rate,
        )
    except (ValueError, OSError) as exc:
        print(f"hftpy sim: {exc}", file=sys.stderr)
        return 2
    if args.print_env:
        if args.ports != "default":
            print("hftpy sim: --print-env shows the default ports only", file=sys.stderr)
            return 2
        print("\n".join(sim.env_lines()), flush=True)
        return 0

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await sim.start()
        except OSError as exc:
            print(f"hftpy sim: cannot listen: {exc}", file=sys.stderr)
            return 1
        for venue, fault, params in faults:
            sim.inject(venue, fault, **params)
        print("\n".join(sim.env_lines()), flush=True)
        print("ready", flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await sim.stop()
    return 0
