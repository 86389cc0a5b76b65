"""Deciding one stored message, inside the caller's transaction: the conversation core first (is
it an answer to a prompt, a command?), then the triage policy for a new question.

A decision is written in two steps so that a batch needs one flush for all its questions and one
for all its replies (`Decider.finish`): `Decider.draft` decides and writes what needs no new ids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.core import conversation as core
from bot.core import text as textcheck
from bot.core.emergency import EmergencyRules, detect_emergency
from bot.core.language import guess_language
from bot.core.policy import decide, honour
from bot.core.replies import render
from bot.core.types import (
    Action,
    Decision,
    InboundMessage,
    Language,
    Parse,
    Reply,
    ReplyKind,
)
from bot.nlu.engine import EngineUnavailable
from bot.service import metrics
from bot.service.conversation import Conversations
from bot.service.flood import FloodGate
from bot.service.knowledge import Knowledge
from bot.store import citizens, decisions, messages, questions
from bot.store import models as m
from bot.store.outbox import Outgoing, enqueue

# Kinds of message whose text describes what was sent (coordinates, a name) and is never read as a
# question: the professional sees it in the conversation.
WORDLESS = frozenset({"location", "venue", "contact", "poll", "dice"})


class Deferred(Exception):
    """The engine is unavailable: the message stays stored and unprocessed, to be retried."""


@dataclass
class IntakeResult:
    message_id: int
    citizen_id: int
    replies: list[Reply]
    decision: Decision | None = None
    question_id: int | None = None
    duplicate: bool = False
    reply_ids: list[int] = field(default_factory=list)


@dataclass
class Draft:
    """A message decided but not yet written in full: `replies` is a function when they need the
    id of the question the decision opened (see `Decider.finish`)."""

    message_id: int  # not the object: an erasure may have deleted the row by now
    citizen: m.Citizen
    language: Language
    replies: list[Reply] | Callable[[], list[Reply]]
    decision: Decision | None = None
    question: m.Question | None = None
    record: dict[str, Any] | None = None  # the decision's record, written with the batch's


class Decider:
    def __init__(
        self,
        settings: Settings,
        knowledge: Knowledge,
        conversations: Conversations,
        delivered_in_app: Callable[[str], bool],
    ) -> None:
        self.settings = settings
        self.knowledge = knowledge
        self.conversations = conversations
        self.delivered_in_app = delivered_in_app
        self.flood = FloodGate(settings.flood_messages, settings.flood_seconds)

    def draft(
        self,
        session: Session,
        message: m.Message,
        citizen: m.Citizen,
        inbound: InboundMessage | None,
        given: Parse | None = None,
    ) -> Draft | IntakeResult:
        """Decide `message` (locked by the caller) from `citizen`: everything but what needs the
        ids of new rows. `given` is the engine's parse of its classifiable text when the caller
        has it already (a batch). A message decided before gives its result."""
        if message.processed:
            return result_of(session, message, duplicate=True)
        library = self.knowledge.library(session)
        language = self._language(session, message, citizen, inbound)
        citizen.last_seen_at = datetime.now(UTC)
        if citizen.unreachable:  # they write to us, so they can be reached (unblocked us)
            citizen.unreachable = False
        message.language = message.language or language.value
        message.processed = True
        assisted = inbound.assisted if inbound else None

        if message.kind in WORDLESS:  # a location, a contact card: kept for the professional
            key = "utter_location_received" if message.kind in ("location", "venue") else "utter_text_only"
            return self._notice(session, message, citizen, language, key, f"{message.kind} received")
        if message.kind != "text" and not message.text.strip():  # a photo without a caption
            return self._notice(
                session, message, citizen, language, "utter_text_only", f"{message.kind} without text"
            )
        problem = textcheck.check(message.text, library.emergency, self.settings.max_message_chars)
        if problem is not None:
            return self._notice(
                session,
                message,
                citizen,
                language,
                textcheck.PROBLEM_TEXT_KEYS[problem],
                f"bad input: {problem.value}",
            )
        if assisted is None:  # an outside assistant runs its own dialogue: no prompts of ours
            state = citizens.conversation(citizen)
            said = core.Text(message.text, message.id)
            step = core.step(state, said, library)
            while not step.classify and not citizens.move(session, citizen, state, step.state):
                state = citizens.conversation(citizen)  # answered elsewhere just now: read again
                step = core.step(state, said, library)
            if not step.classify:
                return self._followup(session, message, citizen, language, step)
            citizens.set_conversation(citizen, core.CLOSED)  # an unanswered prompt lapses

        cleaned = textcheck.classifiable(message.text, self.settings.max_message_chars)
        if assisted is not None:
            parse = assisted.parse
        else:
            parse = given or self._parse(session, message, cleaned, language, library.emergency)
        decision = decide(
            cleaned,
            language,
            parse,
            library,
            self.knowledge.thresholds,
            area_known=citizen.area_label is not None,
        )
        if assisted is not None:
            decision = honour(decision, assisted.requested, library, assisted.parse.engine)
        placement = None
        if decision.action in (Action.EMERGENCY, Action.ROUTE):
            decision, placement = self.conversations.staffed(session, library, decision, citizen)
        record = decisions.row(message.id, language, decision, parse)
        promised = self.knowledge.promise(library, decision.role)

        def conclude(question_id: int | None) -> list[Reply]:
            """Once the question (if any) has its id: the next prompt, and the replies."""
            rendered = render(
                decision,
                library,
                self.settings.contacts,
                promised.phrased(language),
                message.id,
                question_id,
                for_admins=placement is not None and placement.for_admins,
            )
            if assisted is not None:  # the assistant asks "did this help?" in its own way
                return [r for r in rendered if r.kind is not ReplyKind.FEEDBACK]
            citizens.set_conversation(citizen, core.after_decision(decision, message.id, question_id))
            return rendered

        if decision.action not in (Action.EMERGENCY, Action.ROUTE):
            return Draft(message.id, citizen, language, conclude(None), decision, record=record)
        context = assisted.conversation if assisted else ()
        earlier = [t for t in context if t and t != message.text]
        question = questions.open_question(
            session,
            citizen,
            message,
            decision,
            promised.hours,
            library.default_role,
            text="\n".join([*earlier, message.text]) if earlier else None,
            flush=False,
            placement=placement,
            promised=promised.made,
            now=promised.now,
        )

        def replies_once_stored() -> list[Reply]:
            message.question_id = question.id
            return conclude(question.id)

        return Draft(message.id, citizen, language, replies_once_stored, decision, question, record)

    def finish(self, session: Session, drafts: list[Draft]) -> list[IntakeResult]:
        """Write the drafts' new questions (one flush), then their replies and outbox items; a
        citizen who floods us gets one note more (`bot.service.flood`)."""
        if not drafts:
            return []
        if any(d.question is not None and d.question.id is None for d in drafts):
            session.flush()
        decisions.insert_many(session, [d.record for d in drafts if d.record is not None])
        replies = [
            self._flood_note(session, d, d.replies() if callable(d.replies) else d.replies) for d in drafts
        ]
        reply_ids = enqueue(
            session,
            [
                Outgoing(d.citizen, r, d.language, d.question.id if d.question else None)
                for d, r in zip(drafts, replies, strict=True)
            ],
            self.delivered_in_app,
        )
        return [
            IntakeResult(
                d.message_id,
                d.citizen.id,
                r,
                d.decision,
                d.question.id if d.question else None,
                reply_ids=ids,
            )
            for d, r, ids in zip(drafts, replies, reply_ids, strict=True)
        ]

    def _flood_note(self, session: Session, draft: Draft, replies: list[Reply]) -> list[Reply]:
        if not self.flood.hit(draft.citizen.id, time.monotonic()):
            return replies
        text = self.knowledge.library(session).text(
            "utter_slow_down", draft.language, **self.settings.contacts.values()
        )
        return [*replies, Reply(text, kind=ReplyKind.NOTICE)]

    def _followup(
        self, session: Session, message: m.Message, citizen: m.Citizen, language: Language, step: core.Step
    ) -> Draft:
        """An answer to a prompt, a command, "skip": the step's effects, in the conversation's
        language (or the one the citizen just chose)."""
        chosen = step.language or language
        message_id = message.id
        # First: an erasure takes the record along with the message.
        decisions.record_followup(session, message_id, language, self.knowledge.thresholds, step.note)
        outcome = self.conversations.apply(session, citizen, step.effects, chosen)
        if outcome.question is not None:
            message.question_id = outcome.question.id
        return Draft(message_id, citizen, chosen, outcome.replies, question=outcome.question)

    def _notice(
        self,
        session: Session,
        message: m.Message,
        citizen: m.Citizen,
        language: Language,
        key: str,
        note: str,
    ) -> Draft:
        library = self.knowledge.library(session)
        text = library.text(
            key, language, max_chars=self.settings.max_message_chars, **self.settings.contacts.values()
        )
        decisions.record_followup(session, message.id, language, self.knowledge.thresholds, note)
        return Draft(message.id, citizen, language, [Reply(text, kind=ReplyKind.NOTICE)])

    def _language(
        self, session: Session, message: m.Message, citizen: m.Citizen, inbound: InboundMessage | None
    ) -> Language:
        """An explicit choice (the API's field, /language) first, then the words of the message,
        then the conversation's language so far, and the channel's hint (the app's or browser's
        language) last: a Dutch citizen's "1012 AB" is answered in Dutch in an English browser."""
        if message.language:
            return Language(message.language)
        if citizen.language:
            return Language(citizen.language)
        return (
            guess_language(message.text)
            or messages.last_language(session, message)
            or (inbound.language_hint if inbound else None)
            or Language.EN
        )

    def _parse(
        self, session: Session, message: m.Message, text: str, language: Language, emergency: EmergencyRules
    ) -> Parse:
        """The engine's parse; when the engine is down, an emergency by the rules or a message
        older than the timeout goes on without one (to a person), anything else waits."""
        try:
            return self.knowledge.engine(session).parse(text, language)
        except EngineUnavailable:
            metrics.engine_failed(self.settings.engine)
            age = (datetime.now(UTC) - message.created_at).total_seconds()
            if age >= self.settings.engine_timeout_seconds or detect_emergency(text, emergency).is_emergency:
                return Parse(ranking=(), engine="unavailable", model_version="-")
            raise Deferred(message.id) from None


def result_of(session: Session, message: m.Message, duplicate: bool) -> IntakeResult:
    """The result of a message decided before: its replies as stored."""
    outs = messages.replies_to(session, message)
    replies = [Reply(o.text, kind=ReplyKind(o.kind)) for o in outs]
    return IntakeResult(
        message.id,
        message.citizen_id,
        replies,
        None,
        message.question_id,
        duplicate=duplicate,
        reply_ids=[o.id for o in outs],
    )
