"""The one injectable clock: every 'now' in the service comes from here, so tests can move time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# Day boundaries (daily caps, expiry) are in Shanghai time; storage is UTC.
SHANGHAI = ZoneInfo("Asia/Shanghai")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        self._now = at.astimezone(UTC)


_clock: SystemClock | FrozenClock = SystemClock()


def now() -> datetime:
    """The current time, aware, in UTC."""
    return _clock.now()


def set_clock(clock: SystemClock | FrozenClock) -> None:
    global _clock
    _clock = clock


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[FrozenClock]:
    """Freeze time at `at` for the duration of the block."""
    previous = _clock
    clock = FrozenClock(at)
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def shanghai_date(at: datetime) -> str:
    """The calendar day (YYYY-MM-DD) of `at` in Asia/Shanghai."""
    return at.astimezone(SHANGHAI).date().isoformat()
