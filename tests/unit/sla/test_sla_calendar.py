"""Calendar and deadline math: DST, holidays, split shifts, night shifts, multi-day targets."""
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from switchboard.sla.domain.calendar import (
    Calendar,
    CalendarBook,
    CalendarError,
    add_business_time,
    business_time_between,
    is_open,
    next_open,
    subtract_business_time,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)

WEEKDAYS_9_17 = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
BERLIN = Calendar.from_config({"id": "berlin", "timezone": "Europe/Berlin", "weekly": WEEKDAYS_9_17,
                               "holidays": ["2026-12-25", "2026-12-26"],
                               "overrides": {"2026-12-24": ["09:00-12:00"], "2026-12-27": ["10:00-14:00"]}})
SPLIT = Calendar.from_config({"id": "split", "timezone": "Asia/Shanghai",
                              "weekly": {d: ["09:00-12:00", "13:30-18:00"] for d in
                                         ("mon", "tue", "wed", "thu", "fri")}})
NIGHT = Calendar.from_config({"id": "night", "timezone": "America/New_York",
                              "weekly": {"mon": ["22:00-06:00"], "tue": ["22:00-06:00"]}})
ALWAYS = Calendar.twenty_four_seven()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_deadline_inside_one_business_day():
    # Mon 2026-11-23 10:00 Berlin (CET, UTC+1) + 2h -> 12:00 Berlin
    assert add_business_time(BERLIN, utc(2026, 11, 23, 9), 2 * H) == utc(2026, 11, 23, 11)


def test_message_after_hours_counts_from_next_opening():
    # Mon 17:30 Berlin -> clock starts Tue 09:00; 2.5 h -> Tue 11:30 Berlin = 10:30 UTC
    assert add_business_time(BERLIN, utc(2026, 11, 23, 16, 30), timedelta(hours=2, minutes=30)) == \
        utc(2026, 11, 24, 10, 30)


def test_friday_evening_rolls_over_the_weekend():
    # Fri 2026-11-27 16:00 Berlin, 3 h left: 1 h Friday, 2 h Monday -> Mon 11:00 Berlin
    assert add_business_time(BERLIN, utc(2026, 11, 27, 15), 3 * H) == utc(2026, 11, 30, 10)


def test_target_spanning_several_days():
    # 20 business hours from Mon 09:00 = Mon 8 + Tue 8 + Wed 4 -> Wed 13:00 Berlin
    assert add_business_time(BERLIN, utc(2026, 11, 23, 8), 20 * H) == utc(2026, 11, 25, 12)


def test_holidays_close_and_overrides_replace_a_day():
    # Thu 2026-12-24 override 09-12, Fri 25 + Sat 26 holidays, Sun 27 override 10-14, Mon 28 normal.
    start = utc(2026, 12, 24, 10)  # 11:00 Berlin on the 24th: 1 h left that day
    assert add_business_time(BERLIN, start, 1 * H) == utc(2026, 12, 24, 11)
    assert add_business_time(BERLIN, start, 2 * H) == utc(2026, 12, 27, 10)  # Sun 11:00 Berlin
    assert add_business_time(BERLIN, start, 6 * H) == utc(2026, 12, 28, 9)  # Mon 10:00 Berlin
    assert not is_open(BERLIN, utc(2026, 12, 25, 10))


def test_split_shift_skips_the_lunch_break():
    # Shanghai (UTC+8) Mon 11:00 + 2 h -> 1 h until 12:00, lunch, 1 h from 13:30 -> 14:30 local
    assert add_business_time(SPLIT, utc(2026, 11, 23, 3), 2 * H) == utc(2026, 11, 23, 6, 30)
    assert business_time_between(SPLIT, utc(2026, 11, 23, 1), utc(2026, 11, 23, 10)) == \
        timedelta(hours=7, minutes=30)


def test_interval_across_midnight():
    # New York night shift Mon 22:00 -> Tue 06:00 (EST, UTC-5): Mon 23:00 local + 5 h = Tue 04:00 local
    assert add_business_time(NIGHT, utc(2026, 11, 24, 4), 5 * H) == utc(2026, 11, 24, 9)
    # Tue 05:00 local + 3 h: 1 h Tue morning, 2 h from Tue 22:00 -> Wed 00:00 local = 05:00 UTC
    assert add_business_time(NIGHT, utc(2026, 11, 24, 10), 3 * H) == utc(2026, 11, 25, 5)
    assert is_open(NIGHT, utc(2026, 11, 24, 6))   # Tue 01:00 local, Monday's shift
    assert not is_open(NIGHT, utc(2026, 11, 24, 12))


def test_dst_spring_forward_shortens_the_night_but_not_business_time():
    # Berlin 2026-03-29 02:00 -> 03:00. A 24x7-local calendar: 01:00-05:00 local is only 3 real hours.
    cal = Calendar.from_config({"id": "dst", "timezone": "Europe/Berlin",
                                "weekly": {"sun": ["01:00-05:00"]}})
    assert business_time_between(cal, utc(2026, 3, 28, 0), utc(2026, 3, 30, 0)) == 3 * H
    # 01:30 local (CET) = 00:30 UTC; 2 h of open time -> 04:30 CEST = 02:30 UTC
    assert add_business_time(cal, utc(2026, 3, 29, 0, 30), 2 * H) == utc(2026, 3, 29, 2, 30)


