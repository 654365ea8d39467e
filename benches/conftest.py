"""Benchmark fixtures: the loopback ack server in its own process, and a uvloop loop that
each benchmark drives in batches (one `run_until_complete` per batch of round trips, so the
per-batch overhead is spread thin and equal for every client)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop


@pytest.fixture(scope="session")
def ack_server() -> Iterator[tuple[int, int]]:
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("ack_server.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert line and line[0] == "READY", f"ack server failed to start: {line}"
    yield int(line[1]), int(line[2])
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=10)
    proc.stdout.close()


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = uvloop.new_event_loop()
    yield loop
    loop.close()


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    """p50/p99/max in µs of per-request round trips."""
    ordered = sorted(samples_ns)
    n = len(ordered)

    def at(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] / 1000

    return {"p50_us": at(0.50), "p99_us": at(0.99), "max_us": ordered[-1] / 1000, "n": n}


def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, object]
) -> None:
    """The load average when the results are written (the machine is shared: other jobs'
    load shows as a 1-minute average above this run's own ~1)."""
    machine_info["loadavg"] = list(os.getloadavg())
