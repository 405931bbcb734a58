"""Tortoise's asyncpg engine, with the pool's waiters served in the order they arrived.

asyncpg's pool lets a task that has just arrived take a connection released for a task already
waiting; the waiter then finds the pool empty and queues again at the back. Under load a few
requests wait many times over: at 64 concurrent wallet reads on a pool of 10, p99 was ~10x p50
(bench/RESULTS.md). Here a fair semaphore with one turn per connection is taken before asyncpg's
pool is asked: a task holding a turn always finds a connection there, and the turns are handed
out first come, first served (asyncio.Semaphore gives a released turn to the longest waiter).

Selected in `db.connection_config` as the engine of PostgreSQL connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tortoise.backends.asyncpg.client import AsyncpgDBClient


class FairPool:
    """An asyncpg pool whose `acquire` waits its turn. Everything else is the pool's own."""

    def __init__(self, pool: Any, size: int) -> None:
        self.pool = pool
        self.turns = asyncio.Semaphore(size)

    async def acquire(self, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109 (asyncpg's)
        if timeout is None:
            await self.turns.acquire()
        else:
            async with asyncio.timeout(timeout):  # the wait for a turn is a wait for a connection
                await self.turns.acquire()
        try:
            return await self.pool.acquire(timeout=timeout)
        except BaseException:
            self.turns.release()
            raise

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        try:
            await self.pool.release(connection, timeout=timeout)
        finally:
            self.turns.release()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


class FairAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> Any:
        pool = await super().create_pool(**kwargs)
        return FairPool(pool, int(kwargs["max_size"]))


client_class = FairAsyncpgClient
