"""Calendar edges that `make mutation` found loose (docs/mutation.md): instants exactly on an opening's
boundary, openings that touch or overlap (also across midnight), wall times inside a DST gap, the
longest closure a calendar may have, walking backwards over a closed week, and the exact messages
that tell an operator what to fix."""
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from switchboard.sla.domain.calendar import (
    Calendar,
    CalendarBook,
    CalendarError,
    add_business_time,
    business_time_between,
    is_open,
    local_to_utc,
    next_open,
    open_intervals,
    subtract_business_time,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
MONDAY = datetime(2026, 11, 23, tzinfo=UTC)  # 00:00 UTC on a Monday
DAY = timedelta(days=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def calendar(weekly: dict, **extra) -> Calendar:
    return Calendar.from_config({"id": "edges", "weekly": weekly, **extra})


def first(cal: Calendar, start: datetime, n: int) -> list[tuple[datetime, datetime]]:
    return list(islice(open_intervals(cal, start), n))


# --- boundaries of one opening ---------------------------------------------------------------
NINE_TO_FIVE = calendar({"mon": ["09:00-17:00"], "tue": ["09:00-17:00"]})


def test_at_closing_time_the_desk_is_closed_and_the_next_opening_is_the_next_morning():
    closing = MONDAY + 17 * H
    assert not is_open(NINE_TO_FIVE, closing)
    assert next_open(NINE_TO_FIVE, closing) == MONDAY + DAY + 9 * H
    assert first(NINE_TO_FIVE, closing, 1) == [(MONDAY + DAY + 9 * H, MONDAY + DAY + 17 * H)]
    assert is_open(NINE_TO_FIVE, closing - timedelta(microseconds=1))


def test_at_opening_time_the_desk_is_open_and_counts_from_that_instant():
    opening = MONDAY + 9 * H
    assert is_open(NINE_TO_FIVE, opening) and next_open(NINE_TO_FIVE, opening) == opening
    assert add_business_time(NINE_TO_FIVE, opening, 8 * H) == MONDAY + 17 * H  # the whole day, not the next
    assert add_business_time(NINE_TO_FIVE, MONDAY + 17 * H, M) == MONDAY + DAY + 9 * H + M


def test_no_opening_interval_is_ever_empty():
    cal = calendar({"mon": ["20:00-24:00"], "tue": ["09:00-10:00"], "wed": ["22:00-06:00"]})
    for start in (MONDAY + 21 * H, MONDAY + 24 * H, MONDAY + 30 * H, MONDAY + 2 * DAY + 23 * H):
        intervals = first(cal, start, 4)
        assert all(b > a for a, b in intervals), intervals
    assert first(cal, MONDAY + 21 * H, 2) == [(MONDAY + 21 * H, MONDAY + DAY), (MONDAY + DAY + 9 * H,
                                                                                 MONDAY + DAY + 10 * H)]


def test_zero_business_time_before_or_after_a_closed_instant_is_that_instant():
    saturday_noon = MONDAY + 5 * DAY + 12 * H
    assert subtract_business_time(NINE_TO_FIVE, saturday_noon, timedelta(0)) == saturday_noon
    assert add_business_time(NINE_TO_FIVE, saturday_noon, timedelta(0)) == saturday_noon
    assert add_business_time(NINE_TO_FIVE, saturday_noon, -2 * H) == MONDAY + DAY + 15 * H  # negative: backwards


# --- touching and overlapping openings --------------------------------------------------------
def test_openings_that_touch_or_overlap_on_one_day_are_one_interval():
    touching = calendar({"mon": ["09:00-12:00", "12:00-17:00"]})
    overlapping = calendar({"mon": ["09:00-13:00", "12:00-17:00"]})
    inside = calendar({"mon": ["09:00-17:00", "10:00-12:00"]})
    for cal in (touching, overlapping, inside):
        assert first(cal, MONDAY, 2) == [(MONDAY + 9 * H, MONDAY + 17 * H),
                                         (MONDAY + 7 * DAY + 9 * H, MONDAY + 7 * DAY + 17 * H)]
        assert business_time_between(cal, MONDAY, MONDAY + DAY) == 8 * H


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York"])
def test_a_night_shift_overlapping_the_next_mornings_shift_counts_the_overlap_once(zone):
    # Mon 22:00-02:00 and Tue 00:30-03:00 local: open from Mon 22:00 to Tue 03:00, 5 hours.
    cal = Calendar.from_config({"id": "nights", "timezone": zone,
                                "weekly": {"mon": ["22:00-02:00"], "tue": ["00:30-03:00"]}})
    monday_evening = local_to_utc(datetime(2026, 11, 23, 21), ZoneInfo(zone))
    assert business_time_between(cal, monday_evening, monday_evening + 7 * H) == 5 * H
    assert add_business_time(cal, monday_evening, 5 * H) == monday_evening + 6 * H
    assert is_open(cal, monday_evening + 4 * H + 15 * M)  # Tue 01:15 local, inside both shifts


def test_a_day_long_shift_from_yesterday_is_still_open_late_in_the_evening_west_of_utc():
    # Mon 23:00 to Tue 23:00 New York; Tue 22:00 New York is already Wednesday in UTC.
    cal = Calendar.from_config({"id": "long", "timezone": "America/New_York", "weekly": {"mon": ["23:00-23:00"]}})
    tuesday_late = utc(2026, 11, 25, 3)
    assert is_open(cal, tuesday_late)
    assert add_business_time(cal, tuesday_late, 30 * M) == utc(2026, 11, 25, 3, 30)


# --- DST gaps ---------------------------------------------------------------------------------
@pytest.mark.parametrize("wall", [datetime(2026, 3, 29, 2, 7), datetime(2026, 3, 29, 2, 13),
                                  datetime(2026, 3, 29, 2, 41, 13), datetime(2026, 3, 29, 2, 59)])
def test_a_wall_time_inside_the_spring_gap_is_the_exact_second_the_gap_ends(wall):
    assert local_to_utc(wall, ZoneInfo("Europe/Berlin")) == utc(2026, 3, 29, 1)  # 03:00 CEST, to the microsecond


def test_wall_times_around_the_gap_keep_their_own_offset():
    berlin = ZoneInfo("Europe/Berlin")
    assert local_to_utc(datetime(2026, 3, 29, 1, 59, 59), berlin) == utc(2026, 3, 29, 0, 59, 59)
    assert local_to_utc(datetime(2026, 3, 29, 3, 0, 1), berlin) == utc(2026, 3, 29, 1, 0, 1)
    assert local_to_utc(datetime(2026, 10, 25, 2, 30), berlin) == utc(2026, 10, 25, 0, 30)  # first of the two
    assert local_to_utc(datetime(2026, 10, 25, 2, 30, fold=1), berlin) == utc(2026, 10, 25, 0, 30)  # even so marked
    assert local_to_utc(datetime(2026, 11, 23, 10, 0, 0, 500_000), berlin) == utc(2026, 11, 23, 9, 0, 0, 500_000)


# --- the longest closure ------------------------------------------------------------------------
D0 = date(2027, 1, 4)


def closed_between(days_closed: int) -> Calendar:
    """Open 09:00-10:00 UTC on D0 and again after `days_closed` closed days, nothing in between."""
    return Calendar.from_config({"id": "rare", "overrides": {
        str(D0): ["09:00-10:00"], str(D0 + timedelta(days=days_closed + 1)): ["09:00-10:00"]}})


def at(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def test_four_hundred_closed_days_are_still_a_calendar_and_the_next_opening_is_found():
    cal = closed_between(400)
    reopening = D0 + timedelta(days=401)
    assert add_business_time(cal, at(D0, 8), 2 * H) == at(reopening, 10)       # from the open day itself
    assert add_business_time(cal, at(D0 + 2 * DAY), 30 * M) == at(reopening, 9) + 30 * M  # from inside the closure
    assert next_open(cal, at(D0, 10)) == at(reopening, 9)


def test_four_hundred_and_one_closed_days_are_a_configuration_error_that_says_so():
    start = at(D0 + 2 * DAY)
    with pytest.raises(CalendarError) as error:
        add_business_time(closed_between(401), start, H)
    assert str(error.value) == f"calendar 'rare' is closed for more than 400 days after {start.isoformat()}"


def test_a_long_target_on_an_ordinary_calendar_is_not_mistaken_for_a_closed_calendar():
    weekdays = calendar({d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")})
    # 3000 business hours: 375 working days, about 75 weeks of calendar time
    deadline = add_business_time(weekdays, MONDAY + 9 * H, 3000 * H)
    assert deadline == MONDAY + 75 * 7 * DAY - 2 * DAY - 7 * H  # a Friday at 17:00, 74 weeks on
    assert business_time_between(weekdays, MONDAY, deadline) == 3000 * H


# --- walking backwards ----------------------------------------------------------------------------
def test_walking_backwards_crosses_a_whole_closed_week():
    # Mondays only; Jan 12 and Jan 19 are holidays: from Mon Jan 26 12:00, 3 h that morning, then
    # nothing for two weeks, then Mon Jan 5 until 17:00.
    mondays = calendar({"mon": ["09:00-17:00"]}, holidays=["2026-01-12", "2026-01-19"])
    end = utc(2026, 1, 26, 12)
    assert subtract_business_time(mondays, end, 4 * H) == utc(2026, 1, 5, 16)
    assert subtract_business_time(mondays, end, 12 * H) == utc(2025, 12, 29, 16)
    assert business_time_between(mondays, utc(2026, 1, 5, 16), end) == 4 * H
    # from inside the closure: the first week walked back is empty
    assert subtract_business_time(mondays, utc(2026, 1, 19, 12), 2 * H) == utc(2026, 1, 5, 15)


# --- messages that say what to fix -----------------------------------------------------------------
def test_a_naive_datetime_is_refused_with_what_is_expected():
    for call in (lambda: is_open(NINE_TO_FIVE, datetime(2026, 11, 23, 10)),
                 lambda: add_business_time(NINE_TO_FIVE, datetime(2026, 11, 23, 10), H),
                 lambda: business_time_between(NINE_TO_FIVE, MONDAY, datetime(2026, 11, 24)),
                 lambda: subtract_business_time(NINE_TO_FIVE, datetime(2026, 11, 24), H)):
        with pytest.raises(CalendarError) as error:
            call()
        assert str(error.value) == "datetimes must be timezone-aware (UTC)"


def test_calendar_definition_errors_are_worded_exactly():
    cases = [
        (lambda: Calendar.from_config({"weekly": {"mon": ["09:00-17:00"]}}), "a calendar needs an 'id'"),
        (lambda: Calendar(id="short", weekly=((),) * 6), "calendar 'short': weekly needs 7 days, got 6"),
        (lambda: CalendarBook({}, [{"queue": "vip", "calendar": "gone"}]),
         "calendar rule {'queue': 'vip', 'calendar': 'gone'} names unknown calendar 'gone'"),
        (lambda: CalendarBook({}, default_id="office"), "default calendar 'office' is not defined"),
    ]
    for build, message in cases:
        with pytest.raises(CalendarError) as error:
            build()
        assert str(error.value) == message
