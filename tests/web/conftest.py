"""Fixtures for the console: an app client, users, questions, a live server and a browser.

The browser is Debian's Chromium at /usr/bin/chromium driven by Playwright; a missing browser fails
the test (never skips): `.ci/run` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import Services
from bot.config import PROJECT_ROOT
from bot.service import users
from bot.store import models as m
from bot.web.api import create_app
from tests.conftest import make_services

PASSWORD = "correct horse battery"
CHROMIUM = "/usr/bin/chromium"
# The README's screenshots are refreshed on request (SAVE_SCREENSHOTS=1 make test); otherwise they
# are still taken (the pages must render) but go to a scratch folder, leaving the tree clean.
SCREENSHOTS = (
    PROJECT_ROOT / "docs" / "screenshots"
    if os.environ.get("SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "triage-screenshots"
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def make_user(
    services: Services,
    username: str,
    roles: str = "",
    areas: str = "",
    admin: bool = False,
    password: str = PASSWORD,
    display_name: str = "",
    one_time: bool = False,
) -> int:
    """A professional (or admin) with the test password, as if they had already chosen it
    (`one_time=True`: a first password, to be changed at login); areas are created when missing."""
    with services.sessions.begin() as session:
        for slug in [a for a in areas.split(",") if a]:
            if session.get(m.Area, slug) is None:
                session.add(m.Area(slug=slug, name=slug.replace("-", " ").title()))
        session.flush()
        pro = users.create(
            session,
            username,
            password,
            is_admin=admin,
            roles=roles,
            areas=areas,
            display_name=display_name or username.title(),
            one_time=one_time,
        )
        return pro.id


def make_question(
    services: Services,
    role: str,
    text: str = "Can someone inspect our fire exits?",
    area: str | None = None,
    emergency: bool = False,
    sender: str = "citizen-1",
    channel: str = "web",
    language: str = "en",
    due_hours: float = 24,
) -> int:
    """A queue item as intake would open it (citizen, inbound message, question)."""
    now = datetime.now(UTC)
    with services.sessions.begin() as session:
        if area and session.get(m.Area, area) is None:
            session.add(m.Area(slug=area, name=area.title()))
        citizen = m.Citizen(
            channel=channel,
            external_id=f"{sender}-{time.monotonic_ns()}",
            language=language,
            area=area,
        )
        session.add(citizen)
        session.flush()
        message = m.Message(
            citizen_id=citizen.id,
            direction="in",
            channel=channel,
            text=text,
            language=language,
            processed=True,
        )
        session.add(message)
        session.flush()
        question = m.Question(
            citizen_id=citizen.id,
            message_id=message.id,
            channel=channel,
            language=language,
            text=text,
            intent=None,
            role=role,
            area=area,
            priority=100 if emergency else 0,
            emergency=emergency,
            due_at=now + timedelta(hours=due_hours),
        )
        session.add(question)
        session.flush()
        message.question_id = question.id
        return question.id


_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "page has no CSRF token"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token for later posts."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/account",
        },
    )
    assert response.status_code == 200, response.text[:500]
    return csrf_of(response.text)


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    """The full app (API and every part) on the test database; a fresh cookie jar."""
    with TestClient(create_app(services), headers={"Accept": "text/html"}) as client:
        yield client


def switch_to(client: TestClient, username: str | None) -> str:
    """Become another user in the same client (a fresh cookie jar); None: anonymous."""
    client.cookies.clear()
    return login(client, username) if username else ""


# -- live server and browser -------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    services: Services


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(tmp_path: Path, trained_engine) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The real app under uvicorn in a thread, on SQLite with the trained engine."""
    import uvicorn

    services = make_services(tmp_path, f"sqlite:///{tmp_path / 'live.db'}", trained_engine)
    port = _free_port()
    config = uvicorn.Config(
        create_app(services),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=1,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", services)
    server.should_exit = True
    thread.join(10)
    services.db.dispose()


@pytest.fixture(scope="module")  # sync Playwright keeps a loop running until it stops
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(
            f"Chromium is required for the browser tests and is missing at {CHROMIUM}; "
            "install it with `apt-get install -y chromium` (.ci/run does)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def browser_login(page, server: LiveServer, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/queue.*"))


def screenshot(page, name: str, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
