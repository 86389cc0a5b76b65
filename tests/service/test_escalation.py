"""Every question reaches someone on duty: up the escalation path at once when its role has
nobody, and an unclaimed emergency one step further each time its minutes run out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from bot.app import Services
from bot.core.types import Action, Channel, InboundMessage
from bot.service import queue
from bot.service.escalation import escalate_unclaimed
from bot.store import models as m
from bot.web import plugins
from bot.web.api import create_app
from tests.web.conftest import make_user

FIRE = "er is brand in de flat hiernaast, veel rook!!"
INSPECTION = "I would like a fire safety inspection for my restaurant"


def ask(services: Services, text: str, sender: str = "c1"):  # type: ignore[no-untyped-def]
    return services.triage.handle(InboundMessage(Channel.API, sender, text))


def question(services: Services, question_id: int) -> m.Question:
    with services.sessions() as s:
        found = s.get(m.Question, question_id)
        assert found is not None
        _ = list(found.notes)
        return found


def test_on_a_fresh_install_a_question_is_the_admins_and_says_why(services: Services) -> None:
    routed = ask(services, INSPECTION)
    q = question(services, routed.question_id)
    assert q.role == "fire_prevention_officer" and q.for_admins and q.escalations == 1
    assert "nobody on duty on the whole path" in (q.escalation_reason or "")
    emergency = ask(services, FIRE, sender="c2")
    assert question(services, emergency.question_id).for_admins


def test_a_role_nobody_holds_passes_its_questions_up_at_once(services: Services) -> None:
    make_user(services, "olga", roles="public_order_officer")
    services.triage.knowledge.invalidate_staffing()
    routed = ask(services, INSPECTION)
    assert routed.decision.role == "public_order_officer"
    assert any("nobody on duty as fire_prevention_officer" in r for r in routed.decision.reasons)
    assert "public order" in routed.replies[0].text  # the citizen is told who really answers
    q = question(services, routed.question_id)
    assert q.role == "public_order_officer" and not q.for_admins
    assert "nobody on duty as fire_prevention_officer" in (q.escalation_reason or "")


def test_a_staffed_role_keeps_its_question(services: Services) -> None:
    make_user(services, "fiona", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()
    routed = ask(services, INSPECTION)
    q = question(services, routed.question_id)
    assert q.role == "fire_prevention_officer" and q.escalations == 0 and q.escalation_reason is None


def test_an_unclaimed_emergency_goes_up_after_its_minutes_once(services: Services) -> None:
    make_user(services, "olga", roles="public_order_officer")
    emergency = ask(services, FIRE)
    assert emergency.decision.action is Action.EMERGENCY
    with services.sessions.begin() as s:  # the emergency role is held by someone who is away
        q = s.get(m.Question, emergency.question_id)
        role = q.role
        s.execute(
            update(m.Question)
            .where(m.Question.id == q.id)
            .values(
                role="fire_prevention_officer",
                for_admins=False,
                escalations=0,
                escalated_at=None,
                created_at=datetime.now(UTC) - timedelta(minutes=6),
            )
        )
    make_user(services, "fiona", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()
    with services.sessions.begin() as s:
        assert escalate_unclaimed(s, services.triage.knowledge, 5) == [emergency.question_id]
    with services.sessions.begin() as s:  # a second instance, a moment later: nothing more
        assert escalate_unclaimed(s, services.triage.knowledge, 5) == []
    q = question(services, emergency.question_id)
    assert q.role == "public_order_officer" and q.escalations == 1 and not q.for_admins
    assert "unclaimed emergency: up from fire_prevention_officer" in q.notes[-1].text
    later = datetime.now(UTC) + timedelta(minutes=6)
    with services.sessions.begin() as s:  # still nobody: the admins have it
        assert escalate_unclaimed(s, services.triage.knowledge, 5, now=later) == [q.id]
    assert question(services, q.id).for_admins
    assert role  # the policy's own choice, recorded before the test moved it


def test_a_claimed_emergency_stays(services: Services) -> None:
    make_user(services, "olga", roles="public_order_officer")
    services.triage.knowledge.invalidate_staffing()
    emergency = ask(services, FIRE)
    with services.sessions.begin() as s:
        q = s.get(m.Question, emergency.question_id)
        q.created_at = datetime.now(UTC) - timedelta(minutes=30)
        queue.claim(s, queue.Viewer("olga", frozenset({q.role})), q.id)
    with services.sessions.begin() as s:
        assert escalate_unclaimed(s, services.triage.knowledge, 5) == []


def test_health_lists_the_unstaffed_roles(services: Services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(plugins, "PARTS", [])
    make_user(services, "olga", roles="public_order_officer")
    services.triage.knowledge.invalidate_staffing()
    with TestClient(create_app(services)) as client:
        unstaffed = client.get("/healthz").json()["unstaffed_roles"]
    assert "fire_prevention_officer" in unstaffed and "public_order_officer" not in unstaffed
    with services.sessions() as s:
        roles = set(s.scalars(select(m.Role.slug)))
    assert set(unstaffed) == roles - {"public_order_officer"}
