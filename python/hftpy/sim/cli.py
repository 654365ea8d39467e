"""`hftpy sim`: serve the simulator on loopback until SIGINT/SIGTERM.

`hftpy/cli.py` wires this in with `add_arguments(subparser)` and `await run(args)`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import Any

from .faults import PARAMETERS
from .replay import parse_rate
from .simulator import REPLAY_VENUES, SERVED_VENUES, VENUE_FAULTS, Simulator

__all__ = [
    "add_arguments",
    "faults_help",
    "faults_table",
    "parse_fault",
    "parse_replay",
    "run",
]


def faults_help() -> str:
    venues = "; ".join(
        f"{venue}: " + ", ".join(f.usage for f in faults.values())
        for venue, faults in VENUE_FAULTS.items()
    )
    return (
        "start a fault once serving (repeatable), e.g. binance.skip_sequence=0.05 or "
        "kraken.stall=2. A COUNT is a whole number (the next N frames or requests), a "
        "PROBABILITY a fraction in [0, 1] or a percentage (that share of frames, spread "
        "evenly), SECONDS a duration (2, 0.5, 500ms); where a fault takes both, a whole number "
        "is a count and anything else a probability. Name parameters to set several: "
        "binance.rate_limit=seconds=5,status=418. --list-faults says what each does. Faults: "
        + venues
    )


def faults_table() -> str:
    """Every venue's faults with their parameters and what they do (`--list-faults`)."""
    lines: list[str] = []
    for venue, faults in VENUE_FAULTS.items():
        lines.append(f"{venue}:")
        for fault in faults.values():
            takes = f" [{', '.join(fault.params)}]" if len(fault.params) > 1 else ""
            lines.append(f"  {venue}.{fault.usage}{takes}")
            if fault.doc:
                lines.append(f"      {fault.doc}")
    return "\n".join(lines)


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
        help=faults_help(),
    )
    parser.add_argument(
        "--list-faults",
        action="store_true",
        help="print every venue's faults, their parameters and what they do, and exit",
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
    """`kraken.stall=2` -> ("kraken", "stall", {"seconds": 2.0}); ValueError when malformed.

    `=VALUE` sets the fault's first parameter, except that a fault taking both a `count` and a
    `rate` reads a whole number as the count and any other number as the rate (probability);
    `=NAME=VALUE,NAME=VALUE` sets parameters by name.
    """
    target, has_value, value = spec.partition("=")
    venue, _, fault = target.partition(".")
    if not venue or not fault:
        raise ValueError(f"--fault {spec!r}: expected VENUE.FAULT[=VALUE]")
    if venue not in SERVED_VENUES:
        raise ValueError(f"--fault {spec!r}: venue {venue!r} is not simulated")
    faults = VENUE_FAULTS[venue]
    if fault not in faults:
        known = ", ".join(f.usage for f in faults.values())
        raise ValueError(f"--fault {spec!r}: unknown {venue} fault; known: {known}")
    names = faults[fault].params
    params: dict[str, Any] = {}
    if not has_value:
        return venue, fault, params
    if not names:
        raise ValueError(f"--fault {spec!r}: {fault} takes no value")
    if "=" in value:
        pairs = [item.partition("=") for item in value.split(",")]
        assignments = [(name.strip(), text.strip()) for name, _, text in pairs]
    elif {"rate", "count"} <= set(names):
        whole = value.strip().isdigit()
        assignments = [("count" if whole else "rate", value.strip())]
    else:
        assignments = [(names[0], value.strip())]
    for name, text in assignments:
        if name not in names:
            takes = ", ".join(names)
            raise ValueError(f"--fault {spec!r}: {fault} takes no {name!r} (it takes {takes})")
        placeholder = PARAMETERS[name].placeholder
        try:
            params[name] = PARAMETERS[name].read(text)
        except ValueError as exc:
            raise ValueError(
                f"--fault {spec!r}: bad {placeholder} {text!r} for {fault} ({exc})"
            ) from None
        if name == "seconds" and params[name] < 0 and not faults[fault].negative_seconds:
            raise ValueError(f"--fault {spec!r}: bad SECONDS {text!r} for {fault} (negative)")
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
    if args.list_faults:
        print(faults_table())
        return 0
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
