"""The app refuses a request body over MAX_BODY_BYTES with 413, declared or streamed."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.store import models as m
from bot.web.api import create_app
from bot.web.limits import BodyLimit

MIB = 1024 * 1024
inner = FastAPI()


@inner.post("/echo")
async def echo(request: Request) -> dict[str, int]:
    return {"size": len(await request.body())}


def _messages(services) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return int(
            s.scalar(select(func.count()).select_from(m.Message).where(m.Message.direction == "in")) or 0
        )


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(sqlite_services):  # type: ignore[no-untyped-def]
    before = _messages(sqlite_services)
    body = json.dumps({"sender": "c1", "text": "x" * (70 * 1024)})
    with TestClient(create_app(sqlite_services)) as client:
        refused = client.post("/api/v1/messages", content=body, headers={"Content-Type": "application/json"})
        assert refused.status_code == 413
        assert "larger than the limit of 65,536 bytes" in refused.json()["detail"]

        def huge():  # no Content-Length (chunked): counted as it arrives
            yield b'{"sender": "c1", "text": "'
            for _ in range(2):
                yield b"x" * MIB

        streamed = client.post(
            "/api/v1/messages", content=huge(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413 and "MAX_BODY_BYTES" in streamed.text
        form = client.post("/login", data={"username": "a", "password": "p" * (70 * 1024)})
        assert form.status_code == 413
        fine = client.post("/api/v1/messages", json={"sender": "c1", "text": "my smoke alarm keeps beeping"})
        assert fine.status_code == 200
        handover = client.post(
            "/api/v1/rasa/route",
            content=b"{" + b" " * (200 * 1024) + b"}",
            headers={"Content-Type": "application/json"},
        )
        assert handover.status_code != 413  # Rasa's hand-over carries the conversation: 1 MiB there
    assert _messages(sqlite_services) == before + 1  # the refused ones never reached the store


def test_the_limit_is_a_setting_and_the_middleware_is_pure_asgi(sqlite_services):  # type: ignore[no-untyped-def]
    from starlette.middleware.base import BaseHTTPMiddleware

    assert not issubclass(BodyLimit, BaseHTTPMiddleware)  # it would buffer the console's live updates
    sqlite_services.settings.max_body_bytes = 2048
    with TestClient(create_app(sqlite_services)) as client:
        r = client.post("/api/v1/messages", json={"sender": "c1", "text": "y" * 3000})
    assert r.status_code == 413 and "2,048 bytes" in r.json()["detail"]


def test_a_streamed_body_is_cut_off_at_the_limit_not_read_to_the_end() -> None:
    """The review's 100 MB body: the app stops pulling chunks just past the limit."""
    pulled = 0

    async def receive():  # type: ignore[no-untyped-def]
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * MIB, "more_body": pulled < 100}

    sent: list[dict] = []  # type: ignore[type-arg]

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/echo", "headers": [], "query_string": b""}
    asyncio.run(BodyLimit(inner, 64 * 1024)(scope, receive, send))
    assert sent[0]["status"] == 413 and pulled == 1, sent
