"""The webhook endpoint, for several instances behind a load balancer.

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token on every
request; a request without it (or with another) is rejected and logged. An update is answered
200 only once it is handled and stored; otherwise Telegram delivers it again.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from telegram import Bot, Update

from bot.channels.telegram.updates import UpdateRunner

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_endpoint(
    secret: str, ready: Callable[[], tuple[Bot, UpdateRunner] | None]
) -> Callable[[Request], Awaitable[Response]]:
    async def telegram_webhook(request: Request) -> Response:
        """Telegram's updates (webhook mode)."""
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning(
                "Telegram webhook request rejected: %s secret token from %s",
                "missing" if given is None else "wrong",
                request.client.host if request.client else "?",
            )
            return JSONResponse({"detail": "forbidden"}, status_code=403)
        running = ready()
        if running is None:
            return JSONResponse({"detail": "starting"}, status_code=503)
        bot, runner = running
        try:
            data = await request.json()
            update = Update.de_json(data, bot)
        except Exception:  # noqa: BLE001 - not an update: nothing Telegram could fix by retrying
            log.warning("Telegram webhook: unreadable update", exc_info=True)
            return JSONResponse({"detail": "not an update"}, status_code=400)
        if await runner.handle(update):
            return Response(status_code=200)
        return JSONResponse({"detail": "not handled yet"}, status_code=500)

    return telegram_webhook
