"""Custom actions for teams that run the assistant with Rasa itself (`rasa shell`, Rasa's channels).

They are thin: each sends the conversation and Rasa's intent ranking to the triage service
(`POST /api/v1/rasa/{answer,route,emergency}`, `Authorization: Bearer $TRIAGE_API_TOKEN`), which
records the message, applies the triage policy, opens a queue item when a professional must answer,
and returns the texts to say. Run them from `.venv-rasa`:

    TRIAGE_API_URL=http://127.0.0.1:8000 TRIAGE_API_TOKEN=... .venv-rasa/bin/rasa run actions

When the service cannot be reached the citizen hears `utter_service_unavailable` (and, for an
emergency, always `utter_emergency`): the texts live in responses/, like every other text.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import aiohttp
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)

ATTEMPTS = 3
TIMEOUT_SECONDS = 10


def _api_url() -> str:
    return os.environ.get("TRIAGE_API_URL", "http://127.0.0.1:8000").rstrip("/")


def _token() -> str:
    return os.environ.get("TRIAGE_API_TOKEN") or os.environ.get("API_TOKEN", "")


def _emergency_number() -> str:
    return os.environ.get("EMERGENCY_NUMBER", "112")


def handover_payload(tracker: Tracker) -> dict[str, Any]:
    """The latest message, Rasa's intent ranking and the citizen's messages of this session."""
    latest = tracker.latest_message or {}
    conversation: list[str] = []
    message_id = latest.get("message_id")
    for event in tracker.events:
        if event.get("event") == "session_started":
            conversation = []
        elif event.get("event") == "user" and event.get("text"):
            conversation.append(str(event["text"]))
            message_id = latest.get("message_id") or event.get("message_id")
    ranking = [
        {"name": r["name"], "confidence": float(r.get("confidence") or 0.0)}
        for r in latest.get("intent_ranking") or []
        if r.get("name")
    ]
    language = tracker.get_slot("language")
    return {
        "sender_id": tracker.sender_id,
        "text": latest.get("text") or "",
        "intent_ranking": ranking,
        "conversation": conversation[-50:],
        "language": language if language in ("en", "nl") else None,
        "message_id": message_id,
    }


async def post(path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """POST to the triage service, retrying briefly; None when it cannot be reached."""
    headers = {"Authorization": f"Bearer {_token()}"}
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    for attempt in range(ATTEMPTS):
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.post(f"{_api_url()}{path}", json=payload, headers=headers) as response:
                if response.status < 500:
                    response.raise_for_status()
                    return await response.json()
                log.warning("triage service %s answered %s", path, response.status)
        except aiohttp.ClientResponseError:
            log.exception("triage service refused %s", path)
            return None  # 4xx: a wrong token or request; retrying does not help
        except (aiohttp.ClientError, asyncio.TimeoutError):  # noqa: UP041 (Python 3.10)
            log.warning("triage service unreachable at %s (attempt %d)", _api_url(), attempt + 1)
        await asyncio.sleep(0.5 * (attempt + 1))
    return None


class _Handover:
    """What the three actions share (not itself an Action, so rasa_sdk does not register it)."""

    path = ""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        result = await post(self.path, handover_payload(tracker))
        if result is None:
            self.unavailable(dispatcher)
            return []
        for text in result.get("replies") or []:
            dispatcher.utter_message(text=text)
        return [SlotSet("language", result.get("language"))] if result.get("language") else []

    def unavailable(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(response="utter_service_unavailable",
                                 emergency_number=_emergency_number())


class ActionAnswerFromLibrary(_Handover, Action):
    """The approved answer for the top intent in the citizen's language (the service may route
    instead: no approved answer in that language, or an emergency in the text)."""

    path = "/api/v1/rasa/answer"

    def name(self) -> str:
        return "action_answer_from_library"


class ActionRouteToProfessional(_Handover, Action):
    """A queue item with the conversation and Rasa's intent ranking, for a professional."""

    path = "/api/v1/rasa/route"

    def name(self) -> str:
        return "action_route_to_professional"


class ActionEmergency(_Handover, Action):
    """An emergency queue item; the citizen is told to call the emergency number in any case."""

    path = "/api/v1/rasa/emergency"

    def name(self) -> str:
        return "action_emergency"

    def unavailable(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(response="utter_emergency", emergency_number=_emergency_number())
