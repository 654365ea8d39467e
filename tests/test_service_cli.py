"""`hftpy run` as a user runs it, in a subprocess: seed 000's service unchanged on the
embedded simulator, SIGTERM / SIGINT with cancel_on_stop (the simulator, started here, shows
no open orders afterwards), and the exit codes 0, 1, 2 and 130 with their printed reasons."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hftpy.exchange.stream import StreamBase
from hftpy.service import ServiceConfigError
from hftpy.service.runner import read_sim_env, simulator_env
from hftpy.sim import Simulator

ROOT = Path(__file__).resolve().parent.parent
HFTPY = [sys.executable, "-m", "hftpy.cli"]
HAS_STATS = hasattr(StreamBase, "latency_stats")

STRATEGY = '''
from hftpy.common import Side
from hftpy.service import ServiceBase

# venue -> (symbol, amount, a price far below the simulator's mid: the order rests)
RESTING = {
    "kraken": ("BTC/USD", "0.0002", "90000"),
    "binance": ("BTCUSDT", "0.0001", "90000"),
    "backpack": ("SOL_USDC", "0.1", "135"),
    "upbit": ("KRW-BTC", "0.0001", "126000000"),
}


class Quoter(ServiceBase):
    """Rests one buy on every venue, says READY, then waits (or fails when told to)."""

    async def on_start(self):
        for venue in self.venues:
            symbol, amount, price = RESTING[venue.value]
            ws_api = getattr(self, f"{venue.value}_ws_api")
            reply = await ws_api.place_order(symbol, Side.BUY, amount, price, wait=True)
            assert reply.ok, reply.response
        print(f"READY {len(self.orders_opened)}", flush=True)
        if self.setting.get("fail"):
            raise RuntimeError("on_start failure for the test")


class Idle(ServiceBase):
    def on_start(self):
        print("READY", flush=True)
'''

VENUES = ("kraken", "binance", "backpack", "upbit")


def project(tmp_path: Path, services: dict[str, Any]) -> tuple[Path, Path]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({f"service.{k}": v for k, v in services.items()}))
    strategy = tmp_path / "strategy.py"
    strategy.write_text(STRATEGY)
    return config, strategy


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HFTPY_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def run(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HFTPY, "run", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment(),
        cwd=ROOT,
    )


async def start(*args: str | Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *HFTPY,
        "run",
        *map(str, args),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=ROOT,
    )


async def ready_line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
    except TimeoutError:
        proc.kill()
        raise
    if not line.startswith(b"READY"):
        _, err = await proc.communicate()
        pytest.fail(f"no READY line ({line!r}); stderr:\n{err.decode()}")
    return line.decode().strip()


def open_orders(sim: Simulator) -> dict[str, int]:
    accounts = {
        "kraken": sim.kraken_account,
        "binance": sim.binance.demo_account,
        "backpack": sim.backpack.demo_account,
        "upbit": sim.upbit.demo_account,
    }
    return {venue: len(sim.engine.open_orders(a)) for venue, a in accounts.items()}


def test_the_seed_service_runs_unchanged_on_the_simulator() -> None:
    done = run(
        "examples/seed_service/config.json",
        "--module",
        "examples/seed_service/service.py",
        "--sim",
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert "order_update:kraken:" in err and ":new" in err  # the placed order went live
    assert "ws_place_order:" not in err  # the seed's callback logs only a refused order
    assert "hftpy run: service mm_demo: cancelled 1 open order(s) (kraken 1)" in err
    assert err.rstrip().endswith("hftpy run: service mm_demo called stop(0) (exit 0)")
    if HAS_STATS:
        assert "request:add_order" in done.stdout


async def test_sigterm_cancels_every_open_order_and_exits_130(
    sim: Simulator, tmp_path: Path
) -> None:
    """`--sim-env` points the subprocess at this test's simulator, so the engine itself shows
    that the orders are gone."""
    setting = {"ws_apis": [{"exchange": venue} for venue in VENUES]}
    config, strategy = project(tmp_path, {"q": {"class_name": "Quoter", "setting": setting}})
    sim_env = tmp_path / "sim.env"
    sim_env.write_text("\n".join([*sim.env_lines(), "ready", ""]))  # what `hftpy sim` prints
    proc = await start(config, "--module", strategy, "--sim-env", sim_env, "--cancel-on-stop")
    assert await ready_line(proc) == "READY 4"
    assert open_orders(sim) == dict.fromkeys(VENUES, 1)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130, err.decode()
    text = err.decode()
    assert (
        "hftpy run: service q: cancelled 4 open order(s) (kraken 1, binance 1, backpack 1, upbit 1)"
        in text
    )
    assert text.rstrip().endswith("hftpy run: interrupted by SIGTERM (exit 130)")
    assert open_orders(sim) == dict.fromkeys(VENUES, 0)


async def test_sigint_exits_130(tmp_path: Path) -> None:
    setting = {"streams": [{"exchange": "kraken", "channels": ["book"], "symbols": ["BTC/USD"]}]}
    config, strategy = project(tmp_path, {"idle": {"class_name": "Idle", "setting": setting}})
    proc = await start(config, "--module", strategy, "--sim")
    await ready_line(proc)
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 130
    assert err.decode().rstrip().endswith("hftpy run: interrupted by SIGINT (exit 130)")


def test_exit_0_after_duration_with_periodic_statistics(tmp_path: Path) -> None:
    setting = {"streams": [{"exchange": "binance", "channels": ["book"], "symbols": ["BTCUSDT"]}]}
    config, strategy = project(tmp_path, {"idle": {"class_name": "Idle", "setting": setting}})
    done = run(config, "--module", strategy, "--sim", "--duration", "0.7", "--stats-every", "0.3")
    assert done.returncode == 0, done.stderr
    assert done.stderr.rstrip().endswith("hftpy run: --duration 0.7 s elapsed (exit 0)")
    if HAS_STATS:
        assert done.stdout.count("binance.stream") >= 2  # periodic tables, then the last


def test_exit_1_when_a_service_fails(tmp_path: Path) -> None:
    setting = {"ws_apis": [{"exchange": "kraken"}], "fail": True}
    service = {"class_name": "Quoter", "cancel_on_stop": True, "setting": setting}
    config, strategy = project(tmp_path, {"q": service})
    done = run(config, "--module", strategy, "--sim")
    assert done.returncode == 1
    assert "cancelled 1 open order(s) (kraken 1)" in done.stderr  # even after a failure
    assert done.stderr.rstrip().endswith(
        "hftpy run: service q: on_start raised RuntimeError: on_start failure for the test (exit 1)"
    )


def test_exit_2_on_a_config_error_before_anything_connects(tmp_path: Path) -> None:
    setting = {"ws_apis": [{"exchange": "kraken"}], "size": "${HFTPY_TEST_UNSET_SIZE}"}
    config, strategy = project(tmp_path, {"q": {"class_name": "Quoter", "setting": setting}})
    done = run(config, "--module", strategy, "--sim")
    assert done.returncode == 2
    assert done.stderr == (
        f"hftpy run: config error: {config}: service.q.setting.size: environment variable "
        "HFTPY_TEST_UNSET_SIZE is not set; export HFTPY_TEST_UNSET_SIZE=..., put "
        "HFTPY_TEST_UNSET_SIZE=... in the .env file beside the config (or --env-file), or write "
        "${HFTPY_TEST_UNSET_SIZE:-default} (exit 2)\n"
    )
    # live: the WS API's missing credentials; the class name; the module
    live, _ = project(tmp_path, {"q": {"class_name": "Quoter", "setting": setting | {"size": 1}}})
    done = run(live, "--module", strategy)
    assert done.returncode == 2 and "ws_apis[0].api_key: the kraken WS API needs" in done.stderr
    other, _ = project(tmp_path, {"q": {"class_name": "Nope"}})
    done = run(other, "--module", strategy, "--sim")
    assert done.returncode == 2 and "no ServiceBase subclass named 'Nope'" in done.stderr
    done = run(other, "--module", tmp_path / "absent.py", "--sim")
    assert done.returncode == 2 and "absent.py: no such file" in done.stderr


def test_sim_url_and_sim_env_give_a_running_simulators_environment(tmp_path: Path) -> None:
    default = Simulator(ports="default").env
    assert simulator_env("127.0.0.1") == default
    assert simulator_env("http://127.0.0.1/") == default
    assert simulator_env("localhost")["HFTPY_KRAKEN_WS_AUTH_URL"] == "ws://localhost:8792/v2"
    with pytest.raises(ServiceConfigError, match="expected a host"):
        simulator_env("127.0.0.1:8791")
    printed = tmp_path / "sim.env"
    printed.write_text(
        textwrap.dedent(
            """\
            export HFTPY_KRAKEN_WS_URL='ws://127.0.0.1:40001/v2'
            export HFTPY_KRAKEN_API_KEY='abc='
            ready
            """
        )
    )
    assert read_sim_env(printed) == {
        "HFTPY_KRAKEN_WS_URL": "ws://127.0.0.1:40001/v2",
        "HFTPY_KRAKEN_API_KEY": "abc=",
    }
    printed.write_text("ready\n")
    with pytest.raises(ServiceConfigError, match="no HFTPY_"):
        read_sim_env(printed)
