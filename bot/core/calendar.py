"""Working time: when a role's team is at work, and promises counted in those hours only.

A role either is always staffed (the default, and every emergency's path) or keeps office hours
per weekday in a time zone (default Europe/Amsterdam), closed on the Dutch public holidays (from
the maintained `holidays` package) and on extra closed days an admin adds. Everything here is
arithmetic on aware datetimes: the due time of a question, whether a message arrived out of
hours, the next opening, and the working time between two moments (the dashboard's figures).

Office hours are written as text, in `responses/routing.yml` and on the Roles page:
"mon-fri 08:30-17:00", "mon-thu 08:30-12:00,13:00-17:00; fri 08:30-12:00", "08:00-18:00" (every
day), "always" or empty (always staffed). Hours are wall-clock in the calendar's zone, so a day
with a daylight-saving change is as long as its clocks say: the promise counts real minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Europe/Amsterdam"
ALWAYS = "always"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 3 * 366  # a calendar that never opens must not loop forever

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class CalendarError(ValueError):
    """Office hours, a zone or a closed day that cannot be read; the message is fit for an admin."""


Span = tuple[int, int]  # minutes after local midnight: [start, end)


@dataclass(frozen=True, slots=True)
class Calendar:
    """A role's working time. `week` maps a weekday (0 = Monday) to its open spans; an empty
    `week` means always staffed (no holidays apply then: someone is there)."""

    week: tuple[tuple[Span, ...], ...] = ()
    zone: str = DEFAULT_ZONE
    closed: frozenset[date] = field(default_factory=frozenset)  # extra closed days
    spec: str = ALWAYS  # the text it was read from, for the Roles page and the export

    @property
    def always(self) -> bool:
        return not self.week

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.zone)

    def is_closed_day(self, day: date) -> bool:
        return day in self.closed or day in public_holidays(day.year)

    def spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The open periods of local `day`, as aware UTC datetimes (none on a closed day)."""
        if self.always:
            return ()
        return _day_spans(self, day)

    def _spans_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods that end after `moment`, in order (bounded by MAX_DAYS)."""
        day = moment.astimezone(self.tz).date()
        for offset in range(-1, MAX_DAYS):
            for opens, closes in self.spans(day + timedelta(days=offset)):
                if closes > moment:
                    yield opens, closes
        raise CalendarError(f"office hours {self.spec!r} never open")


ALWAYS_STAFFED = Calendar()


@lru_cache(maxsize=8192)
def _day_spans(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """Cached: a promise or a dashboard asks about the same few days again and again."""
    if calendar.is_closed_day(day):
        return ()
    midnight = datetime.combine(day, time(0))
    out = []
    for start, end in calendar.week[day.weekday()]:
        opens = (midnight + timedelta(minutes=start)).replace(tzinfo=calendar.tz).astimezone(UTC)
        closes = (midnight + timedelta(minutes=end)).replace(tzinfo=calendar.tz).astimezone(UTC)
        if closes > opens:  # not a span inside the hour skipped in spring
            out.append((opens, closes))
    return tuple(out)


# -- the arithmetic -----------------------------------------------------------------------------


def is_open(calendar: Calendar, moment: datetime) -> bool:
    """Whether the team is at work at `moment`."""
    if calendar.always:
        return True
    day = moment.astimezone(calendar.tz).date()
    return any(
        opens <= moment < closes
        for offset in (-1, 0, 1)
        for opens, closes in calendar.spans(day + timedelta(days=offset))
    )


def next_opening(calendar: Calendar, moment: datetime) -> datetime:
    """`moment` itself when open, else when the team is next at work."""
    moment = moment.astimezone(UTC)
    if calendar.always:
        return moment
    opens, _ = next(calendar._spans_from(moment))
    return max(opens, moment)


def add_working(calendar: Calendar, start: datetime, hours: float | timedelta) -> datetime:
    """The moment `hours` of working time after `start` (the due time of a promise), in UTC."""
    left = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    start = start.astimezone(UTC)  # aware arithmetic in a local zone would be wall-clock
    if calendar.always:
        return start + left
    for opens, closes in calendar._spans_from(start):
        begin = max(opens, start)
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    raise AssertionError("unreachable: _spans_from raises first")  # pragma: no cover


def working_between(calendar: Calendar, start: datetime, end: datetime) -> timedelta:
    """The working time from `start` to `end` (zero when `end` is not later)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if calendar.always:
        return end - start
    total = timedelta(0)
    for opens, closes in calendar._spans_from(start):
        if opens >= end:
            break
        total += min(closes, end) - max(opens, start)
    return total


def in_last_part(calendar: Calendar, start: datetime, due: datetime, now: datetime, fraction: float) -> bool:
    """Whether `now` is in the last `fraction` of the working time from `start` to `due` (when a
    reminder is due: a weekend does not eat up the time left)."""
    return working_between(calendar, now, due) <= working_between(calendar, start, due) * fraction


