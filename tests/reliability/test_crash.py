"""Crashes: `triage serve` is SIGKILLed at random moments while citizens write through the intake
API and Telegram (the real python-telegram-bot against the local fake Bot API), then restarted.

Every inbound message must be stored once and decided once; every reply delivered, none twice. A
Telegram reply whose send was cut by the kill is never sent again (at most once): it may end
"unknown" for a person to check, and the test counts those. `make soak` runs the long version
(TRIAGE_SOAK=1).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from bot.store import models as m
from tests.helpers.fake_telegram import FakeTelegram
from tests.reliability import harness

SOAK = os.environ.get("TRIAGE_SOAK") == "1"
SECONDS = 120 if SOAK else 15
KILLS = 5 if SOAK else 3
API_MESSAGES = 3000 if SOAK else 200
TG_MESSAGES = 600 if SOAK else 60
FIRST_CHAT = 910_000
REPORT = harness.PROJECT_ROOT / "var" / "reliability"


class Pusher(threading.Thread):
    """Citizens writing on Telegram: one new chat per message, spread over the run."""

    def __init__(self, fake: FakeTelegram, count: int, seconds: float) -> None:
        super().__init__(daemon=True)
        self.fake, self.count, self.gap = fake, count, seconds / count
        self.chats: list[int] = []

    def run(self) -> None:
        for i in range(self.count):
            chat = FIRST_CHAT + i
            self.fake.push(self.fake.text(chat, harness.TEXTS[i % len(harness.TEXTS)]))
            self.chats.append(chat)
            time.sleep(self.gap)


def _telegram_deliveries(services, fake: FakeTelegram, chats: list[int]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Per chat, compare what the fake Bot API received with the outbox: sent <= seen <= sent + in doubt."""
    out = Counter[str]()
    with services.sessions() as s:
        items = s.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "telegram")).all()
    by_chat: dict[str, list[m.OutboxItem]] = {}
    for item in items:
        by_chat.setdefault(item.recipient, []).append(item)
    for chat in chats:
        seen = Counter(fake.texts(chat))
        mine = by_chat.get(str(chat), [])
        sent = Counter(i.payload["text"] for i in mine if i.status == "sent")
        doubt = Counter(i.payload["text"] for i in mine if i.status in ("sending", "unknown"))
        for text in set(seen) | set(sent) | set(doubt):
            assert sent[text] <= seen[text], f"chat {chat}: marked sent but never received: {text!r}"
            assert seen[text] <= sent[text] + doubt[text], f"chat {chat}: sent twice: {text!r}"
            out["delivered"] += seen[text]
            out["in_doubt_delivered"] += seen[text] - sent[text]
            out["in_doubt_not_delivered"] += sent[text] + doubt[text] - seen[text]
    return dict(out)


def run_crash(tmp, db_url: str, engine) -> dict:  # type: ignore[no-untyped-def]
    services = harness.prepare(tmp, db_url, engine)
    fake = FakeTelegram().start()
    serve = harness.Serve(tmp, db_url, extra_env={"TELEGRAM_BOT_TOKEN": fake.token,
                                                  "TELEGRAM_API_URL": fake.url,
                                                  "TELEGRAM_POLL_TIMEOUT": "1"})
    rng = random.Random(int(os.environ.get("CRASH_SEED", "8")))
    try:
        serve.start()
        poster = harness.Poster(serve.url, API_MESSAGES, prefix="crash", pause=SECONDS / API_MESSAGES / 2,
                                deadline=SECONDS * 6)
        pusher = Pusher(fake, TG_MESSAGES, SECONDS * 0.8)
        started = time.monotonic()
        poster.start()
        pusher.start()
        kill_at = sorted(rng.uniform(1.0, SECONDS) for _ in range(KILLS))
        for moment in kill_at:
            time.sleep(max(0.0, started + moment - time.monotonic()))
            serve.kill()
            time.sleep(rng.uniform(0.0, 0.5))
            serve.start()
        poster.join(SECONDS * 6)
        pusher.join(SECONDS * 2)
        assert not poster.is_alive() and not pusher.is_alive()
        # Telegram updates still queued at the fake are polled; the outbox drains.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if harness.count(services, "telegram").inbound >= TG_MESSAGES:
                break
            time.sleep(0.5)
        api = harness.wait_drained(services, "api", timeout=60)
        telegram = harness.wait_drained(services, "telegram", timeout=30)
        deliveries = _telegram_deliveries(services, fake, pusher.chats)
        with services.sessions() as s:
            stored_ids = set(s.scalars(select(m.Message.external_id).where(
                m.Message.channel == "api", m.Message.direction == "in")))
        report = {
            "seconds": SECONDS, "kills": KILLS, "starts": serve.starts,
            "api": {"posted": API_MESSAGES, "landed": len(poster.landed), "retries": poster.retries,
                    "client_errors": dict(poster.errors), "duplicates_answered": poster.duplicates_reported,
                    "counts": vars(api)},
            "telegram": {"pushed": TG_MESSAGES, "counts": vars(telegram), "deliveries": deliveries,
                         "getUpdates": len(fake.calls_to("getUpdates"))},
            "api_ids_missing": len({f"crash-{i}" for i in range(API_MESSAGES)} - stored_ids),
            "log_lines": len(serve.log.read_text(errors="replace").splitlines()),
            "log_leaks": _leaks(serve.log.read_text(errors="replace"), fake.token),
        }
    finally:
        serve.stop()
        fake.stop()
        services.db.dispose()
    return report


def _leaks(log: str, telegram_token: str) -> list[str]:
    """Citizen texts, the API token or the bot token in the service's own output."""
    needles = [*harness.TEXTS[:6], *harness.TEXTS[7:], harness.API_TOKEN, telegram_token.split(":")[1]]
    return [n for n in needles if n in log]


def _check(report: dict) -> None:
    assert report["log_leaks"] == []
    api, tg = report["api"]["counts"], report["telegram"]["counts"]
    assert report["api"]["landed"] == API_MESSAGES and report["api_ids_missing"] == 0
    assert api["inbound"] == api["distinct_external"] == API_MESSAGES  # stored once each
    assert api["unprocessed"] == 0 and api["messages_without_one_decision"] == 0  # decided once
    assert api["decisions"] == API_MESSAGES
    assert set(api["outbox"]) == {"sent"}  # in-app replies: all delivered (a stale claim is retried)
    assert tg["inbound"] == tg["distinct_external"] == TG_MESSAGES
    assert tg["unprocessed"] == 0 and tg["messages_without_one_decision"] == 0
    assert tg["decisions"] == TG_MESSAGES
    assert set(tg["outbox"]) <= {"sent", "sending", "unknown"}  # never failed, never twice (above)


def _write(name: str, report: dict) -> None:
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / f"{name}.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))


def test_sigkill_during_a_stream_loses_and_duplicates_nothing(tmp_path, trained_engine):  # type: ignore[no-untyped-def]
    report = run_crash(tmp_path, f"sqlite:///{tmp_path / 'crash.db'}", trained_engine)
    _write("crash-sqlite" + ("-soak" if SOAK else ""), report)
    _check(report)


@pytest.mark.postgres
@pytest.mark.soak  # the PostgreSQL crash run: `make soak`
def test_sigkill_on_postgresql(tmp_path, trained_engine, pg_url):  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    report = run_crash(tmp_path, pg_url, trained_engine)
    _write("crash-postgres" + ("-soak" if SOAK else ""), report)
    _check(report)
