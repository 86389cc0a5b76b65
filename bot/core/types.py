"""Typed values that cross the boundaries between channels, engines, storage and the policy.

Nothing from telegram, tweepy, fastapi, sqlalchemy or rasa reaches the core: adapters map their own
objects onto these values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Language(StrEnum):
    EN = "en"
    NL = "nl"


class Channel(StrEnum):
    WEB = "web"
    TELEGRAM = "telegram"
    X = "x"
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


@dataclass(frozen=True, slots=True)
class Role:
    slug: str
    names: dict[str, str]  # language -> display name ("a fire prevention officer")
    area_bound: bool = False
    response_hours: float = 24.0

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
    kind: str = "text"  # answer, ack, emergency, smalltalk, ask_area, feedback, notice


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A citizen's message as a channel received it."""

    channel: Channel
    sender: str  # the channel's id of the citizen (chat id, X user id, web session)
    text: str
    language: Language | None = None  # an explicit choice (API field, /language); wins over detection
    external_id: str | None = None  # the channel's message id: a second delivery is not processed again
    language_hint: Language | None = None  # a weak hint (Telegram app language): breaks ties only
