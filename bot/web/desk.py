"""The professionals' desk: my queue, one question, and the actions on it, with live updates.

Views only validate and call `bot.service.queue` / `bot.service.professional`; every permission
check happens there (`NotAllowed` becomes 403 here). Action forms post with htmx and the response
is the whole question page, of which htmx swaps `#question-main` (without JS the page just loads).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from bot.app import Services
from bot.core.types import Language, Mode
from bot.service import professional, queue, reply_window
from bot.service.queue import NotAllowed, QueueError, Viewer
from bot.service.reply_window import WindowState
from bot.store import models as m
from bot.web.auth import User, current_user, verify_csrf, viewer_of
from bot.web.deps import BroadcasterDep, DispatcherDep, ServicesDep
from bot.web.refusals import RefusedHTTP
from bot.web.templating import render

router = APIRouter(dependencies=[Depends(verify_csrf)])

Staff = Annotated[User, Depends(current_user)]

VIEWS = {"active": ("open", "claimed"), "answered": ("answered",), "closed": ("closed",)}
STREAM_SECONDS = 30.0  # an SSE stream ends and the browser reconnects: shutdown never waits long


@dataclass(frozen=True)
class Detail:
    question: m.Question
    citizen: m.Citizen
    thread: list[m.Message | queue.Hidden]
    notes: list[m.Note]
    decision: m.DecisionRecord | None
    role_name: str
    role_name_nl: str  # the console shows the role in the page's language
    roles: list[m.Role]
    areas: list[m.Area]
    templates: list[tuple[str, str]]  # (intent, answer text) to start a reply from
    window: WindowState | None = None  # WhatsApp: until when a free-form reply can go out

    @property
    def role_names(self) -> dict[str, str]:
        return {r.slug: queue.signature_name(r.name_en) for r in self.roles}

    @property
    def role_names_nl(self) -> dict[str, str]:
        return {r.slug: queue.signature_name(r.name_nl or r.name_en) for r in self.roles}

    @property
    def may_act(self) -> bool:
        return self.question.status != "closed"


def _taken_from(services: Services, viewer: Viewer) -> list[queue.TakenFrom]:
    with services.sessions() as session:
        return queue.taken_from(session, viewer.username)


def _list(services: Services, viewer: Viewer, view: str) -> list[dict[str, Any]]:
    with services.sessions() as session:
        library = services.triage.library(session)
        rows = queue.list_questions(session, viewer, VIEWS[view])
        return [
            {
                "q": q,
                "role_name": queue.signature_name(library.role(q.role).name(Language.EN)),
                "role_name_nl": queue.signature_name(library.role(q.role).name(Language.NL)),
            }
            for q in rows
        ]


def _detail(services: Services, viewer: Viewer, question_id: int) -> Detail:
    with services.sessions() as session:
        question = queue.get_question(session, viewer, question_id)
        citizen = session.get(m.Citizen, question.citizen_id)
        assert citizen is not None
        decision = None
        if question.message_id is not None:
            decision = session.scalars(
                select(m.DecisionRecord).where(m.DecisionRecord.message_id == question.message_id)
            ).first()
        library = services.triage.library(session)
        language = Language(question.language)
        answers = sorted(
            (name, library.answer(name, language) or "")
            for name, spec in library.intents.items()
            if spec.mode is Mode.ANSWER
        )
        detail = Detail(
            question=question,
            citizen=citizen,
            thread=queue.thread(session, viewer, question),
            notes=list(question.notes),
            decision=decision,
            role_name=queue.signature_name(library.role(question.role).name(Language.EN)),
            role_name_nl=queue.signature_name(library.role(question.role).name(Language.NL)),
            roles=list(session.scalars(select(m.Role).order_by(m.Role.slug))),
            areas=list(session.scalars(select(m.Area).order_by(m.Area.slug))),
            templates=[(name, text) for name, text in answers if text],
            window=reply_window.state_of(services.reply_windows, citizen, question.language),
        )
        session.expunge_all()
        return detail


async def _question_page(
    request: Request, svc: Services, user: User, question_id: int, status_code: int = 200, **ctx: Any
) -> Response:
    try:
        detail = await asyncio.to_thread(_detail, svc, viewer_of(user), question_id)
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    except QueueError as exc:
        raise RefusedHTTP(404, exc) from exc
    return render(
        request,
        "question.html",
        status_code=status_code,
        d=detail,
        close_reasons=queue.CLOSE_REASONS,
        **ctx,
    )


def _go(request: Request, url: str) -> Response:
    """Redirect after an action: htmx follows HX-Redirect, a plain form a 303."""
    if "HX-Request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


async def _act(svc: Services, event: str, question_id: int, fn, *args: Any) -> Any:  # type: ignore[no-untyped-def]
    """Run a queue action in one transaction; publish the event; 403/404 for refusals."""

    def run() -> Any:
        with svc.sessions.begin() as session:
            return fn(session, *args)

    try:
        result = await asyncio.to_thread(run)
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    svc.triage.publish(event, question_id)
    return result


# -- pages ----------------------------------------------------------------------------------------


@router.get("/queue")
async def queue_page(
    request: Request, svc: ServicesDep, user: Staff, view: str = "active", done: str = ""
) -> Response:
    view = view if view in VIEWS else "active"
    items = await asyncio.to_thread(_list, svc, viewer_of(user), view)
    taken = await asyncio.to_thread(_taken_from, svc, viewer_of(user))
    return render(request, "queue.html", items=items, view=view, done=done, taken=taken)


@router.get("/queue/list")
async def queue_list(request: Request, svc: ServicesDep, user: Staff, view: str = "active") -> Response:
    view = view if view in VIEWS else "active"
    items = await asyncio.to_thread(_list, svc, viewer_of(user), view)
    return render(request, "_queue_list.html", items=items, view=view)


@router.get("/questions/{question_id}")
async def question_page(request: Request, svc: ServicesDep, question_id: int, user: Staff) -> Response:
    return await _question_page(request, svc, user, question_id)


@router.get("/questions/{question_id}/live")
async def question_live(request: Request, svc: ServicesDep, question_id: int, user: Staff) -> Response:
    """The part of the question page that changes under the viewer (status, thread, notes)."""
    try:
        detail = await asyncio.to_thread(_detail, svc, viewer_of(user), question_id)
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    except QueueError as exc:
        raise RefusedHTTP(404, exc) from exc
    return render(request, "_question_live.html", d=detail)


@router.get("/events")
async def events(broadcaster: BroadcasterDep, user: Staff) -> StreamingResponse:
    async def stream():  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        end = loop.time() + STREAM_SECONDS
        async for chunk in broadcaster.stream(until=end):
            yield chunk

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# -- actions --------------------------------------------------------------------------------------


@router.post("/questions/{question_id}/claim")
async def claim(request: Request, svc: ServicesDep, question_id: int, user: Staff) -> Response:
    viewer = viewer_of(user)
    try:
        outcome = await _act(svc, "question.claimed", question_id, queue.claim, viewer, question_id)
    except QueueError as exc:
        raise RefusedHTTP(404, exc) from exc
    if outcome.won:
        return await _question_page(request, svc, user, question_id, notice="claimed")
    return await _question_page(
        request, svc, user, question_id, status_code=409, notice="taken", holder=outcome.holder
    )


@router.post("/questions/{question_id}/reply")
async def reply(
    request: Request,
    svc: ServicesDep,
    dispatcher: DispatcherDep,
    question_id: int,
    user: Staff,
    text: Annotated[str, Form()] = "",
) -> Response:
    viewer = viewer_of(user)
    try:
        await asyncio.to_thread(professional.answer, svc, viewer, question_id, text)
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    except QueueError as exc:
        return await _question_page(
            request, svc, user, question_id, status_code=409, error=exc.message, draft=text
        )
    svc.triage.publish("question.answered", question_id)
    dispatcher.wakeup.set()
    return await _question_page(request, svc, user, question_id, notice="replied")


@router.post("/questions/{question_id}/preview")
async def preview(
    request: Request, svc: ServicesDep, question_id: int, user: Staff, text: Annotated[str, Form()] = ""
) -> Response:
    """The reply box's preview: the text as the citizen would read it, or why it cannot be sent."""

    def run() -> str:
        with svc.sessions() as session:
            return professional.preview(session, svc, viewer_of(user), question_id, text)

    try:
        filled, error = await asyncio.to_thread(run), None
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    except QueueError as exc:
        filled, error = None, None if not text.strip() else exc.message
    return render(request, "_reply_preview.html", filled=filled, error=error)


