"""Typed values that cross the boundaries between channels, engines, storage and the policy.

Nothing from telegram, tweepy, fastapi, sqlalchemy or rasa reaches the core: adapters map their own
objects onto these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.calendar import ALWAYS_STAFFED, Calendar


class Language(StrEnum):
    EN = "en"
    NL = "nl"


class Channel(StrEnum):
    WEB = "web"
    TELEGRAM = "telegram"
    X = "x"
    WHATSAPP = "whatsapp"
    API = "api"
    CLI = "cli"


class Action(StrEnum):
    """What the bot does with a message: the four outcomes of the triage policy."""

    EMERGENCY = "emergency"
    SMALLTALK = "smalltalk"
    ANSWER = "answer"
    ROUTE = "route"


class Mode(StrEnum):
    """How an intent is handled when it is recognised."""

    ANSWER = "answer"
    ROUTE = "route"
    SMALLTALK = "smalltalk"
    EMERGENCY = "emergency"


class Direction(StrEnum):
    """Whether a stored message came from the citizen or went to them."""

    IN = "in"
    OUT = "out"


class ReplyKind(StrEnum):
    """What an outbound message is; channels and the console render some kinds differently."""

    TEXT = "text"
    ANSWER = "answer"  # a library answer
    ACK = "ack"  # "I've passed your question to ..."
    EMERGENCY = "emergency"
    SMALLTALK = "smalltalk"
    ASK_AREA = "ask_area"
    FEEDBACK = "feedback"  # a prompt with yes/no ("Did this help?", "Shall I pass it on?")
    NOTICE = "notice"  # the bot's own texts: thanks, settings, problems with the input
    PROFESSIONAL = "professional"  # a professional's reply


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # the channel refused it, or it failed too often
    UNKNOWN = "unknown"  # a dispatcher died mid-send: it may have arrived; never sent again


class DeliveryStatus(StrEnum):
    """What a channel later reports about a message it accepted (WhatsApp's status callbacks).
    They may arrive out of order; a status never moves back (read does not become delivered)."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class QuestionStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    ANSWERED = "answered"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class Parse:
    """An engine's reading of one message: intents ranked by confidence, best first."""

    ranking: tuple[IntentScore, ...]
    engine: str
    model_version: str

    @property
    def top(self) -> IntentScore | None:
        return self.ranking[0] if self.ranking else None

    def top_k(self, k: int = 3) -> tuple[IntentScore, ...]:
        return self.ranking[:k]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """From the FallbackClassifier in config.yml, so one setting governs both engines."""

    threshold: float = 0.5
    ambiguity_threshold: float = 0.1
    role_threshold: float = 0.6  # unsure of the intent, this sure of the role: route to the role


@dataclass(frozen=True, slots=True)
class Role:
    slug: str
    names: dict[str, str]  # language -> display name ("a fire prevention officer")
    area_bound: bool = False
    response_hours: float = 24.0
    escalates_to: str | None = None  # the next role up when nobody here answers; None: the admins
    calendar: Calendar = ALWAYS_STAFFED  # when the team works: its promises count these hours

    def name(self, language: Language) -> str:
        return self.names.get(language.value) or self.names.get("en") or self.slug


@dataclass(frozen=True, slots=True)
class IntentSpec:
    name: str
    mode: Mode
    role: str | None = None  # for ROUTE (and EMERGENCY); None means the default role


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of the policy for one message, with the reasons, as recorded in the database."""

    action: Action
    language: Language
    intent: str | None
    confidence: float
    role: str | None
    ranking: tuple[IntentScore, ...]
    reasons: tuple[str, ...]
    answer_intent: str | None = None  # the library answer sent, for ANSWER
    ask_area: bool = False  # ROUTE to an area-bound role whose area is unknown
    thresholds: Thresholds = field(default_factory=Thresholds)
    roles: tuple[IntentScore, ...] = ()  # the ranking summed per role (name: the role), best first

    @property
    def emergency(self) -> bool:
        return self.action is Action.EMERGENCY


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str  # opaque callback payload, e.g. "fb:123:yes"


@dataclass(frozen=True, slots=True)
class Reply:
    """One outbound message to a citizen; channels render buttons natively or as text."""

    text: str
    buttons: tuple[Button, ...] = ()
    kind: ReplyKind = ReplyKind.TEXT


@dataclass(frozen=True, slots=True)
class Assisted:
    """A message an outside assistant (Rasa, run on its own) has read already: its parse, the
    action its rule asked for, and the citizen's earlier messages there. That assistant owns the
    dialogue, so the bot opens no prompts of its own for it."""

    parse: Parse
    requested: Action
    conversation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A citizen's message as a channel received it."""

    channel: Channel
    sender: str  # the channel's id of the citizen (chat id, X user id, web session)
    text: str
    language: Language | None = None  # an explicit choice (API field, /language); wins over detection
    external_id: str | None = None  # the channel's id of the message: a second delivery is a no-op
    language_hint: Language | None = None  # a weak hint (Telegram app language): breaks ties only
    media: str | None = None  # a photo, voice message, sticker...: `text` is its caption, if any
    assisted: Assisted | None = None
    raw: str | None = None  # the text as received, JSON-escaped, when it was not valid Unicode


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A citizen pressed a button: `data` as the channel got it back ("fb:123:yes")."""

    channel: Channel
    sender: str
    data: str
