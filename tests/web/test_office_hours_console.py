"""The console shows due times in the staff's time zone (the TIMEZONE setting) and marks the
questions that arrived while their role was closed."""

from __future__ import annotations

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from bot.config import Settings
from bot.core.types import Channel, InboundMessage
from bot.web.api import create_app
from tests.conftest import make_services
from tests.web.conftest import login, make_user

AMS = ZoneInfo("Europe/Amsterdam")


def friday_evening_question(services) -> int:  # type: ignore[no-untyped-def]
    make_user(services, "fenna", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()
    services.triage.knowledge.clock = lambda: datetime(2026, 12, 4, 18, 0, tzinfo=AMS)
    text = "I would like a fire safety inspection of my building"
    result = services.triage.handle(InboundMessage(Channel.API, "c1", text))
    assert result.question_id is not None
    return int(result.question_id)


@pytest.mark.parametrize(
    ("zone", "due"), [("Europe/Amsterdam", "08 Dec 17:00 CET"), ("Europe/London", "08 Dec 16:00 GMT")]
)
def test_due_times_in_the_staff_zone_and_out_of_hours_marked(  # type: ignore[no-untyped-def]
    tmp_path, sqlite_template, trained_engine, zone: str, due: str
) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "triage.db")
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    services = make_services(tmp_path, url, trained_engine, imported=True, timezone=zone)
    try:
        question_id = friday_evening_question(services)
        with TestClient(create_app(services), headers={"Accept": "text/html"}) as client:
            login(client, "fenna")
            queue = client.get("/queue").text
            assert f"due {due}" in queue and "out of hours" in queue
            page = client.get(f"/questions/{question_id}").text
            assert "04 Dec" in page and "(out of hours)" in page and due in page
    finally:
        services.db.dispose()


def test_a_question_during_hours_is_not_marked(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "fenna", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()
    services.triage.knowledge.clock = lambda: datetime(2026, 12, 3, 10, 0, tzinfo=AMS)
    services.triage.handle(
        InboundMessage(Channel.API, "c1", "I would like a fire safety inspection of my building")
    )
    login(app_client, "fenna")
    queue = app_client.get("/queue").text
    assert "due 07 Dec 10:00 CET" in queue and "out of hours" not in queue  # 7 + 8.5 + 1.5 h


def test_an_unknown_staff_zone_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="IANA"):
        Settings(timezone="Amsterdam", _env_file=None)  # type: ignore[call-arg]
