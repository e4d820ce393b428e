"""Holidays close their whole date; an override beats a holiday on the same date (issue 16, item 10)."""
from datetime import UTC, datetime, timedelta

from switchboard.sla.domain.calendar import Calendar, add_business_time, business_time_between, is_open

H = timedelta(hours=1)
NIGHTS = {d: ["22:00-06:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def new_york(**extra) -> Calendar:
    return Calendar.from_config({"id": "ny-nights", "timezone": "America/New_York", "weekly": NIGHTS, **extra})


def ny(day: int, hour: int) -> datetime:
    """November 2026 in New York (EST, UTC-5) as UTC; Mon = 23, Tue = 24, Wed = 25."""
    return datetime(2026, 11, day, hour, tzinfo=UTC) + timedelta(hours=5)


HOLIDAY_TUESDAY = new_york(holidays=["2026-11-24"])


def test_the_night_shift_before_a_holiday_stops_at_midnight():
    assert business_time_between(HOLIDAY_TUESDAY, ny(23, 22), ny(24, 6)) == 2 * H  # Mon 22:00-24:00 only
    assert not is_open(HOLIDAY_TUESDAY, ny(24, 2))                                  # Tue 02:00: holiday
    # Mon 23:00 + 2 h: 1 h on Monday, the holiday is closed all day (its own night shift too), the rest
    # from Wednesday's shift at 22:00.
    assert add_business_time(HOLIDAY_TUESDAY, ny(23, 23), 2 * H) == ny(25, 23)


def test_without_the_holiday_the_same_shift_runs_to_six():
    assert business_time_between(new_york(), ny(23, 22), ny(24, 6)) == 8 * H
    assert add_business_time(new_york(), ny(23, 23), 2 * H) == ny(24, 1)


def test_a_date_that_is_both_a_holiday_and_an_override_follows_the_override():
    both = new_york(holidays=["2026-11-24"], overrides={"2026-11-24": ["10:00-12:00"]})
    assert is_open(both, ny(24, 11))                      # the override's hours are open
    assert not is_open(both, ny(24, 23))                  # its weekly night shift is replaced
    assert is_open(both, ny(24, 2))                       # not a holiday: Monday's shift runs on to 06:00
    assert business_time_between(both, ny(23, 22), ny(25, 0)) == 8 * H + 2 * H


def test_an_empty_override_replaces_only_that_dates_own_openings():
    closed = new_york(overrides={"2026-11-24": []})
    assert is_open(closed, ny(24, 2)) and not is_open(closed, ny(24, 23))
