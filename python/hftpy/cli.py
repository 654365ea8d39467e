"""The `hftpy` command: `hftpy demo`, `hftpy sim`, `hftpy run`.

The CLI runs on uvloop (the library itself runs on any asyncio loop and never installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def _event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # e.g. Windows: plain asyncio works, just a little slower
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run_async(main: Coroutine[Any, Any, int]) -> int:
    """Runs a command's coroutine on uvloop (when installed) and returns its exit code."""
    with asyncio.Runner(loop_factory=_event_loop_factory()) as runner:
        return runner.run(main)


def main(argv: list[str] | None = None) -> int:
    """The `hftpy` command line: parses `argv` (default `sys.argv`) and returns the exit code."""
    parser = argparse.ArgumentParser(prog="hftpy", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="the example market maker on all four venues against the embedded simulator",
        description="Runs examples/mm_demo on Kraken, Binance, Backpack and Upbit against the "
        "in-process simulator with a live table (plain lines when not a terminal), then a "
        "summary. Exit code 0 when every venue connected and traded, else 1 with the reason.",
    )
    demo.add_argument(
        "--duration", type=float, default=20.0, metavar="S", help="seconds to run (default 20)"
    )
    demo.add_argument(
        "--view",
        choices=("auto", "live", "plain"),
        default="auto",
        help="live table, plain lines, or auto: live on a terminal (default)",
    )
    demo.add_argument(
        "--example", metavar="DIR", help="the example's folder (default examples/mm_demo)"
    )
    demo.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="VENUE.FAULT[=VALUE]",
        help="start a simulator fault first, as hftpy sim --fault (e.g. upbit.reject_auth=100)",
    )
    demo.add_argument(
        "--orders",
        action="store_true",
        help="instead: seed 000's Kraken walk-through (place, a rejected order, cancel, "
        "then --rounds validate-only round trips)",
    )
    demo.add_argument(
        "--rounds", type=int, help="round trips of the --orders walk-through (implies it)"
    )

    from hftpy.sim import cli as sim_cli

    sim = commands.add_parser("sim", help="serve the embedded exchange simulator on loopback")
    sim_cli.add_arguments(sim)

    from hftpy.service import runner as service_runner

    run = commands.add_parser(
        "run",
        help="run the services of a JSON config (live, or --sim for paper trading)",
        description="Runs the services of CONFIG side by side until SIGINT/SIGTERM, --duration "
        "or a service's stop(). Exit code: 0 clean, 1 a service failed, 2 config error, "
        "130 interrupted; the reason is printed on stderr.",
    )
    service_runner.add_arguments(run)

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "run" and not args.verbose:
        logging.getLogger("hftpy.service").setLevel(logging.INFO)  # the services' own logs
    try:
        if args.command == "run":
            return run_async(service_runner.run_command(args))
        if args.command == "demo":
            from hftpy import demo as demo_module

            if args.orders or args.rounds is not None:
                rounds = 200 if args.rounds is None else args.rounds
                return run_async(demo_module.run_orders_demo(rounds=rounds))
            return run_async(
                demo_module.run_demo(
                    args.duration, view=args.view, example=args.example, faults=args.fault
                )
            )
        return run_async(sim_cli.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
