"""Routing pages (admins): the team (professionals), roles and areas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bot.app import Services
from bot.service import routing_admin, sso
from bot.service.routing_admin import RoutingError
from bot.service.users import ONE_TIME_HOURS
from bot.store import models as m
from bot.web.admin import Admin, attempt, go, unstaffed
from bot.web.auth import require_admin, verify_csrf
from bot.web.deps import ServicesDep
from bot.web.i18n import Msg, msg
from bot.web.templating import render

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin), Depends(verify_csrf)])

DONE: dict[str, Msg] = {
    "role": msg("Role saved."),
    "area": msg("Area saved."),
    "user": msg("User saved."),
    "unlinked": msg(
        "The organisation-account link is removed. Signing in with that organisation account no longer "
        "opens this account: they sign in with their local password, and can link an organisation "
        "account again on their Account page."
    ),
}

# Why a link was not removed (bot.service.sso.unlink), fit to show on the Team page.
UNLINK_REFUSALS: dict[str, Msg] = {
    sso.UnlinkOutcome.PASSWORD_OFF: msg(
        "The organisation-account link of %(name)s is not removed: their local password is turned "
        "off, so they could no longer sign in at all. Turn their local password back on first "
        "(Local password: allowed), then remove the link."
    ),
    sso.UnlinkOutcome.NO_PASSWORD: msg(
        "The organisation-account link of %(name)s is not removed: they have no local password they "
        "can use (none was ever set, or a one-time password expired unused), so they could no longer "
        "sign in at all. Give them a new one-time password first, then remove the link."
    ),
    sso.UnlinkOutcome.NOT_LINKED: msg("%(name)s is not linked to an organisation account."),
}


def _team_page(request: Request, svc: Services, status_code: int = 200, **extra: Any) -> Response:
    with svc.sessions() as session:
        pros = routing_admin.professionals(session)
        roles = routing_admin.roles(session)
        areas = routing_admin.areas(session)
        gaps = unstaffed(svc, session)
    waiting = [p for p in pros if p.active and sso.waiting(p.roles, p.is_admin, p.oidc_subject)]
    # Linked users whose link cannot be removed yet: the page says why instead of offering it.
    unlink_blocked = {p.id: str(r) for p in pros if p.oidc_subject and (r := sso.unlink_refusal(p))}
    return render(
        request,
        "admin/team.html",
        status_code=status_code,
        pros=pros,
        waiting=waiting,
        kept_admins=sso.kept_admins(pros),
        roles_from_claim=bool(svc.settings.oidc and svc.settings.oidc_roles_claim),
        sso_on=svc.settings.oidc,
        unlink_blocked=unlink_blocked,
        roles=roles,
        areas=areas,
        unstaffed=gaps,
        **extra,
    )


@router.get("/team")
def team(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return _team_page(request, svc, flash=DONE.get(done), flash_kind="ok")


@router.post("/team")
def add_professional(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    roles: Annotated[list[str], Form()] = [],  # noqa: B006
    areas: Annotated[list[str], Form()] = [],  # noqa: B006
    is_admin: Annotated[bool, Form()] = False,
) -> Response:
    try:
        with svc.sessions.begin() as session:
            pro, password = routing_admin.add_professional(
                session, user.username, username, display_name, roles, areas, is_admin
            )
    except RoutingError as exc:
        return _team_page(request, svc, 400, flash=exc.message, flash_kind="error")
    # The password is shown this once (no redirect: a reload must not show it again).
    return _team_page(request, svc, created=pro.username, password=password, one_time_hours=ONE_TIME_HOURS)


@router.post("/team/{pro_id}")
def update_professional(
    request: Request,
    svc: ServicesDep,
    pro_id: int,
    user: Admin,
    roles: Annotated[list[str], Form()] = [],  # noqa: B006
    areas: Annotated[list[str], Form()] = [],  # noqa: B006
    active: Annotated[bool, Form()] = False,
    is_admin: Annotated[bool, Form()] = False,
    password_login: Annotated[bool | None, Form()] = None,  # only on SSO users' forms
) -> Response:
    def change(session: Session) -> str:
        routing_admin.update_professional(
            session, user.username, pro_id, roles, areas, active, is_admin, password_login
        )
        return "/admin/team?done=user"

    return attempt(svc, change, lambda err: _team_page(request, svc, 400, flash=err, flash_kind="error"))


@router.post("/team/{pro_id}/password")
def reset_password(request: Request, svc: ServicesDep, pro_id: int, user: Admin) -> Response:
    try:
        with svc.sessions.begin() as session:
            pro, password = routing_admin.reset_password(session, user.username, pro_id)
    except RoutingError as exc:
        return _team_page(request, svc, 400, flash=exc.message, flash_kind="error")
    return _team_page(
        request, svc, created=pro.username, password=password, reset=True, one_time_hours=ONE_TIME_HOURS
    )


@router.post("/team/{pro_id}/sso/unlink")
def unlink_sso(request: Request, svc: ServicesDep, pro_id: int, user: Admin) -> Response:
    """Remove a user's organisation-account link (also one's own), never their last way in."""
    with svc.sessions.begin() as session:
        outcome = sso.unlink(session, user.username, pro_id)
        pro = session.get(m.Professional, pro_id)
        name = pro.username if pro is not None else ""
    if outcome is sso.UnlinkOutcome.MISSING:
        raise HTTPException(404, "no such user")
    if outcome is sso.UnlinkOutcome.UNLINKED:
        return go(f"/admin/team?done=unlinked#user-{name}")
    refusal = Msg(UNLINK_REFUSALS[outcome].msgid, {"name": name})
    if outcome is sso.UnlinkOutcome.NOT_LINKED:  # removed meanwhile (another admin, a second click)
        return _team_page(request, svc, flash=refusal, flash_kind="info")
    return _team_page(request, svc, 400, flash=refusal, flash_kind="error")


def _routing_page(request: Request, svc: Services, status_code: int = 200, **extra: Any) -> Response:
    with svc.sessions() as session:
        roles = routing_admin.roles(session)
        areas = routing_admin.areas(session)
        gaps = unstaffed(svc, session)
    return render(
        request,
        "admin/routing.html",
        status_code=status_code,
        roles=roles,
        areas=areas,
        unstaffed=gaps,
        **extra,
    )


@router.get("/routing")
def routing(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return _routing_page(request, svc, flash=DONE.get(done), flash_kind="ok")


@router.post("/roles")
def save_role(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    slug: Annotated[str, Form()],
    name_en: Annotated[str, Form()],
    name_nl: Annotated[str, Form()],
    response_hours: Annotated[float, Form()],
    staffed_hours: Annotated[str, Form()] = "",
    area_bound: Annotated[bool, Form()] = False,
    escalates_to: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
    closed_days: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        routing_admin.save_role(
            session,
            user.username,
            slug,
            name_en,
            name_nl,
            response_hours,
            staffed_hours,
            area_bound,
            escalates_to,
            time_zone,
            closed_days,
        )
        return "/admin/routing?done=role"

    return attempt(svc, change, lambda err: _routing_page(request, svc, 400, flash=err, flash_kind="error"))


@router.post("/areas")
def save_area(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    slug: Annotated[str, Form()],
    name: Annotated[str, Form()],
    postcode_ranges: Annotated[str, Form()] = "",
) -> Response:
    def change(session: Session) -> str:
        routing_admin.save_area(session, user.username, slug, name, postcode_ranges)
        return "/admin/routing?done=area#areas"

    return attempt(svc, change, lambda err: _routing_page(request, svc, 400, flash=err, flash_kind="error"))
