"""The Redis client's pool, and what a Redis failure looks like to a caller."""

from __future__ import annotations

import asyncio

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
