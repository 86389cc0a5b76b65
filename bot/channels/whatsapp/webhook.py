"""The webhook: Meta's GET handshake, and signed POSTs acknowledged at once.

GET: Meta sends hub.mode=subscribe, hub.verify_token (ours, WHATSAPP_VERIFY_TOKEN) and
hub.challenge; we answer the challenge, or 403. POST: X-Hub-Signature-256 is "sha256=" and the
HMAC-SHA256 of the raw body with the app secret; compared in constant time, 403 otherwise. A signed
post is answered 200 once its messages are stored (`Inbox.accept`), and processed after that:
Meta retries any other answer, so an unreadable post is also 200 (retrying cannot fix it).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.channels.whatsapp import events
from bot.channels.whatsapp.inbox import Inbox
from bot.channels.whatsapp.settings import WhatsAppSettings

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(signature(secret, body).encode(), given.encode())


def verify_endpoint(settings: WhatsAppSettings) -> Callable[[Request], Awaitable[Response]]:
    async def whatsapp_verify(request: Request) -> Response:
        """Meta's subscription handshake."""
        params = request.query_params
        token = params.get("hub.verify_token") or ""
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), settings.verify_token.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge") or "")
        log.warning("WhatsApp webhook handshake refused (wrong verify token or mode)")
        return JSONResponse({"detail": "forbidden"}, status_code=403)

    return whatsapp_verify


def receive_endpoint(
    settings: WhatsAppSettings, ready: Callable[[], Inbox | None]
) -> Callable[[Request], Awaitable[Response]]:
    async def whatsapp_webhook(request: Request) -> Response:
        """Messages and statuses from WhatsApp."""
        body = await request.body()
        if not signed(settings.app_secret, body, request.headers.get(SIGNATURE_HEADER)):
            log.warning(
                "WhatsApp webhook post rejected: %s signature from %s",
                "missing" if SIGNATURE_HEADER.lower() not in request.headers else "wrong",
                request.client.host if request.client else "?",
            )
            return JSONResponse({"detail": "forbidden"}, status_code=403)
        inbox = ready()
        if inbox is None:
            return JSONResponse({"detail": "starting"}, status_code=503)
        try:
            found = events.read(json.loads(body), settings.phone_number_id)
        except (ValueError, TypeError, AttributeError):
            log.warning("WhatsApp webhook: unreadable post", exc_info=True)
            return Response(status_code=200)
        if found:
            accepted = await asyncio.to_thread(inbox.accept, found)  # committed before the 200
            inbox.spawn(accepted)
        return Response(status_code=200)

    return whatsapp_webhook
