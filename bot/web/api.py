"""The HTTP service: the intake API, health, and the outbox dispatcher in the background.

Later parts (the console, the web chat, the channels) attach to the same app and event loop
through `bot.web.plugins`.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, Field
from sqlalchemy import func, select

from bot.app import Services, build, import_library_files, library_is_empty
from bot.config import Settings
from bot.core import text as textcheck
from bot.core.types import ButtonPress, Channel, InboundMessage, Language
from bot.service.outbox import Dispatcher
from bot.service.pollers import stale_channels
from bot.service.triage import PressRefused, PressResult
from bot.store import citizens, messages
from bot.store import models as m
from bot.web.deps import DispatcherDep, ServicesDep
from bot.web.limits import BodyLimit

log = logging.getLogger(__name__)

API_CHANNELS = {Channel.API, Channel.WEB, Channel.CLI}
INVALID_REQUEST_SCHEMA: dict[str, Any] = {
    "title": "InvalidRequest",
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"loc": {"type": "array", "items": {}}, "msg": {"type": "string"}},
        }},
    },
    "required": ["detail"],
}


def _unicode(value: object) -> object:
    """A lone surrogate ("\\ud800" in the JSON) becomes U+FFFD, so the model accepts the text;
    the route keeps the message's text as received beside it (`bot.core.text.well_formed`)."""
    return textcheck.well_formed(value)[0] if isinstance(value, str) else value


Unicode = BeforeValidator(_unicode)


class MessageIn(BaseModel):
    channel: Channel = Field(
        Channel.API, description="api, web or cli (other channels have adapters)"
    )
    sender: Annotated[str, Unicode] = Field(..., min_length=1, max_length=200,
                                            description="The citizen's id on the channel")
    text: Annotated[str, Unicode] = Field(..., max_length=100_000,
                                          description="The message as the citizen typed it")
    language: Language | None = Field(None, description="en or nl; detected when absent")
    external_id: Annotated[str | None, Unicode] = Field(
        None, max_length=200, description="Your id for this message: a retry is not processed twice")


class ButtonOut(BaseModel):
    label: str
    data: str


class ReplyOut(BaseModel):
    id: int | None = None
    text: str
    kind: str
    buttons: list[ButtonOut] = []


class IntentOut(BaseModel):
    intent: str
    confidence: float


class DecisionOut(BaseModel):
    message_id: int
    action: str | None
    intent: str | None
    confidence: float
    role: str | None
    language: str | None
    emergency: bool
    question_id: int | None
    ranking: list[IntentOut]
    reasons: list[str]
    replies: list[ReplyOut]
    duplicate: bool = False


MAX_ID = 2**31 - 1  # ids are 32-bit INTEGER columns: a larger one is a 422, not a database error


class CitizenRef(BaseModel):
    channel: Channel = Field(Channel.API, description="The citizen's channel: api, web or cli")
    sender: str = Field(..., min_length=1, max_length=200, description="The citizen's id on it")


class FeedbackIn(CitizenRef):
    message_id: int = Field(..., ge=1, le=MAX_ID, description="The citizen's message that was answered")
    helpful: bool


class HandoffIn(CitizenRef):
    message_id: int = Field(..., ge=1, le=MAX_ID, description="The citizen's message that was answered")
    accept: bool


class ButtonIn(CitizenRef):
    data: str = Field(..., min_length=1, max_length=64,
                      description="A button's data from a reply, e.g. fb:123:yes")


class PressOut(BaseModel):
    question_id: int | None
    replies: list[ReplyOut]


async def require_token(svc: ServicesDep,
                        authorization: Annotated[str | None, Header()] = None) -> None:
    settings = svc.settings
    token = settings.api_token
    if not token and settings.environment == "production":  # never an open API in production
        raise HTTPException(401, "the API is closed: set API_TOKEN")
    if token and not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "missing or wrong API token")


def _decision_out(result) -> DecisionOut:  # type: ignore[no-untyped-def]
    d = result.decision
    return DecisionOut(
        message_id=result.message_id,
        action=d.action.value if d else None,
        intent=d.intent if d else None,
        confidence=d.confidence if d else 0.0,
        role=d.role if d else None,
        language=d.language.value if d else None,
        emergency=bool(d and d.emergency),
        question_id=result.question_id,
        ranking=[IntentOut(intent=s.name, confidence=s.confidence) for s in (d.ranking if d else ())],
        reasons=list(d.reasons) if d else [],
        replies=[
            ReplyOut(id=rid, text=r.text, kind=r.kind,
                     buttons=[ButtonOut(label=b.label, data=b.data) for b in r.buttons])
            for rid, r in zip(result.reply_ids or [None] * len(result.replies), result.replies, strict=False)
        ],
        duplicate=result.duplicate,
    )


