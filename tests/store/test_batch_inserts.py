"""A batch's decision records and outbox items go to the database in one INSERT each, whatever
their empty fields (one round trip, not one per set of filled columns)."""

from __future__ import annotations

from sqlalchemy import event, select

from bot.core.types import Action, Decision, IntentScore, Language
from bot.store import decisions
from bot.store import models as m


def _decision(action: Action, intent: str | None, role: str | None, roles: bool) -> Decision:
    ranking = (IntentScore(intent or "greet", 0.4),)
    return Decision(
        action,
        Language.EN,
        intent,
        0.4,
        role,
        ranking,
        ("test",),
        roles=(IntentScore(role or "police", 0.4),) if roles else (),
    )


def test_records_with_and_without_intent_role_and_roles_go_in_one_statement(services):  # type: ignore[no-untyped-def]
    with services.sessions.begin() as session:
        citizen = m.Citizen(channel="api", external_id="c1")
        session.add(citizen)
        session.flush()
        ids = []
        for i in range(4):
            message = m.Message(citizen_id=citizen.id, direction="in", text=f"m{i}", channel="api")
            session.add(message)
            session.flush()
            ids.append(message.id)
    kinds = [
        (Action.ANSWER, "opening_hours", None, False),
        (Action.ROUTE, None, "police", True),
        (Action.SMALLTALK, None, None, False),
        (Action.ROUTE, "noise_complaint", "enforcement_officer", True),
    ]
    rows = [decisions.row(i, Language.EN, _decision(*k), None) for i, k in zip(ids, kinds, strict=True)]
    inserts: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("INSERT INTO DECISIONS"):
            inserts.append(statement)

    engine = services.db
    event.listen(engine, "before_cursor_execute", count)
    try:
        with services.sessions.begin() as session:
            decisions.insert_many(session, rows)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 1, "one round trip for the batch, not one per set of non-empty fields"
    with services.sessions() as session:
        stored = {r.message_id: r for r in session.scalars(select(m.DecisionRecord))}
        assert stored[ids[0]].role is None and stored[ids[0]].roles is None
        assert stored[ids[1]].intent is None and stored[ids[1]].roles == [["police", 0.4]]
        # an empty roles ranking is SQL NULL, as before, not the JSON value null
        assert session.scalar(
            select(m.DecisionRecord.id).where(
                m.DecisionRecord.message_id == ids[2], m.DecisionRecord.roles.is_(None)
            )
        )


def test_outbox_items_delivered_in_app_and_pending_go_in_one_statement(services):  # type: ignore[no-untyped-def]
    from bot.core.types import Reply, ReplyKind
    from bot.store.outbox import Outgoing, enqueue

    with services.sessions.begin() as session:
        web = m.Citizen(channel="web", external_id="w1")
        telegram = m.Citizen(channel="telegram", external_id="t1")
        session.add_all([web, telegram])
        session.flush()
        batch = [
            Outgoing(web, [Reply("hello", kind=ReplyKind.ANSWER)], Language.EN),
            Outgoing(telegram, [Reply("hallo", kind=ReplyKind.ANSWER)], Language.NL),
        ]
        inserts: list[str] = []

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            if statement.lstrip().upper().startswith("INSERT INTO OUTBOX"):
                inserts.append(statement)

        event.listen(services.db, "before_cursor_execute", count)
        try:
            enqueue(session, batch, lambda channel: channel == "web")
        finally:
            event.remove(services.db, "before_cursor_execute", count)
        assert len(inserts) == 1
        items = {i.channel: i for i in session.scalars(select(m.OutboxItem))}
        assert items["web"].status == "sent" and items["web"].sent_at is not None
        assert items["telegram"].status == "pending" and items["telegram"].sent_at is None
