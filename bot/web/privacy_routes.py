"""Admin pages for one citizen's data: find, export (subject access) and erase (right to erasure).

Its own part (listed in `bot.web.plugins.PARTS`). Admins only, CSRF on the erase form, and every
export and erasure is written to the audit log (what was done, never the data itself). The work is
in `bot.service.privacy`; the CLI has the same (`triage privacy export|erase`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select

from bot.app import Services
from bot.service.privacy import ERASE_ACTION, erase_citizen, export_citizen
from bot.service.queue import audit
from bot.store import models as m
from bot.web.auth import User, require_admin, verify_csrf
from bot.web.deps import ServicesDep
from bot.web.templating import render

router = APIRouter(prefix="/admin/privacy", dependencies=[Depends(require_admin), Depends(verify_csrf)])
Admin = Annotated[User, Depends(require_admin)]
MAX_ID = 2**31 - 1


def find(services: Services, ref: str) -> dict[str, Any] | None:
    """A citizen by id ("17") or channel identity ("telegram:12345"), with what we hold."""
    ref = ref.strip()
    with services.sessions() as s:
        citizen = None
        if ref.isdigit() and int(ref) <= MAX_ID:
            citizen = s.get(m.Citizen, int(ref))
        if citizen is None and ":" in ref:
            channel, _, external = ref.partition(":")
            citizen = s.scalars(
                select(m.Citizen).where(m.Citizen.channel == channel, m.Citizen.external_id == external)
            ).first()
        if citizen is None:
            return None
        messages = s.scalar(
            select(func.count()).select_from(m.Message).where(m.Message.citizen_id == citizen.id)
        )
        questions = s.scalar(
            select(func.count()).select_from(m.Question).where(m.Question.citizen_id == citizen.id)
        )
        return {
            "id": citizen.id,
            "channel": citizen.channel,
            "external_id": citizen.external_id,
            "messages": messages,
            "questions": questions,
            "created_at": citizen.created_at,
        }


@router.get("")
async def privacy_page(
    request: Request, svc: ServicesDep, user: Admin, citizen: str = "", done: str = ""
) -> Response:
    found = await asyncio.to_thread(find, svc, citizen) if citizen else None
    return render(
        request,
        "admin/privacy.html",
        query=citizen,
        found=found,
        done=done,
        missing=bool(citizen) and found is None,
    )


@router.get("/export")
async def export(request: Request, svc: ServicesDep, user: Admin, citizen: int = 0) -> Response:
    if not citizen:  # no one chosen yet: the page to find them
        return render(request, "admin/privacy.html", query="", found=None, done="", missing=False)
    citizen_id = citizen

    def run() -> dict[str, Any]:
        with svc.sessions.begin() as s:
            data = export_citizen(s, citizen_id)
            audit(s, user.username, "privacy.export", f"citizen:{citizen_id}")
            return data

    if not 0 < citizen_id <= MAX_ID:
        raise HTTPException(404, "no such citizen")
    try:
        data = await asyncio.to_thread(run)
    except LookupError as exc:
        raise HTTPException(404, "no such citizen") from exc
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="citizen-{citizen_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/erase")
async def erase(
    request: Request,
    svc: ServicesDep,
    user: Admin,
    citizen: Annotated[int, Form()] = 0,
    confirm: Annotated[str, Form()] = "",
) -> Response:
    citizen_id = citizen
    if confirm != "erase":
        raise HTTPException(400, "type erase to confirm")

    def run() -> dict[str, int] | None:
        with svc.sessions.begin() as s:
            citizen = s.get(m.Citizen, citizen_id) if 0 < citizen_id <= MAX_ID else None
            if citizen is None:
                return None
            counts = erase_citizen(s, citizen)
            audit(s, user.username, ERASE_ACTION, f"citizen:{citizen_id}", counts)
            return counts

    if await asyncio.to_thread(run) is None:
        raise HTTPException(404, "no such citizen")
    return RedirectResponse(f"/admin/privacy?citizen={citizen_id}&done=erased", status_code=303)


async def start(app: FastAPI, services: Services) -> None:
    app.include_router(router)
    return None
