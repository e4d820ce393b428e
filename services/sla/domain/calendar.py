"""Business calendars and deadline math. Pure functions, UTC in, UTC out.

A calendar is an IANA timezone plus, per weekday, any number of opening intervals in local wall
time (split shifts). An interval whose end is not after its start runs across midnight into the
next day ("22:00-06:00"); "24:00" is midnight at the end of the day. A dated holiday closes its
whole local date, 00:00 to 24:00: nothing opens on it, and a night shift of the day before that
runs past midnight stops at the midnight that starts the holiday. A dated override replaces the
intervals that start on that date (an empty list opens nothing that day). A date that is both a
holiday and an override follows the override: it is the more specific instruction, so the date is
then not a holiday at all. Times that fall in a DST gap are read with the offset before the change,
so every interval keeps its real elapsed length.

Business time is counted with `timedelta`, which is exact (integer microseconds): adding a
duration and measuring it back gives the same duration, which the tests check as a property.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZERO = timedelta(0)
# A calendar with no opening at all for this long is a configuration error, not a long wait.
MAX_CLOSED_DAYS = 400
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class CalendarError(ValueError):
    """A calendar definition or computation that cannot be satisfied (says what to fix)."""


def parse_interval(text: str) -> tuple[int, int]:
    """'08:30-12:00' -> (510, 720) minutes; an end at or before the start runs past midnight."""
    match = _INTERVAL.match(text)
    if not match:
        raise CalendarError(f"interval {text!r} must look like 'HH:MM-HH:MM'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
        raise CalendarError(f"interval {text!r} has an hour or minute out of range")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        end += 24 * 60  # across midnight
    return start, end


@dataclass(frozen=True, eq=False)
class Calendar:
    """Opening hours of one brand x region x channel/queue. eq=False: hashed by identity (cache key)."""

    id: str
    timezone: str = "UTC"
    # weekly[0] = Monday; each entry a tuple of (start_minute, end_minute) in local wall time
    weekly: tuple[tuple[tuple[int, int], ...], ...] = field(default_factory=lambda: ((),) * 7)
    holidays: frozenset[date] = frozenset()
    overrides: Mapping[date, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    always_open: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "_zone", ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CalendarError(f"calendar {self.id!r}: unknown IANA timezone {self.timezone!r}") from exc
        if len(self.weekly) != 7:
            raise CalendarError(f"calendar {self.id!r}: weekly needs 7 days, got {len(self.weekly)}")
        if not self.always_open and not any(self.weekly) and not any(self.overrides.values()):
            raise CalendarError(f"calendar {self.id!r} has no opening hours at all")

    @property
    def zone(self) -> ZoneInfo:
        return self._zone  # type: ignore[attr-defined]

    @classmethod
    def twenty_four_seven(cls, calendar_id: str = "24x7") -> Calendar:
        return cls(id=calendar_id, always_open=True)

    @classmethod
    def from_config(cls, data: Mapping) -> Calendar:
        """Build from the YAML shape documented in docs/sla.md (weekly/holidays/overrides)."""
        calendar_id = str(data.get("id") or "")
        if not calendar_id:
            raise CalendarError("a calendar needs an 'id'")
        if data.get("always_open"):
            return cls(id=calendar_id, timezone=str(data.get("timezone", "UTC")), always_open=True)
        weekly_cfg = data.get("weekly") or {}
        unknown = set(weekly_cfg) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(f"calendar {calendar_id!r}: unknown weekday(s) {sorted(unknown)}; use {WEEKDAYS}")
        weekly = tuple(tuple(sorted(parse_interval(i) for i in (weekly_cfg.get(d) or ()))) for d in WEEKDAYS)
        try:
            holidays = frozenset(_to_date(d) for d in (data.get("holidays") or ()))
            overrides = {_to_date(d): tuple(sorted(parse_interval(i) for i in (iv or ())))
                         for d, iv in (data.get("overrides") or {}).items()}
        except ValueError as exc:
            raise CalendarError(f"calendar {calendar_id!r}: {exc}") from exc
        return cls(id=calendar_id, timezone=str(data.get("timezone", "UTC")), weekly=weekly,
                   holidays=holidays, overrides=overrides)


def _to_date(value: object) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CalendarError(f"date {value!r} must be YYYY-MM-DD") from None


def _require_utc(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise CalendarError("datetimes must be timezone-aware (UTC)")


def local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """Wall time -> UTC, monotonic: a wall time inside a DST gap maps to the instant the gap ends."""
    first = local.replace(tzinfo=zone, fold=0)
    utc0 = first.astimezone(UTC)
    if utc0.astimezone(zone).replace(tzinfo=None) == local:
        return utc0  # exists (for repeated fall-back times: the first occurrence)
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the gap
    high = utc0                                                # after the gap
    while high - low > timedelta(seconds=1):  # offsets change on whole seconds; ~12 steps
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0) if high.microsecond else high


def _closed_all_day(calendar: Calendar, day: date) -> bool:
    """A holiday closes its whole date, unless an override for that date says otherwise."""
    return day in calendar.holidays and day not in calendar.overrides


@lru_cache(maxsize=65536)
def _day_intervals(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """UTC intervals of the openings that start on local date `day`, cut at the midnight that
    starts a holiday (a night shift does not run into it)."""
    if _closed_all_day(calendar, day):
        return ()
    local = calendar.overrides.get(day)
    if local is None:
        local = calendar.weekly[day.weekday()]
    zone = calendar.zone
    midnight = datetime.combine(day, time(0))
    cut_at_midnight = _closed_all_day(calendar, day + timedelta(days=1))
    out = []
    for start_min, end_min in local:
        start = local_to_utc(midnight + timedelta(minutes=start_min), zone)
        end = local_to_utc(midnight + timedelta(minutes=min(end_min, 24 * 60) if cut_at_midnight else end_min), zone)
        if end > start:
            out.append((start, end))
    return tuple(out)


def open_intervals(calendar: Calendar, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals (UTC, merged, ascending) that end after `start`; the first clipped to it."""
    _require_utc(start)
    if calendar.always_open:
        yield start, datetime.max.replace(tzinfo=UTC)
        return
    # An opening that starts yesterday may run past midnight into today.
    day = start.astimezone(calendar.zone).date() - timedelta(days=1)
    pending: list[tuple[datetime, datetime]] = []
    closed_days = 0
    while True:
        todays = _day_intervals(calendar, day)
        closed_days = 0 if todays else closed_days + 1
        if closed_days > MAX_CLOSED_DAYS:
            raise CalendarError(f"calendar {calendar.id!r} is closed for more than {MAX_CLOSED_DAYS} days "
                                f"after {start.isoformat()}")
        pending.extend(todays)
        # Openings of later days start at or after the next local midnight (local_to_utc is
        # monotonic), so everything before it is final: release it, keep the part after it
        # (a night shift running past midnight) to merge with tomorrow's openings.
        horizon = local_to_utc(datetime.combine(day + timedelta(days=1), time(0)), calendar.zone)
        keep: list[tuple[datetime, datetime]] = []
        for a, b in _merge(pending):
            if a < horizon:
                cut = min(b, horizon)
                if cut > start:
                    yield max(a, start), cut
                if b > horizon:
                    keep.append((horizon, b))
            else:
                keep.append((a, b))
        pending = keep
        day += timedelta(days=1)


