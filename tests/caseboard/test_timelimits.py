"""Working-hours time limits against the real config.toml calendar and hand-built edge cases."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest

from caseboard.timelimits import (
    BusinessCalendar,
    ClockState,
    Deadlines,
    clock_state,
    deadlines_for,
    extend_for_pause,
    limit_hours,
)
from settings import (
    DEFAULT_CONFIG_PATH,
    WEEKDAYS,
    CalendarConfig,
    Config,
    DepartmentConfig,
    ServiceConfig,
    load_config,
)

LONDON = ZoneInfo("Europe/London")
HOUR = 3600.0


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A London wall-clock time as the aware UTC datetime the API takes and returns."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON).astimezone(dt.UTC)


def make_calendar(hours: dict[str, str], country: str = "", subdivision: str = "",
                  extra: tuple[dt.date, ...] = ()) -> BusinessCalendar:
    def parse(text: str) -> tuple[tuple[dt.time, dt.time], ...]:
        parts = [p.split("-") for p in text.split(",") if p]
        return tuple((dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in parts)

    opening = {day: parse(hours.get(day, "")) for day in WEEKDAYS}
    return BusinessCalendar(CalendarConfig(opening, country, subdivision, extra), LONDON)


@pytest.fixture(scope="module")
def config() -> Config:
    # env={} so a developer's CC_ variables cannot change what these tests see.
    return load_config(DEFAULT_CONFIG_PATH, env={})


@pytest.fixture(scope="module")
def calendar(config: Config) -> BusinessCalendar:
    return BusinessCalendar.from_config(config)


def test_friday_afternoon_hour_runs_into_monday(calendar: BusinessCalendar) -> None:
    due = calendar.add_working_time(local(2026, 3, 6, 16, 30), HOUR)
    assert due == local(2026, 3, 9, 8, 30)
    assert due.utcoffset() == dt.timedelta(0)


def test_start_on_saturday_counts_from_monday_opening(calendar: BusinessCalendar) -> None:
    saturday = local(2026, 3, 7, 10)
    assert not calendar.is_working_time(saturday)
    assert calendar.next_opening(saturday) == local(2026, 3, 9, 8)
    assert calendar.add_working_time(saturday, HOUR) == local(2026, 3, 9, 9)


def test_opening_interval_includes_start_and_excludes_end(calendar: BusinessCalendar) -> None:
    assert calendar.is_working_time(local(2026, 3, 9, 8))
    assert calendar.is_working_time(local(2026, 3, 9, 17, 59))
    assert not calendar.is_working_time(local(2026, 3, 9, 18))
    assert not calendar.is_working_time(local(2026, 3, 13, 17))  # Friday closes at 17:00
    assert calendar.next_opening(local(2026, 3, 9, 12)) == local(2026, 3, 9, 12)


def test_christmas_bank_holidays_and_extra_closures(calendar: BusinessCalendar) -> None:
    closed = [dt.date(2026, 12, d) for d in (25, 28, 29, 30)]  # 28th: Boxing Day substitute
    assert all(calendar.is_holiday(day) for day in closed)
    assert not calendar.is_holiday(dt.date(2026, 12, 31))
    # Thu 24 Dec 17:00 gives one hour that day; the other 7 fall on Thu 31 Dec.
    due = calendar.add_working_time(local(2026, 12, 24, 17), 8 * HOUR)
    assert due == local(2026, 12, 31, 15)


def test_holidays_load_for_any_year(calendar: BusinessCalendar) -> None:
    assert calendar.is_holiday(dt.date(2031, 12, 25))
    assert calendar.next_opening(local(2031, 12, 24, 19)) == local(2031, 12, 29, 8)


def test_calendar_without_country_has_only_extra_holidays() -> None:
    cal = make_calendar({"fri": "09:00-17:00"}, extra=(dt.date(2027, 1, 1),))
    assert cal.is_working_time(local(2026, 12, 25, 10))
    assert not cal.is_working_time(local(2027, 1, 1, 10))


def test_split_day_skips_the_lunch_break() -> None:
    days = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-12:00,13:00-17:00")
    cal = make_calendar(days)
    assert cal.add_working_time(local(2026, 3, 9, 11, 30), HOUR) == local(2026, 3, 9, 13, 30)
    assert not cal.is_working_time(local(2026, 3, 9, 12, 30))
    assert cal.next_opening(local(2026, 3, 9, 12)) == local(2026, 3, 9, 13)
    assert cal.working_seconds_between(local(2026, 3, 9, 8), local(2026, 3, 9, 18)) == 7 * HOUR
    # Monday 10-12 (2 h) + 13-17 (4 h) = 6 h, then 1 h on Tuesday morning.
    assert cal.add_working_time(local(2026, 3, 9, 10), 7 * HOUR) == local(2026, 3, 10, 10)


@pytest.mark.parametrize(("start", "expected"), [
    # Clocks go forward on Sun 29 Mar 2026: 08:30 local is 07:30 UTC on Monday.
    (local(2026, 3, 27, 16, 30), dt.datetime(2026, 3, 30, 7, 30, tzinfo=dt.UTC)),
    # Clocks go back on Sun 25 Oct 2026: 08:30 local is 08:30 UTC on Monday.
    (local(2026, 10, 23, 16, 30), dt.datetime(2026, 10, 26, 8, 30, tzinfo=dt.UTC)),
])
def test_limit_across_dst_change_keeps_local_opening(
        calendar: BusinessCalendar, start: dt.datetime, expected: dt.datetime) -> None:
    assert calendar.add_working_time(start, HOUR) == expected


@pytest.mark.parametrize("friday", [dt.date(2026, 3, 27), dt.date(2026, 10, 23)])
def test_working_seconds_across_dst_weekend(calendar: BusinessCalendar, friday: dt.date) -> None:
    monday = friday + dt.timedelta(days=3)
    start = local(friday.year, friday.month, friday.day, 8)
    end = local(monday.year, monday.month, monday.day, 18)
    assert calendar.working_seconds_between(start, end) == 19 * HOUR


@pytest.mark.parametrize(("sunday", "hours"), [
    (dt.date(2026, 3, 29), 5),  # 01:00 GMT jumps to 02:00 BST
    (dt.date(2026, 10, 25), 7),  # 02:00 BST falls back to 01:00 GMT
])
def test_night_interval_on_dst_day_counts_real_time(sunday: dt.date, hours: int) -> None:
    cal = make_calendar({"sun": "00:00-06:00"})
    start = local(sunday.year, sunday.month, sunday.day)
    end = start + dt.timedelta(days=1)
    assert cal.working_seconds_between(start, end) == hours * HOUR
    assert cal.add_working_time(start, hours * HOUR) == local(sunday.year, sunday.month,
                                                              sunday.day, 6)


@pytest.mark.parametrize(("hours", "expected"), [
    ("01:10-01:50", 0.0),  # wall times the clocks skip: never open
    ("01:30-03:00", HOUR),  # opens when the clocks jump, 02:00 BST, until 03:00 BST
    ("00:30-01:30", 0.5 * HOUR),  # closes when the clocks jump
])
def test_opening_hours_in_the_spring_forward_gap(hours: str, expected: float) -> None:
    cal = make_calendar({"sun": hours})
    sunday = local(2026, 3, 29)
    assert cal.working_seconds_between(sunday, sunday + dt.timedelta(days=1)) == expected
    week_later = local(2026, 4, 5)
    assert cal.working_seconds_between(week_later, week_later + dt.timedelta(days=1)) > expected


def test_interval_skipped_by_the_clocks_is_no_opening() -> None:
    cal = make_calendar({"sun": "01:10-01:50"})
    assert cal.next_opening(local(2026, 3, 29)) == local(2026, 4, 5, 1, 10)


STARTS = [dt.datetime(2026, 3, 20, tzinfo=dt.UTC) + dt.timedelta(hours=7.6 * i) for i in range(70)]
DURATIONS = [0.0, 1.0, 1800.0, HOUR, 9 * HOUR + 1, 10 * HOUR, 37 * HOUR, 160 * HOUR]


@pytest.mark.parametrize("seconds", DURATIONS)
def test_working_seconds_between_inverts_add_working_time(
        calendar: BusinessCalendar, seconds: float) -> None:
    # The starts span nights, weekends, the spring DST change and Easter 2026.
    for start in STARTS:
        due = calendar.add_working_time(start, seconds)
        assert due >= start
        assert calendar.working_seconds_between(start, due) == pytest.approx(seconds, abs=1.0)


def test_add_working_time_reaches_a_working_end_exactly(calendar: BusinessCalendar) -> None:
    ends = [s + dt.timedelta(hours=50) for s in STARTS if calendar.is_working_time(
        s + dt.timedelta(hours=50))]
    assert len(ends) > 10
    for start, end in zip(STARTS, ends, strict=False):
        assert calendar.add_working_time(start, calendar.working_seconds_between(start, end)) == end


def test_low_priority_resolution_of_160_hours(calendar: BusinessCalendar) -> None:
    # Weeks of 4 × 10 h + 9 h = 49 h: three weeks, a Monday (157 h) and 3 h on Tuesday.
    assert calendar.add_working_time(local(2026, 3, 2, 8), 160 * HOUR) == local(2026, 3, 24, 11)


def test_limit_longer_than_a_year(calendar: BusinessCalendar) -> None:
    start = local(2026, 1, 5, 8)
    due = calendar.add_working_time(start, 3000 * HOUR)
    assert due.year == 2027
    assert calendar.is_working_time(due - dt.timedelta(seconds=1))
    assert calendar.working_seconds_between(start, due) == 3000 * HOUR


def test_working_seconds_between_is_zero_for_reversed_range(calendar: BusinessCalendar) -> None:
    start = local(2026, 3, 9, 9)
    assert calendar.working_seconds_between(start, start) == 0
    assert calendar.working_seconds_between(start, start - dt.timedelta(days=3)) == 0


def test_calendar_that_never_opens_raises() -> None:
    cal = make_calendar({})
    with pytest.raises(ValueError, match="no opening hours"):
        cal.add_working_time(local(2026, 3, 9), HOUR)
    with pytest.raises(ValueError, match="no opening hours"):
        cal.next_opening(local(2026, 3, 9))


@pytest.mark.parametrize("seconds", [-1.0, float("inf"), float("nan")])
def test_bad_amount_of_working_time_raises(calendar: BusinessCalendar, seconds: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        calendar.add_working_time(local(2026, 3, 9, 9), seconds)


NAIVE = dt.datetime(2026, 3, 9, 9)
AWARE = local(2026, 3, 9, 9)


@pytest.mark.parametrize("call", [
    lambda cal: cal.is_working_time(NAIVE),
    lambda cal: cal.next_opening(NAIVE),
    lambda cal: cal.add_working_time(NAIVE, HOUR),
    lambda cal: cal.working_seconds_between(NAIVE, AWARE),
    lambda cal: cal.working_seconds_between(AWARE, NAIVE),
    lambda cal: clock_state(cal, AWARE, AWARE, NAIVE, None, 0.8),
    lambda cal: clock_state(cal, AWARE, AWARE, AWARE, NAIVE, 0.8),
    lambda cal: clock_state(cal, AWARE, AWARE, AWARE, None, 0.8, paused_since=NAIVE),
    lambda cal: extend_for_pause(cal, NAIVE, AWARE, AWARE),
    lambda cal: extend_for_pause(cal, AWARE, NAIVE, AWARE),
])
def test_naive_datetime_is_refused(
        calendar: BusinessCalendar, call: Callable[[BusinessCalendar], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(calendar)


# A 10-hour limit from Monday 08:00 is due Monday 18:00; at-risk from 16:00 (80 %).
STARTED, DUE = local(2026, 3, 9, 8), local(2026, 3, 9, 18)


@pytest.mark.parametrize(("now", "done_at", "expected"), [
    (local(2026, 3, 9, 15, 59), None, ClockState.ON_TIME),
    (local(2026, 3, 9, 16), None, ClockState.AT_RISK),
    (local(2026, 3, 9, 18), None, ClockState.AT_RISK),
    (local(2026, 3, 9, 18, 1), None, ClockState.BREACHED),
    (local(2026, 3, 10, 12), local(2026, 3, 9, 17), ClockState.MET),
    (local(2026, 3, 10, 12), DUE, ClockState.MET),
    (local(2026, 3, 10, 12), local(2026, 3, 10, 9), ClockState.BREACHED),
])
def test_clock_state(calendar: BusinessCalendar, now: dt.datetime, done_at: dt.datetime | None,
                     expected: ClockState) -> None:
    assert clock_state(calendar, STARTED, DUE, now, done_at, 0.8) is expected


def test_at_risk_counts_working_time_not_wall_time(calendar: BusinessCalendar) -> None:
    # Friday 15:00 → Monday 16:00: 2 + 8 = 10 working hours; 8 of them pass by Monday 14:00.
    started, due = local(2026, 3, 6, 15), local(2026, 3, 9, 16)
    assert clock_state(calendar, started, due, local(2026, 3, 9, 13, 59), None, 0.8) \
        is ClockState.ON_TIME
    assert clock_state(calendar, started, due, local(2026, 3, 9, 14), None, 0.8) \
        is ClockState.AT_RISK


def test_paused_clock_counts_only_up_to_the_pause(calendar: BusinessCalendar) -> None:
    paused = local(2026, 3, 9, 12)
    late = local(2026, 3, 9, 17)
    assert clock_state(calendar, STARTED, DUE, late, None, 0.8) is ClockState.AT_RISK
    assert clock_state(calendar, STARTED, DUE, late, None, 0.8, paused) is ClockState.ON_TIME
    # Waiting for the citizen past the nominal due time is not a breach: resuming extends it.
    after_due = local(2026, 3, 10, 12)
    assert clock_state(calendar, STARTED, DUE, after_due, None, 0.8, paused) is ClockState.ON_TIME
    assert clock_state(calendar, STARTED, DUE, after_due, None, 0.8) is ClockState.BREACHED
    assert clock_state(calendar, STARTED, DUE, after_due, None, 0.8, local(2026, 3, 9, 19)) \
        is ClockState.BREACHED


def test_extend_for_pause_over_a_weekend_adds_no_weekend_time(calendar: BusinessCalendar) -> None:
    due = local(2026, 3, 11, 12)
    # Paused after Friday's closing, resumed at Monday's opening: nothing to add.
    assert extend_for_pause(calendar, due, local(2026, 3, 6, 17), local(2026, 3, 9, 8)) == due
    # Friday 16:00-17:00 and Monday 08:00-09:00 are the only working time paused.
    extended = extend_for_pause(calendar, due, local(2026, 3, 6, 16), local(2026, 3, 9, 9))
    assert extended == local(2026, 3, 11, 14)


def test_extend_for_pause_rolls_past_closing(calendar: BusinessCalendar) -> None:
    due = local(2026, 3, 9, 17)
    extended = extend_for_pause(calendar, due, local(2026, 3, 9, 9), local(2026, 3, 9, 12))
    assert extended == local(2026, 3, 10, 10)


@pytest.fixture(scope="module")
def config_with_services(config: Config) -> Config:
    def service(code: str, **limits: float) -> ServiceConfig:
        return ServiceConfig(code=code, department="test", name={"en": code}, keywords={},
                             time_limits=dict(limits))

    test_department = DepartmentConfig("test", {"en": "Test"}, (
        service("fast", resolution=4.0),
        service("slow", first_response=40.0, resolution=400.0),
    ))
    return dataclasses.replace(config, departments=(*config.departments, test_department))


@pytest.mark.parametrize(("priority", "code", "expected"), [
    ("normal", None, {"first_response": 8.0, "resolution": 80.0}),
    ("low", "pothole", {"first_response": 16.0, "resolution": 160.0}),  # no override
    ("low", "no-such-service", {"first_response": 16.0, "resolution": 160.0}),
    ("normal", "fast", {"first_response": 8.0, "resolution": 4.0}),
    ("low", "slow", {"first_response": 40.0, "resolution": 400.0}),
    ("normal", "slow", {"first_response": 40.0, "resolution": 400.0}),
    ("urgent", "fast", {"first_response": 1.0, "resolution": 4.0}),
    ("urgent", "slow", {"first_response": 1.0, "resolution": 8.0}),
    ("high", "slow", {"first_response": 4.0, "resolution": 24.0}),
])
def test_limit_hours(config_with_services: Config, priority: str, code: str | None,
                     expected: dict[str, float]) -> None:
    assert limit_hours(config_with_services, priority, code) == expected


def test_limit_hours_unknown_priority(config: Config) -> None:
    with pytest.raises(ValueError, match="unknown priority"):
        limit_hours(config, "whenever", None)


def test_deadlines_for(config_with_services: Config, calendar: BusinessCalendar) -> None:
    start = local(2026, 3, 9, 8)
    # 80 h: 49 h to Friday 17:00, then Mon-Wed 30 h and one hour on Thursday.
    assert deadlines_for(config_with_services, calendar, "normal", None, start) == Deadlines(
        first_response_due=local(2026, 3, 9, 16), resolution_due=local(2026, 3, 19, 9))
    fast = deadlines_for(config_with_services, calendar, "urgent", "fast", start)
    assert fast == Deadlines(local(2026, 3, 9, 9), local(2026, 3, 9, 12))
