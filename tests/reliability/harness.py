"""Runs the real `triage serve` in a subprocess (SIGKILL-able), and counts what reached the database.

Used by the crash, load and log tests and by `make soak`. Everything stays on 127.0.0.1; every loop
is bounded in count and time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot.app import Services
from bot.config import PROJECT_ROOT
from bot.nlu.engine import SklearnEngine
from bot.store import models as m
from tests.conftest import make_services

API_TOKEN = "rel-test-api-token-5b9c1f0e"
TEXTS = [
    "Where can I report noise from my neighbours at night?",
    "Waar kan ik overlast van mijn buren melden?",
    "Someone broke into my car last night, what should I do?",
    "Hoe vraag ik een vergunning aan voor een evenement?",
    "There is a fire in the building next door right now!",
    "Can a fire prevention officer check our escape routes?",
    "hello",
    "My bike was stolen from the station, how do I report it?",
    "Er ligt afval gedumpt in het park",
    "What are the opening hours of the police station?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(tmp: Path, db_url: str, engine: SklearnEngine) -> Services:
    """A migrated database with the library and an active model, so `serve` starts in seconds."""
    services = make_services(tmp, db_url, None)
    path = engine.save(services.settings.models_dir)
    with services.sessions.begin() as session:
        session.add(m.ModelRecord(version=engine.version, engine=engine.name, path=str(path.resolve()),
                                  metrics={}, active=True))
    return services


@dataclass
class Serve:
    """`python -m bot.cli serve` with its own environment; its output goes to `log`."""

    tmp: Path
    db_url: str
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)  # more `serve` options, e.g. ["--workers", "2"]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.tmp / "serve.log"

    def env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("TELEGRAM_", "X_", "DATABASE_", "API_TOKEN", "ENGINE", "RASA_"))}
        return keep | {"TRIAGE_DATA_DIR": str(self.tmp), "DATABASE_URL": self.db_url,
                       "API_TOKEN": API_TOKEN, "ENGINE": "sklearn", "PYTHONUNBUFFERED": "1",
                       "PYTHONPATH": str(PROJECT_ROOT)} | self.extra_env

    def start(self, timeout: float = 90.0) -> None:
        assert self.proc is None or self.proc.poll() is not None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port",
                 str(self.port), *self.args], cwd=self.tmp, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve did not answer /healthz in {timeout} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, in-flight work is cut wherever it is."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


class Poster(threading.Thread):
    """Posts messages with unique external ids through the intake API; a message whose request
    failed (connection refused, reset, 5xx) is sent again with the same external id until it lands."""

    def __init__(self, url: str, count: int, prefix: str = "m", senders: int = 40,
                 pause: float = 0.0, deadline: float = 600.0) -> None:
        super().__init__(daemon=True)
        self.url, self.count, self.prefix, self.senders, self.pause = url, count, prefix, senders, pause
        self.deadline = time.monotonic() + deadline
        self.landed: dict[str, int] = {}  # external id -> message id
        self.retries = 0
        self.duplicates_reported = 0
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(timeout=10, headers=headers) as client:
            for i in range(self.count):
                body = {"channel": "api", "sender": f"{self.prefix}-c{i % self.senders}",
                        "text": TEXTS[i % len(TEXTS)], "external_id": f"{self.prefix}-{i}"}
                while time.monotonic() < self.deadline:
                    try:
                        r = client.post(f"{self.url}/api/v1/messages", json=body)
                    except httpx.HTTPError as exc:
                        self.errors[type(exc).__name__] += 1
                    else:
                        if r.status_code == 200:
                            self.landed[body["external_id"]] = r.json()["message_id"]
                            self.duplicates_reported += bool(r.json()["duplicate"])
                            break
                        self.errors[f"http {r.status_code}"] += 1
                    self.retries += 1
                    time.sleep(0.1)
                if self.pause:
                    time.sleep(self.pause)


@dataclass
class Counts:
    inbound: int
    distinct_external: int
    unprocessed: int
    decisions: int
    messages_without_one_decision: int
    outbox: dict[str, int]

    def __str__(self) -> str:
        return (f"{self.inbound} inbound ({self.distinct_external} distinct ids, {self.unprocessed} "
                f"unprocessed), {self.decisions} decisions, outbox {self.outbox}")


def count(services: Services, channel: str) -> Counts:
    with services.sessions() as s:
        inbound = s.scalar(select(func.count()).select_from(m.Message).where(
            m.Message.direction == "in", m.Message.channel == channel)) or 0
        distinct = s.scalar(select(func.count(func.distinct(m.Message.external_id))).where(
            m.Message.direction == "in", m.Message.channel == channel)) or 0
        unprocessed = s.scalar(select(func.count()).select_from(m.Message).where(
            m.Message.direction == "in", m.Message.channel == channel,
            m.Message.processed.is_(False))) or 0
        per_message = (select(m.Message.id, func.count(m.DecisionRecord.id).label("n"))
                       .outerjoin(m.DecisionRecord, m.DecisionRecord.message_id == m.Message.id)
                       .where(m.Message.direction == "in", m.Message.channel == channel)
                       .group_by(m.Message.id).subquery())
        decisions = s.scalar(select(func.sum(per_message.c.n))) or 0
        wrong = s.scalar(select(func.count()).select_from(per_message).where(per_message.c.n != 1)) or 0
        outbox = dict(s.execute(select(m.OutboxItem.status, func.count())
                                .where(m.OutboxItem.channel == channel)
                                .group_by(m.OutboxItem.status)).all())
    return Counts(inbound, distinct, unprocessed, int(decisions), wrong, outbox)


def wait_drained(services: Services, channel: str, timeout: float = 60.0) -> Counts:
    """Until nothing for `channel` is unprocessed, pending or being sent (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        c = count(services, channel)
        busy = c.unprocessed + c.outbox.get("pending", 0) + c.outbox.get("sending", 0)
        if busy == 0 or time.monotonic() > deadline:
            return c
        time.sleep(0.5)
