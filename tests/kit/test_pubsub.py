"""Redis pub/sub through the process's broker: single messages and fanned-out batches."""

from __future__ import annotations

import asyncio

from backend.kit import pubsub


async def next_message(queue: asyncio.Queue[str]) -> str:
    return await asyncio.wait_for(queue.get(), timeout=5)


async def test_a_published_message_reaches_the_listeners_of_its_channel(settings):
    async with pubsub.broker().listen("test:a") as queue:
        await pubsub.publish("test:a", "one")
        assert await next_message(queue) == "one"
    await pubsub.close_broker()


async def test_a_batch_is_one_message_and_each_listener_gets_only_its_own(settings, monkeypatch):
    published: list[str] = []
    redis = pubsub.get_redis()
    real = redis.publish

    async def counting(channel, data):
        published.append(channel)
        return await real(channel, data)

    monkeypatch.setattr(redis, "publish", counting)
    async with (
        pubsub.broker().listen("test:a") as a,
        pubsub.broker().listen("test:b") as b,
    ):
        await pubsub.publish_many(
            [("test:a", "a1"), ("test:c", "c1"), ("test:b", "b1"), ("test:a", "a2")]
        )
        assert [await next_message(a), await next_message(a)] == ["a1", "a2"]
        assert await next_message(b) == "b1"
        await asyncio.sleep(0.05)
        assert a.empty() and b.empty()
    assert published == [pubsub.FANOUT]
    await pubsub.close_broker()
