"""Curating the library: answer versions (draft -> approved), training examples, intents, and
suggestions from professionals' replies.

Every change that citizens could notice bumps the library version, so every running process
reloads its view (`TriageService.library`). Functions take a session and never commit; each
admin action is written to the audit log.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.i18n import Refused, msg
from bot.core.language import detect_language
from bot.core.library import unfill, unknown_placeholders
from bot.core.replies import ORGANISATION_PLACEHOLDERS
from bot.core.types import Direction, Mode, ReplyKind
from bot.service import answer_checks
from bot.service.queue import Viewer, audit, get_question
from bot.store import models as m
from bot.store.library_repo import bump_library_version

LANGUAGES = ("en", "nl")
MODES = tuple(mode.value for mode in Mode)
_TOKENS = re.compile(r"\S+|\s+")


class LibraryError(Refused, ValueError):
    """A library change that cannot be made; `message` says why, to show the admin."""


class AnswerStatus(StrEnum):
    """A version of a library text. A professional's reply offered to the library waits as
    SUGGESTED until an admin turns it into a DRAFT of an intent's answer; only APPROVED versions
    reach citizens (the newest); RETIRED ones are discarded drafts and handled suggestions."""

    SUGGESTED = "suggested"
    DRAFT = "draft"
    APPROVED = "approved"
    RETIRED = "retired"


def answer_key(intent: str) -> str:
    return f"utter_{intent}"


# -- intents ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentSummary:
    name: str
    mode: str
    role: str | None
    examples: int
    decided: int  # messages classified as this intent
    answered: int  # of which answered automatically
    helped_yes: int
    helped_no: int
    drafts: int  # draft answer versions waiting for approval

    @property
    def auto_answer_rate(self) -> float | None:
        return self.answered / self.decided if self.decided else None


def intent_summaries(session: Session) -> list[IntentSummary]:
    examples = dict(
        session.execute(
            select(m.TrainingExample.intent, func.count()).group_by(m.TrainingExample.intent)
        ).all()
    )
    decided: dict[str, int] = {}
    answered: dict[str, int] = {}
    for intent, action, n in session.execute(
        select(m.DecisionRecord.intent, m.DecisionRecord.action, func.count())
        .where(m.DecisionRecord.intent.is_not(None))
        .group_by(m.DecisionRecord.intent, m.DecisionRecord.action)
    ):
        name = str(intent)
        decided[name] = decided.get(name, 0) + n
        if action == "answer":
            answered[name] = answered.get(name, 0) + n
    helped: dict[tuple[str, str], int] = {}
    for intent, feedback, n in session.execute(
        select(m.DecisionRecord.intent, m.Message.feedback, func.count())
        .join(m.Message, m.Message.id == m.DecisionRecord.message_id)
        .where(m.Message.feedback.is_not(None))
        .group_by(m.DecisionRecord.intent, m.Message.feedback)
    ):
        helped[(str(intent), str(feedback))] = n
    drafts: dict[str, int] = dict(
        session.execute(
            select(m.Answer.key, func.count())
            .where(m.Answer.status == AnswerStatus.DRAFT.value)
            .group_by(m.Answer.key)
        ).all()
    )
    return [
        IntentSummary(
            i.name,
            i.mode,
            i.role,
            examples.get(i.name, 0),
            decided.get(i.name, 0),
            answered.get(i.name, 0),
            helped.get((i.name, "yes"), 0),
            helped.get((i.name, "no"), 0),
            drafts.get(answer_key(i.name), 0),
        )
        for i in session.scalars(select(m.Intent).order_by(m.Intent.name))
    ]


def get_intent(session: Session, name: str) -> m.Intent:
    intent = session.get(m.Intent, name)
    if intent is None:
        raise LibraryError(msg("Intent '%(intent)s' does not exist.", intent=name))
    return intent


def _check_role(session: Session, role: str | None) -> str | None:
    role = (role or "").strip() or None
    if role is not None and session.get(m.Role, role) is None:
        raise LibraryError(msg("Role '%(role)s' does not exist.", role=role))
    return role


def create_intent(session: Session, actor: str, name: str, mode: str, role: str | None) -> m.Intent:
    name = name.strip().lower().replace(" ", "_")
    if not name or not name.replace("_", "").isalnum() or len(name) > 100:
        raise LibraryError(msg("Intent name: letters, digits and _ only."))
    if session.get(m.Intent, name) is not None:
        raise LibraryError(msg("Intent '%(intent)s' already exists.", intent=name))
    if mode not in MODES:
        raise LibraryError(msg("Mode must be one of %(modes)s.", modes=", ".join(MODES)))
    intent = m.Intent(name=name, mode=mode, role=_check_role(session, role))
    session.add(intent)
    session.flush()
    audit(session, actor, "intent.create", f"intent:{name}", {"mode": mode, "role": intent.role})
    bump_library_version(session)
    return intent


def update_intent(session: Session, actor: str, name: str, mode: str, role: str | None) -> m.Intent:
    intent = get_intent(session, name)
    if mode not in MODES:
        raise LibraryError(msg("Mode must be one of %(modes)s.", modes=", ".join(MODES)))
    before = {"mode": intent.mode, "role": intent.role}
    intent.mode, intent.role = mode, _check_role(session, role)
    audit(
        session,
        actor,
        "intent.update",
        f"intent:{name}",
        {"before": before, "after": {"mode": intent.mode, "role": intent.role}},
    )
    bump_library_version(session)
    return intent


# -- answers ------------------------------------------------------------------------------------


def versions(session: Session, key: str, language: str) -> list[m.Answer]:
    """All versions of one text, newest first."""
    return list(
        session.scalars(
            select(m.Answer)
            .where(m.Answer.key == key, m.Answer.language == language)
            .order_by(m.Answer.version.desc())
        )
    )


def current_approved(session: Session, key: str, language: str) -> m.Answer | None:
    return session.scalars(
        select(m.Answer)
        .where(
            m.Answer.key == key, m.Answer.language == language, m.Answer.status == AnswerStatus.APPROVED.value
        )
        .order_by(m.Answer.version.desc())
    ).first()


def _next_version(session: Session, key: str, language: str) -> int:
    latest = session.scalar(
        select(func.max(m.Answer.version)).where(m.Answer.key == key, m.Answer.language == language)
    )
    return (latest or 0) + 1


def _check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise LibraryError(msg("Language must be one of %(languages)s.", languages=", ".join(LANGUAGES)))
    return language


def save_draft(
    session: Session,
    actor: str,
    key: str,
    language: str,
    text: str,
    suggested_from_question: int | None = None,
    status: AnswerStatus = AnswerStatus.DRAFT,
) -> m.Answer:
    """A new draft version; citizens keep getting the approved one until it is approved."""
    body = text.replace("\r\n", "\n").strip()  # browsers send textarea lines with CRLF
    if not body:
        raise LibraryError(msg("The answer is empty."))
    language = _check_language(language)
    if not answer_exists(session, key):
        raise LibraryError(
            msg("There is no answer or text called %(key)s; create the intent first.", key=key)
        )
    previous = current_approved(session, key, language)
    check_placeholders(body, previous.text if previous else "")
    answer = m.Answer(
        key=key,
        language=language,
        version=_next_version(session, key, language),
        text=body,
        status=status.value,
        author=actor,
        source_file=previous.source_file if previous else None,
        suggested_from_question=suggested_from_question,
    )
    session.add(answer)
    session.flush()
    audit(
        session,
        actor,
        "answer.suggest" if status is AnswerStatus.SUGGESTED else "answer.draft",
        f"answer:{key}/{language}",
        {"version": answer.version, "answer_id": answer.id},
    )
    return answer


def restore(session: Session, actor: str, answer_id: int) -> m.Answer:
    """An earlier version's text as a new draft: reviewed (diff, required lines) and approved like
    any other, so going back is never a blind switch."""
    old = session.get(m.Answer, answer_id)
    if old is None or old.status == AnswerStatus.SUGGESTED.value:
        raise LibraryError(msg("Answer version %(id)s does not exist.", id=answer_id))
    draft = save_draft(session, actor, old.key, old.language, old.text)
    audit(
        session,
        actor,
        "answer.restore",
        f"answer:{old.key}/{old.language}",
        {"from_version": old.version, "version": draft.version},
    )
    return draft


def answer_exists(session: Session, key: str) -> bool:
    """An intent's answer (utter_<intent> of an existing intent) or a text with versions."""
    if key.startswith("utter_") and session.get(m.Intent, key.removeprefix("utter_")) is not None:
        return True
    return session.scalars(select(m.Answer.id).where(m.Answer.key == key).limit(1)).first() is not None


