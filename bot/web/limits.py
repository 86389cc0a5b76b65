"""A limit on request bodies, in the app itself (the proxy's `client_max_body_size` is the first).

Pure ASGI (the console's live updates are server-sent events, which BaseHTTPMiddleware would
buffer). A declared Content-Length over the limit is refused before anything is read; a body sent
without one (chunked) is counted as it arrives and refused when it passes the limit. Either way
the client gets 413 with the limit in the message. No route takes file uploads; two take more
than one message by design and get LARGER (below): Rasa's hand-over carries the conversation
(up to 200 messages), and a Telegram update may quote the message it replies to.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LARGER = {"/api/v1/rasa/": 1024 * 1024, "/telegram/webhook": 1024 * 1024}


def too_large(limit: int) -> str:
    return f"the request body is larger than the limit of {limit:,} bytes (MAX_BODY_BYTES)"


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = next((n for prefix, n in LARGER.items() if path.startswith(prefix)), self.limit)
        await self._limited(scope, receive, send, max(limit, self.limit))

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException: FastAPI's body parsing passes it on, and the app's
                    # handler answers it like any other 413.
                    raise HTTPException(413, too_large(limit))
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except HTTPException as exc:
            if exc.status_code != 413 or started:
                raise
            await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Send, limit: int) -> None:
        body = json.dumps({"detail": too_large(limit)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