@dataclass(frozen=True, slots=True)
class Promise:
    """What a new question is promised: its due time, and whether it arrived out of hours (then
    `opens` is when the team reads it)."""

    due: datetime
    out_of_hours: bool
    opens: datetime | None = None


def promise(calendar: Calendar, now: datetime, hours: float) -> Promise:
    """The due time of a question that arrives at `now` with `hours` of working time promised."""
    if is_open(calendar, now):
        return Promise(add_working(calendar, now, hours), False)
    return Promise(add_working(calendar, now, hours), True, next_opening(calendar, now))


# -- reading calendars --------------------------------------------------------------------------


@lru_cache(maxsize=64)
def public_holidays(year: int) -> frozenset[date]:
    """The Dutch public holidays of `year` (the `holidays` package's Netherlands calendar)."""
    import holidays  # here: a quarter of a second to import, paid only when a calendar needs it

    return frozenset(holidays.country_holidays("NL", years=year).keys())


@lru_cache(maxsize=32)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone(name: str | None) -> str:
    """A checked IANA time-zone name; empty for the default."""
    name = (name or "").strip() or DEFAULT_ZONE
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"time zone {name!r}: an IANA name such as {DEFAULT_ZONE}") from exc
    return name


def closed_days(values: Iterable[str | date] | str | None) -> frozenset[date]:
    """ "2026-12-24, 2026-12-31" (or a list of dates) -> the dates."""
    if values is None:
        return frozenset()
    items = values.split(",") if isinstance(values, str) else values
    out = set()
    for item in items:
        if isinstance(item, date):
            out.add(item)
            continue
        text = str(item).strip()
        if not text:
            continue
        try:
            out.add(date.fromisoformat(text))
        except ValueError as exc:
            raise CalendarError(f"closed day {text!r}: a date such as 2026-12-24") from exc
    return frozenset(out)


def week(spec: str | None) -> tuple[tuple[Span, ...], ...]:
    """Office hours text -> open spans per weekday; () for always staffed."""
    text = (spec or "").strip().lower()
    if not text or text == ALWAYS:
        return ()
    days: list[list[Span]] = [[] for _ in DAYS]
    for clause in (c.strip() for c in text.split(";")):
        if not clause:
            continue
        head, _, rest = clause.partition(" ")
        if _RANGE.match(head.split(",")[0]):  # "08:00-18:00": every day
            which, ranges = list(range(7)), clause
        else:
            which, ranges = _weekdays(head, spec or ""), rest
        spans = [_span(r.strip(), spec or "") for r in ranges.split(",") if r.strip()]
        if not spans:
            raise CalendarError(f"office hours {spec!r}: {head} needs hours, such as 08:30-17:00")
        for day in which:
            days[day].extend(spans)
    if not any(days):
        raise CalendarError(f"office hours {spec!r}: no open hours at all")
    for spans in days:
        spans.sort()
        if any(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False)):
            raise CalendarError(f"office hours {spec!r}: hours overlap")
    return tuple(tuple(spans) for spans in days)


def _weekdays(head: str, spec: str) -> list[int]:
    out: list[int] = []
    for part in head.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise CalendarError(
                f"office hours {spec!r}: days as mon, tue, ... sun or a range such as mon-fri"
            )
        lo, hi = DAYS.index(first), DAYS.index(last or first)
        if hi < lo:
            raise CalendarError(f"office hours {spec!r}: {part} runs backwards")
        out.extend(range(lo, hi + 1))
    return out


def _span(text: str, spec: str) -> Span:
    found = _RANGE.match(text)
    if not found:
        raise CalendarError(f"office hours {spec!r}: hours as HH:MM-HH:MM, such as 08:30-17:00")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60 or end <= start:
        raise CalendarError(f"office hours {spec!r}: {text} must end after it starts")
    return start, end


def calendar(
    spec: str | None, zone_name: str | None = None, closed: Iterable[str | date] | str | None = None
) -> Calendar:
    """A checked calendar from its settings (raises CalendarError, fit for the admin)."""
    spans = week(spec)
    return Calendar(
        spans,
        zone(zone_name),
        closed_days(closed),
        (spec or "").strip() if spans else ALWAYS,
    )


def lenient(spec: str | None, zone_name: str | None = None, closed: object = None) -> Calendar:
    """A calendar from stored settings that were checked when saved; unreadable ones (an edit by
    hand in the database) count as always staffed, so a promise is never lost to a typo."""
    try:
        return calendar(spec, zone_name, closed if isinstance(closed, str | list | tuple) else None)
    except CalendarError:
        return ALWAYS_STAFFED