def check_placeholders(text: str, previous: str) -> None:
    """Refuse a text that would reach a citizen with a placeholder left unfilled: the
    organisation's values ({emergency_number}, ...), those the previous version used (a system
    text's own, such as {role_name}) and {question_id} are filled; anything else is a typo."""
    known = {*ORGANISATION_PLACEHOLDERS, "question_id", *re.findall(r"\{([a-z_]+)\}", previous)}
    unknown = unknown_placeholders(text, known)
    if unknown:
        names = ", ".join(f"{{{p}}}" for p in sorted(ORGANISATION_PLACEHOLDERS))
        raise LibraryError(
            msg(
                "Unknown placeholder {%(name)s}: citizens would read it as it is. Use one of %(names)s.",
                name=unknown[0],
                names=names,
            )
        )


def approve(session: Session, actor: str, answer_id: int, override: bool = False) -> m.Answer:
    """Make a draft the text citizens get. Older approved versions stay, as history. A draft that
    drops a required line is refused unless the admin overrides, which the audit log records."""
    answer = session.get(m.Answer, answer_id)
    if answer is None:
        raise LibraryError(msg("Answer version %(id)s does not exist.", id=answer_id))
    if answer.status != AnswerStatus.DRAFT.value:
        raise LibraryError(
            msg(
                "Version %(version)s is %(status)s, not a draft.",
                version=answer.version,
                status=answer.status,
            )
        )
    latest_approved = current_approved(session, answer.key, answer.language)
    missing = answer_checks.missing_required(session, answer, latest_approved)
    if missing and not override:
        raise LibraryError(
            msg(
                "Version %(version)s drops a required line: \u201c%(line)s\u201d. Put it back, or approve "
                "with the override if citizens really should no longer read it.",
                version=answer.version,
                line=missing[0],
            )
        )
    if latest_approved is not None and latest_approved.version > answer.version:
        # An older draft approved after a newer version: give it the newest number so it wins.
        answer.version = _next_version(session, answer.key, answer.language)
    answer.status, answer.approved_by = AnswerStatus.APPROVED.value, actor
    answer.approved_at = datetime.now(UTC)
    audit(
        session,
        actor,
        "answer.approve",
        f"answer:{answer.key}/{answer.language}",
        {"version": answer.version, "answer_id": answer.id, "dropped_required": missing},
    )
    bump_library_version(session)
    return answer


