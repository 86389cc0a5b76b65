"""The admin page for replies in doubt (`bot.service.deliveries`): list, send again, confirm."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bot.app import Services
from bot.service import deliveries
from bot.service.outbox import Dispatcher
from bot.web.admin import Admin
from bot.web.auth import require_admin, verify_csrf
from bot.web.deps import DispatcherDep, ServicesDep
from bot.web.i18n import Msg, msg
from bot.web.templating import render

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin), Depends(verify_csrf)])

ItemId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DONE: dict[str, Msg] = {"resent": msg("Queued to be sent again."), "confirmed": msg("Recorded as delivered.")}


def _page(
    request: Request, svc: Services, status_code: int = 200, flash: str | Msg = "", kind: str = "ok"
) -> Response:
    with svc.sessions() as session:
        items, total = deliveries.in_doubt(session)
    return render(
        request,
        "admin/deliveries.html",
        status_code=status_code,
        items=items,
        total=total,
        flash=flash,
        flash_kind=kind,
    )


@router.get("/deliveries")
async def deliveries_page(request: Request, svc: ServicesDep, user: Admin, done: str = "") -> Response:
    return await asyncio.to_thread(_page, request, svc, 200, DONE.get(done, ""))


async def _settle(
    request: Request,
    svc: Services,
    dispatcher: Dispatcher,
    change: Callable[[Session], None],
    done: str,
) -> Response:

    def run() -> Response:
        try:
            with svc.sessions.begin() as session:
                change(session)
        except deliveries.DeliveryError as exc:
            return _page(request, svc, 409, str(exc), "error")
        return RedirectResponse(f"/admin/deliveries?done={done}", status_code=303)

    response = await asyncio.to_thread(run)
    dispatcher.wakeup.set()  # a reply queued again goes now, not at the next poll
    return response


@router.post("/deliveries/{item_id}/resend")
async def resend(
    request: Request, svc: ServicesDep, dispatcher: DispatcherDep, item_id: ItemId, user: Admin
) -> Response:
    return await _settle(
        request, svc, dispatcher, lambda s: deliveries.resend(s, user.username, item_id), "resent"
    )


@router.post("/deliveries/{item_id}/confirm")
async def confirm(
    request: Request, svc: ServicesDep, dispatcher: DispatcherDep, item_id: ItemId, user: Admin
) -> Response:
    return await _settle(
        request,
        svc,
        dispatcher,
        lambda s: deliveries.confirm_delivered(s, user.username, item_id),
        "confirmed",
    )
