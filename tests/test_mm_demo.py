"""The example market maker (examples/mm_demo) and `hftpy demo`, on the simulator with
synthetic order flow: the service trades on every venue and leaves nothing open with
cancel_on_stop; the demo's plain (non-terminal) mode runs end to end; a venue that cannot
connect, or cannot trade, makes the demo exit 1 with the reason."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hftpy.common import Exchange
from hftpy.service import ServiceRunner, load_config
from hftpy.service.runner import load_modules
from hftpy.sim import Simulator

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mm_demo"
HFTPY = [sys.executable, "-m", "hftpy.cli"]
VENUES = {"kraken": "BTC/USD", "binance": "BTCUSDT", "backpack": "SOL_USDC", "upbit": "KRW-BTC"}


def example_copy(folder: Path, **setting: Any) -> Path:
    """examples/mm_demo copied to `folder`, its config's setting updated with `setting`
    (`markets` entries merged per venue)."""
    shutil.copy(EXAMPLE / "mm.py", folder / "mm.py")
    document = json.loads((EXAMPLE / "config.json").read_text(encoding="utf-8"))
    own = document["service.mm_demo"]["setting"]
    for venue, changes in setting.pop("markets", {}).items():
        own["markets"][venue].update(changes)
    own.update(setting)
    (folder / "config.json").write_text(json.dumps(document), encoding="utf-8")
    return folder


def mm_module() -> ModuleType:
    (module,) = load_modules([str(EXAMPLE / "mm.py")])  # the runner's import of the file
    return module


def demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HFTPY, "demo", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_config_covers_the_four_venues() -> None:
    (config,) = load_config(EXAMPLE / "config.json", sim=True)
    assert config.class_name == "MMDemoService" and config.cancel_on_stop is True
    assert {v.value for v in config.venues} == set(VENUES)
    assert {s.exchange.value: s.symbols for s in config.streams} == {
        venue: (symbol,) for venue, symbol in VENUES.items()
    }
    assert {venue: m["symbol"] for venue, m in config.setting["markets"].items()} == VENUES
    text = (EXAMPLE / "config.json").read_text(encoding="utf-8")
    assert "${HFTPY_KRAKEN_API_SECRET}" in text  # keys from the environment, never literal


def test_prices_and_amounts_follow_the_venue_rules() -> None:
    mm = mm_module()
    kraken = mm.Rules(Decimal("0.1"), Decimal("1e-8"), Decimal("0.0001"), Decimal("0.5"), "t")
    assert str(kraken.bid(Decimal("99999.96"))) == "99999.9"
    assert str(kraken.ask(Decimal("99999.91"))) == "100000.0"
    assert str(kraken.amount(Decimal("0.00001"), Decimal(100000))) == "0.00010000"
    binance = mm.Rules(Decimal("0.01"), Decimal("0.00001"), Decimal("0.00001"), Decimal(5), "t")
    assert str(binance.amount(Decimal("0.00001"), Decimal(100000))) == "0.00005"  # 5 USDT
    upbit = mm.Rules(
        Decimal(1), Decimal("1e-8"), Decimal("1e-8"), Decimal(5000), "t", mm.UPBIT_KRW_TICKS
    )
    assert str(upbit.bid(Decimal("139993500.5"))) == "139993000"  # 1000 KRW above 1M
    assert str(upbit.ask(Decimal("7003.2"))) == "7005"  # 5 KRW from 5000 to 10000
    assert str(upbit.amount(Decimal("0.00001"), Decimal(140_000_000))) == "0.00003572"


async def test_the_market_maker_trades_on_every_venue(tmp_path: Path) -> None:
    folder = example_copy(tmp_path, run_seconds=4, view="off")
    configs = load_config(folder / "config.json", sim=True)
    async with Simulator(ports="free") as sim:
        runner = ServiceRunner(
            configs,
            modules=[str(folder / "mm.py")],
            sim=dict(sim.env),
            duration=60,  # a backstop: the service stops itself after run_seconds
            handle_signals=False,
        )
        code = await runner.run()
        (service,) = runner.services
        assert code == 0, runner.reason
        assert service.verdict() == []
        for venue, market in service.markets.items():
            assert market.rules is not None, venue
            assert market.placed > 0 and market.fills > 0, (venue, market.last_error)
            assert market.filled + market.cancelled <= market.placed
        assert set(service.markets) == {Exchange(v) for v in VENUES}
        # cancel_on_stop: nothing of the venues' demo accounts is left resting
        left = [
            (name, order.order_id)
            for name, account in sim.engine.accounts.items()
            if not name.startswith("flow-")
            for symbol in VENUES.values()
            for order in sim.engine.open_orders(account, symbol)
        ]
        assert left == []


def test_the_demo_runs_end_to_end_with_plain_lines() -> None:
    done = demo("--duration", "4", "--example", str(EXAMPLE))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "every venue traded" in out
    for venue, symbol in VENUES.items():
        assert f"] {venue:<8} {symbol:<8} bid " in out  # a periodic plain line
        (row,) = [line for line in out.splitlines() if line.startswith(f"{venue} ")]
        assert symbol in row  # its summary row
    assert "summary after" in out and "order RTT p50/p99" in out
    assert "request:" in out  # the runner's latency table


def test_a_venue_that_cannot_connect_fails_the_demo() -> None:
    done = demo("--duration", "4", "--example", str(EXAMPLE), "--fault", "upbit.reject_auth=1000")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "hftpy demo: upbit.ws_api not ready: AuthError" in done.stderr


def test_a_venue_that_cannot_trade_fails_the_demo(tmp_path: Path) -> None:
    # Far beyond the simulator's demo balances: Backpack refuses every order.
    folder = example_copy(tmp_path, markets={"backpack": {"size": "1000000000"}})
    done = demo("--duration", "3", "--example", str(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "hftpy demo: backpack: placed no order (place rejected:" in done.stderr
    assert "FAILED backpack" in done.stdout
    for venue in ("kraken", "binance", "upbit"):
        assert f"hftpy demo: {venue}" not in done.stderr and f"; {venue}:" not in done.stderr


@pytest.mark.parametrize("view", ["live", "plain", "off"])
def test_the_dashboard_modes_end_with_the_summary(view: str, tmp_path: Path) -> None:
    from hftpy.demo import Dashboard, VenueRow

    row = VenueRow(
        "kraken", "BTC/USD", Decimal("99999.9"), Decimal("100000.1"), 25.0, 0, 3, 2, 2, 1, 0, 0,
        Decimal("0.001"), "BTC", Decimal("-0.25"), "USD", 400.0, 900.0, 300.0, "quoting",
    )  # fmt: skip
    with (tmp_path / "out.txt").open("w", encoding="utf-8") as out:
        board = Dashboard("test", view, every=0.0, out=out)
        board.start(lambda: [row])
        board.update([row])
        board.stop([row], ["upbit: placed no order (x)"])
    text = (tmp_path / "out.txt").read_text(encoding="utf-8")
    if view == "off":
        assert text == ""
    else:
        assert "99999.9" in text and "-0.25 USD" in text and "FAILED upbit" in text
