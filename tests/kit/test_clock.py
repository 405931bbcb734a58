"""The injectable clock and Shanghai day boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from backend.kit import clock


def test_frozen_clock_stands_still_and_moves_when_told():
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    with clock.frozen(start) as frozen:
        assert clock.now() == start
        frozen.advance(timedelta(minutes=5))
        assert clock.now() == start + timedelta(minutes=5)
    assert clock.now() != start + timedelta(minutes=5)


def test_system_clock_is_aware_utc():
    assert clock.now().utcoffset() == timedelta(0)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="aware"):
        clock.FrozenClock(datetime(2026, 1, 1))


def test_the_business_day_turns_at_midnight_in_shanghai_not_utc():
    # 15:59:59 UTC is 23:59:59 in Shanghai; one second later it is the next day there.
    assert clock.shanghai_date(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)) == "2026-03-01"
    assert clock.shanghai_date(datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC)) == "2026-03-02"
