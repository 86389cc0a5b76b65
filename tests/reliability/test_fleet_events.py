"""Console live events across instances (PostgreSQL LISTEN/NOTIFY, bot.web.fleet_events).

The relay on its own: another instance's events arrive, an instance's own never twice, and a
dropped listening connection comes back (and the pages are told to catch up). Then the real thing:
two `triage serve` processes on one database, a desk's event stream on instance B, and a question
posted to instance A's intake API."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.web.fleet_events import APPLICATION_NAME, PgEventRelay
from tests.reliability import harness

pytestmark = pytest.mark.postgres


def test_relay_carries_other_instances_events_once_and_reconnects(pg_url) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        heard: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}
        resumed = {"a": 0, "b": 0}

        def relay(name: str) -> PgEventRelay:
            def count_resume() -> None:
                resumed[name] += 1

            return PgEventRelay(
                pg_url,
                lambda e, q: heard[name].append((e, q)),
                count_resume,
                check_seconds=0.5,
                check_timeout=2,
            )

        a, b = relay("a"), relay("b")
        a.start()
        b.start()
        try:
            await asyncio.wait_for(asyncio.gather(a.listening.wait(), b.listening.wait()), 10)
            for qid in (1, 2, 3):
                a.publish("question.created", qid)  # as intake's worker thread would
            await asyncio.to_thread(b.publish, "question.escalated", 7)  # from another thread
            await _until(lambda: len(heard["a"]) == 1 and len(heard["b"]) == 3, 5)
            await asyncio.sleep(0.5)  # nothing else arrives: no echo of one's own events
            assert heard["b"] == [("question.created", 1), ("question.created", 2), ("question.created", 3)]
            assert heard["a"] == [("question.escalated", 7)]

            # the listening connections are cut (a restarted or failed-over database)
            engine = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                cut = conn.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = :n AND datname = current_database()"
                    ),
                    {"n": APPLICATION_NAME},
                )
            engine.dispose()
            assert cut >= 2
            await _until(lambda: a.connects >= 2 and b.connects >= 2 and a.listening.is_set(), 10)
            assert resumed == {"a": 1, "b": 1}  # each told its browsers to re-fetch
            a.publish("question.created", 4)  # the sending connection was cut too: it reconnects
            await _until(lambda: ("question.created", 4) in heard["b"], 10)
            assert heard["b"].count(("question.created", 4)) == 1
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


def test_events_within_a_transaction_go_out_at_its_commit_and_never_after_a_rollback(pg_url) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.orm import sessionmaker

    async def scenario() -> None:
        heard_b: list[tuple[str, int]] = []
        heard_a: list[tuple[str, int]] = []
        a = PgEventRelay(pg_url, lambda e, q: heard_a.append((e, q)), check_seconds=0.5)
        b = PgEventRelay(pg_url, lambda e, q: heard_b.append((e, q)), check_seconds=0.5)
        a.start()
        b.start()
        engine = create_engine(pg_url)
        sessions = sessionmaker(engine)
        try:
            await asyncio.wait_for(asyncio.gather(a.listening.wait(), b.listening.wait()), 10)

            def decide(commit: bool, qids: list[int]) -> None:  # as the intake thread does
                with sessions() as session:
                    a.within(session, [("question.created", q) for q in qids])
                    time.sleep(0.3)  # not sent yet: the transaction is open
                    assert heard_b == []
                    if commit:
                        session.commit()
                    else:
                        session.rollback()

            await asyncio.to_thread(decide, False, [11])
            await asyncio.to_thread(decide, True, [12, 13])
            await _until(lambda: len(heard_b) == 2, 5)
            await asyncio.sleep(0.3)
            assert heard_b == [("question.created", 12), ("question.created", 13)]
            assert heard_a == []  # an instance's own, never echoed
        finally:
            engine.dispose()
            await a.stop()
            await b.stop()

    asyncio.run(scenario())


async def _until(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/login")
    token = _CSRF.search(page.text)
    assert token, page.text[:300]
    r = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1), "next": "/account"},
        follow_redirects=True,
    )
    assert r.status_code == 200 and "/login" not in str(r.url), r.text[:300]


class Stream(threading.Thread):
    """An SSE client on one instance: the question events it receives, with their arrival times."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.events: list[tuple[float, dict[str, object]]] = []
        self.connected = threading.Event()
        self.stop = False

    def run(self) -> None:
        while not self.stop:
            try:
                with self.client.stream("GET", "/events", timeout=httpx.Timeout(5, read=40)) as r:
                    assert r.status_code == 200
                    for line in r.iter_lines():
                        if line.startswith(": connected"):
                            self.connected.set()
                        if line.startswith("data: "):
                            self.events.append((time.monotonic(), json.loads(line[6:])))
                        if self.stop:
                            return
            except httpx.HTTPError:
                time.sleep(0.2)

    def saw(self, question_id: int) -> float | None:
        for when, data in self.events:
            if data.get("question_id") == question_id:
                return when
        return None


def test_a_desk_on_instance_b_sees_a_question_posted_to_instance_a(tmp_path, pg_url, trained_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg
    from tests.web.conftest import make_user

    reset_pg(pg_url)
    services = harness.prepare(tmp_path, pg_url, trained_engine)
    make_user(services, "fiona", admin=True, password="correct horse battery")
    instances = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        instances.append(harness.Serve(tmp_path / name, pg_url))
    a, b = instances
    try:
        for serve in instances:
            serve.start()
        desk = httpx.Client(base_url=b.url, headers={"Accept": "text/html"}, timeout=10)
        _login(desk, "fiona", "correct horse battery")
        stream = Stream(desk)
        stream.start()
        assert stream.connected.wait(10)
        intake = httpx.Client(
            base_url=a.url, headers={"Authorization": f"Bearer {harness.API_TOKEN}"}, timeout=10
        )

        def post(i: int) -> tuple[float, int]:
            body = {
                "channel": "api",
                "sender": f"live-{i}",
                "text": "Can a fire prevention officer check our escape routes?",
                "external_id": f"live-{i}",
            }
            sent = time.monotonic()
            r = intake.post("/api/v1/messages", json=body)
            assert r.status_code == 200, r.text
            question_id = r.json().get("question_id")
            assert question_id, r.json()
            return sent, int(question_id)

        # the first may come before B listens (it started a moment ago): wait for one to arrive
        deadline = time.monotonic() + 20
        while True:
            _, qid = post(int(time.monotonic() * 1000))
            time.sleep(1)
            if stream.saw(qid) is not None:
                break
            assert time.monotonic() < deadline, "no event of instance A ever reached instance B"
        delays = []
        for i in range(5):
            sent, qid = post(i)
            limit = time.monotonic() + 2
            while stream.saw(qid) is None and time.monotonic() < limit:
                time.sleep(0.02)
            arrived = stream.saw(qid)
            assert arrived is not None, f"question {qid} posted to A did not reach B's desk within 2 s"
            delays.append(arrived - sent)
        assert max(delays) < 2
        assert sum(1 for _, d in stream.events if d.get("question_id") == qid) == 1  # once, not echoed
        print(f"A -> B live event delays: {', '.join(f'{d * 1000:.0f} ms' for d in delays)}")
        stream.stop = True
        desk.close()
        intake.close()
    finally:
        for serve in instances:
            serve.stop()
        services.db.dispose()
