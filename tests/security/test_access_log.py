"""The access log keeps the shape of each request, never a citizen's identity."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot.logs import redact_path, uvicorn_log_config
from bot.web.api import create_app
from tests.web.conftest import _free_port

PHONE = "+31612345678"
TELEGRAM_ID = "5551234987"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/api/v1/conversations/api/{PHONE}/replies?after=5", "/api/v1/conversations/api/-/replies?after=-"),
        ("/api/v1/conversations/api/%2B316123/replies", "/api/v1/conversations/api/-/replies"),
        (f"/admin/privacy?citizen=telegram:{TELEGRAM_ID}&done=erased", "/admin/privacy?citizen=-&done=-"),
        (f"/chat?{PHONE}", "/chat?-=-"),
        ("/queue", "/queue"),
    ],
)
def test_paths_and_queries_lose_what_names_a_citizen(path: str, logged: str) -> None:
    assert redact_path(path) == logged


@pytest.mark.parametrize("log_config", ["triage serve", "uvicorn's own"])
def test_a_served_request_leaves_no_identifier_in_the_access_log(sqlite_services, capfd, log_config):  # type: ignore[no-untyped-def]
    """The real uvicorn access log: `triage serve` passes our log configuration; run by hand
    (uvicorn's default), the filter the app installs on start does the same."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(sqlite_services),
        host="127.0.0.1",
        port=port,
        log_level="info",
        log_config=uvicorn_log_config() if log_config == "triage serve" else LOGGING_CONFIG,
        lifespan="on",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        base = f"http://127.0.0.1:{port}"
        httpx.get(f"{base}/api/v1/conversations/api/{PHONE}/replies", params={"after": 0})
        httpx.get(f"{base}/admin/privacy", params={"citizen": f"telegram:{TELEGRAM_ID}"})
    finally:
        server.should_exit = True
        thread.join(10)
        logging.getLogger("uvicorn.access").handlers.clear()
    captured = capfd.readouterr()
    log = captured.out + captured.err
    assert '"GET /api/v1/conversations/api/-/replies?after=- HTTP/1.1" 200' in log
    assert "/admin/privacy?citizen=-" in log
    assert "31612345678" not in log and TELEGRAM_ID not in log and "%2B316" not in log
