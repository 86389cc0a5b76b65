"""The dashboard (admins): traffic by outcome, answer and feedback rates, reply times, overdue
questions and top intents, as server-rendered SVG; the numbers behind it as CSV."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from bot.app import Services
from bot.service import stats
from bot.service.svg_charts import LABELS, horizontal_bars, stacked_bars
from bot.web import timefmt
from bot.web.admin import Admin, unstaffed
from bot.web.auth import require_admin, verify_csrf
from bot.web.deps import ServicesDep
from bot.web.i18n import msg, translations
from bot.web.templating import page_language_of, render, word

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin), Depends(verify_csrf)])

Days = Annotated[int, Query(ge=1, le=365)]


def _board(svc: Services, days: int) -> stats.Dashboard:
    with svc.sessions() as session:
        board = stats.dashboard(session, days)
        for q in board.overdue:  # detach-safe: load what the template shows
            _ = (q.id, q.role, q.due_at, q.status, q.text)
        return board


def _unstaffed(svc: Services) -> list[str]:
    with svc.sessions() as session:
        return unstaffed(svc, session)


@router.get("")
async def admin_home(user: Admin) -> Response:
    """/admin: the dashboard is where an admin starts."""
    return RedirectResponse("/admin/dashboard", status_code=303)


@router.get("/dashboard")
async def dashboard(request: Request, svc: ServicesDep, user: Admin, days: Days = 30) -> Response:
    board = await asyncio.to_thread(_board, svc, days)
    gaps = await asyncio.to_thread(_unstaffed, svc)
    language = page_language_of(request)
    t = translations(language)
    per_day = stacked_bars(
        [
            (
                timefmt.day(d.day, language),
                {"answer": d.answer, "route": d.route, "emergency": d.emergency},
            )
            for d in board.days
        ],
        msg("Messages per day by outcome, last %(days)s days", days=days).text(t),
        labels={key: word(label, t) for key, label in LABELS.items()},
    )
    top = horizontal_bars([(name, float(n)) for name, n in board.top_intents], msg("Top intents").text(t))
    timing = horizontal_bars(
        [(row.role, round(row.median_hours or 0.0, 1)) for row in board.timings],
        msg("Median working hours to the first reply per role").text(t),
        value_format="{:g} " + msg("h").text(t),
    )
    return render(
        request,
        "admin/dashboard.html",
        board=board,
        days=days,
        per_day=per_day,
        top=top,
        timing=timing,
        unstaffed=gaps,
        spent_budgets=sorted(svc.spent_budgets.values(), key=lambda spent: spent.channel),
    )


@router.get("/dashboard.csv")
async def dashboard_csv(request: Request, svc: ServicesDep, user: Admin, days: Days = 30) -> Response:
    board = await asyncio.to_thread(_board, svc, days)
    return Response(
        stats.to_csv(board),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="dashboard-{days}d.csv"'},
    )