def test_dst_fall_back_lengthens_the_shift():
    # New York 2026-11-01 02:00 -> 01:00. 00:00-04:00 local lasts 5 real hours that day.
    cal = Calendar.from_config({"id": "ny", "timezone": "America/New_York", "weekly": {"sun": ["00:00-04:00"]}})
    assert business_time_between(cal, utc(2026, 10, 31), utc(2026, 11, 2)) == 5 * H


def test_business_day_across_dst_keeps_local_opening_times():
    # Fri 2026-03-27 16:00 CET + 2 h -> Mon 2026-03-30 10:00 CEST = 08:00 UTC
    assert add_business_time(BERLIN, utc(2026, 3, 27, 15), 2 * H) == utc(2026, 3, 30, 8)


def test_opening_inside_a_dst_gap_starts_when_the_gap_ends():
    cal = Calendar.from_config({"id": "gap", "timezone": "Europe/Berlin", "weekly": {"sun": ["02:30-04:00"]}})
    assert next_open(cal, utc(2026, 3, 29, 0)) == utc(2026, 3, 29, 1)  # 03:00 CEST
    assert business_time_between(cal, utc(2026, 3, 29, 0), utc(2026, 3, 30)) == 1 * H


def test_calendar_hours_are_plain_clock_time():
    assert add_business_time(ALWAYS, utc(2026, 11, 23, 23), 9 * M) == utc(2026, 11, 23, 23, 9)
    assert business_time_between(ALWAYS, utc(2026, 1, 1), utc(2026, 1, 2)) == 24 * H


def test_subtract_walks_backwards_over_closed_time():
    assert subtract_business_time(BERLIN, utc(2026, 11, 30, 10), 3 * H) == utc(2026, 11, 27, 15)


def test_invalid_definitions_name_what_to_fix():
    with pytest.raises(CalendarError, match="timezone"):
        Calendar.from_config({"id": "x", "timezone": "Mars/Base", "weekly": WEEKDAYS_9_17})
    with pytest.raises(CalendarError, match="HH:MM"):
        Calendar.from_config({"id": "x", "weekly": {"mon": ["9-17"]}})
    with pytest.raises(CalendarError, match="weekday"):
        Calendar.from_config({"id": "x", "weekly": {"monday": ["09:00-17:00"]}})
    with pytest.raises(CalendarError, match="no opening hours"):
        Calendar.from_config({"id": "x", "weekly": {}})
    with pytest.raises(CalendarError, match="YYYY-MM-DD"):
        Calendar.from_config({"id": "x", "weekly": WEEKDAYS_9_17, "holidays": ["25.12.2026"]})


def test_a_calendar_closed_for_over_a_year_is_an_error_not_a_hang():
    cal = Calendar.from_config({"id": "x", "weekly": {"mon": ["09:00-10:00"]},
                                "holidays": [str(date(2027, 1, 4) + timedelta(weeks=w)) for w in range(70)]})
    with pytest.raises(CalendarError, match="closed for more than"):
        add_business_time(cal, utc(2027, 1, 1), 2 * H)


def test_calendar_selection_first_match_wins():
    book = CalendarBook({"berlin": BERLIN, "split": SPLIT},
                        [{"brand": "acme", "region": "cn", "calendar": "split"},
                         {"region": "eu", "channel": ["email", "web_form"], "calendar": "berlin"}])
    assert book.select(brand="acme", region="cn", channel="chat", queue="q").id == "split"
    assert book.select(brand="other", region="eu", channel="email", queue="q").id == "berlin"
    assert book.select(brand="other", region="eu", channel="chat", queue="q").id == "24x7"


# --- properties ---------------------------------------------------------------------------------
CALENDARS = st.sampled_from([BERLIN, SPLIT, NIGHT, ALWAYS])
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))
AMOUNTS = st.integers(min_value=0, max_value=40 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(CALENDARS, MOMENTS, AMOUNTS)
def test_added_business_time_measures_back_exactly(cal, start, amount):
    deadline = add_business_time(cal, start, amount)
    assert deadline >= start
    assert business_time_between(cal, start, deadline) == amount


@settings(max_examples=300, deadline=None)
@given(CALENDARS, MOMENTS, AMOUNTS)
def test_add_then_subtract_is_identity_from_an_open_instant(cal, start, amount):
    opened = next_open(cal, start)
    if amount:
        assert subtract_business_time(cal, add_business_time(cal, opened, amount), amount) == opened


@settings(max_examples=200, deadline=None)
@given(CALENDARS, MOMENTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)), AMOUNTS, AMOUNTS)
def test_deadline_is_monotonic_in_start_and_target(cal, start, later_by, amount, more):
    base = add_business_time(cal, start, amount)
    assert add_business_time(cal, start + later_by, amount) >= base
    assert add_business_time(cal, start, amount + more) >= base


@settings(max_examples=200, deadline=None)
@given(CALENDARS, MOMENTS, AMOUNTS, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
       st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)))
def test_a_pause_never_shortens_the_deadline(cal, start, amount, run_before_pause, pause_length):
    """Run, pause, resume with the remaining budget: the new deadline is never earlier."""
    unpaused = add_business_time(cal, start, amount)
    paused_at = start + run_before_pause
    if paused_at >= unpaused:
        return  # the clock met its deadline before it could be paused
    remaining = amount - business_time_between(cal, start, paused_at)
    resumed = add_business_time(cal, paused_at + pause_length, remaining)
    assert resumed >= unpaused
    if pause_length == timedelta(0):
        assert resumed == unpaused