def _warm_up(svc: Services) -> None:
    """Load (or train) the model and the library before the first message, not during it."""
    try:
        with svc.sessions() as session:
            svc.triage.engine(session)
            svc.triage.library(session)
    except Exception:  # the first message tries again, and reports what is wrong
        log.exception("could not load the model at start-up")


async def _retry_pending(svc: Services, dispatcher, interval: float = 5.0,  # type: ignore[no-untyped-def]
                         min_age: float = 60.0) -> None:
    """Messages kept while the engine was down are decided when it is back (or time out). Only
    messages older than `min_age`: a younger one may be in a request's hands right now."""
    while True:
        await asyncio.sleep(interval)
        try:
            if await asyncio.to_thread(svc.triage.process_pending, min_age):
                dispatcher.wakeup.set()
        except Exception:
            log.exception("retrying pending messages failed")


def _press_out(result: PressResult) -> PressOut:
    return PressOut(question_id=result.question_id, replies=[
        ReplyOut(id=rid, text=r.text, kind=r.kind,
                 buttons=[ButtonOut(label=b.label, data=b.data) for b in r.buttons])
        for rid, r in zip(result.reply_ids, result.replies, strict=True)])


async def _press(svc: Services, dispatcher: Dispatcher, citizen: CitizenRef, data: str
                 ) -> PressResult:
    """A button of the citizen named in the body: 409 when it does not count (not theirs, no
    such prompt open, used already); nothing changes then."""
    if citizen.channel not in API_CHANNELS:
        raise HTTPException(422, f"channel {citizen.channel.value} has its own adapter")
    try:
        result = await asyncio.to_thread(
            svc.triage.press, ButtonPress(citizen.channel, citizen.sender, data))
    except PressRefused as exc:
        raise HTTPException(409, str(exc)) from exc
    dispatcher.wakeup.set()
    return result


