"""Two `triage serve` instances on one PostgreSQL, both with the Telegram channel in polling mode,
against the fake Bot API (which, like Telegram, ends a waiting getUpdates with 409 when another
poller asks): one polls at a time, and when it is SIGKILLed the other resumes within 15 s, at the
stored offset. Nothing lost, nothing answered twice."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.store import models as m
from tests.helpers.fake_telegram import FakeTelegram
from tests.reliability import harness

pytestmark = pytest.mark.postgres

FIRST_CHAT = 930_000


def wait_for(check, timeout: float, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def heartbeat(serve: harness.Serve) -> float:
    """When this instance last polled Telegram, from its /metrics (0: never)."""
    r = httpx.get(f"{serve.url}/metrics", timeout=10)
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            if (
                sample.name == "triage_poller_last_success_timestamp_seconds"
                and sample.labels.get("channel") == "telegram"
            ):
                return sample.value
    return 0.0


def leads(serve: harness.Serve) -> bool:
    return time.time() - heartbeat(serve) < 2.5  # long polls of 1 s: a beat every second or so


def test_one_poller_across_two_instances_and_a_takeover(tmp_path, pg_url, trained_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    services = harness.prepare(tmp_path, pg_url, trained_engine)
    fake = FakeTelegram().start()
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_POLL_TIMEOUT": "1",
    }
    instances = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        instances.append(harness.Serve(tmp_path / name, pg_url, extra_env=env))

    def handled() -> int:
        return harness.count(services, "telegram").inbound

    try:
        with ThreadPoolExecutor(2) as pool:  # both at once: a fleet starting
            list(pool.map(lambda serve: serve.start(), instances))
        wait_for(lambda: any(leads(s) for s in instances), 30, "a leader")
        chats = [FIRST_CHAT + i for i in range(60)]
        for i, chat in enumerate(chats):
            fake.push(fake.text(chat, harness.TEXTS[i % len(harness.TEXTS)]))
        wait_for(lambda: handled() == 60, 60, "the first 60 messages")
        time.sleep(3)  # both instances up a while longer: still one poller
        assert fake.poll_conflicts == 0
        leading = [s for s in instances if leads(s)]
        assert len(leading) == 1, [heartbeat(s) for s in instances]
        (leader,) = leading
        (standby,) = [s for s in instances if s is not leader]

        leader.kill()
        killed = time.monotonic()
        later = [FIRST_CHAT + 100 + i for i in range(40)]
        for i, chat in enumerate(later):
            fake.push(fake.text(chat, harness.TEXTS[i % len(harness.TEXTS)]))
        wait_for(lambda: fake.texts(later[0]), 20, "polling to resume")
        resumed = time.monotonic() - killed
        assert resumed < 15, f"polling resumed after {resumed:.1f} s"
        assert leads(standby)  # its heartbeat, on its /metrics
        wait_for(lambda: handled() == 100, 60, "all 100 messages")
        counts = harness.wait_drained(services, "telegram", timeout=60)
        assert fake.poll_conflicts <= 1  # at most the killed poller's last request, ended by the new one

        # nothing lost, nothing twice: each message stored and decided once, each reply delivered once
        assert counts.inbound == counts.distinct_external == 100
        assert counts.unprocessed == 0 and counts.messages_without_one_decision == 0
        with services.sessions() as s:
            items = s.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "telegram")).all()
        sent = Counter((i.recipient, i.payload["text"]) for i in items if i.status == "sent")
        seen = Counter((str(chat), text) for chat in chats + later for text in fake.texts(chat))
        in_doubt = [i for i in items if i.status not in ("sent",)]
        assert all(seen[key] <= sent[key] + len(in_doubt) for key in seen)
        assert all(seen[key] >= 1 for key in sent)
        assert all(fake.texts(chat) for chat in chats + later)  # everyone was answered
        print(f"polling resumed {resumed:.1f} s after the SIGKILL; poll conflicts {fake.poll_conflicts}")
    finally:
        for serve in instances:
            serve.stop()
        fake.stop()
        services.db.dispose()
