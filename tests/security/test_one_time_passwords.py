"""One-time passwords are one-time: the first login with one opens only the account page, where the
professional chooses their own; an unused one stops working after 72 hours.

The first passwords come from `triage init`, `triage user add`, the Team page and its password
reset; each is followed here from creation to the first login.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from typer.testing import CliRunner

from bot.app import Services
from bot.service import users
from bot.store import models as m
from bot.store.db import make_engine, migrate
from bot.web.api import create_app
from tests.web.conftest import PASSWORD, csrf_of, login, make_question, make_user

FIRE = "fire_prevention_officer"
OWN = "my own long password"


@pytest.fixture
def client(sqlite_services) -> Iterator[tuple[TestClient, Services]]:  # type: ignore[no-untyped-def]
    make_user(sqlite_services, "ada", admin=True)
    with TestClient(create_app(sqlite_services), headers={"Accept": "text/html"}) as c:
        yield c, sqlite_services


def _login(client: TestClient, username: str, password: str):  # type: ignore[no-untyped-def]
    client.cookies.clear()
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text), "next": "/queue"},
    )


def _team_password(client: TestClient, username: str) -> str:
    """The admin adds a professional on the Team page; the page shows the one-time password."""
    token = login(client, "ada")
    page = client.post("/admin/team", data={"csrf_token": token, "username": username, "roles": [FIRE]})
    assert page.status_code == 200, page.text[:300]
    assert "72 hours" in page.text
    found = re.search(r'id="new-password">([^<]+)<', page.text)
    assert found
    return found.group(1)


def test_the_first_login_opens_only_the_password_change(client) -> None:  # type: ignore[no-untyped-def]
    c, svc = client
    qid = make_question(svc, FIRE)
    first = _team_password(c, "fiona")
    landed = _login(c, "fiona", first)
    assert landed.status_code == 200 and landed.url.path == "/account"  # sent on from /queue
    assert 'id="must-change"' in landed.text
    token = csrf_of(landed.text)
    post = {"X-CSRF-Token": token}
    for path in ("/queue", f"/questions/{qid}", "/admin/team"):
        assert c.get(path, follow_redirects=False).headers.get("location") == "/account", path
    assert c.get("/queue/list", headers={"HX-Request": "true"}).status_code == 403
    assert c.get("/events", headers={"Accept": "text/event-stream"}).status_code == 403
    assert c.post(f"/questions/{qid}/claim", headers=post).status_code == 403
    assert c.post("/account/telegram/code", headers=post).status_code == 403
    with svc.sessions() as s:
        assert s.get(m.Question, qid).status == "open"  # type: ignore[union-attr]
    same = c.post("/account/password", headers=post, data={"current": first, "new": first, "repeat": first})
    assert same.status_code == 400 and 'id="must-change"' in same.text
    changed = c.post("/account/password", headers=post, data={"current": first, "new": OWN, "repeat": OWN})
    assert changed.status_code == 200 and 'id="must-change"' not in changed.text
    assert c.get("/queue").status_code == 200  # the console opens
    assert _login(c, "fiona", first).status_code == 401  # the one-time password is gone
    assert _login(c, "fiona", OWN).url.path == "/queue"  # and the own password goes straight in


def test_an_unused_one_time_password_expires_after_72_hours(client) -> None:  # type: ignore[no-untyped-def]
    c, svc = client
    first = _team_password(c, "fiona")
    with svc.sessions.begin() as s:
        pro = users.find(s, "fiona")
        assert pro is not None and pro.password_expires_at is not None
        left = pro.password_expires_at - datetime.now(UTC)
        assert timedelta(hours=71, minutes=59) < left <= timedelta(hours=72)
        pro.password_expires_at = datetime.now(UTC) - timedelta(minutes=1)
    refused = _login(c, "fiona", first)
    assert refused.status_code == 401
    assert "This one-time password has expired" in refused.text and "Ask an admin" in refused.text
    assert "triage_session" not in c.cookies
    assert "has expired" not in _login(c, "fiona", "a wrong password").text  # no hint without it


def test_a_password_reset_is_one_time_again(client) -> None:  # type: ignore[no-untyped-def]
    c, svc = client
    pro_id = make_user(svc, "fiona", roles=FIRE)
    token = login(c, "ada")
    page = c.post(f"/admin/team/{pro_id}/password", data={"csrf_token": token})
    found = re.search(r'id="new-password">([^<]+)<', page.text)
    assert found
    landed = _login(c, "fiona", found.group(1))
    assert landed.url.path == "/account" and 'id="must-change"' in landed.text
    assert _login(c, "fiona", PASSWORD).status_code == 401  # the old one ended with the reset


def test_the_command_line_hands_out_one_time_passwords(client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot import cli

    c, svc = client
    monkeypatch.setattr(cli, "_services", lambda: svc)
    result = CliRunner().invoke(cli.app, ["user", "add", "fiona", "--roles", FIRE])
    assert result.exit_code == 0, result.output
    assert "72 hours" in result.output
    first = result.output.split("one-time password: ")[1].split()[0]
    with svc.sessions() as s:
        pro = users.find(s, "fiona")
        assert pro is not None and pro.must_change_password and pro.password_expires_at is not None
    assert _login(c, "fiona", first).url.path == "/account"


def test_existing_professionals_who_never_changed_their_password_are_asked_once(tmp_path) -> None:
    """The upgrade: nobody is locked out, but a first password nobody replaced must be changed."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0004")
    with engine.begin() as conn:
        for name in ("kept", "changed"):
            conn.execute(
                text(
                    "INSERT INTO professionals (username, display_name, password_hash, is_admin,"
                    " roles, areas, active, created_at) VALUES (:n, :n, 'x', 0, '', '', 1,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"n": name},
            )
        conn.execute(
            text(
                "INSERT INTO audit_log (actor, action, target, created_at) VALUES"
                " ('changed', 'password_change', 'user:changed', CURRENT_TIMESTAMP)"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(m.Professional.username, m.Professional.must_change_password)).all())
        expiries = set(conn.execute(select(m.Professional.password_expires_at)).scalars())
    assert rows == {"kept": True, "changed": False} and expiries == {None}
    engine.dispose()
