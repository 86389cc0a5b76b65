"""The intake service: every channel hands its citizens' messages to `TriageService.handle`.

Each message is stored (and committed) before anything else happens, so a crash mid-decision loses
nothing: `process_pending` picks up stored-but-unprocessed messages at start-up. The decision, the
queue item and the replies (into the outbox) are then written in one transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core import text as textcheck
from bot.core.conversation import Pending, YesNo, read_area, read_yes_no
from bot.core.emergency import detect_emergency
from bot.core.language import detect_language, guess_language
from bot.core.library import Library
from bot.core.policy import decide
from bot.core.replies import handoff_buttons, phrase_hours, render
from bot.core.types import (
    Action,
    Channel,
    Decision,
    InboundMessage,
    IntentScore,
    Language,
    Parse,
    QuestionStatus,
    Reply,
    Thresholds,
)
from bot.nlu.engine import Engine, EngineUnavailable, SklearnEngine
from bot.nlu.rasa_format import read_thresholds
from bot.service.models_registry import EngineHolder
from bot.store import models as m
from bot.store.library_repo import library_version, load_library

log = logging.getLogger(__name__)

EMERGENCY_PRIORITY = 100


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
class _Draft:
    """A message decided but not yet written in full: `replies` is a function when they need the
    id of the question the decision opened (see `TriageService._finish`)."""

    message: m.Message
    citizen: m.Citizen
    language: Language
    replies: list[Reply] | Callable[[], list[Reply]]
    decision: Decision | None = None
    question: m.Question | None = None


class TriageService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self._fixed_engine = engine
        self._holder = EngineHolder(sessions, settings.models_dir)
        threshold, ambiguity = read_thresholds(settings.config_file)
        self.thresholds = Thresholds(threshold, ambiguity)
        self._library: Library | None = None
        self._library_version = -1
        self._library_checked = 0.0
        self._fallback_texts: dict[tuple[str, str], str] | None = None
        self.listeners: list = []  # callables(event: str, question_id: int), for live updates
        # Channels whose replies the citizen reads from our database: their outbox items are
        # delivered by the commit that stores them (set by `bot.app.Services`).
        self.delivered_in_app: Callable[[str], bool] = lambda channel: False

    # -- library and engine ---------------------------------------------------------------

    def library(self, session: Session) -> Library:
        now = time.monotonic()
        if self._library is None or now - self._library_checked > 2.0:
            version = library_version(session)
            if self._library is None or version != self._library_version:
                self._library = load_library(session, fallback_texts=self._builtin_texts())
                self._library_version = version
            self._library_checked = now
        return self._library

    def _builtin_texts(self) -> dict[tuple[str, str], str]:
        """The shipped system texts, for a library imported without them (any Rasa project)."""
        if self._fallback_texts is None:
            from bot.nlu.rasa_format import LibraryFileError, LibraryFiles, read_domain

            files = LibraryFiles()
            try:
                read_domain(self.settings.domain_dir, files)
            except LibraryFileError:
                log.warning("built-in texts unreadable in %s", self.settings.domain_dir)
            self._fallback_texts = {
                (key, lang): text for key, by_lang in files.responses.items()
                for lang, text in by_lang.items()
            }
        return self._fallback_texts

    def invalidate_library(self) -> None:
        self._library = None

    def engine(self, session: Session) -> Engine:
        return self._fixed_engine or self._holder.get(session)

    def set_engine(self, engine: Engine) -> None:
        """Pin an engine (the Rasa engine, or a model in tests) instead of the active model."""
        self._fixed_engine = engine

    def use_model(self, engine: SklearnEngine) -> None:
        """A newly activated embedded model, used at once by this process (others notice the
        active flag within EngineHolder.CHECK_SECONDS). A pinned non-sklearn engine stays."""
        if self._fixed_engine is None:
            self._holder.set(engine)
        elif isinstance(self._fixed_engine, SklearnEngine):
            self._fixed_engine = engine

    def response_hours(self, library: Library, role: str | None) -> float:
        role_value = library.role(role)
        return self.settings.response_hours.get(role_value.slug, role_value.response_hours)

    # -- intake -----------------------------------------------------------------------------

    def handle(self, inbound: InboundMessage) -> IntakeResult:
        """Store, then process one inbound message. Idempotent on (channel, external_id)."""
        message_id, duplicate = self.store_inbound(inbound)
        if duplicate:
            return self.result_of(message_id, duplicate=True)
        return self._process_or_defer(message_id, inbound)

    def handle_many(self, inbounds: Sequence[InboundMessage]) -> list[IntakeResult | Exception]:
        """`handle` for several messages at once, each with the result (or the error) `handle`
        would give: stored in one transaction, parsed in one engine call, decided in one
        transaction. Under load this is what keeps one process fast (bench/README.md). A batch
        that cannot go together (an engine that is down, a conflict with another process) goes
        message by message instead; the messages are stored by then, so nothing is lost."""
        try:
            stored = self.store_many(inbounds)
        except IntegrityError:  # another process stored one of these ids or citizens just now
            return [self._handle_one(inbound) for inbound in inbounds]
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

    def store_many(self, inbounds: Sequence[InboundMessage]) -> list[tuple[int, bool]]:
        """Store messages in one transaction: (message id, already stored) for each; a message
        repeated within the batch is a duplicate of its first copy."""
        with self.sessions.begin() as session:
            keys = {(i.channel.value, i.external_id) for i in inbounds if i.external_id is not None}
            known: dict[tuple[str, str], int] = {}
            for channel in {c for c, _ in keys}:
                ids = [e for c, e in keys if c == channel]
                for message_id, external in session.execute(
                    select(m.Message.id, m.Message.external_id).where(
                        m.Message.channel == channel, m.Message.direction == "in",
                        m.Message.external_id.in_(ids))
                ):
                    known[(channel, str(external))] = message_id
            citizens = self._citizens(session, {(i.channel.value, i.sender) for i in inbounds})
            added: list[tuple[m.Message | int, bool]] = []
            batch_keys: dict[tuple[str, str], m.Message] = {}
            for inbound in inbounds:
                key: tuple[str, str] | None = (
                    None if inbound.external_id is None else (inbound.channel.value, inbound.external_id))
                if key is not None and key in known:
                    added.append((known[key], True))
                    continue
                if key is not None and key in batch_keys:
                    added.append((batch_keys[key], True))
                    continue
                message = m.Message(
                    citizen_id=citizens[(inbound.channel.value, inbound.sender)].id, direction="in",
                    channel=inbound.channel.value,
                    external_id=inbound.external_id, text=inbound.text,
                    language=inbound.language.value if inbound.language else None,
                )
                session.add(message)
                if key is not None:
                    batch_keys[key] = message
                added.append((message, False))
            session.flush()
            return [(item if isinstance(item, int) else item.id, duplicate) for item, duplicate in added]

    @staticmethod
    def _citizens(session: Session, who: set[tuple[str, str]]) -> dict[tuple[str, str], m.Citizen]:
        """The citizens (channel, sender), created where new: two statements for a batch. A
        citizen created at the same moment by another process fails the batch's transaction
        (IntegrityError), and `handle_many` then stores one by one."""
        found: dict[tuple[str, str], m.Citizen] = {}
        for channel in {c for c, _ in who}:
            senders = [sender for c, sender in who if c == channel]
            for citizen in session.scalars(select(m.Citizen).where(
                    m.Citizen.channel == channel, m.Citizen.external_id.in_(senders))):
                found[(citizen.channel, citizen.external_id)] = citizen
        new = [m.Citizen(channel=channel, external_id=sender) for channel, sender in who - found.keys()]
        session.add_all(new)
        session.flush()
        found.update({(c.channel, c.external_id): c for c in new})
        return found

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
                messages, citizens = self._load_for_decision(
                    session, [message_id for message_id, _ in items])
                results = self._decide_batch(session, items, parses, messages, citizens)
        except Exception:
            log.warning("a batch of %d messages goes one by one", len(items), exc_info=True)
            return {}
        for result in results.values():
            if result.question_id is not None and not result.duplicate:
                self.publish("question.created", result.question_id)
        return results

    def store_inbound(self, inbound: InboundMessage) -> tuple[int, bool]:
        with self.sessions.begin() as session:
            if inbound.external_id is not None:
                existing = session.scalars(
                    select(m.Message.id).where(
                        m.Message.channel == inbound.channel.value,
                        m.Message.external_id == inbound.external_id,
                        m.Message.direction == "in",
                    )
                ).first()
                if existing is not None:
                    return existing, True
            citizen = self.citizen(session, inbound.channel, inbound.sender)
            message = m.Message(
                citizen_id=citizen.id,
                direction="in",
                channel=inbound.channel.value,
                external_id=inbound.external_id,
                text=inbound.text,
                language=inbound.language.value if inbound.language else None,
            )
            session.add(message)
            try:
                session.flush()
            except IntegrityError:  # the same external id stored concurrently
                session.rollback()
                raise
            return message.id, False

    def process(self, message_id: int, inbound: InboundMessage | None = None) -> IntakeResult:
        try:
            return self._process(message_id, inbound)
        except IntegrityError:
            # SQLite has no row lock (FOR UPDATE is a no-op there): another thread decided this
            # message first and our transaction, decision included, was rolled back. Theirs stands.
            with self.sessions() as session:
                message = session.get(m.Message, message_id)
                if message is None or not message.processed:
                    raise
            return self.result_of(message_id, duplicate=True)

    def _process(self, message_id: int, inbound: InboundMessage | None) -> IntakeResult:
        with self.sessions.begin() as session:
            result = self._decide(session, message_id, inbound)
        if result.question_id is not None and not result.duplicate:
            self.publish("question.created", result.question_id)
        return result

    @staticmethod
    def _load_for_decision(session: Session, ids: list[int]
                           ) -> tuple[dict[int, m.Message], dict[int, m.Citizen]]:
        """The batch's messages (locked, on PostgreSQL, in id order) and their citizens, in two
        statements instead of two per message. The caller holds on to both: the session's
        identity map keeps only objects someone refers to."""
        stmt = select(m.Message).where(m.Message.id.in_(ids)).order_by(m.Message.id)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        messages = {message.id: message for message in session.scalars(stmt)}
        citizen_ids = {message.citizen_id for message in messages.values()}
        citizens = {c.id: c for c in session.scalars(select(m.Citizen).where(
            m.Citizen.id.in_(citizen_ids)))}
        return messages, citizens

    def _decide_batch(self, session: Session, items: list[tuple[int, InboundMessage]],
                      parses: list[Parse], messages: dict[int, m.Message],
                      citizens: dict[int, m.Citizen]) -> dict[int, IntakeResult]:
        """Draft every message's decision, then write the batch's questions, replies and outbox
        items with one flush each (`_finish`). A citizen with two messages in the batch has the
        drafts so far finished first: the second message must see what the first one asked."""
        results: dict[int, IntakeResult] = {}
        drafts: list[_Draft] = []
        with session.no_autoflush:  # a draft's queries need nothing the other drafts added
            for (message_id, inbound), parse in zip(items, parses, strict=True):
                message = messages.get(message_id)
                if message is not None and any(d.citizen.id == message.citizen_id for d in drafts):
                    results.update((r.message_id, r) for r in self._finish(session, drafts))
                    drafts = []
                draft = self._draft(session, message_id, inbound, parse, message,
                                    citizens.get(message.citizen_id) if message else None)
                if isinstance(draft, IntakeResult):
                    results[message_id] = draft
                else:
                    drafts.append(draft)
        results.update((r.message_id, r) for r in self._finish(session, drafts))
        return results

    def _decide(self, session: Session, message_id: int, inbound: InboundMessage | None
                ) -> IntakeResult:
        """Decide one stored message inside `session`'s transaction."""
        draft = self._draft(session, message_id, inbound)
        return draft if isinstance(draft, IntakeResult) else self._finish(session, [draft])[0]

    def _draft(self, session: Session, message_id: int, inbound: InboundMessage | None,
               given: Parse | None = None, loaded: m.Message | None = None,
               citizen: m.Citizen | None = None) -> _Draft | IntakeResult:
        """Decide one stored message: everything but what needs the ids of new rows (`_finish`
        writes those for a whole batch). `given` is the engine's parse of the message's
        classifiable text, and `loaded` and `citizen` the message (locked) and its sender, when
        the caller has them already (a batch). A message decided before gives its result."""
        message = loaded or session.get(m.Message, message_id, with_for_update=True)
        if message is None:
            raise LookupError(f"message {message_id} not found")
        if message.processed:
            return self._result(session, message, duplicate=True)
        citizen = citizen or session.get(m.Citizen, message.citizen_id)
        assert citizen is not None
        library = self.library(session)
        explicit = Language(message.language) if message.language else None
        if explicit is None and citizen.language:
            explicit = Language(citizen.language)
        language = (explicit or guess_language(message.text)
                    or (inbound.language_hint if inbound else None)  # tie-breakers, weakest last
                    or self._last_language(session, message) or Language.EN)
        citizen.last_seen_at = datetime.now(UTC)
        message.language = message.language or language.value
        message.processed = True

        problem = textcheck.check(message.text, self.settings.max_message_chars)
        if problem is not None:
            key = textcheck.PROBLEM_TEXT_KEYS[problem]
            replies = [Reply(library.text(key, language, max_chars=self.settings.max_message_chars,
                                          **self.settings.contacts.values()), kind="notice")]
            self._record(session, message, language, None, None, f"bad input: {problem.value}")
            return _Draft(message, citizen, language, replies)
        followup = self._followup(session, citizen, message, language, library)
        if followup is not None:
            replies, question = followup
            return _Draft(message, citizen, language, replies, question=question)
        cleaned = textcheck.classifiable(message.text, self.settings.max_message_chars)
        parse = given if given is not None else self._parse(session, message, cleaned, language)
        decision = decide(cleaned, language, parse, library, self.thresholds,
                          area_known=citizen.area_label is not None)
        self._record(session, message, language, decision, parse, None)
        citizen.pending, citizen.pending_ref = Pending.NONE.value, None
        if decision.action is Action.ANSWER:
            citizen.pending, citizen.pending_ref = Pending.FEEDBACK.value, message.id
        if decision.action not in (Action.EMERGENCY, Action.ROUTE):
            return _Draft(message, citizen, language, self._replies_for(decision, library, message,
                                                                        None), decision)
        question = self._open_question(session, citizen, message, decision, library, flush=False)

        def replies_once_stored() -> list[Reply]:  # the question's id is in the replies
            message.question_id = question.id
            if decision.ask_area:
                citizen.pending, citizen.pending_ref = Pending.AREA.value, question.id
            return self._replies_for(decision, library, message, question)

        return _Draft(message, citizen, language, replies_once_stored, decision, question)

    def _finish(self, session: Session, drafts: list[_Draft]) -> list[IntakeResult]:
        """Write the drafts' new questions (one flush), then their replies and outbox items."""
        if not drafts:
            return []
        if any(d.question is not None and d.question.id is None for d in drafts):
            session.flush()
        replies = [d.replies() if callable(d.replies) else d.replies for d in drafts]
        reply_ids = self._enqueue_many(session, [
            (d.citizen, r, d.language, d.question, None) for d, r in zip(drafts, replies, strict=True)])
        return [IntakeResult(d.message.id, d.citizen.id, r, d.decision,
                             d.question.id if d.question else None, reply_ids=ids)
                for d, r, ids in zip(drafts, replies, reply_ids, strict=True)]

    def _last_language(self, session: Session, message: m.Message) -> Language | None:
        """The language of the citizen's previous message: a tie-breaker for "1053 KL" or "ok"."""
        previous = session.scalars(
            select(m.Message.language).where(
                m.Message.citizen_id == message.citizen_id, m.Message.direction == "in",
                m.Message.id < message.id, m.Message.language.is_not(None))
            .order_by(m.Message.id.desc()).limit(1)
        ).first()
        return Language(previous) if previous in ("en", "nl") else None

    def process_pending(self, min_age_seconds: float = 0.0) -> int:
        """Process messages stored but never decided: a crash between store and decide, or an
        engine that was unavailable. Returns how many were decided. While requests are served,
        pass `min_age_seconds` so a message that a request is deciding right now is left to it."""
        born_before = datetime.now(UTC) - timedelta(seconds=min_age_seconds)
        with self.sessions() as session:
            ids = list(session.scalars(
                select(m.Message.id).where(m.Message.direction == "in", m.Message.processed.is_(False),
                                           m.Message.created_at <= born_before)
                .order_by(m.Message.id)
            ))
        done = 0
        for message_id in ids:
            try:
                result = self.process(message_id)
            except Deferred:
                continue
            done += 1 if not result.duplicate else 0
        return done

    def _parse(self, session: Session, message: m.Message, text: str, language: Language) -> Parse:
        """The engine's parse; when the engine is down, an emergency by the rules or a message
        older than the timeout goes on without one (to a person), anything else waits."""
        try:
            return self.engine(session).parse(text, language)
        except EngineUnavailable:
            age = (datetime.now(UTC) - message.created_at).total_seconds()
            if age >= self.settings.engine_timeout_seconds or detect_emergency(text).is_emergency:
                return Parse(ranking=(), engine="unavailable", model_version="-")
            raise Deferred(message.id) from None

    def _deferred_notice(self, message_id: int) -> IntakeResult:
        """Tell the citizen once that their message is kept and will be handled."""
        with self.sessions.begin() as session:
            message = session.get(m.Message, message_id)
            assert message is not None
            citizen = session.get(m.Citizen, message.citizen_id)
            assert citizen is not None
            language = Language(message.language or citizen.language or detect_language(message.text))
            library = self.library(session)
            replies = [Reply(library.text("utter_service_unavailable", language,
                                          **self.settings.contacts.values()), kind="notice")]
            reply_ids = self.enqueue_replies(session, citizen, replies, language, None)
        return IntakeResult(message_id, citizen.id, replies, reply_ids=reply_ids)

    # -- feedback and hand-off (buttons and text) ---------------------------------------------

    def feedback(self, answer_message_id: int, helpful: bool) -> IntakeResult:
        """A "Did this help?" button: `answer_message_id` is the citizen's answered message."""
        return self._button(answer_message_id, lambda session, citizen, message, library, language: (
            self._apply_feedback(session, citizen, message, helpful, library, language), None))

    def handoff(self, answer_message_id: int, accept: bool) -> IntakeResult:
        """After "no, that did not help": pass the original question to a professional or not."""
        return self._button(answer_message_id, lambda session, citizen, message, library, language:
                            self._apply_handoff(session, citizen, message, accept, library, language))

    def _button(self, message_id: int, apply: Callable[..., tuple[list[Reply], m.Question | None]]
                ) -> IntakeResult:
        """A button pressed on a reply to the citizen's message `message_id`: apply it, enqueue the
        replies, and announce a question it opened."""
        with self.sessions.begin() as session:
            message = session.get(m.Message, message_id)
            if message is None or message.direction != "in":
                raise LookupError("no such message")
            citizen = session.get(m.Citizen, message.citizen_id)
            assert citizen is not None
            language = Language(message.language or "en")
            replies, question = apply(session, citizen, message, self.library(session), language)
            reply_ids = self.enqueue_replies(session, citizen, replies, language, question)
            result = IntakeResult(message.id, citizen.id, replies,
                                  question_id=question.id if question else None, reply_ids=reply_ids)
        if result.question_id:
            self.publish("question.created", result.question_id)
        return result

    # -- internals --------------------------------------------------------------------------

    def citizen(self, session: Session, channel: Channel, sender: str) -> m.Citizen:
        citizen = session.scalars(
            select(m.Citizen).where(m.Citizen.channel == channel.value, m.Citizen.external_id == sender)
        ).first()
        if citizen is None:
            citizen = m.Citizen(channel=channel.value, external_id=sender)
            session.add(citizen)
            try:
                with session.begin_nested():
                    session.flush()
            except IntegrityError:
                citizen = session.scalars(
                    select(m.Citizen).where(m.Citizen.channel == channel.value,
                                            m.Citizen.external_id == sender)
                ).one()
        return citizen

    def _followup(self, session: Session, citizen: m.Citizen, message: m.Message, language: Language,
                  library: Library) -> tuple[list[Reply], m.Question | None] | None:
        """The answer to a prompt the bot gave ("Did this help?", "Your postcode?"), or None when
        the message is a new question."""
        pending = Pending(citizen.pending or "none")
        if pending is Pending.NONE or citizen.pending_ref is None:
            return None
        ref = citizen.pending_ref
        if pending is Pending.AREA:
            found = read_area(message.text, library.areas)
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            if found is None:
                return None  # asked once; treat it as a new question
            label, area = found
            citizen.area_label, citizen.area = label, area.slug if area else None
            question = session.get(m.Question, ref)
            if question is not None and question.area is None:
                question.area = citizen.area
            self._record(session, message, language, None, None, "area given")
            return [Reply(library.text("utter_area_saved", language, area=label), kind="notice")], None
        answer = read_yes_no(message.text)
        if answer is None:
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            return None
        original = session.get(m.Message, ref)
        if original is None:
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            return None
        if pending is Pending.FEEDBACK:
            self._record(session, message, language, None, None, f"feedback {answer.value}")
            helpful = answer is YesNo.YES
            return self._apply_feedback(session, citizen, original, helpful, library, language), None
        if pending is Pending.HANDOFF:
            self._record(session, message, language, None, None, f"handoff {answer.value}")
            replies, question = self._apply_handoff(session, citizen, original, answer is YesNo.YES,
                                                    library, language)
            if question is not None:
                message.question_id = question.id
            return replies, question
        return None

    def _apply_feedback(self, session: Session, citizen: m.Citizen, answered: m.Message,
                        helpful: bool, library: Library, language: Language) -> list[Reply]:
        answered.feedback = "yes" if helpful else "no"
        values = self.settings.contacts.values()
        if helpful:
            citizen.pending, citizen.pending_ref = Pending.NONE.value, None
            return [Reply(library.text("utter_feedback_thanks", language, **values), kind="notice")]
        citizen.pending, citizen.pending_ref = Pending.HANDOFF.value, answered.id
        return [Reply(library.text("utter_offer_handoff", language, **values),
                      buttons=handoff_buttons(language, str(answered.id)), kind="feedback")]

    def _apply_handoff(self, session: Session, citizen: m.Citizen, original: m.Message, accept: bool,
                       library: Library, language: Language) -> tuple[list[Reply], m.Question | None]:
        citizen.pending, citizen.pending_ref = Pending.NONE.value, None
        values = self.settings.contacts.values()
        if not accept:
            return [Reply(library.text("utter_handoff_declined", language, **values), kind="notice")], None
        record = session.scalars(select(m.DecisionRecord).where(
            m.DecisionRecord.message_id == original.id)).first()
        intent = record.intent if record else None
        spec = library.spec(intent)
        role = (spec.role if spec and spec.role else None) or library.default_role
        decision = Decision(
            action=Action.ROUTE, language=language, intent=intent,
            confidence=record.confidence if record else 0.0, role=role,
            ranking=tuple(IntentScore(n, c) for n, c in (record.ranking if record else [])),
            reasons=("library answer did not help: citizen asked for a person",),
            ask_area=library.role(role).area_bound and citizen.area_label is None,
            thresholds=self.thresholds,
        )
        question = self._open_question(session, citizen, original, decision, library, priority=1)
        replies = self._replies_for(decision, library, original, question)
        if decision.ask_area:
            citizen.pending, citizen.pending_ref = Pending.AREA.value, question.id
        return replies, question

    def _record(self, session: Session, message: m.Message, language: Language,
                decision: Decision | None, parse: Parse | None, note: str | None) -> None:
        if decision is None:
            session.add(m.DecisionRecord(
                message_id=message.id, engine="none", model_version="-", action="followup",
                intent=None, confidence=0.0, role=None, language=language.value, ranking=[],
                threshold=self.thresholds.threshold,
                ambiguity_threshold=self.thresholds.ambiguity_threshold, reasons=[note or ""],
            ))
            return
        session.add(m.DecisionRecord(
            message_id=message.id,
            engine=parse.engine if parse else "none",
            model_version=parse.model_version if parse else "-",
            action=decision.action.value,
            intent=decision.intent,
            confidence=decision.confidence,
            role=decision.role,
            language=language.value,
            ranking=[[s.name, round(s.confidence, 4)] for s in decision.ranking],
            threshold=decision.thresholds.threshold,
            ambiguity_threshold=decision.thresholds.ambiguity_threshold,
            reasons=list(decision.reasons),
        ))

    def _open_question(self, session: Session, citizen: m.Citizen, message: m.Message,
                       decision: Decision, library: Library, priority: int = 0,
                       flush: bool = True) -> m.Question:
        emergency = decision.action is Action.EMERGENCY
        hours = 0.0 if emergency else self.response_hours(library, decision.role)
        now = datetime.now(UTC)
        question = m.Question(
            citizen_id=citizen.id,
            message_id=message.id,
            channel=citizen.channel,
            language=decision.language.value,
            text=message.text,
            intent=decision.intent,
            role=decision.role or library.default_role,
            area=citizen.area,
            status=QuestionStatus.OPEN.value,
            priority=EMERGENCY_PRIORITY if emergency else priority,
            emergency=emergency,
            due_at=now + timedelta(hours=hours) if not emergency else now + timedelta(minutes=5),
            created_at=now,
        )
        session.add(question)
        if flush:  # for its id; a batch flushes its questions together (`_finish`)
            session.flush()
            message.question_id = question.id
        return question

    def _replies_for(self, decision: Decision, library: Library, message: m.Message,
                     question: m.Question | None) -> list[Reply]:
        hours = self.response_hours(library, decision.role)
        return render(decision, library, self.settings.contacts,
                      response_time=phrase_hours(hours, decision.language),
                      feedback_token=str(message.id),
                      extra={"question_id": question.id if question else ""})

    def enqueue_replies(self, session: Session, citizen: m.Citizen, replies: list[Reply],
                        language: Language, question: m.Question | None,
                        author: str | None = None) -> list[int]:
        """Store `replies` to `citizen` and put them in the outbox; their message ids."""
        return self._enqueue_many(session, [(citizen, replies, language, question, author)])[0]

    def _enqueue_many(self, session: Session, batch: Sequence[
            tuple[m.Citizen, list[Reply], Language, m.Question | None, str | None]]
                      ) -> list[list[int]]:
        """`enqueue_replies` for several citizens: one flush for all the reply messages."""
        outs = [[m.Message(citizen_id=citizen.id, direction="out", channel=citizen.channel,
                           text=reply.text, language=language.value, kind=reply.kind,
                           question_id=question.id if question else None, author=author,
                           processed=True) for reply in replies]
                for citizen, replies, language, question, author in batch]
        session.add_all([out for group in outs for out in group])
        session.flush()
        now = datetime.now(UTC)
        for (citizen, replies, *_), group in zip(batch, outs, strict=True):
            if citizen.unreachable:
                continue
            # An in-app reply is delivered by this transaction's commit: no dispatcher round trip.
            delivered = ({"status": "sent", "attempts": 1, "sent_at": now}
                         if self.delivered_in_app(citizen.channel) else {})
            session.add_all([m.OutboxItem(
                message_id=out.id, channel=citizen.channel, recipient=citizen.external_id,
                payload={"text": reply.text, "kind": reply.kind,
                         "buttons": [[b.label, b.data] for b in reply.buttons]},
                **delivered,
            ) for out, reply in zip(group, replies, strict=True)])
        return [[out.id for out in group] for group in outs]

    def result_of(self, message_id: int, duplicate: bool = False) -> IntakeResult:
        with self.sessions() as session:
            message = session.get(m.Message, message_id)
            assert message is not None
            return self._result(session, message, duplicate)

    def _result(self, session: Session, message: m.Message, duplicate: bool) -> IntakeResult:
        outs = list(session.scalars(
            select(m.Message).where(m.Message.citizen_id == message.citizen_id,
                                    m.Message.direction == "out", m.Message.id > message.id)
            .order_by(m.Message.id)
        ))
        nxt = session.scalars(
            select(m.Message.id).where(m.Message.citizen_id == message.citizen_id,
                                       m.Message.direction == "in", m.Message.id > message.id)
            .order_by(m.Message.id)
        ).first()
        if nxt is not None:
            outs = [o for o in outs if o.id < nxt]
        replies = [Reply(o.text, kind=o.kind) for o in outs]
        return IntakeResult(message.id, message.citizen_id, replies, None, message.question_id,
                            duplicate=duplicate, reply_ids=[o.id for o in outs])

    def publish(self, event: str, question_id: int) -> None:
        """Tell listeners (console live view, Telegram pushes) that a question changed."""
        for listener in list(self.listeners):
            try:
                listener(event, question_id)
            except Exception:  # a broken listener must not break intake
                log.exception("listener failed for %s", event)
