"""Time limits in working hours of the administration's time zone and calendar.

Pure: no I/O and no clock; callers pass every moment in. All datetimes in and out are
timezone-aware UTC (DESIGN.md §4, invariant 9). Opening hours are local wall-clock times, turned
into UTC instants one local day at a time, so 08:00 stays 08:00 local on both sides of a DST
change. Working time is the real time that passes inside those intervals.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays

from routing.limits import effective_limits
from settings import WEEKDAYS, CalendarConfig, Config

UTC = dt.UTC
# A calendar closed this many days in a row is broken; stop rather than walk forever.
MAX_CLOSED_DAYS = 3 * 366

Interval = tuple[dt.datetime, dt.datetime]


def _utc(moment: dt.datetime, name: str = "moment") -> dt.datetime:
    # A naive datetime is ambiguous (local? UTC?); refusing it keeps invariant 9 honest.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware UTC, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


class BusinessCalendar:
    """Opening hours, public holidays and closure days of one administration."""

    def __init__(self, calendar: CalendarConfig, tz: ZoneInfo) -> None:
        self._tz = tz
        self._country = calendar.holidays_country
        self._subdivision = calendar.holidays_subdivision or None
        # Indexed by date.weekday(): 0 is Monday, as in WEEKDAYS.
        self._hours = tuple(calendar.opening_hours.get(day, ()) for day in WEEKDAYS)
        self._extra = frozenset(calendar.extra_holidays)
        self._holiday_years: set[int] = set()
        self._holidays: set[dt.date] = set()
        # One entry per local day ever asked about: a few thousand at most in practice.
        self._days: dict[dt.date, tuple[Interval, ...]] = {}

    @classmethod
    def from_config(cls, config: Config) -> BusinessCalendar:
        return cls(config.calendar, config.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    def is_holiday(self, day: dt.date) -> bool:
        """True when `day` (a local date) is a public holiday or an extra closure day."""
        if day in self._extra:
            return True
        if not self._country:
            return False
        self._load_holidays(day.year)
        return day in self._holidays

    def _load_holidays(self, year: int) -> None:
        # Neighbouring years too: a holiday may be observed across New Year (e.g. on 31 Dec).
        missing = [y for y in (year - 1, year, year + 1)
                   if y not in self._holiday_years and dt.MINYEAR <= y <= dt.MAXYEAR]
        if not missing:
            return
        table = holidays.country_holidays(self._country, subdiv=self._subdivision, years=missing)
        self._holidays.update(table.keys())
        self._holiday_years.update(missing)

    def day_intervals(self, day: dt.date) -> tuple[Interval, ...]:
        """The opening intervals of local date `day` as UTC instants, in order."""
        cached = self._days.get(day)
        if cached is None:
            hours = () if self.is_holiday(day) else self._hours[day.weekday()]
            intervals = ((self._instant(day, start), self._instant(day, end))
                         for start, end in hours)
            # An interval wholly inside a spring-forward gap collapses to an instant: never open.
            cached = tuple((b, e) for b, e in intervals if e > b)
            self._days[day] = cached
        return cached

    def _instant(self, day: dt.date, time: dt.time) -> dt.datetime:
        """The UTC instant of a local wall-clock time (the first one, if it occurs twice)."""
        wall = dt.datetime.combine(day, time, self._tz)
        instant = wall.astimezone(UTC)
        if instant.astimezone(self._tz).replace(tzinfo=None) == wall.replace(tzinfo=None):
            return instant
        # The clocks skipped this wall time: the first real moment after it is the change itself,
        # which lies within a day before the fold-0 reading. Binary search to the second.
        offset = instant.astimezone(self._tz).utcoffset()
        low, high = int(instant.timestamp()) - 86400, int(instant.timestamp())
        while high - low > 1:
            middle = (low + high) // 2
            if dt.datetime.fromtimestamp(middle, self._tz).utcoffset() == offset:
                high = middle
            else:
                low = middle
        return dt.datetime.fromtimestamp(high, UTC)

    def _walk(self, start: dt.datetime, until: dt.datetime | None = None) -> Iterator[Interval]:
        """Working intervals from `start` on (the first clipped to it), day by day.

        Stops after the local day of `until`; raises ValueError if the calendar stays closed
        for MAX_CLOSED_DAYS days in a row.
        """
        day = start.astimezone(self._tz).date()
        last_day = until.astimezone(self._tz).date() if until is not None else dt.date.max
        closed = 0
        while day <= last_day:
            intervals = self.day_intervals(day)
            for begin, end in intervals:
                if end > start:
                    yield max(begin, start), end
            closed = 0 if intervals else closed + 1
            if closed > MAX_CLOSED_DAYS:
                raise ValueError(f"the calendar has no opening hours for {closed} days "
                                 f"after {start.isoformat()}")
            if day == dt.date.max:
                raise ValueError("time limit runs past the end of the calendar")
            day += dt.timedelta(days=1)

    def is_working_time(self, moment: dt.datetime) -> bool:
        """True when `moment` is inside an opening interval (start included, end excluded)."""
        moment = _utc(moment)
        day = moment.astimezone(self._tz).date()
        return any(begin <= moment < end for begin, end in self.day_intervals(day))

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """The first working moment at or after `moment` (`moment` itself when open)."""
        return next(self._walk(_utc(moment)))[0]

    def add_working_time(self, start: dt.datetime, seconds: float) -> dt.datetime:
        """The moment when `seconds` of working time have passed after `start`.

        A start outside opening hours begins counting at the next opening.
        """
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"working time must be a finite number >= 0, got {seconds!r}")
        remaining = float(seconds)
        for begin, end in self._walk(_utc(start, "start")):
            length = (end - begin).total_seconds()
            if remaining <= length:
                return begin + dt.timedelta(seconds=remaining)
            remaining -= length
        raise ValueError("time limit runs past the end of the calendar")

    def working_seconds_between(self, start: dt.datetime, end: dt.datetime) -> float:
        """Working seconds in [start, end); 0 if end <= start."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end <= start:
            return 0.0
        total = 0.0
        for begin, stop in self._walk(start, until=end):
            if begin >= end:
                break
            total += (min(stop, end) - begin).total_seconds()
        return total


