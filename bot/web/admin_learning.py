"""Teaching the library (admins): unrecognised questions, professionals' suggestions, retraining.
Also the professionals' "Suggest as library answer" action on a question they replied to.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot.app import Services
from bot.service import clustering, provenance, retrain, routing_admin
from bot.service import library_admin as lib
from bot.service.library_admin import LibraryError
from bot.service.queue import NotAllowed, QueueError
from bot.service.svg_charts import sparkline, stacked_bars
from bot.web.admin import Admin, attempt, done_message, go
from bot.web.auth import (
    User,
    require_admin,
    require_professional,
    verify_csrf,
    viewer_of,
)
from bot.web.deps import ServicesDep
from bot.web.i18n import Msg, msg, translations
from bot.web.refusals import RefusedHTTP
from bot.web.templating import page_language_of, render, word

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin), Depends(verify_csrf)])
desk_router = APIRouter(dependencies=[Depends(verify_csrf)])

DONE: dict[str, Msg] = {
    "assigned": msg("Added as training examples. Retrain to let the model learn them."),
    "known": msg("These questions were examples of that intent already: nothing changed."),
    "created": msg("Intent created with these examples. Write its answer, then retrain."),
    "rejected": msg("Suggestion rejected."),
}


# -- unrecognised questions -----------------------------------------------------------------------


PERIODS = (7, 30, 90)  # days the page can look back
WHY_COLOURS = {
    "unsure": "#2b6cb0",
    "out_of_scope": "#dd8a1e",
    "default_role": "#6b46c1",
    "no_answer": "#b0245c",
}


def _unrecognised_page(
    request: Request, svc: Services, status_code: int = 200, days: int = 30, **extra: Any
) -> Response:
    days = days if days in PERIODS else 30
    with svc.sessions() as session:
        engine = svc.triage.knowledge.engine(session)
        groups = clustering.groups(session, days, engine=engine)
        per_day = clustering.totals(session, days)
        intents = [s.name for s in lib.intent_summaries(session)]
        roles = routing_admin.roles(session)
    t = translations(page_language_of(request))
    chart = stacked_bars(
        per_day,
        msg("Questions the library did not answer per day, last %(days)s days", days=days).text(t),
        series=[w.value for w in clustering.Why],
        colours=WHY_COLOURS,
        labels={w.value: word(label, t) for w, label in clustering.WHY_LABELS.items()},
    )
    return render(
        request,
        "admin/unrecognised.html",
        status_code=status_code,
        groups=groups,
        chart=chart,
        total=sum(sum(c.values()) for _, c in per_day),
        days=days,
        periods=PERIODS,
        sparkline=sparkline,
        intents=intents,
        roles=roles,
        modes=lib.MODES,
        **extra,
    )


@router.get("/unrecognised")
async def unrecognised(
    request: Request, svc: ServicesDep, user: Admin, done: str = "", days: str = "30"
) -> Response:
    # Clustering is CPU work: keep the event loop free.
    period = int(days) if days.isdigit() else 30
    return await asyncio.to_thread(
        _unrecognised_page, request, svc, days=period, flash=DONE.get(done), flash_kind="ok"
    )


@router.post("/unrecognised/assign")
def assign(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    intent: Annotated[str, Form()],
    message_id: Annotated[list[int], Form()] = [],  # noqa: B006
) -> Response:
    def change(session: Session) -> str:
        added = lib.add_examples_from_messages(session, user.username, intent, message_id)
        return f"/admin/unrecognised?done={'assigned' if added else 'known'}"

    return attempt(
        svc, change, lambda err: _unrecognised_page(request, svc, 400, flash=err, flash_kind="error")
    )


@router.post("/unrecognised/new-intent")
def new_intent(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    name: Annotated[str, Form()],
    mode: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
    message_id: Annotated[list[int], Form()] = [],  # noqa: B006
) -> Response:
    def change(session: Session) -> str:
        intent = lib.create_intent(session, user.username, name, mode, role)
        lib.add_examples_from_messages(session, user.username, intent.name, message_id)
        return f"/admin/intents/{intent.name}?done=intent"

    return attempt(
        svc, change, lambda err: _unrecognised_page(request, svc, 400, flash=err, flash_kind="error")
    )


# -- suggestions from professionals ----------------------------------------------------------------


def _suggestions_page(request: Request, svc: Services, status_code: int = 200, **extra: Any) -> Response:
    with svc.sessions() as session:
        answer_intents = [s.name for s in lib.intent_summaries(session) if s.mode == "answer"]
        rows = [
            (answer, question, lib.intent_choices(session, question, answer_intents))
            for answer, question in lib.suggestions(session)
        ]
    return render(
        request,
        "admin/suggestions.html",
        status_code=status_code,
        rows=rows,
        languages=lib.LANGUAGES,
        **extra,
    )


@router.get("/suggestions")
def suggestions(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return _suggestions_page(request, svc, flash=DONE.get(done), flash_kind="ok")


@router.post("/suggestions/{answer_id}/approve")
def approve_suggestion(
    request: Request,
    svc: ServicesDep,
    answer_id: int,
    user: Admin,
    intent: Annotated[str, Form()],
    language: Annotated[str, Form()],
    text: Annotated[str, Form()],
) -> Response:
    def change(session: Session) -> str:
        draft = lib.draft_from_suggestion(session, user.username, answer_id, intent, language, text)
        return f"/admin/answers/{draft.key}/{draft.language}?done=suggested#diff"

    return attempt(
        svc, change, lambda err: _suggestions_page(request, svc, 400, flash=err, flash_kind="error")
    )


@router.post("/suggestions/{answer_id}/reject")
def reject_suggestion(request: Request, svc: ServicesDep, answer_id: int, user: Admin) -> Response:
    def change(session: Session) -> str:
        lib.reject_suggestion(session, user.username, answer_id)
        return "/admin/suggestions?done=rejected"

    return attempt(
        svc, change, lambda err: _suggestions_page(request, svc, 400, flash=err, flash_kind="error")
    )


@desk_router.post("/questions/{question_id}/suggest")
def suggest(
    request: Request, svc: ServicesDep, question_id: int, user: Annotated[User, Depends(require_professional)]
) -> Response:
    """A professional offers their reply to the library; an admin reviews it."""
    try:
        with svc.sessions.begin() as session:
            lib.suggest_from_reply(session, viewer_of(user), question_id, svc.settings.contacts.configured())
    except NotAllowed as exc:
        raise RefusedHTTP(403, exc) from exc
    except QueueError as exc:
        raise RefusedHTTP(404, exc) from exc
    except LibraryError as exc:
        if "HX-Request" in request.headers:
            return render(request, "admin/_suggest_done.html", status_code=400, error=exc.message)
        raise RefusedHTTP(400, exc) from exc
    if "HX-Request" in request.headers:
        return render(request, "admin/_suggest_done.html")
    return go(f"/questions/{question_id}")


# -- retraining ---------------------------------------------------------------------------------


def _retrain_status(svc: Services) -> dict[str, Any]:
    with svc.sessions() as session:
        return retrain.status(session)


def _privacy_mark(svc: Services) -> dict[str, Any] | None:
    with svc.sessions() as session:
        return provenance.marked(session)


@router.get("/retrain")
def retrain_page(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return render(
        request,
        "admin/retrain.html",
        status=_retrain_status(svc),
        privacy_mark=_privacy_mark(svc),
        tolerance=retrain.TOLERANCE,
        flash=done_message(done),
        flash_kind="ok",
    )


@router.get("/retrain/status")
def retrain_status(request: Request, svc: ServicesDep, user: Admin) -> Response:
    return render(
        request,
        "admin/_retrain_status.html",
        status=_retrain_status(svc),
        tolerance=retrain.TOLERANCE,
    )


@router.post("/retrain")
def start_retrain(request: Request, svc: ServicesDep, user: Admin) -> Response:
    try:
        retrain.start(svc, user.username)
    except retrain.RetrainError as exc:
        return render(
            request,
            "admin/retrain.html",
            status_code=409,
            status=_retrain_status(svc),
            privacy_mark=_privacy_mark(svc),
            tolerance=retrain.TOLERANCE,
            flash=str(exc),
            flash_kind="error",
        )
    return go("/admin/retrain")


@router.post("/retrain/confirm")
def confirm_retrain(request: Request, svc: ServicesDep, user: Admin) -> Response:
    return _decide(request, svc, user, retrain.confirm)


@router.post("/retrain/discard")
def discard_retrain(request: Request, svc: ServicesDep, user: Admin) -> Response:
    return _decide(request, svc, user, retrain.discard)


def _decide(request: Request, svc: Services, user: User, action: Any) -> Response:
    try:
        action(svc, user.username)
    except retrain.RetrainError as exc:
        return render(
            request,
            "admin/retrain.html",
            status_code=409,
            status=_retrain_status(svc),
            privacy_mark=_privacy_mark(svc),
            tolerance=retrain.TOLERANCE,
            flash=str(exc),
            flash_kind="error",
        )
    return go("/admin/retrain")
