"""The process's Redis client: real Redis when REDIS_URL is set, else an in-process stand-in.

The stand-in (fakeredis) serves the single-process embedded mode only. Redis keeps nothing that must
survive a restart.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

from backend.settings import Settings

_client: Any = None


def client_for(settings: Settings) -> Redis:
    """A client on a bounded pool that makes a request wait for a free connection: redis-py's
    default pool (100 connections in redis-py 8) fails the request instead ("Too many
    connections"), as it did under 256 concurrent logins."""
    assert settings.redis_url
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        decode_responses=True,
        max_connections=settings.redis_pool_max,
        timeout=settings.redis_pool_wait_seconds,
    )
    return Redis.from_pool(pool)


async def init_redis(settings: Settings) -> Any:
    global _client
    if settings.redis_url:
        _client = client_for(settings)
    else:
        import fakeredis

        _client = fakeredis.FakeAsyncRedis(decode_responses=True)
    return _client


def get_redis() -> Any:
    if _client is None:
        raise RuntimeError("Redis is not initialised; the app's lifespan does that")
    return _client


async def close_redis() -> None:
    global _client
    if _client is not None:
        await _client.aclose()
        _client = None
