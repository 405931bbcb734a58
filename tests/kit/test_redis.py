"""The Redis client's pool, and what a Redis failure looks like to a caller."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from backend.api import cost
from backend.kit.redis import client_for
from backend.settings import load_settings
from tests.conftest import REDIS_TEST_URL, gql


@pytest.mark.postgres_only
async def test_more_concurrent_requests_than_connections_wait_for_one():
    settings = load_settings(
        {"TPH_ENV": "test", "REDIS_URL": REDIS_TEST_URL, "TPH_REDIS_POOL_MAX": "2"}
    )
    client = client_for(settings)
    try:
        await client.set("pool:test", "x")

        async def slow_read() -> str:
            # each holds a connection until Redis answers: 20 at once against a pool of 2
            return str(await client.eval("redis.call('GET', KEYS[1]); return 'ok'", 1, "k"))

        answers = await asyncio.gather(*(slow_read() for _ in range(20)))
        assert answers == ["ok"] * 20
        assert client.connection_pool.max_connections == 2
    finally:
        await client.aclose()


@pytest.mark.parametrize("compiled", [True, False])
async def test_a_redis_failure_is_an_internal_error_not_the_callers(
    app, client, monkeypatch, compiled
):
    from tests.api.test_compiled import the_view

    view = the_view(app)
    if not compiled:
        monkeypatch.setattr(view, "plans", None)

    async def down(caller: str, sync_seconds: float) -> int:
        raise RedisConnectionError("Too many connections")

    monkeypatch.setattr(cost.METER, "used", down)
    answer = await gql(client, "{ serverInfo { version } }")
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert "Too many" not in str(answer)


@pytest.fixture
async def real_redis() -> AsyncIterator[tuple[Any, Any]]:
    """A redis-py client and a multiplexed reader on the test Redis."""
    from redis.asyncio import Redis

    from backend.kit.redis import MultiplexedReader

    writer = Redis.from_url(REDIS_TEST_URL, decode_responses=True)
    reader = MultiplexedReader.for_url(REDIS_TEST_URL)
    assert reader is not None
    try:
        yield writer, reader
    finally:
        reader.close()
        await writer.aclose()


@pytest.mark.postgres_only
async def test_the_multiplexed_reader_answers_each_read_with_its_own_key(real_redis):
    writer, reader = real_redis
    await writer.mset({f"many:{n}": f"value {n} 碳" for n in range(300)})
    keys = [f"many:{n}" for n in range(300)] + ["many:absent"]
    answers = await asyncio.gather(*(reader.get(key) for key in reversed(keys)))
    assert answers == [None] + [f"value {n} 碳" for n in reversed(range(300))]


@pytest.mark.postgres_only
async def test_the_multiplexed_reader_reports_an_error_reply_and_keeps_its_order(real_redis):
    from redis.exceptions import ResponseError

    writer, reader = real_redis
    await writer.rpush("a-list", "x")
    await writer.set("a-string", "s")
    answers = await asyncio.gather(
        reader.get("a-string"),
        reader.get("a-list"),
        reader.get("a-string"),
        return_exceptions=True,
    )
    assert answers[0] == answers[2] == "s"
    assert isinstance(answers[1], ResponseError) and "WRONGTYPE" in str(answers[1])


@contextlib.asynccontextmanager
async def flaky_redis(first_drops: bool, answer_within: float = 5.0) -> AsyncIterator[Any]:
    """A reader on a stand-in Redis whose first connection, once a GET of `kept` arrives, is
    dropped (`first_drops`) or left unanswered; later connections answer "yes"."""
    from backend.kit.redis import MultiplexedReader

    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        await reader.readuntil(b"kept\r\n")
        if first and first_drops:
            writer.close()
            return
        if not first:
            writer.write(b"$3\r\nyes\r\n")
            await writer.drain()
        await reader.read()  # until the client closes

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    multiplexed = MultiplexedReader.for_url(
        f"redis://127.0.0.1:{port}/0", answer_within=answer_within
    )
    assert multiplexed is not None
    try:
        yield multiplexed
    finally:
        multiplexed.close()
        server.close()
    assert connections == 2


async def test_the_multiplexed_reader_fails_reads_in_flight_on_a_lost_connection_then_connects_again():
    async with flaky_redis(first_drops=True) as multiplexed:
        with pytest.raises(RedisConnectionError):
            await multiplexed.get("kept")
        assert await multiplexed.get("kept") == "yes"


async def test_the_multiplexed_reader_gives_up_on_a_redis_that_stops_answering():
    async with flaky_redis(first_drops=False, answer_within=0.2) as multiplexed:
        with pytest.raises(RedisConnectionError, match="did not answer"):
            await asyncio.wait_for(multiplexed.get("kept"), 5)
        assert await multiplexed.get("kept") == "yes"


async def test_the_multiplexed_reader_reports_what_stops_it_connecting():

    from backend.kit.redis import MultiplexedReader

    unreachable = MultiplexedReader.for_url("redis://127.0.0.1:1/0")
    assert unreachable is not None
    with pytest.raises(RedisConnectionError):
        await unreachable.get("k")
    # TLS and Unix sockets stay with redis-py
    assert MultiplexedReader.for_url("rediss://127.0.0.1:6380/0") is None
    assert MultiplexedReader.for_url("unix:///tmp/redis.sock?db=1") is None


@pytest.mark.postgres_only
async def test_the_multiplexed_reader_reports_a_refused_password():
    from redis.exceptions import ResponseError

    from backend.kit.redis import MultiplexedReader

    refused = MultiplexedReader.for_url("redis://:not-the-password@127.0.0.1:6379/0")
    assert refused is not None
    try:
        with pytest.raises(ResponseError):  # the test Redis has no password
            await refused.get("k")
    finally:
        refused.close()


@pytest.mark.postgres_only
async def test_a_session_check_that_cannot_reach_redis_is_an_internal_error(
    client, sms, monkeypatch
):
    from backend.kit import redis as redis_kit
    from tests.conftest import bearer, log_in

    tokens = await log_in(client, sms, "+8613800000931")
    monkeypatch.setattr(
        redis_kit, "_reader", redis_kit.MultiplexedReader.for_url("redis://127.0.0.1:1/0")
    )
    response = await client.post(
        "/graphql",
        json={"query": "{ wallet { balance } }"},
        headers=bearer(tokens["accessToken"]),
    )
    assert response.status_code == 500
    assert response.headers["x-request-id"]
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert "127.0.0.1" not in response.text
