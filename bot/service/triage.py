"""The intake service, the one entry for every channel: `handle(inbound)` for a citizen's message,
`press(button)` for a button they pressed.

Each message is stored (and committed) before anything else happens, so a crash mid-decision loses
nothing: `process_pending` picks up stored-but-unprocessed messages at start-up. The decision, the
queue item and the replies (into the outbox) are then written in one transaction
(`bot.service.deciding`); what a message means for the conversation is the core's
(`bot.core.conversation`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core import conversation as core
from bot.core import text as textcheck
from bot.core.emergency import EmergencyRules
from bot.core.language import detect_language
from bot.core.library import Library
from bot.core.replies import say
from bot.core.types import (
    ButtonPress,
    Channel,
    InboundMessage,
    Language,
    Reply,
    ReplyKind,
    Thresholds,
)
from bot.nlu.engine import Engine, SklearnEngine
from bot.service import metrics
from bot.service.conversation import Conversations
from bot.service.deciding import Decider, Deferred, Draft, IntakeResult, result_of
from bot.service.knowledge import Knowledge, Promised
from bot.service.outbox import Sender
from bot.store import citizens, messages
from bot.store import models as m
from bot.store.outbox import Outgoing, enqueue

log = logging.getLogger(__name__)

__all__ = ["Deferred", "IntakeResult", "PressRefused", "PressResult", "TriageService"]


class Fleet(Protocol):
    """Other instances on the same database hear this one's question events (on PostgreSQL:
    `bot.web.fleet_events`). `within` sends them with the transaction that made them, so they go
    out at its commit, and not at all if it rolls back; `publish` sends one afterwards."""

    def within(self, session: Session, events: Sequence[tuple[str, int]]) -> None: ...

    def publish(self, event: str, question_id: int) -> None: ...


class PressRefused(Exception):
    """A button that does not count: not one of ours, not this citizen's, used already, or
    replaced by a newer prompt. Nothing changed."""


@dataclass
class PressResult:
    citizen_id: int
    replies: list[Reply]
    reply_ids: list[int] = field(default_factory=list)
    question_id: int | None = None


class TriageService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        engine: Engine | None = None,
        senders: Mapping[str, Sender] | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.knowledge = Knowledge(settings, sessions, engine)
        self.senders = senders if senders is not None else {}  # live: channels register later
        self.conversations = Conversations(settings, self.knowledge)
        self.decider = Decider(settings, self.knowledge, self.conversations, self.delivered_in_app)
        self.listeners: list[Callable[[str, int], None]] = []  # live updates of questions
        self.fleet: Fleet | None = None  # set on a shared database

    # -- what the bot knows ---------------------------------------------------------------------

    @property
    def thresholds(self) -> Thresholds:
        return self.knowledge.thresholds

    @property
    def emergency(self) -> EmergencyRules:
        return self.knowledge.emergency

    def library(self, session: Session) -> Library:
        return self.knowledge.library(session)

    def invalidate_library(self) -> None:
        self.knowledge.invalidate_library()

    def engine(self, session: Session) -> Engine:
        return self.knowledge.engine(session)

    def set_engine(self, engine: Engine) -> None:
        self.knowledge.set_engine(engine)

    def use_model(self, engine: SklearnEngine) -> None:
        self.knowledge.use_model(engine)

    def response_hours(self, library: Library, role: str | None) -> float:
        return self.knowledge.response_hours(library, role)

    def promise(self, library: Library, role: str | None, now: datetime | None = None) -> Promised:
        return self.knowledge.promise(library, role, now)

    def delivered_in_app(self, channel: str) -> bool:
        """Whether a reply on `channel` is delivered by the commit that stores it (web chat, API,
        CLI). Live: a channel that registers its own sender is not."""
        sender = self.senders.get(channel)
        return sender is not None and sender.in_app

    # -- messages -------------------------------------------------------------------------------

    def handle(self, inbound: InboundMessage) -> IntakeResult:
        """Store, then process one inbound message. Idempotent on the citizen's external id."""
        started = time.perf_counter()
        message_id, duplicate = self.store_inbound(inbound)
        if duplicate:
            return self.result_of(message_id, duplicate=True)
        result = self._process_or_defer(message_id, inbound)
        self._count([inbound], [result], started)
        return result

    def handle_many(self, inbounds: Sequence[InboundMessage]) -> list[IntakeResult | Exception]:
        """`handle` for several messages at once, each with the result (or the error) `handle`
        would give: stored in one transaction, parsed in one engine call, decided in one
        transaction. Under load this is what keeps one process fast (bench/README.md). A batch
        that cannot go together (an engine that is down, a conflict with another process) goes
        message by message instead; the messages are stored by then, so nothing is lost."""
        started = time.perf_counter()
        try:
            stored = self.store_many(inbounds)
        except IntegrityError:  # another process stored one of these ids or citizens just now
            return [self._handle_one(inbound) for inbound in inbounds]  # each counted by `handle`
        pairs = list(zip(stored, inbounds, strict=True))
        fresh = [(message_id, inbound) for (message_id, duplicate), inbound in pairs if not duplicate]
        decided = self._decide_many(fresh) if fresh else {}
        results: list[IntakeResult | Exception] = []
        for (message_id, duplicate), inbound in pairs:
            try:
                if duplicate:
                    results.append(self.result_of(message_id, duplicate=True))
                elif message_id in decided:
                    results.append(decided[message_id])
                else:
                    results.append(self._process_or_defer(message_id, inbound))
            except Exception as exc:  # one message's failure is that message's answer only
                results.append(exc)
        self._count(inbounds, results, started)
        return results

    @staticmethod
    def _count(
        inbounds: Sequence[InboundMessage], results: Sequence[IntakeResult | Exception], started: float
    ) -> None:
        """Prometheus: each message decided now (not a redelivery), with the time it took."""
        seconds = time.perf_counter() - started
        for inbound, result in zip(inbounds, results, strict=True):
            if isinstance(result, IntakeResult) and not result.duplicate:
                metrics.decided(inbound.channel.value, result.decision, seconds)

    def decide_stored(self, items: Sequence[tuple[int, InboundMessage]]) -> list[IntakeResult | Exception]:
        """Decide messages `store_many` stored already: a webhook that acknowledges once the
        messages are safe (committed) decides them afterwards. Together when it can (one engine
        call, one transaction: the dispatcher then sends an emergency's reply before the rest),
        else one by one; what is left undecided `process_pending` finds."""
        started = time.perf_counter()
        decided = self._decide_many(list(items)) if items else {}
        results: list[IntakeResult | Exception] = []
        for message_id, inbound in items:
            try:
                results.append(decided.get(message_id) or self._process_or_defer(message_id, inbound))
            except Exception as exc:  # one message's failure is that message's answer only
                results.append(exc)
        self._count([inbound for _, inbound in items], results, started)
        return results

    def _handle_one(self, inbound: InboundMessage) -> IntakeResult | Exception:
        try:
            return self.handle(inbound)
        except Exception as exc:
            return exc

    def _process_or_defer(self, message_id: int, inbound: InboundMessage) -> IntakeResult:
        try:
            return self.process(message_id, inbound)
        except Deferred:
            return self._deferred_notice(message_id)

    def store_inbound(self, inbound: InboundMessage) -> tuple[int, bool]:
        """Store one message (committed): (its id, whether it was stored before)."""
        return self.store_many([inbound])[0]

    def store_many(self, inbounds: Sequence[InboundMessage]) -> list[tuple[int, bool]]:
        """Store messages in one transaction: (message id, already stored) for each; a message
        repeated within the batch is a duplicate of its first copy. The channel's message id is
        unique per citizen: another citizen's message with the same id is their own."""
        with self.sessions.begin() as session:
            if len(inbounds) == 1:  # one citizen, race-safe on its own
                first = inbounds[0]
                who = {
                    (first.channel.value, first.sender): citizens.get_or_create(
                        session, first.channel.value, first.sender
                    )
                }
            else:
                who = citizens.get_or_create_many(session, {(i.channel.value, i.sender) for i in inbounds})
            senders = [who[(i.channel.value, i.sender)] for i in inbounds]
            keys = [
                None if i.external_id is None else (c.id, i.external_id)
                for i, c in zip(inbounds, senders, strict=True)
            ]
            known = messages.known_inbound(session, {k for k in keys if k is not None})
            added: list[tuple[m.Message | int, bool]] = []
            batch_keys: dict[tuple[int, str], m.Message] = {}
            for inbound, citizen, key in zip(inbounds, senders, keys, strict=True):
                if key is not None and key in known:
                    added.append((known[key], True))
                elif key is not None and key in batch_keys:
                    added.append((batch_keys[key], True))
                else:
                    message = messages.add_inbound(session, citizen, inbound)
                    if key is not None:
                        batch_keys[key] = message
                    added.append((message, False))
            session.flush()
            return [(item if isinstance(item, int) else item.id, duplicate) for item, duplicate in added]

    def _decide_many(self, items: list[tuple[int, InboundMessage]]) -> dict[int, IntakeResult]:
        """Decide stored messages together: one engine call, one transaction. An empty answer
        (the engine cannot batch or is down, or the transaction failed) leaves them to the
        one-by-one path."""
        with self.sessions() as session:
            engine = self.engine(session)
        if not isinstance(engine, SklearnEngine):
            return {}
        limit = self.settings.max_message_chars
        parses = engine.parse_many([textcheck.classifiable(i.text, limit) for _, i in items])
        try:
            with self.sessions.begin() as session:
                results = self._decide_batch(session, items, parses)
                created = self._created(session, list(results.values()))
        except Exception:
            log.warning("a batch of %d messages goes one by one", len(items), exc_info=True)
            return {}
        self._publish_created(created)
        return results

    def _created(self, session: Session, results: Sequence[IntakeResult]) -> list[int]:
        """The questions these results opened; the fleet hears of them at the commit."""
        created = [r.question_id for r in results if r.question_id is not None and not r.duplicate]
        if created and self.fleet is not None:
            self.fleet.within(session, [("question.created", q) for q in created])
        return created

    def _publish_created(self, created: Sequence[int]) -> None:
        for question_id in created:
            self.publish("question.created", question_id, fleet_told=True)

    def _decide_batch(
        self, session: Session, items: list[tuple[int, InboundMessage]], parses: list
    ) -> dict[int, IntakeResult]:  # type: ignore[type-arg]
        """Draft every message's decision, then write the batch's questions, replies and outbox
        items with one flush each (`Decider.finish`). A citizen with two messages in the batch has
        the drafts so far finished first: the second message must see what the first one asked.
        The messages and their citizens are loaded in two statements, and held: the session's
        identity map keeps only objects someone refers to."""
        loaded = messages.lock_for_decision(session, [message_id for message_id, _ in items])
        held = citizens.by_ids(session, {message.citizen_id for message in loaded.values()})
        results: dict[int, IntakeResult] = {}
        drafts: list[Draft] = []
        with session.no_autoflush:  # a draft's queries need nothing the other drafts added
            for (message_id, inbound), parse in zip(items, parses, strict=True):
                message = loaded.get(message_id)
                if message is None:
                    raise LookupError(f"message {message_id} not found")
                citizen = held[message.citizen_id]
                if (
                    any(d.citizen.id == citizen.id for d in drafts)
                    or citizen.pending == core.Prompt.FORGET.value
                ):  # an erasure must not expire unwritten drafts
                    results.update((r.message_id, r) for r in self.decider.finish(session, drafts))
                    drafts = []
                draft = self.decider.draft(session, message, citizen, inbound, parse)
                if isinstance(draft, IntakeResult):
                    results[message_id] = draft
                else:
                    drafts.append(draft)
        results.update((r.message_id, r) for r in self.decider.finish(session, drafts))
        return results

    def process(self, message_id: int, inbound: InboundMessage | None = None) -> IntakeResult:
        try:
            with self.sessions.begin() as session:
                message = session.get(m.Message, message_id, with_for_update=True)
                if message is None:
                    raise LookupError(f"message {message_id} not found")
                citizen = session.get(m.Citizen, message.citizen_id)
                assert citizen is not None
                draft = self.decider.draft(session, message, citizen, inbound)
                result = (
                    draft if isinstance(draft, IntakeResult) else self.decider.finish(session, [draft])[0]
                )
                created = self._created(session, [result])
        except IntegrityError:
            # SQLite has no row lock (FOR UPDATE is a no-op there): another thread decided this
            # message first and our transaction, decision included, was rolled back. Theirs stands.
            with self.sessions() as session:
                message = session.get(m.Message, message_id)
                if message is None or not message.processed:
                    raise
            return self.result_of(message_id, duplicate=True)
        self._publish_created(created)
        return result

    def process_pending(self, min_age_seconds: float = 0.0) -> int:
        """Process messages stored but never decided: a crash between store and decide, or an
        engine that was unavailable. Returns how many were decided. While requests are served,
        pass `min_age_seconds` so a message that a request is deciding right now is left to it."""
        born_before = datetime.now(UTC) - timedelta(seconds=min_age_seconds)
        with self.sessions() as session:
            ids = messages.unprocessed(session, born_before)
        done = 0
        for message_id in ids:
            try:
                result = self.process(message_id)
            except Deferred:
                continue
            done += 1 if not result.duplicate else 0
        return done

    def _deferred_notice(self, message_id: int) -> IntakeResult:
        """Tell the citizen once that their message is kept and will be handled."""
        with self.sessions.begin() as session:
            message = session.get(m.Message, message_id)
            assert message is not None
            citizen = session.get(m.Citizen, message.citizen_id)
            assert citizen is not None
            language = Language(message.language or citizen.language or detect_language(message.text))
            text = self.library(session).text(
                "utter_service_unavailable", language, **self.settings.contacts.values()
            )
            replies = [Reply(text, kind=ReplyKind.NOTICE)]
            reply_ids = enqueue(session, [Outgoing(citizen, replies, language)], self.delivered_in_app)[0]
        return IntakeResult(message_id, citizen.id, replies, reply_ids=reply_ids)

    def result_of(self, message_id: int, duplicate: bool = False) -> IntakeResult:
        with self.sessions() as session:
            message = session.get(m.Message, message_id)
            assert message is not None
            return result_of(session, message, duplicate)

    # -- buttons and notes ----------------------------------------------------------------------

    def press(self, button: ButtonPress) -> PressResult:
        """A citizen pressed a button. It counts only for the prompt open now, for that citizen,
        and once (`bot.core.conversation`); otherwise `PressRefused` and nothing changes."""
        pressed = core.read_press(button.data)
        if pressed is None:
            raise PressRefused("not a button of ours")
        with self.sessions.begin() as session:
            citizen = citizens.find(session, button.channel.value, button.sender)
            if citizen is None:
                raise PressRefused("no such conversation")
            state = citizens.conversation(citizen)
            step = core.step(state, pressed, self.library(session))
            if step.refused or not citizens.move(session, citizen, state, step.state):
                raise PressRefused("this button no longer counts")
            citizen.last_seen_at = datetime.now(UTC)
            citizen.unreachable = False
            language = step.language or self.language_of(session, citizen)
            outcome = self.conversations.apply(session, citizen, step.effects, language)
            question_id = outcome.question.id if outcome.question else None
            reply_ids = enqueue(
                session, [Outgoing(citizen, outcome.replies, language, question_id)], self.delivered_in_app
            )[0]
            result = PressResult(citizen.id, outcome.replies, reply_ids, question_id)
        if result.question_id is not None:
            self.publish("question.created", result.question_id)
        return result

    def refusal(self, button: ButtonPress, hint: Language | None = None) -> str:
        """What to tell a citizen whose button no longer counts, in their language."""
        with self.sessions() as session:
            citizen = citizens.find(session, button.channel.value, button.sender)
            language = (self.language_of(session, citizen) if citizen else None) or hint
            return self.library(session).text("utter_button_expired", language or Language.EN)

    def notify(self, channel: Channel, sender: str, key: str, hint: Language | None = None) -> list[int]:
        """One of the conversation's texts to a citizen outside a reply to a message (a channel's
        note, such as "you are sending many messages"), through the outbox."""
        with self.sessions.begin() as session:
            citizen = citizens.get_or_create(session, channel.value, sender)
            language = self.language_of(session, citizen, hint)
            reply = say(core.Say(key), self.library(session), language, self.settings.contacts)
            return enqueue(session, [Outgoing(citizen, [reply], language)], self.delivered_in_app)[0]

    @staticmethod
    def language_of(session: Session, citizen: m.Citizen, hint: Language | None = None) -> Language:
        """The conversation's language: the citizen's choice, else their latest message's."""
        if citizen.language:
            return Language(citizen.language)
        return messages.latest_language(session, citizen.id) or hint or Language.EN

    def publish(self, event: str, question_id: int, fleet_told: bool = False) -> None:
        """Tell listeners (console live view, Telegram pushes) that a question changed, and the
        other instances unless the transaction that changed it told them (`Fleet.within`)."""
        for listener in list(self.listeners):
            try:
                listener(event, question_id)
            except Exception:  # a broken listener must not break intake
                log.exception("listener failed for %s", event)
        if self.fleet is not None and not fleet_told:
            try:
                self.fleet.publish(event, question_id)
            except Exception:
                log.exception("the fleet did not take %s", event)
