"""Cross-role reading: a professional reads only the messages of questions they may see.

One citizen asked two teams: the fire prevention officer's question, and, before and after it, a
question for the community police officer with a secret marker in the citizen's message and in the
police officer's reply. Every read path that shows a citizen's history is walked as the fire
officer (the marker must never appear; the history says how many messages it left out), and as
the admin (everything is there). The same rule holds in the terminal, in the live updates and on
the Telegram cards, which carry no history at all.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bot.app import Services
from bot.store import models as m
from bot.web.api import create_app
from bot.web.events import Broadcaster
from tests.web.conftest import login, make_user

ROLE, OTHER_ROLE = "fire_prevention_officer", "community_police_officer"
SECRET = "SECRET-MARKER-5521 my neighbour deals drugs from number 12"
SECRET_REPLY = "SECRET-REPLY-8830 we will send an officer to number 12"
SMALL_TALK = "SMALLTALK-1402 hello, is anyone there?"
OWN = "Can someone inspect the fire exits of our school?"
OWN_REPLY = "We will inspect the fire exits next week."
MARKERS = ("SECRET-MARKER-5521", "SECRET-REPLY-8830", "SMALLTALK-1402")


@dataclass(frozen=True)
class History:
    own: int  # the fire officer's question
    other: int  # the police officer's question, same citizen


def _history(svc: Services) -> History:
    """Small talk, the police question and its reply, the fire question and its reply, one more
    police message: in that order, one citizen."""
    with svc.sessions.begin() as s:
        citizen = m.Citizen(channel="web", external_id="cross-role-citizen", language="en")
        s.add(citizen)
        s.flush()

        def msg(
            direction: str,
            text: str,
            question: m.Question | None = None,
            author: str | None = None,
            kind: str = "text",
        ) -> m.Message:
            row = m.Message(
                citizen_id=citizen.id,
                direction=direction,
                channel="web",
                text=text,
                language="en",
                processed=True,
                author=author,
                kind=kind,
                question_id=question.id if question else None,
            )
            s.add(row)
            s.flush()
            return row

        def question(role: str, text: str) -> m.Question:
            from datetime import UTC, datetime, timedelta

            q = m.Question(
                citizen_id=citizen.id,
                channel="web",
                language="en",
                text=text,
                role=role,
                due_at=datetime.now(UTC) + timedelta(hours=24),
            )
            s.add(q)
            s.flush()
            return q

        msg("in", SMALL_TALK)
        msg("out", "Hello! Ask me anything.")
        other = question(OTHER_ROLE, SECRET)
        other.message_id = msg("in", SECRET, other).id
        msg("out", SECRET_REPLY, other, author="otherrole", kind="professional")
        own = question(ROLE, OWN)
        own.message_id = msg("in", OWN, own).id
        msg("out", OWN_REPLY, own, author="pro", kind="professional")
        msg("in", SECRET + " (again)", other)
        return History(own.id, other.id)


@pytest.fixture
def setup(sqlite_services) -> Iterator[tuple[TestClient, Services, History]]:  # type: ignore[no-untyped-def]
    svc = sqlite_services
    make_user(svc, "pro", roles=ROLE)
    make_user(svc, "otherrole", roles=OTHER_ROLE)
    make_user(svc, "admin", admin=True)
    history = _history(svc)
    with TestClient(create_app(svc), headers={"Accept": "text/html"}) as client:
        yield client, svc, history


def _read_paths(client: TestClient, csrf: str, qid: int) -> dict[str, str]:
    """Every console response that shows the question's history (pages and action results)."""
    post = {"X-CSRF-Token": csrf}
    return {
        "page": client.get(f"/questions/{qid}").text,
        "live": client.get(f"/questions/{qid}/live", headers={"HX-Request": "true"}).text,
        "note": client.post(f"/questions/{qid}/note", data={"text": "a note"}, headers=post).text,
        "claim": client.post(f"/questions/{qid}/claim", headers=post).text,
        "reply-refused": client.post(f"/questions/{qid}/reply", data={"text": "{nope}"}, headers=post).text,
        "queue": client.get("/queue").text,
        "queue-list": client.get("/queue/list").text,
        "answered": client.get("/queue/list?view=answered").text,
    }


