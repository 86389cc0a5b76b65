"""A lone surrogate in the intake API ("\\ud800" in the JSON) is stored and answered, not refused."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.core.text import well_formed
from bot.service.privacy import export_citizen
from bot.store import models as m
from bot.web.api import create_app

BODY = b'{"sender": "c\\udfff1", "text": "my smoke alarm \\ud800 keeps beeping", "external_id": "x\\ud800"}'


def test_a_lone_surrogate_is_stored_as_received_and_answered(sqlite_services):  # type: ignore[no-untyped-def]
    with TestClient(create_app(sqlite_services)) as client:
        r = client.post("/api/v1/messages", content=BODY, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["action"] in ("answer", "route") and r.json()["replies"]
        again = client.post("/api/v1/messages", content=BODY, headers={"Content-Type": "application/json"})
        assert again.json()["duplicate"] is True  # the same external id, read the same way
    with sqlite_services.sessions() as s:
        message = s.get(m.Message, r.json()["message_id"])
        citizen = s.scalars(select(m.Citizen).where(m.Citizen.id == message.citizen_id)).one()
        exported = export_citizen(s, citizen.id)
    assert message.text == "my smoke alarm \ufffd keeps beeping"  # what every page and file shows
    assert json.loads(message.raw_text) == "my smoke alarm \ud800 keeps beeping"  # exactly as received
    assert message.raw_text == '"my smoke alarm \\ud800 keeps beeping"'
    assert citizen.external_id == "c\ufffd1"
    inbound = next(e for e in exported["messages"] if e["id"] == message.id)
    assert inbound["as_received"] == message.raw_text
    json.dumps(exported, ensure_ascii=False).encode("utf-8")  # the export is valid UTF-8


def test_valid_text_keeps_no_second_copy() -> None:
    assert well_formed("brand 🔥 \u0301 \x00") == ("brand 🔥 \u0301 \x00", None)
    assert well_formed("\udfff") == ("\ufffd", '"\\udfff"')
