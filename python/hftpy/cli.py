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
        "demo", help="place and cancel Kraken orders against the embedded simulator"
    )
    demo.add_argument("--rounds", type=int, default=200, help="round trips in the latency run")

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
            from hftpy.demo import run_demo

            return run_async(run_demo(rounds=args.rounds))
        return run_async(sim_cli.run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
