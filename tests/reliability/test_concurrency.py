"""Concurrency on PostgreSQL: several worker processes race for the same questions and outbox rows.

10,000 claim attempts by 4 processes over 2,000 questions: no question has two winners. 3,000
outbox items dispatched by 4 processes at once (SELECT ... FOR UPDATE SKIP LOCKED plus the
conditional pending -> sending update): each sent exactly once.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select

from bot.service.outbox import Dispatcher, OutboundPayload
from bot.store import models as m
from bot.store.db import make_sessionmaker, migrate

pytestmark = pytest.mark.postgres

SOAK = os.environ.get("TRIAGE_SOAK") == "1"
WORKERS = 4
QUESTIONS = 2_000
ATTEMPTS = 40_000 if SOAK else 10_000
OUTBOX_ITEMS = 10_000 if SOAK else 3_000
REPORT = Path(__file__).resolve().parents[2] / "var" / "reliability"


def _seed(url: str, questions: int, outbox: int) -> None:
    engine = create_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(m.Citizen),
            [
                {"channel": "api", "external_id": f"c{i}", "created_at": now, "last_seen_at": now}
                for i in range(questions)
            ],
        )
        ids = list(conn.scalars(select(m.Citizen.id).order_by(m.Citizen.id)))
        conn.execute(
            insert(m.Message),
            [
                {
                    "citizen_id": c,
                    "direction": "in",
                    "channel": "api",
                    "text": "q",
                    "processed": True,
                    "created_at": now,
                }
                for c in ids
            ],
        )
        msgs = list(conn.scalars(select(m.Message.id).order_by(m.Message.id)))
        conn.execute(
            insert(m.Question),
            [
                {
                    "citizen_id": c,
                    "message_id": mid,
                    "channel": "api",
                    "language": "en",
                    "text": "q",
                    "role": "r",
                    "status": "open",
                    "due_at": now + timedelta(hours=1),
                    "created_at": now,
                }
                for c, mid in zip(ids, msgs, strict=True)
            ],
        )
        conn.execute(
            insert(m.OutboxItem),
            [
                {
                    "message_id": msgs[i % len(msgs)],
                    "channel": "race",
                    "recipient": f"c{i}",
                    "payload": {"text": f"reply {i}"},
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now - timedelta(seconds=1),
                    "created_at": now,
                }
                for i in range(outbox)
            ],
        )
    engine.dispose()


def _claimer(url: str, worker: int, attempts: int, result: Path) -> None:
    from bot.service import queue

    sessions = make_sessionmaker(create_engine(url, pool_size=2))
    with sessions() as s:
        ids = list(s.scalars(select(m.Question.id)))
    rng = random.Random(worker)
    viewer = queue.Viewer(f"worker{worker}", frozenset({"r"}))
    wins, losses = [], 0
    for _ in range(attempts):
        qid = rng.choice(ids)
        with sessions.begin() as s:
            outcome = queue.claim(s, viewer, qid)
        if outcome.won:
            wins.append(qid)
        else:
            losses += 1
            assert outcome.holder and outcome.holder != viewer.username
    result.write_text(json.dumps({"wins": wins, "losses": losses}))


class _Recorder:
    """A channel sender that appends each item id to this worker's file (no network)."""

    in_app = False

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", buffering=1)

    async def send(self, payload: OutboundPayload) -> str | None:
        self.file.write(f"{payload.item_id}\n")
        await asyncio.sleep(0)
        return f"x{payload.item_id}"


class _InAppRecorder(_Recorder):
    """The same, as an in-app channel: the dispatcher claims its items 25 at a time."""

    in_app = True


def _dispatcher(url: str, worker: int, result: Path, in_app: bool) -> None:
    sessions = make_sessionmaker(create_engine(url, pool_size=2))
    recorder = (_InAppRecorder if in_app else _Recorder)(result)
    dispatcher = Dispatcher(sessions, {"race": recorder}, batch=25)

    async def drain() -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if await dispatcher.run_once() == 0 else 0

    asyncio.run(drain())


def _run(target, args_of) -> None:  # type: ignore[no-untyped-def]
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=target, args=args_of(w)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(600)
        assert p.exitcode == 0, f"worker exited with {p.exitcode}"


@pytest.fixture
def raced(pg_url):  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    _seed(pg_url, QUESTIONS, OUTBOX_ITEMS)
    return pg_url


def test_ten_thousand_claims_by_four_processes_never_two_winners(raced, tmp_path):  # type: ignore[no-untyped-def]
    per = ATTEMPTS // WORKERS
    _run(_claimer, lambda w: (raced, w, per, tmp_path / f"claims{w}.json"))
    winners: dict[int, set[str]] = {}
    losses = 0
    for w in range(WORKERS):
        data = json.loads((tmp_path / f"claims{w}.json").read_text())
        losses += data["losses"]
        for qid in data["wins"]:
            winners.setdefault(qid, set()).add(f"worker{w}")
    engine = create_engine(raced)
    with engine.connect() as conn:
        held = dict(
            conn.execute(
                select(m.Question.id, m.Question.assignee).where(m.Question.status == "claimed")
            ).all()
        )
        claims_audited = conn.scalar(
            select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "claim")
        )
    engine.dispose()
    double = {q: w for q, w in winners.items() if len(w) > 1}
    assert double == {}
    assert {q: next(iter(w)) for q, w in winners.items()} == held  # the database agrees
    assert claims_audited == len(held)  # one audited claim per question: one winner each
    _report(
        "concurrency-claims",
        {
            "workers": WORKERS,
            "attempts": ATTEMPTS,
            "questions": QUESTIONS,
            "claimed": len(held),
            "lost_races": losses,
            "double_winners": 0,
        },
    )


@pytest.mark.parametrize("in_app", [False, True], ids=["remote", "in-app"])
def test_the_outbox_dispatched_by_four_processes_sends_each_item_once(raced, tmp_path, in_app):  # type: ignore[no-untyped-def]
    """Remote items are claimed one at a time; in-app items in batches, by one conditional update
    each: either way no item may reach two workers."""
    _run(_dispatcher, lambda w: (raced, w, tmp_path / f"sent{w}.txt", in_app))
    sends: Counter[int] = Counter()
    per_worker = []
    for w in range(WORKERS):
        lines = [int(x) for x in (tmp_path / f"sent{w}.txt").read_text().split()]
        per_worker.append(len(lines))
        sends.update(lines)
    engine = create_engine(raced)
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(select(m.OutboxItem.status, func.count()).group_by(m.OutboxItem.status)).all()
        )
    engine.dispose()
    assert [i for i, n in sends.items() if n > 1] == []
    assert len(sends) == OUTBOX_ITEMS and statuses == {"sent": OUTBOX_ITEMS}
    assert sum(1 for n in per_worker if n) >= 2, per_worker  # the work really was shared
    _report(
        "concurrency-outbox" + ("-in-app" if in_app else ""),
        {"workers": WORKERS, "items": OUTBOX_ITEMS, "sent_per_worker": per_worker, "sent_twice": 0},
    )


def _report(name: str, data: dict) -> None:
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / f"{name}.json").write_text(json.dumps(data, indent=2))
    print(name, data)
