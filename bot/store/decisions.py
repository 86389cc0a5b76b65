"""Decision records: what the bot decided about each inbound message, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from bot.core.types import Decision, Language, Parse, Thresholds
from bot.store import models as m

FOLLOWUP = "followup"  # the action of a message that answered a prompt or was a command


def row(message_id: int, language: Language, decision: Decision, parse: Parse | None) -> dict[str, Any]:
    """The record of a decision, as a row for `insert_many`."""
    return {
        "message_id": message_id,
        "engine": parse.engine if parse else "none",
        "model_version": parse.model_version if parse else "-",
        "action": decision.action.value,
        "intent": decision.intent,
        "confidence": decision.confidence,
        "role": decision.role,
        "language": language.value,
        "ranking": [[s.name, round(s.confidence, 4)] for s in decision.ranking],
        "roles": [[s.name, round(s.confidence, 4)] for s in decision.roles] or None,
        "threshold": decision.thresholds.threshold,
        "ambiguity_threshold": decision.thresholds.ambiguity_threshold,
        "reasons": list(decision.reasons),
        "created_at": datetime.now(UTC),
    }


def insert_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """A batch's decisions in one statement (no objects: nothing reads them back in the batch).
    A Core insert on the table: a row with no intent, role or roles sends NULL, where the ORM's
    bulk insert leaves the column out and splits the batch into one statement per set of columns
    (a round trip each), and it skips the ORM's work per row."""
    if rows:
        session.execute(insert(m.table_of(m.DecisionRecord)), list(rows))


def record(
    session: Session, message_id: int, language: Language, decision: Decision, parse: Parse | None
) -> None:
    insert_many(session, [row(message_id, language, decision, parse)])


def record_followup(
    session: Session, message_id: int, language: Language, thresholds: Thresholds, note: str
) -> None:
    """A message the policy did not classify: an answer to a prompt, a command, bad input."""
    session.add(
        m.DecisionRecord(
            message_id=message_id,
            engine="none",
            model_version="-",
            action=FOLLOWUP,
            intent=None,
            confidence=0.0,
            role=None,
            language=language.value,
            ranking=[],
            threshold=thresholds.threshold,
            ambiguity_threshold=thresholds.ambiguity_threshold,
            reasons=[note],
        )
    )


def of_message(session: Session, message_id: int) -> m.DecisionRecord | None:
    return session.scalars(select(m.DecisionRecord).where(m.DecisionRecord.message_id == message_id)).first()
