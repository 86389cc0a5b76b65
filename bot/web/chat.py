"""The citizen web chat at /chat: an anonymous channel, treated exactly like Telegram.

The citizen is a random id in a signed HttpOnly cookie (`auth.ensure_anon`). Messages go in through
the intake (`InboundMessage(Channel.WEB, ...)`) and buttons through `triage.press`, like every
channel's; commands typed here ("/area 1012 AB") are the conversation's, not Telegram's. Replies
are enqueued in the outbox and delivered in-app, so the chat shows outbound messages whose outbox
item is sent (as the API's conversation endpoint does). Works without JavaScript (plain forms, 303
back to /chat); with `static/chat.js` it sends with fetch and polls for replies (a professional's
answer appears live).
Every text the citizen reads comes from the library, in their language.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from bot.app import Services
from bot.core import conversation as core
from bot.core.types import ButtonPress, Channel, InboundMessage, Language
from bot.service.outbox import Dispatcher
from bot.service.triage import PressRefused
from bot.store import citizens, messages
from bot.web.auth import ensure_anon, verify_csrf
from bot.web.deps import DispatcherDep, ServicesDep
from bot.web.templating import render

router = APIRouter(prefix="/chat", dependencies=[Depends(verify_csrf)])
MAX_ID = 2**31 - 1

TEXT_KEYS = (
    "title",
    "intro",
    "placeholder",
    "send",
    "message_label",
    "other_language",
    "send_failed",
    "you",
    "assistant",
)


@dataclass(frozen=True)
class ChatMessage:
    id: int
    direction: str  # in: the citizen's, out: to the citizen
    text: str
    kind: str
    buttons: tuple[tuple[str, str], ...]  # (label, data) while the question is still open

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "direction": self.direction,
            "text": self.text,
            "kind": self.kind,
            "buttons": [{"label": label, "data": data} for label, data in self.buttons],
        }


def _language(request: Request, lang: str | None) -> Language:
    if lang in ("en", "nl"):
        return Language(lang)
    accepted = request.headers.get("accept-language", "").lower()
    return Language.NL if accepted.startswith("nl") else Language.EN


def load_messages(services: Services, anon: str, after: int = 0) -> list[ChatMessage]:
    """The citizen's conversation as delivered, with buttons only where they still count."""
    with services.sessions() as session:
        citizen = citizens.find(session, Channel.WEB.value, anon)
        if citizen is None:
            return []
        state = citizens.conversation(citizen)
        out = []
        for msg, item in messages.conversation(session, citizen.id, after):
            buttons = tuple(
                (str(label), str(data))
                for label, data in (item.payload.get("buttons", []) if item else [])
                if (press := core.read_press(str(data))) is not None and core.is_live(state, press)
            )
            out.append(ChatMessage(msg.id, msg.direction, msg.text, msg.kind, buttons))
        return out


def texts(services: Services, language: Language) -> dict[str, str]:
    with services.sessions() as session:
        library = services.triage.library(session)
        values = services.settings.contacts.values(language)
        return {k: library.text(f"utter_web_{k}", language, **values) for k in TEXT_KEYS}


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get("")
async def chat_page(request: Request, svc: ServicesDep, lang: str | None = None) -> Response:
    anon = ensure_anon(request)
    language = _language(request, lang)
    messages = await asyncio.to_thread(load_messages, svc, anon)
    t = await asyncio.to_thread(texts, svc, language)
    return render(
        request,
        "chat.html",
        t=t,
        language=language.value,
        messages=messages,
        other="en" if language is Language.NL else "nl",
        last_id=messages[-1].id if messages else 0,
    )


@router.get("/messages")
async def chat_messages(request: Request, svc: ServicesDep, after: int = 0) -> JSONResponse:
    anon = ensure_anon(request)
    after = min(max(0, after), MAX_ID)  # ids are 32-bit: a larger `after` is just "none newer"
    messages = await asyncio.to_thread(load_messages, svc, anon, after)
    return JSONResponse(
        {"messages": [msg.as_json() for msg in messages]}, headers={"Cache-Control": "no-store"}
    )


def _done(request: Request, dispatcher: Dispatcher, lang: str) -> Response:
    dispatcher.wakeup.set()
    if _wants_json(request):
        return JSONResponse({"ok": True})
    return RedirectResponse(f"/chat?lang={lang}" if lang in ("en", "nl") else "/chat", status_code=303)


@router.post("/send")
async def chat_send(
    request: Request,
    svc: ServicesDep,
    dispatcher: DispatcherDep,
    text: Annotated[str, Form(max_length=100_000)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
    lang: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    anon = ensure_anon(request)
    if text.strip():
        hint = Language(lang) if lang in ("en", "nl") else None
        external = f"{anon}:{client_id}" if client_id else None
        await svc.intake.handle(
            InboundMessage(Channel.WEB, anon, text, None, external_id=external, language_hint=hint)
        )
    return _done(request, dispatcher, lang)


@router.post("/button")
async def chat_button(
    request: Request,
    svc: ServicesDep,
    dispatcher: DispatcherDep,
    data: Annotated[str, Form(max_length=64)] = "",
    lang: Annotated[str, Form(max_length=2)] = "",
) -> Response:
    """A button of this citizen's own, still open prompt; 409 (and nothing changes) otherwise."""
    anon = ensure_anon(request)
    try:
        await asyncio.to_thread(svc.triage.press, ButtonPress(Channel.WEB, anon, data))
    except PressRefused as exc:
        raise HTTPException(409, "this button no longer counts") from exc
    return _done(request, dispatcher, lang)
