"""`async with create_exchange_ws_api(...)` / `create_exchange_stream(...)`: started as a task,
ready inside the block, closed at its end, whatever ends it; nothing left running or open
(pytest's `filterwarnings = error` turns an unclosed aiohttp session into a failure)."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any

import pytest

from hftpy.common import Exchange
from hftpy.errors import AuthError
from hftpy.exchange import BinanceStream, create_exchange_stream, create_exchange_ws_api
from hftpy.exchange.upbit import UpbitWsApi
from hftpy.exchange.ws_api import WsApiBase
from hftpy.sim import Simulator
from test_credentials import VENUES, WRONG, ws_args

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "hftpy"
# Code of the client side (not the simulator's, which runs on the same loop).
CLIENT_CODE = (PACKAGE / "exchange", PACKAGE / "net")


def client_tasks() -> list[asyncio.Task[Any]]:
    """Unfinished tasks running hftpy client code."""
    found = []
    for task in asyncio.all_tasks():
        code = getattr(task.get_coro(), "cr_code", None)
        if task.done() or code is None:
            continue
        if any(Path(code.co_filename).is_relative_to(root) for root in CLIENT_CODE):
            found.append(task)
    return found


async def settle() -> None:
    await asyncio.sleep(0.05)  # let cancelled tasks finish their cancellation
    gc.collect()  # an unclosed session warns when collected


def assert_closed(api: WsApiBase) -> None:
    assert api._closed and not api.ready
    assert api._runner is not None and api._runner.done()
    rest = getattr(api, "_rest", None)
    if rest is not None:  # the REST session the WS API owns
        assert rest._session is None


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_ws_api_starts_is_ready_inside_and_closes_after(
    sim: Simulator, venue: Exchange
) -> None:
    async with create_exchange_ws_api(**ws_args(sim, venue)) as api:
        assert api.ready
        assert api._runner is not None and not api._runner.done()
        if isinstance(api, UpbitWsApi):
            await api._up.accounts()  # opens the REST session too
    assert_closed(api)
    await settle()
    assert client_tasks() == []


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_an_exception_inside_still_closes_everything(sim: Simulator, venue: Exchange) -> None:
    with pytest.raises(RuntimeError, match="strategy bug"):
        async with create_exchange_ws_api(**ws_args(sim, venue)) as api:
            if isinstance(api, UpbitWsApi):
                await api._up.accounts()
            raise RuntimeError("strategy bug")
    assert_closed(api)
    await settle()
    assert client_tasks() == []


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_refused_keys_raise_from_async_with_and_close(
    sim: Simulator, venue: Exchange
) -> None:
    api = create_exchange_ws_api(**ws_args(sim, venue, **WRONG[venue][0]))
    with pytest.raises(AuthError, match=WRONG[venue][1]):
        async with api:
            pytest.fail("the block must not run")
    assert_closed(api)
    await settle()
    assert client_tasks() == []


async def test_cancelled_inside_still_closes(sim: Simulator) -> None:
    entered = asyncio.Event()

    async def strategy() -> None:
        async with create_exchange_ws_api(**ws_args(sim, Exchange.KRAKEN)):
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(strategy())
    await asyncio.wait_for(entered.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await settle()
    assert client_tasks() == []


async def test_stream_starts_and_closes_even_when_the_block_raises(sim: Simulator) -> None:
    env = sim.env
    args = {"url": env["HFTPY_BINANCE_STREAM_URL"], "rest_url": env["HFTPY_BINANCE_REST_URL"]}
    with pytest.raises(RuntimeError, match="strategy bug"):
        async with create_exchange_stream(Exchange.BINANCE, **args) as stream:
            assert isinstance(stream, BinanceStream) and stream.ready
            await stream.subscribe(["book"], "BTCUSDT")
            for _ in range(500):  # the book's REST snapshot opens the HTTP session
                if stream._http is not None:
                    break
                await asyncio.sleep(0.01)
            assert stream._http is not None
            raise RuntimeError("strategy bug")
    assert stream._closed and stream._http is None and not stream.ready
    assert stream._runner is not None and stream._runner.done()
    await settle()
    assert client_tasks() == []
