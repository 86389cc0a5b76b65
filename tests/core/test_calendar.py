"""Working-time arithmetic: weekends, Dutch public holidays, extra closed days, both
daylight-saving changes, and messages before, during and after office hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.core.calendar import (
    ALWAYS_STAFFED,
    CalendarError,
    add_working,
    calendar,
    in_last_part,
    is_open,
    next_opening,
    promise,
    public_holidays,
    working_between,
)

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE = calendar("mon-fri 08:30-17:00")  # 8.5 working hours a day


def local(text: str) -> datetime:
    """ "2026-12-04 18:00" in Amsterdam, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=AMS)


def shown(moment: datetime) -> str:
    return moment.astimezone(AMS).strftime("%a %Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        # during hours, due the same day
        ("2026-12-01 09:00", 2, "Tue 2026-12-01 11:00"),
        # before opening: the clock starts at 08:30
        ("2026-12-01 07:00", 2, "Tue 2026-12-01 10:30"),
        # after closing: the clock starts the next morning
        ("2026-12-01 18:00", 2, "Wed 2026-12-02 10:30"),
        # a promise that runs over the evening
        ("2026-12-01 16:00", 2, "Wed 2026-12-02 09:30"),
        # Friday 18:00: nothing counts over the weekend
        ("2026-12-04 18:00", 8, "Mon 2026-12-07 16:30"),
        ("2026-12-04 18:00", 8.5, "Mon 2026-12-07 17:00"),
        ("2026-12-04 18:00", 17, "Tue 2026-12-08 17:00"),
        # Saturday and Sunday messages wait for Monday too
        ("2026-12-05 12:00", 1, "Mon 2026-12-07 09:30"),
        ("2026-12-06 23:59", 1, "Mon 2026-12-07 09:30"),
        # Friday afternoon: the rest of Friday, then Monday
        ("2026-12-04 15:00", 4, "Mon 2026-12-07 10:30"),
        # Koningsdag (Monday 27 April 2026) is closed
        ("2026-04-24 16:00", 2, "Tue 2026-04-28 09:30"),
        # Good Friday and Easter Monday 2026: Thursday evening waits until Tuesday
        ("2026-04-02 17:30", 1, "Tue 2026-04-07 09:30"),
        # Christmas (Friday 25, Saturday 26 December 2026): Thursday 24th, then Monday 28th
        ("2026-12-24 16:00", 2, "Mon 2026-12-28 09:30"),
        # both daylight-saving changes fall on a Sunday: Friday to Monday across them
        ("2026-03-27 16:00", 2, "Mon 2026-03-30 09:30"),
        ("2026-10-23 16:00", 2, "Mon 2026-10-26 09:30"),
    ],
)
def test_due_times_in_working_hours(start: str, hours: float, due: str) -> None:
    assert shown(add_working(OFFICE, local(start), hours)) == due


def test_daylight_saving_days_count_the_hours_the_clock_shows() -> None:
    sundays = calendar("sun 00:00-24:00")
    spring = working_between(sundays, local("2026-03-28 12:00"), local("2026-03-30 12:00"))
    autumn = working_between(sundays, local("2026-10-24 12:00"), local("2026-10-26 12:00"))
    assert spring == timedelta(hours=23) and autumn == timedelta(hours=25)
    # a promise across the change is counted in real hours, shown in local time
    weekend = calendar("sat-sun 08:00-18:00")
    assert shown(add_working(weekend, local("2026-03-28 17:00"), 2)) == "Sun 2026-03-29 09:00"
    assert shown(add_working(weekend, local("2026-10-24 17:00"), 2)) == "Sun 2026-10-25 09:00"
    # across the change itself: from 01:30, one real hour is 03:30 in spring, and two real
    # hours are 02:30 in autumn (the clock went back)
    night = calendar("sun 00:00-24:00")
    assert shown(add_working(night, local("2026-03-29 01:30"), 1)) == "Sun 2026-03-29 03:30"
    assert shown(add_working(night, local("2026-10-25 01:30"), 2)) == "Sun 2026-10-25 02:30"


@pytest.mark.parametrize(
    ("moment", "open_", "opens"),
    [
        ("2026-12-01 08:29", False, "Tue 2026-12-01 08:30"),
        ("2026-12-01 08:30", True, "Tue 2026-12-01 08:30"),
        ("2026-12-01 16:59", True, "Tue 2026-12-01 16:59"),
        ("2026-12-01 17:00", False, "Wed 2026-12-02 08:30"),
        ("2026-12-04 18:00", False, "Mon 2026-12-07 08:30"),
        ("2026-04-27 10:00", False, "Tue 2026-04-28 08:30"),  # Koningsdag
        ("2026-12-25 10:00", False, "Mon 2026-12-28 08:30"),  # Christmas
    ],
)
def test_open_and_next_opening(moment: str, open_: bool, opens: str) -> None:
    assert is_open(OFFICE, local(moment)) is open_
    assert shown(next_opening(OFFICE, local(moment))) == opens


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2026-12-01 09:00", "2026-12-01 12:00", 3),
        ("2026-12-01 16:00", "2026-12-02 09:30", 2),
        ("2026-12-04 18:00", "2026-12-07 10:00", 1.5),  # the weekend is free
        ("2026-12-04 18:00", "2026-12-06 20:00", 0),
        ("2026-12-01 07:00", "2026-12-01 08:00", 0),
        ("2026-04-24 16:00", "2026-04-28 09:30", 2),  # over Koningsdag
        ("2026-12-01 12:00", "2026-12-01 11:00", 0),  # backwards counts nothing
    ],
)
def test_working_between(start: str, end: str, hours: float) -> None:
    assert working_between(OFFICE, local(start), local(end)) == timedelta(hours=hours)


