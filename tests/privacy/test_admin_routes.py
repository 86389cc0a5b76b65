"""The admin console's privacy page: find a citizen, export everything held, erase; audited."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.core.types import Channel, InboundMessage, Language
from bot.store import models as m
from bot.web.api import create_app
from tests.web.conftest import login, make_user

SECRET = "ERASE-ME-3141 my daughter is being bullied at school by the neighbours"


def test_an_admin_exports_and_erases_one_citizen(sqlite_services):  # type: ignore[no-untyped-def]
    svc = sqlite_services
    make_user(svc, "ada", admin=True)
    make_user(svc, "piet", roles="community_police_officer")
    mine = svc.triage.handle(InboundMessage(Channel.TELEGRAM, "5551234", SECRET, Language.EN))
    other = svc.triage.handle(InboundMessage(Channel.TELEGRAM, "5559999", "OTHER-2718 noise", Language.EN))
    with TestClient(create_app(svc), headers={"Accept": "text/html"}) as client:
        login(client, "piet")
        assert client.get("/admin/privacy?citizen=telegram:5551234").status_code == 403
        assert client.get(f"/admin/privacy/export?citizen={mine.citizen_id}").status_code == 403
        client.cookies.clear()
        csrf = login(client, "ada")
        page = client.get("/admin/privacy", params={"citizen": "telegram:5551234"})
        assert page.status_code == 200 and f"Citizen {mine.citizen_id}" in page.text
        assert client.get("/admin/privacy", params={"citizen": "telegram:nobody"}).text.count("No such") == 1
        exported = client.get(f"/admin/privacy/export?citizen={mine.citizen_id}")
        assert exported.status_code == 200
        disposition = exported.headers["content-disposition"]
        assert disposition == f'attachment; filename="citizen-{mine.citizen_id}.json"'
        data = json.loads(exported.text)
        assert SECRET in [msg["text"] for msg in data["messages"]] and "OTHER-2718" not in exported.text
        for bad in ("..%2F..%2Fetc%2Fpasswd", "-1", str(2**40), "1%00"):
            assert client.get(f"/admin/privacy/export?citizen={bad}").status_code in (404, 422), bad

        url, cid = "/admin/privacy/erase", mine.citizen_id
        assert client.post(url, data={"citizen": cid, "confirm": "erase"}).status_code == 403  # no CSRF
        assert client.post(url, data={"citizen": cid, "confirm": "", "csrf_token": csrf}).status_code == 400
        done = client.post(
            url, data={"citizen": cid, "confirm": "erase", "csrf_token": csrf}, follow_redirects=False
        )
        assert done.status_code == 303
        after = client.get(f"/admin/privacy/export?citizen={mine.citizen_id}").text
        assert SECRET not in after
    with svc.sessions() as s:
        texts = " ".join(s.scalars(select(m.Message.text)))
        questions = " ".join(s.scalars(select(m.Question.text)))
        actions = [(a.actor, a.action, a.target) for a in s.scalars(select(m.AuditLog))]
    assert SECRET not in texts and SECRET not in questions and "OTHER-2718" in texts
    assert ("ada", "privacy.export", f"citizen:{mine.citizen_id}") in actions
    assert ("ada", "privacy.erase", f"citizen:{mine.citizen_id}") in actions
    assert other.citizen_id != mine.citizen_id