def discard(session: Session, actor: str, answer_id: int) -> m.Answer:
    answer = session.get(m.Answer, answer_id)
    if answer is None or answer.status not in (AnswerStatus.DRAFT, AnswerStatus.SUGGESTED):
        raise LibraryError(msg("Only drafts can be discarded."))
    answer.status = AnswerStatus.RETIRED.value
    audit(
        session,
        actor,
        "answer.discard",
        f"answer:{answer.key}/{answer.language}",
        {"version": answer.version, "answer_id": answer.id},
    )
    return answer


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed"
    text: str


def diff(old: str, new: str) -> list[DiffLine]:
    """Word-level difference between two versions, for showing inline. Whitespace is kept, so
    the parts joined give back the texts (line breaks included)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    out: list[DiffLine] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(DiffLine("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(DiffLine("removed", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(DiffLine("added", "".join(b[j1:j2])))
    return out


def unified_diff(old: m.Answer, new: m.Answer) -> str:
    return "".join(
        difflib.unified_diff(
            old.text.splitlines(keepends=True),
            new.text.splitlines(keepends=True),
            fromfile=f"version {old.version}",
            tofile=f"version {new.version}",
        )
    )


# -- training examples --------------------------------------------------------------------------


def examples(session: Session, intent: str) -> list[m.TrainingExample]:
    return list(
        session.scalars(
            select(m.TrainingExample)
            .where(m.TrainingExample.intent == intent)
            .order_by(m.TrainingExample.language, m.TrainingExample.id)
        )
    )


def add_example(
    session: Session,
    actor: str,
    intent: str,
    text: str,
    language: str | None = None,
    source_message_id: int | None = None,
) -> m.TrainingExample:
    """The example (see `add_example_once`)."""
    return add_example_once(session, actor, intent, text, language, source_message_id)[0]


def add_example_once(
    session: Session,
    actor: str,
    intent: str,
    text: str,
    language: str | None = None,
    source_message_id: int | None = None,
) -> tuple[m.TrainingExample, bool]:
    """The example, and whether it is new (False: the intent had it already, nothing changed).
    `source_message_id`: the citizen's inbound message the text comes from, so that erasing
    or expiring that message removes the example too. The audit entry holds ids, never the text."""
    get_intent(session, intent)
    body = " ".join(text.split())
    if not body:
        raise LibraryError(msg("The example is empty."))
    language = _check_language(language or detect_language(body).value)
    existing = session.scalars(
        select(m.TrainingExample).where(
            m.TrainingExample.intent == intent,
            m.TrainingExample.language == language,
            m.TrainingExample.text == body,
        )
    ).first()
    if existing is not None:
        if existing.source_message_id is None and source_message_id is not None:
            existing.source_message_id = source_message_id  # a citizen's words now: theirs to erase
        return existing, False
    example = m.TrainingExample(
        intent=intent, language=language, text=body, source_file=None, source_message_id=source_message_id
    )
    session.add(example)
    session.flush()
    audit(
        session,
        actor,
        "example.add",
        f"intent:{intent}",
        {"example_id": example.id, "language": language, "source_message_id": source_message_id},
    )
    return example, True


def add_examples_from_messages(session: Session, actor: str, intent: str, message_ids: list[int]) -> int:
    """Citizens' questions (unrecognised ones, grouped) become examples of `intent`, each
    remembering the message it came from; how many were new (0: the intent had them all)."""
    if not message_ids:
        raise LibraryError(msg("Choose at least one question."))
    rows = session.execute(
        select(m.Message.id, m.Message.text, m.Message.language).where(
            m.Message.id.in_(message_ids), m.Message.direction == Direction.IN.value
        )
    ).all()
    return sum(
        add_example_once(
            session, actor, intent, text, language if language in LANGUAGES else None, message_id
        )[1]
        for message_id, text, language in rows
    )


def remove_example(session: Session, actor: str, example_id: int) -> None:
    example = session.get(m.TrainingExample, example_id)
    if example is None:
        raise LibraryError(msg("Example %(id)s does not exist.", id=example_id))
    audit(session, actor, "example.remove", f"intent:{example.intent}", {"example_id": example.id})
    session.delete(example)
    session.flush()


def move_example(session: Session, actor: str, example_id: int, to_intent: str) -> m.TrainingExample:
    example = session.get(m.TrainingExample, example_id)
    if example is None:
        raise LibraryError(msg("Example %(id)s does not exist.", id=example_id))
    get_intent(session, to_intent)
    if example.intent == to_intent:
        return example
    clash = session.scalars(
        select(m.TrainingExample).where(
            m.TrainingExample.intent == to_intent,
            m.TrainingExample.language == example.language,
            m.TrainingExample.text == example.text,
        )
    ).first()
    audit(
        session,
        actor,
        "example.move",
        f"intent:{example.intent}",
        {"example_id": example.id, "to": to_intent},
    )
    if clash is not None:  # already an example there: the move is a removal
        session.delete(example)
        session.flush()
        return clash
    example.intent = to_intent
    session.flush()
    return example


# -- learning from professionals ----------------------------------------------------------------

REPLY_TEMPLATE = "utter_professional_reply"


def unsigned(body: str, template: str) -> str:
    """A sent reply without the signature `queue.signed` added ("{text}\\n\\n— {role_name}"), for
    offering it to the library; the body as it is when it does not have the template's shape."""
    head, sep, tail = template.partition("{text}")
    if not sep:
        return body.strip()
    parts = [re.escape(head), "(?P<text>.*)"]
    parts += [".+?" if p == "{role_name}" else re.escape(p) for p in re.split(r"(\{role_name\})", tail)]
    found = re.fullmatch("".join(parts), body.strip(), flags=re.DOTALL)
    return (found.group("text") if found else body).strip()


