"""Moments as the console prints them: in the staff's time zone (the TIMEZONE setting), with month
names in the page's language, and relative ("12 min ago", "in 3 h") for the last and next day.

Pure functions of (moment, zone, language, now); `bot.web.templating` wraps them as filters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_month_names

from bot.core.calendar import DEFAULT_ZONE
from bot.web.i18n import DEFAULT, Msg, msg

RELATIVE_LIMIT = 24 * 3600  # further away than a day: the absolute time reads better


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def local(value: datetime, zone: str | None) -> datetime:
    return _aware(value).astimezone(ZoneInfo(zone or DEFAULT_ZONE))


def month(value: date, language: str) -> str:
    """The abbreviated month: "Dec" in English, "dec" in Dutch (Babel's CLDR names, no dot)."""
    if language == DEFAULT:
        return value.strftime("%b")
    return str(get_month_names("abbreviated", locale=language)[value.month]).rstrip(".")


def when(value: datetime | None, zone: str | None, language: str = DEFAULT) -> str:
    """ "08 Dec 17:00 CET" / "08 dec 17:00 CET": day, month, time and the zone's abbreviation."""
    if value is None:
        return ""
    moment = local(value, zone)
    return f"{moment:%d} {month(moment, language)} {moment:%H:%M %Z}"


def day(value: date | None, language: str = DEFAULT, year: bool = False) -> str:
    """A calendar day as printed: "08 Dec" (or "08 Dec 2026")."""
    if value is None:
        return ""
    text = f"{value:%d} {month(value, language)}"
    return f"{text} {value:%Y}" if year else text


def relative(value: datetime, now: datetime) -> Msg | None:
    """ "just now", "12 min ago", "in 3 h" ... for a moment within a day of `now`; None further away.

    Minutes and hours are whole and rounded down: 59 s is "just now", 60 s "1 min ago", 3599 s
    "59 min ago", 3600 s "1 h ago", 86399 s "23 h ago", a day or more None.
    """
    seconds = (_aware(value) - _aware(now)).total_seconds()
    future, span = seconds > 0, abs(seconds)
    if span >= RELATIVE_LIMIT:
        return None
    if span < 60:
        return msg("in under a minute") if future else msg("just now")
    if span < 3600:
        n = int(span // 60)
        return msg("in %(n)s min", n=n) if future else msg("%(n)s min ago", n=n)
    n = int(span // 3600)
    return msg("in %(n)s h", n=n) if future else msg("%(n)s h ago", n=n)
