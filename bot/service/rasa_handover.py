"""Hand-over from a Rasa assistant run on its own (`rasa shell`, Rasa's channels) to this service.

Rasa's custom actions (actions/actions.py) call these through `bot.web.rasa_api`. The message goes
through the same intake as every channel's (`TriageService.handle`), marked as `Assisted`: Rasa's
intent ranking stands in for our engine's, and the action Rasa's rule asked for is honoured, but
the triage policy keeps the last word where safety is concerned (`bot.core.policy.honour`). Rasa
runs the dialogue itself, so no prompts of ours are opened for it.

The conversation is stored under the `api` channel with sender `rasa:<sender_id>`; Rasa delivers
the replies, which are stored as delivered in-app.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.app import Services
from bot.core.types import Action, Assisted, Channel, InboundMessage, IntentScore, Language, Parse
from bot.store import decisions

SENDER_PREFIX = "rasa:"


class Requested(StrEnum):
    """What Rasa's rules asked for: the action that called us."""

    ANSWER = "answer"
    ROUTE = "route"
    EMERGENCY = "emergency"


@dataclass(frozen=True)
class Handover:
    sender_id: str
    text: str  # the citizen's latest message
    ranking: tuple[IntentScore, ...]  # Rasa's intent ranking, without nlu_fallback
    conversation: tuple[str, ...] = ()  # the citizen's earlier messages in this conversation
    language: Language | None = None  # Rasa's language slot: a hint for the detection
    message_id: str | None = None  # Rasa's id of the latest message: a retried action is a no-op
    model_version: str = "-"


@dataclass
class HandoverResult:
    action: str
    language: str
    intent: str | None
    question_id: int | None
    replies: list[str] = field(default_factory=list)
    duplicate: bool = False


def handle(services: Services, requested: Requested, h: Handover) -> HandoverResult:
    """Store the message, decide (honouring Rasa's rule), open a queue item when routed."""
    parse = Parse(ranking=h.ranking, engine="rasa", model_version=h.model_version)
    inbound = InboundMessage(
        Channel.API,
        f"{SENDER_PREFIX}{h.sender_id}",
        h.text,
        external_id=f"{SENDER_PREFIX}{h.message_id}" if h.message_id else None,
        language_hint=h.language,  # Rasa's `language` slot is what we detected last time
        assisted=Assisted(parse, Action(requested.value), h.conversation),
    )
    result = services.triage.handle(inbound)
    with services.sessions() as session:
        record = decisions.of_message(session, result.message_id)
    return HandoverResult(
        action=record.action if record else Action.ROUTE.value,
        language=record.language if record else (h.language or Language.EN).value,
        intent=record.intent if record else None,
        question_id=result.question_id,
        replies=[r.text for r in result.replies],
        duplicate=result.duplicate,
    )

