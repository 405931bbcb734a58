"""Redis pub/sub, one subscriber connection per process, fanned out to local listeners.

`publish` reaches every process (and every replica) listening on a channel; `listen` yields the
messages of one channel to one local listener (a GraphQL subscription). `publish_many` sends a
batch of (channel, data) messages as ONE message on the `FANOUT` channel, which every process's
broker reads and hands to its own listeners of each channel named: a thousand wallets changed by
one ingestion batch cost one PUBLISH, not a thousand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from backend.kit.redis import get_redis

log = logging.getLogger(__name__)

FANOUT = "fanout"


class Broker:
    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._pubsub: Any = None
        self._listeners: dict[str, set[asyncio.Queue[str]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._closing = False

    async def _read(self) -> None:
        # The flag ends the loop too: the in-process stand-in for Redis (SQLite lane, `make
        # dev`) swallows the reader's cancellation inside get_message.
        while not self._closing:
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=1.0
                )
            except Exception:
                log.exception("pub/sub read failed; retrying")
                await asyncio.sleep(1)
                continue
            if message is None:
                continue
            channel = message["channel"]
            if channel == FANOUT:
                self._fan_out(message["data"])
                continue
            self._deliver(channel, message["data"])

    def _deliver(self, channel: str, data: str) -> None:
        for queue in list(self._listeners.get(channel, ())):
            queue.put_nowait(data)

    def _fan_out(self, data: str) -> None:
        try:
            messages = json.loads(data)
        except ValueError:
            log.warning("pub/sub: a fan-out message that is not JSON")
            return
        for channel, item in messages:
            if channel in self._listeners:
                self._deliver(channel, item)

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1000)
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub()
                await self._pubsub.subscribe(FANOUT)
            if channel not in self._listeners:
                self._listeners[channel] = set()
                await self._pubsub.subscribe(channel)
            self._listeners[channel].add(queue)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read())
        try:
            yield queue
        finally:
            async with self._lock:
                listeners = self._listeners.get(channel)
                if listeners is not None:
                    listeners.discard(queue)
                    if not listeners:
                        del self._listeners[channel]
                        with contextlib.suppress(Exception):
                            await self._pubsub.unsubscribe(channel)

    async def close(self) -> None:
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            # get_message returns within its one-second timeout and the loop sees the flag
            await asyncio.wait([self._reader], timeout=5)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()


_broker: Broker | None = None


def broker() -> Broker:
    global _broker
    if _broker is None:
        _broker = Broker(get_redis())
    return _broker


async def close_broker() -> None:
    global _broker
    if _broker is not None:
        await _broker.close()
        _broker = None


async def publish(channel: str, data: str) -> None:
    await get_redis().publish(channel, data)


async def publish_many(messages: list[tuple[str, str]]) -> None:
    """Several (channel, data) messages as one message on FANOUT, each delivered by every
    process's broker to its listeners of that channel, as `publish` would."""
    if not messages:
        return
    await get_redis().publish(FANOUT, json.dumps(messages, separators=(",", ":")))