@router.post("/questions/{question_id}/reassign")
async def reassign(
    request: Request,
    svc: ServicesDep,
    question_id: int,
    user: Staff,
    role: Annotated[str, Form()] = "",
    area: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    viewer = viewer_of(user)
    try:
        await _act(
            svc,
            "question.reassigned",
            question_id,
            queue.reassign,
            viewer,
            question_id,
            role,
            area or None,
            note,
        )
    except QueueError as exc:
        return await _question_page(request, svc, user, question_id, status_code=400, error=exc.message)
    return _go(request, "/queue?done=reassigned")


@router.post("/questions/{question_id}/takeover")
async def take_over(
    request: Request, svc: ServicesDep, question_id: int, user: Staff, reason: Annotated[str, Form()] = ""
) -> Response:
    """An admin takes a colleague's claimed question over: logged, noted, the claimant told."""
    viewer = viewer_of(user)
    try:
        await _act(svc, "question.taken_over", question_id, queue.take_over, viewer, question_id, reason)
    except QueueError as exc:
        return await _question_page(request, svc, user, question_id, status_code=409, error=exc.message)
    return await _question_page(request, svc, user, question_id, notice="taken_over")


@router.post("/questions/{question_id}/note")
async def note(
    request: Request, svc: ServicesDep, question_id: int, user: Staff, text: Annotated[str, Form()] = ""
) -> Response:
    viewer = viewer_of(user)
    try:
        await _act(svc, "question.noted", question_id, queue.add_note, viewer, question_id, text)
    except QueueError as exc:
        return await _question_page(request, svc, user, question_id, status_code=400, error=exc.message)
    return await _question_page(request, svc, user, question_id, notice="noted")


@router.post("/questions/{question_id}/close")
async def close(
    request: Request, svc: ServicesDep, question_id: int, user: Staff, reason: Annotated[str, Form()] = ""
) -> Response:
    viewer = viewer_of(user)
    try:
        await _act(svc, "question.closed", question_id, queue.close, viewer, question_id, reason)
    except QueueError as exc:
        return await _question_page(request, svc, user, question_id, status_code=400, error=exc.message)
    return _go(request, "/queue?done=closed")
