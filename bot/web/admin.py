"""The library pages (admins): intents, answers with versions and diff, training examples.

Views only validate and call `bot.service.library_admin`, which audits every change. A refused
change re-renders the page with the reason (status 400); a done change redirects (POST-redirect-GET)
with a `done` code the page turns into a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.app import Services
from bot.core.types import Language
from bot.service import answer_checks, routing_admin
from bot.service import library_admin as lib
from bot.service.library_admin import LibraryError
from bot.service.queue import signature_name
from bot.store import models as m
from bot.store import team
from bot.web.auth import User, require_admin, verify_csrf
from bot.web.deps import ServicesDep
from bot.web.i18n import Msg, msg
from bot.web.refusals import RefusedHTTP
from bot.web.templating import render

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin), Depends(verify_csrf)])

Admin = Annotated[User, Depends(require_admin)]

DONE: dict[str, Msg] = {
    "intent": msg("Intent saved."),
    "example": msg("Example added. Retrain to let the model learn it."),
    "example_exists": msg("That example was already there: nothing changed."),
    "removed": msg("Example removed. Retrain to let the model forget it."),
    "moved": msg("Example moved. Retrain to let the model learn it."),
    "draft": msg("Draft saved. Citizens get it once it is approved."),
    "approved": msg("Approved: citizens get this version from now on."),
    "discarded": msg("Draft discarded."),
    "restored": msg("The earlier version is now a draft: check the difference, then approve it."),
    "suggested": msg(
        "The professional's reply is now a draft of this answer: check the difference "
        "against what citizens get, then approve it."
    ),
    "required": msg("Saved: a draft without this line is flagged and needs an override to approve."),
    "unrequired": msg("The line is no longer required."),
    "in_step": msg("Marked as in step with the other language."),
}


def done_message(code: str) -> Msg | None:
    return DONE.get(code)


def go(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def changed(svc: Services) -> None:
    """This process reloads the library and the team at once (others within seconds)."""
    svc.triage.invalidate_library()
    svc.triage.knowledge.invalidate_staffing()


def unstaffed(svc: Services, session: Session) -> list[str]:
    """Roles nobody holds (and areas of area-bound roles nobody covers), as an admin reads them:
    their questions go up the escalation path, and an emergency may wait for the admins."""
    library = svc.triage.library(session)
    names = {a.slug: a.name for a in library.areas}
    gaps = []
    for gap in team.staffing(session).unstaffed(library):
        role, _, area = gap.partition(":")
        name = signature_name(library.role(role).name(Language.EN))  # "Fire prevention officer"
        gaps.append(f"{name} in {names.get(area, area)}" if area else name)
    return gaps


def attempt(svc: Services, change: Callable[[Session], str], on_error: Callable[[Msg], Response]) -> Response:
    """Run `change` in one transaction; its result is where to go. A refusal re-renders."""
    try:
        with svc.sessions.begin() as session:
            url = change(session)
    except (LibraryError, routing_admin.RoutingError, answer_checks.RequiredLineError) as exc:
        return on_error(exc.message)
    changed(svc)
    return go(url)


# -- intents ------------------------------------------------------------------------------------


def _library_page(request: Request, svc: Services, status_code: int = 200, **extra: Any) -> Response:
    with svc.sessions() as session:
        intents = lib.intent_summaries(session)
        roles = routing_admin.roles(session)
    return render(
        request,
        "admin/library.html",
        status_code=status_code,
        intents=intents,
        roles=roles,
        modes=lib.MODES,
        **extra,
    )


@router.get("/library")
def library(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return _library_page(request, svc, flash=done_message(done), flash_kind="ok")


@router.post("/intents")
def create_intent(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    name: Annotated[str, Form()],
    mode: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        intent = lib.create_intent(session, user.username, name, mode, role)
        return f"/admin/intents/{intent.name}?done=intent"

    return attempt(svc, change, lambda err: _library_page(request, svc, 400, flash=err, flash_kind="error"))


def _intent_page(
    request: Request, svc: Services, name: str, status_code: int = 200, **extra: Any
) -> Response:
    with svc.sessions() as session:
        try:
            intent = lib.get_intent(session, name)
        except LibraryError as exc:
            raise RefusedHTTP(404, exc) from exc
        summary = next(s for s in lib.intent_summaries(session) if s.name == name)
        key = lib.answer_key(name)
        answers = {
            language: {
                "approved": lib.current_approved(session, key, language),
                "drafts": [v for v in lib.versions(session, key, language) if v.status == "draft"],
                "out_of_step": answer_checks.out_of_step(session, key, language),
            }
            for language in lib.LANGUAGES
        }
        examples = lib.examples(session, name)
        all_intents = [s.name for s in lib.intent_summaries(session)]
        roles = routing_admin.roles(session)
    return render(
        request,
        "admin/intent.html",
        status_code=status_code,
        intent=intent,
        summary=summary,
        answers=answers,
        examples=examples,
        intents=all_intents,
        roles=roles,
        modes=lib.MODES,
        key=key,
        **extra,
    )


@router.get("/intents/{name}")
def intent_page(request: Request, svc: ServicesDep, name: str, user: Admin, done: str = "") -> Response:
    return _intent_page(request, svc, name, flash=done_message(done), flash_kind="ok")


@router.post("/intents/{name}")
def update_intent(
    request: Request,
    svc: ServicesDep,
    name: str,
    user: Admin,
    mode: Annotated[str, Form()],
    role: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        lib.update_intent(session, user.username, name, mode, role)
        return f"/admin/intents/{name}?done=intent"

    return attempt(
        svc, change, lambda err: _intent_page(request, svc, name, 400, flash=err, flash_kind="error")
    )


@router.post("/intents/{name}/examples")
def add_example(
    request: Request,
    svc: ServicesDep,
    name: str,
    user: Admin,
    text: Annotated[str, Form()],
    language: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        _, created = lib.add_example_once(session, user.username, name, text, language or None)
        return f"/admin/intents/{name}?done={'example' if created else 'example_exists'}#examples"

    return attempt(
        svc, change, lambda err: _intent_page(request, svc, name, 400, flash=err, flash_kind="error")
    )


@router.post("/examples/{example_id}/remove")
def remove_example(
    request: Request, svc: ServicesDep, example_id: int, user: Admin, back: Annotated[str, Form()] = ""
) -> Response:
    def change(session: Session) -> str:
        lib.remove_example(session, user.username, example_id)
        return f"/admin/intents/{back}?done=removed#examples" if back else "/admin/library"

    return attempt(svc, change, lambda err: _library_page(request, svc, 400, flash=err, flash_kind="error"))


@router.post("/examples/{example_id}/move")
def move_example(
    request: Request,
    svc: ServicesDep,
    example_id: int,
    user: Admin,
    to_intent: Annotated[str, Form()],
    back: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        lib.move_example(session, user.username, example_id, to_intent)
        return f"/admin/intents/{back or to_intent}?done=moved#examples"

    return attempt(svc, change, lambda err: _library_page(request, svc, 400, flash=err, flash_kind="error"))


# -- answers ------------------------------------------------------------------------------------


def _answer_page(
    request: Request,
    svc: Services,
    key: str,
    language: str,
    status_code: int = 200,
    compare: int | None = None,
    draft_text: str | None = None,
    **extra: Any,
) -> Response:
    if language not in lib.LANGUAGES or not key.startswith("utter_"):
        raise HTTPException(404, "no such answer")
    with svc.sessions() as session:
        versions = lib.versions(session, key, language)
        approved = lib.current_approved(session, key, language)
        intent = session.get(m.Intent, key.removeprefix("utter_"))
        if not lib.answer_exists(session, key):
            raise HTTPException(404, f"there is no answer or text called {key}")
        required = answer_checks.required_lines(session, key, language)
        missing = {
            v.id: answer_checks.missing_required(session, v, approved)
            for v in versions
            if v.status == lib.AnswerStatus.DRAFT
        }
        out_of_step = answer_checks.out_of_step(session, key, language)
    # The difference shown: a chosen version against the one before it; by default the newest
    # version against the approved one citizens get now.
    shown, base = None, None
    if versions:
        by_version = {v.version: v for v in versions}
        shown = by_version.get(compare) if compare else versions[0]
        if shown is not None:
            older = [v for v in versions if v.version < shown.version]
            if compare:
                base = older[0] if older else None
            else:
                base = (
                    approved
                    if approved is not None and approved.id != shown.id
                    else (older[0] if older else None)
                )
    diff = lib.diff(base.text, shown.text) if shown is not None and base is not None else []
    text = draft_text if draft_text is not None else (versions[0].text if versions else "")
    required_texts = {r.text for r in required}
    lines = [ln.strip() for ln in (approved.text if approved else "").splitlines()]
    requirable = [ln for ln in lines if ln and ln not in required_texts]
    return render(
        request,
        "admin/answer.html",
        status_code=status_code,
        key=key,
        language=language,
        versions=versions,
        approved=approved,
        intent=intent,
        shown=shown,
        base=base,
        diff=diff,
        text=text,
        required=required,
        requirable=requirable,
        missing=missing,
        out_of_step=out_of_step,
        other_language=answer_checks.OTHER[language],
        **extra,
    )


@router.get("/answers/{key}/{language}")
def answer_page(
    request: Request,
    svc: ServicesDep,
    key: str,
    language: str,
    user: Admin,
    done: str = "",
    compare: int | None = None,
) -> Response:
    return _answer_page(
        request, svc, key, language, compare=compare, flash=done_message(done), flash_kind="ok"
    )


@router.post("/answers/{key}/{language}")
def save_draft(
    request: Request, svc: ServicesDep, key: str, language: str, user: Admin, text: Annotated[str, Form()]
) -> Response:
    def change(session: Session) -> str:
        lib.save_draft(session, user.username, key, language, text)
        return f"/admin/answers/{key}/{language}?done=draft"

    return attempt(
        svc,
        change,
        lambda err: _answer_page(
            request, svc, key, language, 400, draft_text=text, flash=err, flash_kind="error"
        ),
    )


def _version_page(request: Request, svc: Services, answer_id: int, err: Msg) -> Response:
    """A refused change to a version: its answer page with the reason."""
    with svc.sessions() as session:
        answer = session.get(m.Answer, answer_id)
        where = (answer.key, answer.language) if answer is not None else None
    if where is None:
        return _library_page(request, svc, 400, flash=err, flash_kind="error")
    return _answer_page(request, svc, *where, status_code=400, flash=err, flash_kind="error")


@router.post("/answer-versions/{answer_id}/approve")
def approve(
    request: Request,
    svc: ServicesDep,
    answer_id: int,
    user: Admin,
    override: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        answer = lib.approve(session, user.username, answer_id, override=override == "yes")
        return f"/admin/answers/{answer.key}/{answer.language}?done=approved"

    return attempt(svc, change, lambda err: _version_page(request, svc, answer_id, err))


@router.post("/answer-versions/{answer_id}/restore")
def restore(request: Request, svc: ServicesDep, answer_id: int, user: Admin) -> Response:
    def change(session: Session) -> str:
        draft = lib.restore(session, user.username, answer_id)
        return f"/admin/answers/{draft.key}/{draft.language}?done=restored#diff"

    return attempt(svc, change, lambda err: _version_page(request, svc, answer_id, err))


@router.post("/answers/{key}/{language}/required")
def require_line(
    request: Request,
    svc: ServicesDep,
    key: str,
    language: str,
    user: Admin,
    text: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        if language not in lib.LANGUAGES or not lib.answer_exists(session, key):
            raise LibraryError(msg("There is no answer or text called %(key)s.", key=key))
        answer_checks.add_required_line(session, user.username, key, language, text)
        return f"/admin/answers/{key}/{language}?done=required#required"

    return attempt(
        svc,
        change,
        lambda err: _answer_page(request, svc, key, language, 400, flash=err, flash_kind="error"),
    )


@router.post("/required-lines/{line_id}/remove")
def unrequire_line(request: Request, svc: ServicesDep, line_id: int, user: Admin) -> Response:
    def change(session: Session) -> str:
        row = answer_checks.remove_required_line(session, user.username, line_id)
        return f"/admin/answers/{row.key}/{row.language}?done=unrequired#required"

    return attempt(svc, change, lambda err: _library_page(request, svc, 400, flash=err, flash_kind="error"))


@router.post("/answers/{key}/{language}/in-step")
def in_step(request: Request, svc: ServicesDep, key: str, language: str, user: Admin) -> Response:
    def change(session: Session) -> str:
        if language not in lib.LANGUAGES:
            raise LibraryError(
                msg("Language must be one of %(languages)s.", languages=", ".join(lib.LANGUAGES))
            )
        answer_checks.mark_in_step(session, user.username, key, language)
        return f"/admin/answers/{key}/{language}?done=in_step"

    return attempt(
        svc,
        change,
        lambda err: _answer_page(request, svc, key, language, 400, flash=err, flash_kind="error"),
    )


@router.post("/answer-versions/{answer_id}/discard")
def discard(request: Request, svc: ServicesDep, answer_id: int, user: Admin) -> Response:
    def change(session: Session) -> str:
        answer = lib.discard(session, user.username, answer_id)
        return f"/admin/answers/{answer.key}/{answer.language}?done=discarded"

    return attempt(svc, change, lambda err: _version_page(request, svc, answer_id, err))
