"""Copies of a citizen's words outside their messages, and how erasure and retention reach them.

A citizen's text is copied into the library in three ways, each recording where it came from:

- a training example taught from their message (`TrainingExample.source_message_id`);
- a library answer suggested from a professional's reply to their question
  (`Answer.suggested_from_question`), which may quote them;
- every model trained while such an example existed (its vocabulary holds their words).

`forget` removes the first, removes or unlinks the second, and marks the models: the active
model is flagged for retraining (the admin confirms on the Retrain page or with
`triage privacy erase --retrain`), and that retrain deletes the files of the marked models and
their copies in the database (`bot.service.retrain`); every other instance deletes its own copy
of those files when it loads the new model (`bot.service.models_registry`). Audit entries about
these copies hold ids only, never text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session

from bot.service.models_registry import forget_blobs
from bot.store import models as m
from bot.store.library_repo import bump_library_version, get_state, set_state

MARK_KEY = "privacy.retrain"
APPROVED = "approved"
RETIRED = "retired"


@dataclass(frozen=True)
class Forgotten:
    examples: int = 0  # training examples deleted
    answers: int = 0  # answer versions blanked and retired
    unlinked: int = 0  # approved answers kept as the organisation's text, no longer linked
    models_marked: bool = False  # the models learned from the deleted examples

    def counts(self) -> dict[str, int]:
        return {"examples": self.examples, "answers": self.answers, "answers_unlinked": self.unlinked}


def forget(
    session: Session,
    message_ids: Select[Any],
    question_ids: Select[Any],
    placeholder: str,
    keep_approved: bool,
) -> Forgotten:
    """Remove the copies made from `message_ids` and `question_ids`, in the caller's transaction.

    `keep_approved` (retention): an answer version an admin approved and citizens get now is the
    organisation's text after review; it stays, without its link to the citizen. Erasure passes
    False: the citizen asked, and the reply may quote them, so it goes as well."""
    examples = session.execute(
        delete(m.TrainingExample)
        .where(m.TrainingExample.source_message_id.in_(message_ids))
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    from_question = m.Answer.suggested_from_question.in_(question_ids)
    in_use = m.Answer.status == APPROVED
    unlinked = 0
    if keep_approved:
        unlinked = session.execute(
            update(m.Answer)
            .where(from_question, in_use)
            .values(suggested_from_question=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
    blank = from_question if not keep_approved else from_question & ~in_use
    was_approved = session.scalars(select(m.Answer.id).where(blank, in_use).limit(1)).first()
    answers = session.execute(
        update(m.Answer)
        .where(blank, m.Answer.text != placeholder)
        .values(text=placeholder, status=RETIRED)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if examples or was_approved is not None:
        bump_library_version(session)  # every process reloads the library it answers from
    if examples:
        mark_models(session)
    return Forgotten(examples, answers, unlinked, bool(examples))


def mark_models(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Every model trained so far may hold the deleted words: note them for the next retrain,
    which replaces the active one and deletes their files."""
    mark = marked(session) or {"models": []}
    versions = set(mark["models"]) | set(
        session.scalars(select(m.ModelRecord.version).where(m.ModelRecord.path != ""))
    )
    mark = {
        "marked_at": (now or datetime.now(UTC)).isoformat(),
        "models": sorted(versions),
    }
    set_state(session, MARK_KEY, json.dumps(mark))
    return mark


def marked(session: Session) -> dict[str, Any] | None:
    """The models waiting to be replaced because they learned erased or expired words."""
    raw = get_state(session, MARK_KEY)
    value = json.loads(raw) if raw else None
    return value if value and value.get("models") else None


def delete_marked_models(session: Session, mark: dict[str, Any], keep: str) -> list[str]:
    """After `keep` was trained from the cleaned library and activated: delete the marked models'
    files (the records stay, as history, with no path). The mark is cleared unless a newer one
    came in meanwhile (another erasure during the retrain): that one needs the next retrain."""
    gone = []
    for record in session.scalars(select(m.ModelRecord).where(m.ModelRecord.version.in_(mark["models"]))):
        if record.version == keep or record.active:
            continue
        if record.path:
            _remove(Path(record.path))
        record.path = ""
        gone.append(record.version)
    forget_blobs(session, gone)  # the fleet's copy; each instance deletes its own file (models_registry)
    current = marked(session)
    if current is not None:
        # What is left: another engine's active model (its own next retrain replaces it) and,
        # after an erasure during this retrain, every model including the new one, which may
        # have been trained on the words erased meanwhile.
        newer = current.get("marked_at") != mark.get("marked_at")
        versions = set(current["models"]) | ({keep} if newer else set())
        left = session.scalars(
            select(m.ModelRecord.version).where(
                m.ModelRecord.version.in_(versions),
                m.ModelRecord.path != "",
                m.ModelRecord.version != ("" if newer else keep),
            )
        )
        current["models"] = sorted(left)
        set_state(session, MARK_KEY, json.dumps(current if current["models"] else {}))
    return gone


def _remove(path: Path) -> None:
    if path.is_dir():
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