@dataclass(frozen=True)
class Deadlines:
    first_response_due: dt.datetime
    resolution_due: dt.datetime


def limit_hours(config: Config, priority: str, service_code: str | None) -> dict[str, float]:
    """The effective {"first_response", "resolution"} working hours for a case."""
    base = config.time_limits.get(priority)
    if base is None:
        raise ValueError(f"unknown priority {priority!r}")
    # An unknown code (a service removed from config.toml since) falls back to the priority.
    service = config.service(service_code) if service_code else None
    return effective_limits(base, service.time_limits if service is not None else {}, priority)


def deadlines_for(config: Config, calendar: BusinessCalendar, priority: str,
                  service_code: str | None, start: dt.datetime) -> Deadlines:
    """When a case opened at `start` is due for its first response and its resolution."""
    hours = limit_hours(config, priority, service_code)
    return Deadlines(
        first_response_due=calendar.add_working_time(start, hours["first_response"] * 3600),
        resolution_due=calendar.add_working_time(start, hours["resolution"] * 3600),
    )


class ClockState(enum.StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


def clock_state(calendar: BusinessCalendar, started: dt.datetime, due: dt.datetime,
                now: dt.datetime, done_at: dt.datetime | None, at_risk_fraction: float,
                paused_since: dt.datetime | None = None) -> ClockState:
    """Where a time limit stands at `now`.

    A paused clock (waiting for the citizen) is judged at `paused_since`: the pause will push
    `due` back on resume (extend_for_pause), so it must not count as a breach meanwhile.
    """
    started, due, now = _utc(started, "started"), _utc(due, "due"), _utc(now, "now")
    if done_at is not None:
        return ClockState.MET if _utc(done_at, "done_at") <= due else ClockState.BREACHED
    effective = now if paused_since is None else min(now, _utc(paused_since, "paused_since"))
    if effective > due:
        return ClockState.BREACHED
    allowed = calendar.working_seconds_between(started, due)
    elapsed = calendar.working_seconds_between(started, effective)
    return ClockState.AT_RISK if elapsed >= at_risk_fraction * allowed else ClockState.ON_TIME


def extend_for_pause(calendar: BusinessCalendar, due: dt.datetime, paused_since: dt.datetime,
                     resumed_at: dt.datetime) -> dt.datetime:
    """`due` pushed later by the working time that passed while the case was paused."""
    due = _utc(due, "due")
    paused = calendar.working_seconds_between(paused_since, resumed_at)
    # No working time paused (a weekend, a night): the deadline stays exactly where it was.
    return calendar.add_working_time(due, paused) if paused > 0 else due
