"""The database schema (SQLAlchemy 2.0 declarative). Alembic migrations in store/migrations."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.core.types import OutboxStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class ExactText(TypeDecorator[str]):
    """Text stored exactly as received, NUL characters and lone surrogates included (PostgreSQL
    refuses NUL in text; neither database driver can encode a lone surrogate, which a JSON "\\ud800"
    escape produces): such a value, or one starting with the marker, is stored JSON-escaped."""

    impl = Text
    cache_ok = True
    MARKER = "\ufffe"

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and ("\x00" in value or value.startswith(self.MARKER) or not _encodable(value)):
            return self.MARKER + json.dumps(value)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.startswith(self.MARKER):
            return json.loads(value[len(self.MARKER) :])
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements: a batch insert with no ORM work per row, where a
    NULL stays a NULL (the ORM's bulk insert leaves such a column out, one statement per set)."""
    return cast(Table, model.__table__)


class Role(Base):
    __tablename__ = "roles"
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_nl: Mapped[str] = mapped_column(String(200))
    area_bound: Mapped[bool] = mapped_column(Boolean, default=False)
    response_hours: Mapped[float] = mapped_column(Float, default=24.0)
    # Office hours ("mon-fri 08:30-17:00", bot.core.calendar), None = always staffed
    staffed_hours: Mapped[str | None] = mapped_column(String(255))
    time_zone: Mapped[str | None] = mapped_column(String(64))  # None: Europe/Amsterdam
    closed_days: Mapped[str | None] = mapped_column(Text)  # extra closed days, "2026-12-24,..."
    # The next role up when nobody of this role can answer; None: the admins.
    escalates_to: Mapped[str | None] = mapped_column(String(64))


class Area(Base):
    __tablename__ = "areas"
    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    postcode_ranges: Mapped[str] = mapped_column(String(500), default="")  # "1011-1019,1020-1029"


class Intent(Base):
    __tablename__ = "intents"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(ForeignKey("roles.slug"))
    # Anything from the imported domain we do not interpret, kept so export is lossless.
    extra: Mapped[dict | None] = mapped_column(JSON)