def _merge(intervals: Sequence[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[list[datetime]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def is_open(calendar: Calendar, moment: datetime) -> bool:
    for a, _b in open_intervals(calendar, moment):
        return a <= moment
    return False  # pragma: no cover - open_intervals never ends


def next_open(calendar: Calendar, moment: datetime) -> datetime:
    """`moment` if the calendar is open then, else the next opening."""
    for a, _b in open_intervals(calendar, moment):
        return a
    raise CalendarError("unreachable")  # pragma: no cover


def add_business_time(calendar: Calendar, start: datetime, amount: timedelta) -> datetime:
    """The instant when `amount` of open time has elapsed after `start` (the SLA deadline).

    Zero returns `start` itself. Negative amounts walk backwards (see subtract_business_time).
    """
    _require_utc(start)
    if amount < ZERO:
        return subtract_business_time(calendar, start, -amount)
    if amount == ZERO:
        return start
    left = amount
    for a, b in open_intervals(calendar, start):
        span = b - a
        if left <= span:
            return a + left
        left -= span
    raise CalendarError("unreachable")  # pragma: no cover


def business_time_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """Open time elapsed in [start, end); zero when end <= start."""
    _require_utc(start)
    _require_utc(end)
    if end <= start:
        return ZERO
    if calendar.always_open:
        return end - start
    total = ZERO
    for a, b in open_intervals(calendar, start):
        if a >= end:
            break
        total += min(b, end) - a
        if b >= end:
            break
    return total


def _intervals_backwards(calendar: Calendar, end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals that start before `end`, latest first, clipped to end at it."""
    if calendar.always_open:
        yield datetime.min.replace(tzinfo=UTC), end
        return
    window = timedelta(days=7)
    upper = end
    scanned_closed = ZERO
    while True:
        lower = upper - window
        chunk = []
        for a, b in open_intervals(calendar, lower):
            if a >= upper:
                break
            chunk.append((a, min(b, upper)))
        if chunk:
            scanned_closed = ZERO
        else:
            scanned_closed += window
            if scanned_closed > timedelta(days=MAX_CLOSED_DAYS):
                raise CalendarError(f"calendar {calendar.id!r} has no opening within {MAX_CLOSED_DAYS} days "
                                    f"before {end.isoformat()}")
        yield from reversed(chunk)
        upper = lower


def subtract_business_time(calendar: Calendar, end: datetime, amount: timedelta) -> datetime:
    """The latest instant t with business_time_between(t, end) == amount (walks backwards)."""
    _require_utc(end)
    if amount <= ZERO:
        return end
    left = amount
    for a, b in _intervals_backwards(calendar, end):
        span = b - a
        if left <= span:
            return b - left
        left -= span
    raise CalendarError("unreachable")  # pragma: no cover


class CalendarBook:
    """Calendars by id plus the first-match-wins selection by brand x region x channel x queue."""

    def __init__(self, calendars: Mapping[str, Calendar], rules: Sequence[Mapping[str, str]] = (),
                 default_id: str = "24x7") -> None:
        self.calendars = dict(calendars)
        self.calendars.setdefault("24x7", Calendar.twenty_four_seven())
        self.rules = [dict(r) for r in rules]
        for rule in self.rules:
            if rule.get("calendar") not in self.calendars:
                raise CalendarError(f"calendar rule {rule} names unknown calendar {rule.get('calendar')!r}")
        if default_id not in self.calendars:
            raise CalendarError(f"default calendar {default_id!r} is not defined")
        self.default_id = default_id

    def select(self, *, brand: str, region: str, channel: str, queue: str) -> Calendar:
        facts = {"brand": brand, "region": region, "channel": channel, "queue": queue}
        for rule in self.rules:
            if all(_matches(rule.get(k, "*"), v) for k, v in facts.items()):
                return self.calendars[rule["calendar"]]
        return self.calendars[self.default_id]

    def get(self, calendar_id: str) -> Calendar:
        try:
            return self.calendars[calendar_id]
        except KeyError:
            raise CalendarError(f"unknown calendar {calendar_id!r}") from None


def _matches(pattern: object, value: str) -> bool:
    if pattern in (None, "*"):
        return True
    if isinstance(pattern, (list, tuple)):
        return value in pattern or "*" in pattern
    return pattern == value


__all__ = [
    "Calendar",
    "CalendarBook",
    "CalendarError",
    "add_business_time",
    "business_time_between",
    "is_open",
    "local_to_utc",
    "next_open",
    "open_intervals",
    "parse_interval",
    "subtract_business_time",
]
