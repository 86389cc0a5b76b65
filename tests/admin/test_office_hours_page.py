"""Office hours on the Roles page: an admin sets a role's hours, time zone and extra closed
days, the next promise uses them at once, and unreadable settings are refused with a reason."""

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.types import Language
from bot.store import models as m
from tests.web.conftest import login, make_user

AMS = ZoneInfo("Europe/Amsterdam")


def test_an_admin_sets_office_hours_and_closed_days(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    role = {"csrf_token": csrf, "slug": "municipal_office", "name_en": "x", "name_nl": "x"}
    saved = app_client.post(
        "/admin/roles",
        data={
            **role,
            "response_hours": "4",
            "staffed_hours": "mon-thu 09:00-12:00",
            "closed_days": "2026-12-07, 2026-12-08",
        },
    )
    assert saved.status_code in (200, 303)
    with services.sessions() as s:
        row = s.get(m.Role, "municipal_office")
        assert (row.staffed_hours, row.closed_days) == ("mon-thu 09:00-12:00", "2026-12-07,2026-12-08")
        library = services.triage.library(s)
    # Friday evening: Monday and Tuesday are closed days, so 3 hours on Wednesday, 1 on Thursday
    friday = datetime(2026, 12, 4, 18, 0, tzinfo=AMS)
    promised = services.triage.promise(library, "municipal_office", friday)
    assert promised.made.due == datetime(2026, 12, 10, 10, 0, tzinfo=AMS)
    assert promised.phrased(Language.NL).due == "donderdag 10:00"
    page = app_client.get("/admin/routing").text
    assert "mon-thu 09:00-12:00" in page and "2 closed days" in page


def test_unreadable_office_hours_are_refused(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    role = {
        "csrf_token": csrf,
        "slug": "municipal_office",
        "name_en": "x",
        "name_nl": "x",
        "response_hours": "4",
    }
    for field, value, reason in (
        ("staffed_hours", "weekdays 9-5", "days as mon, tue"),
        ("time_zone", "Amsterdam", "IANA name"),
        ("closed_days", "24 December", "a date such as 2026-12-24"),
    ):
        refused = app_client.post("/admin/roles", data={**role, field: value})
        assert refused.status_code == 400 and reason in refused.text, field
    with services.sessions() as s:
        assert s.get(m.Role, "municipal_office").staffed_hours == "mon-fri 08:30-17:00"  # unchanged
