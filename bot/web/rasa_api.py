"""Part: the HTTP endpoints Rasa's custom actions call (`actions/actions.py`).

`POST /api/v1/rasa/{answer,route,emergency}` with `Authorization: Bearer <API_TOKEN>`: record the
citizen's message with Rasa's intent ranking, decide, open a queue item when routed, and return
the texts for Rasa to say. Without API_TOKEN the endpoints answer 503: the action server must
authenticate.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

from bot.app import Services
from bot.core.types import IntentScore, Language
from bot.nlu.rasa_engine import FALLBACK_INTENT
from bot.service.rasa_handover import Handover, Requested, handle
from bot.web.deps import ServicesDep


class RankedIntent(BaseModel):
    name: str = Field(..., max_length=100)
    confidence: float = Field(..., ge=0.0, le=1.0)


class HandoverIn(BaseModel):
    sender_id: str = Field(..., min_length=1, max_length=180, description="Rasa's conversation id")
    text: str = Field(..., max_length=100_000, description="The citizen's latest message")
    intent_ranking: list[RankedIntent] = Field(default_factory=list, max_length=50)
    conversation: list[str] = Field(default_factory=list, max_length=200,
                                    description="The citizen's messages in this conversation")
    language: Language | None = Field(None, description="en or nl; detected when absent")
    message_id: str | None = Field(None, max_length=150, description="Rasa's id of the message")
    model_version: str = Field("-", max_length=64)


class HandoverOut(BaseModel):
    action: str
    language: str
    intent: str | None
    question_id: int | None
    replies: list[str]
    duplicate: bool = False


async def require_action_server(svc: ServicesDep,
                                authorization: Annotated[str | None, Header()] = None) -> None:
    token = svc.settings.api_token
    if not token:
        raise HTTPException(503, "API_TOKEN is not set: the Rasa action server cannot authenticate")
    if authorization is None or not secrets.compare_digest(authorization, f"Bearer {token}"):
        raise HTTPException(401, "missing or wrong API token")


def _handover(body: HandoverIn) -> Handover:
    scores = (IntentScore(r.name, r.confidence) for r in body.intent_ranking
              if r.name != FALLBACK_INTENT)
    ranking = tuple(sorted(scores, key=lambda s: s.confidence, reverse=True))
    return Handover(sender_id=body.sender_id, text=body.text, ranking=ranking,
                    conversation=tuple(body.conversation), language=body.language,
                    message_id=body.message_id, model_version=body.model_version)


def router(services: Services) -> APIRouter:
    api = APIRouter(prefix="/api/v1/rasa", dependencies=[Depends(require_action_server)],
                    tags=["rasa"])

    async def run(requested: Requested, body: HandoverIn) -> HandoverOut:
        result = await asyncio.to_thread(handle, services, requested, _handover(body))
        return HandoverOut(**result.__dict__)

    @api.post("/answer", response_model=HandoverOut)
    async def answer(body: HandoverIn) -> HandoverOut:
        """The approved answer for the top intent in the citizen's language (or a route)."""
        return await run(Requested.ANSWER, body)

    @api.post("/route", response_model=HandoverOut)
    async def route(body: HandoverIn) -> HandoverOut:
        """A queue item with the conversation text and Rasa's intent ranking."""
        return await run(Requested.ROUTE, body)

    @api.post("/emergency", response_model=HandoverOut)
    async def emergency(body: HandoverIn) -> HandoverOut:
        """An emergency queue item, and the call-112 text."""
        return await run(Requested.EMERGENCY, body)

    return api


async def start(app: FastAPI, services: Services) -> None:
    app.include_router(router(services))
    return None
