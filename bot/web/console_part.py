"""The console part: accounts, the professionals' desk, the citizen web chat, static files and
the security middleware (installed with the app), and the live-update broadcaster (started in the
lifespan; on PostgreSQL with the relay that carries other instances' events, bot.web.fleet_events).
Listed in `bot.web.plugins.PARTS`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from bot.app import Services
from bot.config import Settings
from bot.web import account, chat, desk, sso
from bot.web.events import Broadcaster
from bot.web.fleet_events import PgEventRelay
from bot.web.i18n import Msg, msg
from bot.web.plugins import Stop
from bot.web.refusals import RefusedHTTP
from bot.web.security import AnonCookie, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"

HEADINGS: dict[int, Msg] = {
    403: msg("Not yours to see"),
    404: msg("Not found"),
    405: msg("Not allowed here"),
    409: msg("Someone was faster"),
    429: msg("Slow down a little"),
}

# The console's own refusals, translated on the error page (other details show as they are).
DETAILS: dict[str, Msg] = {
    "admins only": msg("This page is for admins only."),
    "no such citizen": msg("There is no such citizen (any more)."),
    "no such answer": msg("There is no such answer."),
    "missing or wrong CSRF token; reload the page and try again": msg(
        "This form has expired. Reload the page and try again."
    ),
    "Not Found": msg("There is no page at this address."),
    "Method Not Allowed": msg("This address cannot be used this way."),
}


def wants_page(request: Request) -> bool:
    """A browser navigating the console (not the API, not an htmx swap, not a script)."""
    return (
        "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith("/api/")
        and "hx-request" not in request.headers
    )


async def error_page(request: Request, exc: Exception) -> Response:
    """A readable page for an officer who followed an old link or lost access; JSON otherwise."""
    assert isinstance(exc, StarletteHTTPException)
    if not wants_page(request) or exc.status_code < 400 or exc.status_code >= 500:
        return await http_exception_handler(request, exc)
    from bot.web.templating import render

    detail = exc.detail if isinstance(exc.detail, str) else None
    message: Msg | str = (
        exc.message
        if isinstance(exc, RefusedHTTP)
        else DETAILS.get(detail or "") or detail or msg("This request could not be served.")
    )
    return render(
        request,
        "error.html",
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
        status=exc.status_code,
        heading=HEADINGS.get(exc.status_code) or msg("Something is off"),
        message=message,
    )


async def favicon() -> Response:
    """Browsers ask for /favicon.ico before they read the page's icon link."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


def install(app: FastAPI, settings: Settings) -> None:
    app.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    app.include_router(chat.router)  # first: a citizen's message is matched before the console's routes
    app.include_router(account.router)
    app.include_router(desk.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_exception_handler(StarletteHTTPException, error_page)
    # Pure ASGI middleware (SSE-safe); the last added runs first.
    app.add_middleware(AnonCookie, environment=settings.environment)
    app.add_middleware(
        SecurityHeaders,
        hsts=settings.environment == "production",
        form_origins=sso.form_origins(settings),  # logout continues at the SSO provider
    )


async def start(app: FastAPI, services: Services) -> Stop:
    broadcaster = Broadcaster()
    broadcaster.attach(services)
    app.state.broadcaster = broadcaster
    relay = None
    if not services.settings.db_url.startswith("sqlite"):  # other instances may share the database
        relay = PgEventRelay(services.settings.db_url, broadcaster.listener, broadcaster.restart_streams)
        relay.start()
        services.triage.fleet = relay
    app.state.event_relay = relay

    async def stop() -> None:
        broadcaster.detach(services)
        if relay is not None:
            if services.triage.fleet is relay:
                services.triage.fleet = None
            await relay.stop()
        await broadcaster.close()

    return stop
