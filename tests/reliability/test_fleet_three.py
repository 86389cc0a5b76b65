"""Three `triage serve` instances on one PostgreSQL, with the fake Telegram Bot API (issue 18).

- The poller leader is SIGKILLed during a burst of Telegram updates: nothing lost, nothing answered
  twice, polling resumes on another instance within 15 s.
- A rolling restart of all three (SIGTERM, start, next) while citizens post about 100 messages a
  second to the intake API behind a client-side load balancer: nothing lost.

Both take minutes (three instances start in about 80 s on 2 busy cores), so they run in `make soak`
(TRIAGE_SOAK=1: 2,000 updates; run directly, 300); `make test` keeps the two-instance takeover
(tests/reliability/test_fleet_pollers.py) and the live events (test_fleet_events.py). The figures
land in var/reliability/fleet-*.json and docs/RELIABILITY.md quotes them.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select

from bot.store import models as m
from tests.helpers.fake_telegram import FakeTelegram
from tests.reliability import harness
from tests.reliability.test_fleet_pollers import heartbeat, wait_for

pytestmark = pytest.mark.postgres

SOAK = os.environ.get("TRIAGE_SOAK") == "1"
REPORT = harness.PROJECT_ROOT / "var" / "reliability"
FIRST_CHAT = 950_000
POSTERS = 50


def _write(name: str, report: dict) -> None:  # type: ignore[type-arg]
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / f"{name}.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))


def _fleet(tmp_path, pg_url, engine, extra_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    services = harness.prepare(tmp_path, pg_url, engine)
    instances = []
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        instances.append(harness.Serve(tmp_path / name, pg_url, extra_env=extra_env))
    return services, instances


def _start_all(instances: list[harness.Serve]) -> float:
    started = time.monotonic()
    with ThreadPoolExecutor(len(instances)) as pool:  # a fleet starting at once
        list(pool.map(lambda serve: serve.start(timeout=180), instances))
    return time.monotonic() - started


# -- SIGKILL of the poller leader during a burst -------------------------------------------------


def run_burst(tmp_path, pg_url, engine, updates: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    fake = FakeTelegram().start()
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_URL": fake.url,
        "TELEGRAM_MODE": "polling",
        "TELEGRAM_POLL_TIMEOUT": "1",
    }
    services, instances = _fleet(tmp_path, pg_url, engine, env)

    def handled() -> int:
        return harness.count(services, "telegram").inbound

    def leading() -> list[harness.Serve]:
        return [s for s in instances if s.proc and s.proc.poll() is None and time.time() - heartbeat(s) < 2.5]

    try:
        startup = _start_all(instances)
        wait_for(lambda: len(leading()) == 1, 60, "one leader")
        (leader,) = leading()
        chats = [FIRST_CHAT + i for i in range(updates)]
        burst_started = time.monotonic()
        for i, chat in enumerate(chats):  # the burst: all queued at Telegram at once
            fake.push(fake.text(chat, harness.TEXTS[i % len(harness.TEXTS)]))
        wait_for(lambda: handled() >= updates // 4, 120, "a quarter of the burst")
        leader.kill()
        killed = time.monotonic()
        at_kill = handled()
        wait_for(lambda: handled() > at_kill, 30, "another instance to poll")
        resumed = time.monotonic() - killed
        wait_for(lambda: len(leading()) == 1, 30, "the new leader's heartbeat")
        (new_leader,) = leading()
        wait_for(lambda: handled() >= updates, 300, f"all {updates} updates")
        all_stored = time.monotonic() - burst_started
        counts = harness.wait_drained(services, "telegram", timeout=180)
        with services.sessions() as s:
            items = s.scalars(select(m.OutboxItem).where(m.OutboxItem.channel == "telegram")).all()
        sent = Counter((i.recipient, i.payload["text"]) for i in items if i.status == "sent")
        in_doubt = Counter(i.recipient for i in items if i.status != "sent")
        seen = Counter((str(chat), text) for chat in chats for text in fake.texts(chat))
        twice = [key for key, n in seen.items() if n > sent[key] + in_doubt[key[0]]]
        unanswered = [chat for chat in chats if not fake.texts(chat)]
        not_delivered = [key for key in sent if seen[key] < 1]
        return {
            "instances": 3,
            "updates": updates,
            "startup_seconds": round(startup, 1),
            "killed_after_stored": at_kill,
            "polling_resumed_seconds": round(resumed, 2),
            "new_leader_is_another": new_leader is not leader,
            "all_stored_seconds": round(all_stored, 1),
            "counts": vars(counts),
            "answered_twice": len(twice),
            "unanswered_chats": len(unanswered),
            "sent_but_not_seen": len(not_delivered),
            "outbox_in_doubt": sum(in_doubt.values()),
            "poll_conflicts": fake.poll_conflicts,
        }
    finally:
        for serve in instances:
            serve.stop()
        fake.stop()
        services.db.dispose()


def _check_burst(report: dict) -> None:  # type: ignore[type-arg]
    counts, n = report["counts"], report["updates"]
    assert counts["inbound"] == counts["distinct_external"] == n  # nothing lost, each stored once
    assert counts["unprocessed"] == 0 and counts["messages_without_one_decision"] == 0  # decided once
    assert report["answered_twice"] == 0 and report["sent_but_not_seen"] == 0
    # a reply whose send the SIGKILL cut is never sent again: it may stay in doubt, then unanswered
    assert report["unanswered_chats"] <= report["outbox_in_doubt"]
    assert set(counts["outbox"]) <= {"sent", "sending", "unknown"}
    assert report["polling_resumed_seconds"] < 15 and report["new_leader_is_another"]


@pytest.mark.soak  # three instances start in about 80 s on 2 busy cores: `make soak`
def test_sigkill_of_the_poller_leader_during_a_burst(tmp_path, pg_url, trained_engine) -> None:  # type: ignore[no-untyped-def]
    report = run_burst(tmp_path, pg_url, trained_engine, 2000 if SOAK else 300)
    _write("fleet-burst" + ("-soak" if SOAK else ""), report)
    _check_burst(report)


# -- a rolling restart under load ------------------------------------------------------------------


class FleetPoster(threading.Thread):
    """Posts messages at `rate` a second until stopped, each to the next instance (a round-robin
    load balancer); a request that fails (the instance is restarting) goes to the next instance
    with the same external id until it lands."""

    def __init__(self, urls: list[str], rate: float, prefix: str) -> None:
        super().__init__(daemon=True)
        self.urls, self.rate, self.prefix = urls, rate, prefix
        self.stopping = threading.Event()
        self.count = 0  # messages begun
        self.landed: dict[str, int] = {}
        self.retries = 0
        self.errors: Counter[str] = Counter()
        self.latencies: list[float] = []

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {harness.API_TOKEN}"}
        start = time.monotonic()
        turn = 0
        with httpx.Client(timeout=10, headers=headers) as client:
            while not self.stopping.is_set():
                i = self.count
                if (wait := start + i / self.rate - time.monotonic()) > 0:
                    time.sleep(wait)
                self.count += 1
                body = {
                    "channel": "api",
                    "sender": f"{self.prefix}-c{i % 50}",
                    "text": harness.TEXTS[i % len(harness.TEXTS)],
                    "external_id": f"{self.prefix}-{i}",
                }
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    url = self.urls[turn % len(self.urls)]
                    turn += 1
                    sent = time.monotonic()
                    try:
                        r = client.post(f"{url}/api/v1/messages", json=body)
                    except httpx.HTTPError as exc:
                        self.errors[type(exc).__name__] += 1
                    else:
                        if r.status_code == 200:
                            self.landed[body["external_id"]] = r.json()["message_id"]
                            self.latencies.append(time.monotonic() - sent)
                            break
                        self.errors[f"http {r.status_code}"] += 1
                    self.retries += 1
                    time.sleep(0.05)


def run_rolling_restart(tmp_path, pg_url, engine, rate: float) -> dict:  # type: ignore[no-untyped-def, type-arg]
    """Posting at `rate` from before the first restart until after the last one."""
    services, instances = _fleet(tmp_path, pg_url, engine, {})
    try:
        startup = _start_all(instances)
        urls = [s.url for s in instances]
        # many citizens, each waiting for their answer: enough of them to keep `rate` while a
        # request takes a few hundred ms on a busy machine
        posters = [FleetPoster(urls, rate / POSTERS, f"roll{k}") for k in range(POSTERS)]
        began = time.monotonic()
        for poster in posters:
            poster.start()
        time.sleep(3)
        restarts = []
        for serve in instances:  # one at a time, as docs/OPERATIONS.md says
            t0 = time.monotonic()
            serve.stop()
            serve.start(timeout=180)
            restarts.append(round(time.monotonic() - t0, 1))
        time.sleep(3)
        for poster in posters:
            poster.stopping.set()
        for poster in posters:
            poster.join(timeout=300)
        posting = time.monotonic() - began
        counts = harness.wait_drained(services, "api", timeout=120)
        posted = sum(p.count for p in posters)
        landed = sum(len(p.landed) for p in posters)
        with services.sessions() as s:
            stored = set(
                s.scalars(
                    select(m.Message.external_id).where(
                        m.Message.channel == "api", m.Message.direction == "in"
                    )
                )
            )
        expected = {f"{p.prefix}-{i}" for p in posters for i in range(p.count)}
        latencies = sorted(x for p in posters for x in p.latencies)
        errors: Counter[str] = Counter()
        for p in posters:
            errors.update(p.errors)
        return {
            "instances": 3,
            "target_rate": rate,
            "posted": posted,
            "landed": landed,
            "posting_seconds": round(posting, 1),
            "achieved_rate": round(posted / posting, 1),
            "startup_seconds": round(startup, 1),
            "restart_seconds": restarts,
            "client_retries": sum(p.retries for p in posters),
            "client_errors": dict(errors),
            "missing": len(expected - stored),
            "latency_p50_ms": round(latencies[len(latencies) // 2] * 1000) if latencies else None,
            "latency_p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000) if latencies else None,
            "counts": vars(counts),
        }
    finally:
        for serve in instances:
            serve.stop()
        services.db.dispose()


def _check_rolling(report: dict) -> None:  # type: ignore[type-arg]
    counts = report["counts"]
    assert report["landed"] == report["posted"] and report["missing"] == 0  # nothing lost
    assert counts["inbound"] == counts["distinct_external"] == report["posted"]  # stored once each
    assert counts["unprocessed"] == 0 and counts["messages_without_one_decision"] == 0
    assert set(counts["outbox"]) <= {"sent"}  # in-app replies: all delivered


@pytest.mark.soak  # a few minutes: `make soak`
def test_a_rolling_restart_of_three_instances_under_load_loses_nothing(
    tmp_path, pg_url, trained_engine
) -> None:  # type: ignore[no-untyped-def]
    report = run_rolling_restart(tmp_path, pg_url, trained_engine, 100)
    _write("fleet-rolling" + ("-soak" if SOAK else ""), report)
    _check_rolling(report)