def create_app(services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = services or build(Settings())
        if library_is_empty(svc):
            import_library_files(svc)
        app.state.services = svc
        await asyncio.to_thread(_warm_up, svc)
        if services is None:  # a server process (`triage serve`), not an app inside tests
            # The model, the library and the app live as long as the process: frozen, the garbage
            # collector stops walking them on every full collection (tens of ms each, under load).
            gc.freeze()
        await asyncio.to_thread(svc.triage.process_pending)
        dispatcher = svc.dispatcher()
        app.state.dispatcher = dispatcher
        tasks = [
            asyncio.create_task(dispatcher.run_forever(svc.settings.outbox_interval_seconds)),
            asyncio.create_task(_retry_pending(svc, dispatcher)),
        ]
        from bot.web import plugins

        stoppers = await plugins.start(app, svc)
        try:
            yield
        finally:
            for stop in stoppers:
                await stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(svc.intake.stop)

    # No /docs or /redoc: FastAPI's pages load Swagger UI and ReDoc from a CDN with an inline
    # script, which the Content-Security-Policy blocks (a blank page), and no local copy of them
    # is installed. The schema is at /openapi.json for any OpenAPI viewer (README).
    app = FastAPI(title="Citizen triage", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Intake API of the citizen Q&A triage service.")
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """The schema, with the 422 body this app really sends (see `_invalid`)."""
        schema = default_openapi()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas["HTTPValidationError"] = INVALID_REQUEST_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors()]
        from bot.web.console_part import wants_page

        if wants_page(request):  # an officer who mistyped an address: a page, not JSON
            from bot.web.i18n import msg
            from bot.web.templating import render

            where = ", ".join(str(e["loc"][-1]) for e in errors if e["loc"]) or "?"
            return render(request, "error.html", status_code=422, status=422,
                          heading=msg("That address is not quite right"),
                          message=msg("The value of %(where)s is not valid here.", where=where))
        return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)

    @app.post("/api/v1/messages", response_model=DecisionOut, dependencies=[Depends(require_token)])
    async def post_message(body: MessageIn, request: Request, svc: ServicesDep, dispatcher: DispatcherDep
                           ) -> DecisionOut:
        """Take a citizen's message: store it, decide, and return the decision and the replies."""
        if body.channel not in API_CHANNELS:
            raise HTTPException(422, f"channel {body.channel.value} has its own adapter; use api or web")
        received = (await request.json()).get("text")  # parsed once already: before U+FFFD
        raw = textcheck.well_formed(received)[1] if isinstance(received, str) else None
        inbound = InboundMessage(body.channel, body.sender, body.text, body.language, body.external_id,
                                 raw=raw)
        result = await svc.intake.handle(inbound)
        if not svc.delivered_in_app(body.channel.value):  # in-app replies went out with the commit
            dispatcher.wakeup.set()
        return _decision_out(result)

    @app.post("/api/v1/feedback", response_model=PressOut, dependencies=[Depends(require_token)],
              responses={409: {"description": "no such prompt open for this citizen"}})
    async def post_feedback(body: FeedbackIn, svc: ServicesDep, dispatcher: DispatcherDep) -> PressOut:
        """"Did this help?" for the citizen's answered message: yes thanks the citizen, no offers
        to pass the question on."""
        data = f"fb:{body.message_id}:{'yes' if body.helpful else 'no'}"
        return _press_out(await _press(svc, dispatcher, body, data))

    @app.post("/api/v1/handoff", response_model=PressOut, dependencies=[Depends(require_token)],
              responses={409: {"description": "no hand-off offered to this citizen"}})
    async def post_handoff(body: HandoffIn, svc: ServicesDep, dispatcher: DispatcherDep) -> PressOut:
        """After an unhelpful answer: pass the question to a professional (accept) or not."""
        data = f"ho:{body.message_id}:{'yes' if body.accept else 'no'}"
        return _press_out(await _press(svc, dispatcher, body, data))

    @app.post("/api/v1/buttons", response_model=PressOut, dependencies=[Depends(require_token)],
              responses={409: {"description": "the button no longer counts"}})
    async def post_button(body: ButtonIn, svc: ServicesDep, dispatcher: DispatcherDep) -> PressOut:
        """Any button of a reply (its `data`), pressed by the citizen: counts once, and only
        while its prompt is open."""
        return _press_out(await _press(svc, dispatcher, body, body.data))

    @app.get("/api/v1/conversations/{channel}/{sender}/replies", response_model=list[ReplyOut],
             dependencies=[Depends(require_token)])
    async def get_replies(channel: Channel, sender: str, svc: ServicesDep,
                          after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0) -> list[ReplyOut]:
        """Replies to a citizen after message id `after` (professionals' answers arrive here)."""
        if channel not in API_CHANNELS:
            raise HTTPException(422, "only api, web and cli conversations are read here")

        def load() -> list[ReplyOut]:
            with svc.sessions() as session:
                citizen = citizens.find(session, channel.value, sender)
                if citizen is None:
                    return []
                return [ReplyOut(id=msg.id, text=msg.text, kind=msg.kind,
                                 buttons=[ButtonOut(label=b[0], data=b[1])
                                          for b in (item.payload.get("buttons", []) if item else [])])
                        for msg, item in messages.conversation(session, citizen.id, after,
                                                               outbound_only=True)]

        return await asyncio.to_thread(load)

    @app.get("/healthz")
    async def healthz(svc: ServicesDep) -> JSONResponse:
        """Liveness and the state of the parts: database, model, outbox, channels."""

        def check() -> dict[str, object]:
            with svc.sessions() as session:
                outbox = dict(session.execute(
                    select(m.OutboxItem.status, func.count()).group_by(m.OutboxItem.status)).all())
                model = session.scalars(select(m.ModelRecord.version).where(
                    m.ModelRecord.active.is_(True))).first()
                unstaffed = svc.triage.knowledge.staffing(session).unstaffed(svc.triage.library(session))
            channels = dict(svc.channel_health)
            for channel, reason in stale_channels(svc.heartbeats).items():
                known = channels.get(channel, "ok")
                channels[channel] = reason if known == "ok" else f"{known}; {reason}"
            pollers = {name: beat.report() for name, beat in list(svc.heartbeats.items())}
            return {"status": "ok", "database": "ok", "engine": svc.settings.engine, "model": model,
                    "outbox": outbox, "channels": channels, "pollers": pollers,
                    "unstaffed_roles": unstaffed}

        try:
            body = await asyncio.to_thread(check)
        except Exception as exc:
            log.exception("health check failed")
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        channels: dict[str, str] = body["channels"]  # type: ignore[assignment]
        degraded = any(v != "ok" for v in channels.values())
        if degraded:
            body["status"] = "degraded"
        return JSONResponse(body)

    # The parts' routes come after the intake API's: a request is matched against the routes in
    # order, and the console's many (included routers, matched route by route) cost a message
    # posted to /api/v1/messages about 0.1 ms each when they came first.
    from bot.web import plugins

    settings = services.settings if services else Settings()
    plugins.install(app, settings)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outermost: refuse before anything
    return app
