"""`AsyncLifecycle`: `async with` for the objects that own a connection (WS APIs, streams).

`async with create_exchange_ws_api(...) as ws_api:` starts the object as a task, waits until
it is ready (raising what `wait_ready()` raises, the object closed again) and closes it at
the end of the block, whatever ended the block; no task outlives the block.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from hftpy.errors import HftpyError


async def settled(task: asyncio.Task[None]) -> None:
    """Waits for `task` to end, its outcome taken (it was logged or raised where it happened),
    so no task outlives an `async with` block."""
    if not task.done():
        await asyncio.wait([task])
    if not task.cancelled():
        task.exception()


class AsyncLifecycle:
    """Mixin for a class with `start()` (runs until `close()`), `wait_ready()`, `close()`, and
    the attributes `_closed` and `_runner` (the task running `start()`, once started)."""

    _closed: bool
    _runner: asyncio.Task[None] | None

    async def start(self) -> None:
        """Runs until `close()` (the owning class implements it)."""
        raise NotImplementedError

    async def wait_ready(self, timeout: float | None = 30.0) -> None:
        """Returns once ready, or raises (the owning class implements it)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Closes for good (the owning class implements it)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        """Starts the object as a task and waits until it is ready (see the module doc)."""
        if self._closed:
            raise HftpyError(f"{self!r} is closed; create a new one")
        runner = self._runner
        if runner is None or runner.done():
            runner = asyncio.get_running_loop().create_task(self.start())
        try:
            await self.wait_ready()
        except BaseException:
            await self.close()
            await settled(runner)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Closes the object and waits for its `start()` task to end."""
        runner = self._runner
        await self.close()
        if runner is not None:
            await settled(runner)