def test_working_between_undoes_add_working() -> None:
    start = local("2026-12-04 11:15")
    for hours in (0.25, 3, 8.5, 20, 48):
        due = add_working(OFFICE, start, hours)
        assert working_between(OFFICE, start, due) == timedelta(hours=hours)


def test_always_staffed_counts_every_hour() -> None:
    start = local("2026-12-25 03:00")  # Christmas night
    assert is_open(ALWAYS_STAFFED, start)
    assert add_working(ALWAYS_STAFFED, start, 8) == start + timedelta(hours=8)
    assert working_between(ALWAYS_STAFFED, start, start + timedelta(days=2)) == timedelta(days=2)
    assert promise(ALWAYS_STAFFED, start, 8).out_of_hours is False


def test_a_promise_out_of_hours_names_the_next_opening() -> None:
    made = promise(OFFICE, local("2026-12-04 18:00"), 8)
    assert made.out_of_hours and shown(made.opens or made.due) == "Mon 2026-12-07 08:30"
    assert shown(made.due) == "Mon 2026-12-07 16:30"
    during = promise(OFFICE, local("2026-12-07 09:00"), 1)
    assert not during.out_of_hours and during.opens is None


def test_extra_closed_days_and_other_zones() -> None:
    closed = calendar("mon-fri 08:30-17:00", closed="2026-12-07, 2026-12-08")
    assert shown(add_working(closed, local("2026-12-04 18:00"), 1)) == "Wed 2026-12-09 09:30"
    london = calendar("mon-fri 09:00-17:00", "Europe/London")
    due = add_working(london, datetime(2026, 12, 4, 18, 0, tzinfo=UTC), 1)
    assert due == datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_the_public_holidays_come_from_the_holidays_package() -> None:
    days = public_holidays(2026)
    assert {date(2026, 4, 27), date(2026, 4, 6), date(2026, 12, 25), date(2026, 1, 1)} <= days
    assert date(2026, 12, 24) not in days


@pytest.mark.parametrize(
    ("spec", "monday", "saturday"),
    [
        ("mon-fri 08:30-17:00", ((510, 1020),), ()),
        ("mon-thu 08:30-12:00,13:00-17:00; fri 08:30-12:00", ((510, 720), (780, 1020)), ()),
        ("08:00-18:00", ((480, 1080),), ((480, 1080),)),
        ("mon,sat 00:00-24:00", ((0, 1440),), ((0, 1440),)),
    ],
)
def test_office_hours_text(spec: str, monday: tuple, saturday: tuple) -> None:  # type: ignore[type-arg]
    week = calendar(spec).week
    assert week[0] == monday and week[5] == saturday


@pytest.mark.parametrize(
    "spec",
    [
        "mon-fri",
        "mon-fri 8:30-17:00",
        "fri-mon 08:00-12:00",
        "xyz 08:00-12:00",
        "mon 17:00-08:30",
        "mon 08:00-12:00,11:00-13:00",
    ],
)
def test_unreadable_office_hours_are_refused(spec: str) -> None:
    with pytest.raises(CalendarError):
        calendar(spec)


def test_always_and_empty_mean_always_staffed() -> None:
    assert calendar("always").always and calendar("").always and calendar(None).always
    with pytest.raises(CalendarError):
        calendar("mon-fri 08:30-17:00", "Mars/Olympus")
    with pytest.raises(CalendarError):
        calendar("mon-fri 08:30-17:00", closed="24 December")


def test_a_reminder_waits_for_the_last_part_of_the_working_time() -> None:
    start, due = local("2026-12-04 18:00"), local("2026-12-08 17:00")  # 17 working hours
    assert not in_last_part(OFFICE, start, due, local("2026-12-06 12:00"), 0.25)  # Sunday: all left
    assert not in_last_part(OFFICE, start, due, local("2026-12-08 12:00"), 0.25)  # 5 h of 17 left
    assert in_last_part(OFFICE, start, due, local("2026-12-08 13:00"), 0.25)  # 4 h left
    wall = ALWAYS_STAFFED
    assert in_last_part(wall, start, due, due - timedelta(hours=20), 0.25)  # 20 of 95 wall hours