def suggest_from_reply(
    session: Session, viewer: Viewer, question_id: int, values: Mapping[str, object] | None = None
) -> m.Answer:
    """A professional offers their last reply to a question to the library. It waits as a
    suggestion, without the signature the citizen saw and with the organisation's `values`
    turned back into placeholders, until an admin makes it a draft."""
    question = get_question(session, viewer, question_id)  # raises NotAllowed outside their roles
    reply = session.scalars(
        select(m.Message)
        .where(
            m.Message.question_id == question.id,
            m.Message.direction == Direction.OUT.value,
            m.Message.kind == ReplyKind.PROFESSIONAL.value,
        )
        .order_by(m.Message.id.desc())
    ).first()
    if reply is None:
        raise LibraryError(msg("Reply to the question first, then suggest the reply."))
    already = session.scalars(
        select(m.Answer).where(
            m.Answer.suggested_from_question == question.id,
            m.Answer.status == AnswerStatus.SUGGESTED.value,
        )
    ).first()
    if already is not None:
        return already
    key = answer_key(question.intent) if question.intent else "utter_suggested"
    language = question.language if question.language in LANGUAGES else "en"
    template = current_approved(session, REPLY_TEMPLATE, language)
    text = unsigned(reply.text, template.text if template else "{text}\n\n\u2014 {role_name}")
    text = unfill(text, values or {})
    answer = m.Answer(
        key=key,
        language=language,
        version=_next_version(session, key, language),
        text=text,
        status=AnswerStatus.SUGGESTED.value,
        author=viewer.username,
        suggested_from_question=question.id,
    )
    session.add(answer)
    session.flush()
    audit(session, viewer.username, "answer.suggest", f"question:{question.id}", {"answer_id": answer.id})
    return answer


