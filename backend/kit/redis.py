"""The process's Redis client: real Redis when REDIS_URL is set, else an in-process stand-in.

The stand-in (fakeredis) serves the single-process embedded mode only. Redis keeps nothing that must
survive a restart.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from backend.settings import Settings

_client: Any = None
_reader: Any = None


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


class _Replies(asyncio.Protocol):
    """One connection's replies, handed to its waiters in the order their commands were sent
    (Redis answers each connection's commands in order)."""

    def __init__(self, answer_within: float) -> None:
        self.parser = hiredis.Reader(encoding="utf-8")
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.outgoing: list[bytes] = []
        self.answer_within = answer_within

    def send(self, command: bytes, waiter: asyncio.Future[Any]) -> None:
        """Queue `command`, answered to `waiter`. The commands of one loop turn go out in one
        write: under load many requests ask in the same turn, and each write is a system call."""
        self.waiting.append(waiter)
        self.outgoing.append(command)
        if len(self.outgoing) == 1:
            waiter.get_loop().call_soon(self._flush)

    def _flush(self) -> None:
        commands, self.outgoing = self.outgoing, []
        if not self.closed and self.transport is not None:
            self.transport.write(b"".join(commands))
            last = self.waiting[-1]
            last.get_loop().call_later(self.answer_within, self._check_answered, last)

    def _check_answered(self, last: asyncio.Future[Any]) -> None:
        # Replies come in order: when the last command of a write is still unanswered, Redis
        # has stopped answering this connection. Its waiters fail and the next read reconnects.
        if not last.done():
            self._fail(RedisConnectionError(f"Redis did not answer within {self.answer_within} s"))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        while True:
            try:
                reply = self.parser.gets()
            except hiredis.ProtocolError as exc:
                self._fail(RedisConnectionError(f"Redis sent what is not RESP: {exc}"))
                return
            if reply is False:
                return
            waiter = self.waiting.popleft()
            if waiter.done():  # its caller was cancelled; the reply is still its own
                continue
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(ResponseError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(RedisConnectionError("the Redis connection was lost"))

    def _fail(self, error: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)


def _command(*parts: str) -> bytes:
    encoded = [part.encode() for part in parts]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


class MultiplexedReader:
    """Reads for every request of the process over one Redis connection, many in flight at once.

    redis-py takes a connection from its pool for each command and gives it back: ~50 µs of CPU per
    GET under load, on every signed-in request (the session check). Here each GET is written at
    once and its reply matched in order, so one write and one read serve all the requests of a
    loop turn (~9 µs a GET). A lost connection fails the reads in flight with redis-py's
    ConnectionError, and the next read connects again; so does a connection on which Redis has
    not answered within `answer_within` seconds. Plain TCP only: `for_url` gives None for TLS or
    a Unix socket, and callers keep redis-py."""

    def __init__(
        self,
        host: str,
        port: int,
        db: int,
        username: str | None,
        password: str | None,
        answer_within: float,
    ):
        self.address = (host, port)
        self.answer_within = answer_within
        self.setup = (
            [_command("AUTH", *([username] if username else []), password)] if password else []
        ) + ([_command("SELECT", str(db))] if db else [])
        self.replies: _Replies | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.connecting: asyncio.Future[_Replies] | None = None

    @classmethod
    def for_url(cls, url: str, answer_within: float = 5.0) -> MultiplexedReader | None:
        options = parse_url(url)
        if "connection_class" in options or "path" in options:
            return None
        return cls(
            options.get("host", "localhost"),
            int(options.get("port", 6379)),
            int(options.get("db", 0) or 0),
            options.get("username"),
            options.get("password"),
            answer_within,
        )

    async def get(self, key: str) -> str | None:
        replies = self.replies
        if replies is None or replies.closed or self.loop is not asyncio.get_running_loop():
            replies = await self._connect()
        waiter: asyncio.Future[Any] = self.loop.create_future()  # type: ignore[union-attr]
        replies.send(_command("GET", key), waiter)
        return await waiter  # type: ignore[no-any-return]

    async def _connect(self) -> _Replies:
        loop = asyncio.get_running_loop()
        if self.connecting is not None and self.loop is loop and not self.connecting.done():
            return await asyncio.shield(self.connecting)
        self.loop = loop
        self.connecting = loop.create_future()
        try:
            try:
                transport, replies = await loop.create_connection(
                    lambda: _Replies(self.answer_within), *self.address
                )
            except OSError as exc:
                raise RedisConnectionError(f"cannot reach Redis: {exc}") from exc
            waiters = []
            for command in self.setup:
                waiter = loop.create_future()
                replies.send(command, waiter)
                waiters.append(waiter)
            try:
                await asyncio.gather(*waiters)
            except Exception:
                transport.close()
                raise
        except BaseException as exc:
            self.connecting.set_exception(exc)
            self.connecting.exception()  # retrieved: a failed connect is reported to its callers
            raise
        self.close()
        self.replies = replies
        self.connecting.set_result(replies)
        return replies

    def close(self) -> None:
        if self.replies is not None and self.replies.transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop may be closed already
                self.replies.transport.close()
        self.replies = None


def reader() -> Any:
    """What reads a key on the hot path: the multiplexed connection, or the client itself (the
    in-process stand-in, TLS, Unix sockets)."""
    return _reader if _reader is not None else get_redis()


async def init_redis(settings: Settings) -> Any:
    global _client, _reader
    if settings.redis_url:
        _client = client_for(settings)
        # A request waits as long for Redis's answer as for a pooled connection.
        _reader = MultiplexedReader.for_url(
            settings.redis_url, answer_within=settings.redis_pool_wait_seconds
        )
    else:
        import fakeredis

        _client = fakeredis.FakeAsyncRedis(decode_responses=True)
    return _client


def get_redis() -> Any:
    if _client is None:
        raise RuntimeError("Redis is not initialised; the app's lifespan does that")
    return _client


async def close_redis() -> None:
    global _client, _reader
    if _reader is not None:
        _reader.close()
        _reader = None
    if _client is not None:
        await _client.aclose()
        _client = None