def test_a_professional_never_reads_another_teams_messages(setup) -> None:  # type: ignore[no-untyped-def]
    client, _svc, history = setup
    csrf = login(client, "pro")
    pages = _read_paths(client, csrf, history.own)
    for path, html in pages.items():
        for marker in MARKERS:
            assert marker not in html, (path, marker)
    thread = pages["page"]
    assert OWN in thread and OWN_REPLY in thread  # their own question reads in full
    assert "4 earlier messages to other teams" in thread  # small talk, greeting, police q + reply
    assert "1 later message to other teams" in thread
    assert "4 earlier messages to other teams" in pages["live"]


def test_the_other_team_reads_its_own_question_but_not_the_fire_question(setup) -> None:  # type: ignore[no-untyped-def]
    client, _svc, history = setup
    login(client, "otherrole")
    page = client.get(f"/questions/{history.other}").text
    assert "SECRET-MARKER-5521" in page and "SECRET-REPLY-8830" in page
    assert OWN not in page and OWN_REPLY not in page
    assert client.get(f"/questions/{history.own}").status_code == 403


def test_an_admin_reads_the_whole_history(setup) -> None:  # type: ignore[no-untyped-def]
    client, _svc, history = setup
    login(client, "admin")
    page = client.get(f"/questions/{history.own}").text
    for marker in MARKERS:
        assert marker in page
    assert "to other teams" not in page


def test_the_terminal_shows_the_same_as_the_console(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot import cli

    _client, svc, history = setup
    monkeypatch.setattr(cli, "_services", lambda: svc)
    as_pro = CliRunner().invoke(cli.app, ["queue", "show", str(history.own), "--user", "pro"])
    assert as_pro.exit_code == 0, as_pro.output
    assert OWN in as_pro.output and "4 earlier messages to other teams" in as_pro.output
    for marker in MARKERS:
        assert marker not in as_pro.output
    as_admin = CliRunner().invoke(cli.app, ["queue", "show", str(history.own)])
    assert all(marker in as_admin.output for marker in MARKERS)


def test_live_events_carry_only_an_event_name_and_a_question_id(setup) -> None:  # type: ignore[no-untyped-def]
    """The SSE stream goes to every logged-in browser: it must hold no text at all; the page
    re-fetches its own permission-filtered part."""
    _client, svc, history = setup

    async def one_event() -> str:
        broadcaster = Broadcaster()
        broadcaster.attach(svc)
        stream = broadcaster.stream()
        await anext(stream)  # "connected"
        svc.triage.publish("question.answered", history.other)
        chunk = await anext(stream)
        await stream.aclose()
        broadcaster.detach(svc)
        return chunk

    chunk = asyncio.run(one_event())
    data = json.loads(re.search(r"data: (.*)", chunk).group(1))  # type: ignore[union-attr]
    assert data == {"event": "question.answered", "question_id": history.other}


def test_a_telegram_card_shows_its_question_and_no_history(setup) -> None:  # type: ignore[no-untyped-def]
    from bot.channels.telegram import staff_actions as staff
    from bot.channels.telegram.context import Deps, Texts
    from bot.channels.telegram.settings import TelegramSettings
    from bot.config import PROJECT_ROOT

    _client, svc, history = setup
    settings = TelegramSettings(_env_file=None, bot_token="1:x", staff_language="en")  # type: ignore[call-arg]
    deps = Deps(svc, settings, None, Texts(PROJECT_ROOT / "responses"), lambda: None)  # type: ignore[arg-type]
    with svc.sessions() as session:
        question = session.get(m.Question, history.own)
        assert question is not None
        text = staff.card(deps, session, question).text
    assert OWN in text
    for marker in MARKERS:
        assert marker not in text