def suggestions(session: Session) -> list[tuple[m.Answer, m.Question | None]]:
    rows = session.scalars(
        select(m.Answer)
        .where(m.Answer.status == AnswerStatus.SUGGESTED.value)
        .order_by(m.Answer.created_at.desc(), m.Answer.id.desc())
    )
    return [(a, session.get(m.Question, a.suggested_from_question)) for a in rows]


def intent_choices(
    session: Session, question: m.Question | None, intents: Sequence[str]
) -> list[tuple[str, float | None]]:
    """`intents` for a picker: the ones the engine ranked for the question first, best first, with
    their confidence; then the rest alphabetically (no confidence)."""
    ranking: list[tuple[str, float]] = []
    if question is not None and question.message_id is not None:
        record = session.scalars(
            select(m.DecisionRecord).where(m.DecisionRecord.message_id == question.message_id)
        ).first()
        if record is not None:
            ranking = [(str(name), float(conf)) for name, conf in record.ranking or []]
    allowed = set(intents)
    ranked = [(name, conf) for name, conf in ranking if name in allowed]
    seen = {name for name, _ in ranked}
    rest: list[tuple[str, float | None]] = [(name, None) for name in sorted(allowed - seen)]
    return [*ranked, *rest]


def draft_from_suggestion(
    session: Session,
    actor: str,
    answer_id: int,
    intent: str,
    language: str,
    text: str | None = None,
) -> m.Answer:
    """A suggested reply becomes a draft of `intent`'s answer in `language` (citizens keep the
    live answer until the draft is reviewed and approved); the citizen's question becomes a
    training example of that intent."""
    suggestion = session.get(m.Answer, answer_id)
    if suggestion is None or suggestion.suggested_from_question is None:
        raise LibraryError(msg("Suggestion %(id)s does not exist.", id=answer_id))
    if suggestion.status != AnswerStatus.SUGGESTED.value:
        raise LibraryError(msg("This suggestion was already handled."))
    target = get_intent(session, intent)
    if target.mode != Mode.ANSWER.value:
        raise LibraryError(
            msg("Intent '%(intent)s' routes to a person; set its mode to answer first.", intent=intent)
        )
    language = _check_language(language)
    body = (text if text is not None else suggestion.text).replace("\r\n", "\n").strip()
    if not body:
        raise LibraryError(msg("The answer is empty."))
    suggestion.status = AnswerStatus.RETIRED.value
    draft = save_draft(
        session,
        actor,
        answer_key(intent),
        language,
        body,
        suggested_from_question=suggestion.suggested_from_question,
    )
    question = session.get(m.Question, suggestion.suggested_from_question)
    if question is not None:
        add_example(
            session,
            actor,
            intent,
            question.text,
            question.language if question.language in LANGUAGES else None,
            source_message_id=question.message_id,
        )
    return draft


def reject_suggestion(session: Session, actor: str, answer_id: int) -> None:
    suggestion = session.get(m.Answer, answer_id)
    if suggestion is None or suggestion.suggested_from_question is None:
        raise LibraryError(msg("Suggestion %(id)s does not exist.", id=answer_id))
    discard(session, actor, answer_id)