class TrainingExample(Base):
    __tablename__ = "training_examples"
    __table_args__ = (UniqueConstraint("intent", "language", "text"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intent: Mapped[str] = mapped_column(ForeignKey("intents.name", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(String(200))
    # The citizen's inbound message this example was taught from (None: the library files or an
    # admin's own words): erasure and retention remove the example with the message.
    source_message_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Answer(Base):
    """A version of a library text: an intent's answer (utter_<intent>) or a system text."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("key", "language", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)  # utter_* response name
    language: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer, default=1)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="approved")  # draft / approved / retired
    author: Mapped[str | None] = mapped_column(String(120))
    approved_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_file: Mapped[str | None] = mapped_column(String(200))
    # A professional's reply suggested for the library (learning from professionals).
    suggested_from_question: Mapped[int | None] = mapped_column(Integer)
    # When an admin confirmed the other language's answer says the same as this version.
    in_step_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RequiredLine(Base):
    """A line an answer must keep (the "call 112" line): a draft without it is flagged and is
    approved only with an explicit override."""

    __tablename__ = "required_lines"
    __table_args__ = (UniqueConstraint("key", "language", "text"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    added_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Professional(Base):
    __tablename__ = "professionals"
    # Single sign-on: the provider's subject, unique per issuer (never matched by e-mail).
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    roles: Mapped[str] = mapped_column(String(500), default="")  # comma-separated role slugs
    areas: Mapped[str] = mapped_column(String(500), default="")  # comma-separated area slugs
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A one-time password (first or reset): the first login leads to choosing one's own, and an
    # unused one stops working at `password_expires_at` (bot.service.users).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Signed in through the organisation's OpenID provider (bot/web/sso.py): its issuer and `sub`.
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    # An admin can turn the local password off (an SSO user then signs in only through SSO).
    password_login: Mapped[bool] = mapped_column(Boolean, default=True)
    # When a sign-in last kept the admin role that the provider's roles claim no longer gives:
    # they were the last active admin (bot.service.sso). None: the claim had its way.
    sso_admin_kept_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The console's language ("en", "nl"); None: not chosen, the browser's Accept-Language decides.
    language: Mapped[str | None] = mapped_column(String(8))


class Citizen(Base):
    __tablename__ = "citizens"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(8))
    area: Mapped[str | None] = mapped_column(String(64))  # area slug, when known
    area_label: Mapped[str | None] = mapped_column(String(100))  # what they typed: "1012 AB"
    # The conversation's open prompt (bot.core.conversation.Prompt) and what it refers to.
    pending: Mapped[str] = mapped_column(String(16), default="none")
    pending_ref: Mapped[int | None] = mapped_column(Integer)  # message or question id
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Message(Base):
    """Every inbound and outbound message, stored exactly as received or sent."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("citizen_id", "external_id"),  # a channel's id, unique per citizen
        Index("ix_messages_citizen_created", "citizen_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in / out
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(200))  # channel's id, for dedup
    text: Mapped[str] = mapped_column(ExactText)
    # The text as received, JSON-escaped, when it was not valid Unicode (a lone surrogate): `text`
    # then holds U+FFFD in its place (bot.core.text.well_formed).
    raw_text: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16), default="text")
    question_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id", ondelete="SET NULL"))
    author: Mapped[str | None] = mapped_column(String(120))  # professional username for replies
    processed: Mapped[bool] = mapped_column(Boolean, default=False)
    feedback: Mapped[str | None] = mapped_column(String(8))  # yes / no on library answers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Question(Base):
    """The queue: one item for a professional."""

    __tablename__ = "questions"
    __table_args__ = (Index("ix_questions_queue", "status", "role", "emergency", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(Integer)  # the inbound message that opened it
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(ExactText)
    intent: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # higher first
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    assignee: Mapped[str | None] = mapped_column(String(80))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(32))
    reminded: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_hours: Mapped[bool] = mapped_column(Boolean, default=False)  # arrived while its role was closed
    escalations: Mapped[int] = mapped_column(Integer, default=0)  # steps up the escalation path
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    for_admins: Mapped[bool] = mapped_column(Boolean, default=False)  # nobody on the path: admins
    escalation_reason: Mapped[str | None] = mapped_column(Text)  # why it is not with its own role
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notes: Mapped[list[Note]] = relationship(cascade="all, delete-orphan", order_by="Note.id")


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DecisionRecord(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    engine: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str | None] = mapped_column(String(100))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    role: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    ranking: Mapped[list] = mapped_column(JSON)  # [[intent, confidence], ...] top 3
    # [[role, summed confidence], ...] top 3; None is SQL NULL (a batch insert sends it as such)
    roles: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
    threshold: Mapped[float] = mapped_column(Float)
    ambiguity_threshold: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class OutboxItem(Base):
    """A reply waiting to be sent. Sent at most once: claimed by one dispatcher, marked sent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_channel_external", "channel", "external_id"),  # status callbacks
        Index("ix_outbox_claim", "status", "priority", "id"),  # the dispatcher's order
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSON)  # {"text":..., "buttons": [[label, data], ...]}
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    # Lower goes out first: 0 an emergency reply, 1 the rest (bot.store.outbox.priority_of).
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))  # channel's id of the sent message
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the channel reported later (bot.core.types.DeliveryStatus: delivered, read, failed).
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelRecord(Base):
    __tablename__ = "models"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    engine: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(500))
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ModelBlob(Base):
    """A trained model's file (either engine), so that every instance (on any host) loads the same
    model: an instance without the file writes it to its own models folder
    (bot.service.models_registry; Rasa models: bot.service.rasa_models).
    It is a copy of the model, and may hold citizens' words: erasure deletes it with the file
    (bot.service.provenance)."""

    __tablename__ = "model_blobs"
    version: Mapped[str] = mapped_column(ForeignKey("models.version", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChannelState(Base):
    """Cursors and offsets of the channels (Telegram update offset, X DM cursor)."""

    __tablename__ = "channel_state"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProcessedUpdate(Base):
    """Channel events already stored (Telegram update_id, X event id): each handled once."""

    __tablename__ = "processed_updates"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class LinkCode(Base):
    """One-time code a professional sends to the Telegram bot (/link CODE) to link an account."""

    __tablename__ = "link_codes"
    code_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A console login. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_sessions"
    token_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    professional_id: Mapped[int] = mapped_column(ForeignKey("professionals.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A session opened through SSO: the provider's ID token, sent back as `id_token_hint` at logout.
    oidc_id_token: Mapped[str | None] = mapped_column(Text)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
