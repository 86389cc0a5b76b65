"""A fleet: 1, 2 and 3 `triage serve` instances on one PostgreSQL, each with its own data dir.

The first instance's data dir is initialised (`triage init`: schema, library, model); the others
start with empty data dirs and load the active model from the database (no training). The load is
bench/load_client.py's closed loop, one load process per instance (as behind a round-robin
balancer), CONCURRENCY clients in all, MESSAGES messages in all. Reported per fleet size: messages
per second (all messages over the longest load process's time), the worst instance's p50 and p99,
the time until every outbox was empty, peak memory summed, and a correctness check read from the
database (every message stored once and decided once, no reply left pending).

On one 2-core machine more instances share the same two cores: the figures show the fleet's
overhead (coordination through PostgreSQL, more processes) and that nothing goes wrong, not
scaling; instances on separate hosts add their own cores.

    .venv/bin/python -m bench.fleet     (BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432,
                                         BENCH_MESSAGES=3000, BENCH_CONCURRENCY=16)
"""

from __future__ import annotations

import json
import math
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import ROOT, loadavg, table, write_result
from bench.service import (
    BIN,
    CONCURRENCY,
    MESSAGES,
    PG_DB,
    SECONDS,
    env_for,
    free_port,
    fresh_pg_database,
    outbox_drained,
    stop,
    vm_hwm_mb,
    wait_http,
)

SIZES = (1, 2, 3)


def correctness(database_url: str) -> dict[str, int]:
    """What the database holds after the run: inbound messages, those not decided exactly once,
    unprocessed ones, and outbox items not sent."""
    from sqlalchemy import func, select

    from bot.store import models as m
    from bot.store.db import make_engine, make_sessionmaker

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as s:
            inbound = s.scalar(select(func.count()).select_from(m.Message).where(m.Message.direction == "in"))
            per_message = (
                select(m.Message.id, func.count(m.DecisionRecord.id).label("n"))
                .outerjoin(m.DecisionRecord, m.DecisionRecord.message_id == m.Message.id)
                .where(m.Message.direction == "in")
                .group_by(m.Message.id)
                .subquery()
            )
            wrong = s.scalar(select(func.count()).select_from(per_message).where(per_message.c.n != 1))
            unprocessed = s.scalar(
                select(func.count())
                .select_from(m.Message)
                .where(m.Message.direction == "in", m.Message.processed.is_(False))
            )
            unsent = s.scalar(
                select(func.count()).select_from(m.OutboxItem).where(m.OutboxItem.status != "sent")
            )
    finally:
        engine.dispose()
    return {
        "inbound": int(inbound or 0),
        "not_decided_once": int(wrong or 0),
        "unprocessed": int(unprocessed or 0),
        "outbox_not_sent": int(unsent or 0),
    }


def fleet(size: int, tmp: Path) -> dict[str, Any]:
    database_url = fresh_pg_database(f"{PG_DB}_fleet{size}")
    token = secrets.token_hex(8)
    dirs = [tmp / f"fleet{size}-{i}" for i in range(size)]
    subprocess.run(
        [str(BIN / "triage"), "init"],
        cwd=ROOT,
        env=env_for(dirs[0], database_url, token),
        check=True,
        capture_output=True,
    )
    procs, urls = [], []
    try:
        started = time.perf_counter()
        for i, data_dir in enumerate(dirs):
            data_dir.mkdir(parents=True, exist_ok=True)
            port = free_port()
            procs.append(
                subprocess.Popen(
                    [str(BIN / "triage"), "serve", "--port", str(port)],
                    cwd=ROOT,
                    env=env_for(data_dir, database_url, token),
                    stdout=subprocess.DEVNULL,
                    stderr=(tmp / f"fleet{size}-{i}.log").open("wb"),
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, proc in zip(urls, procs, strict=True):
            wait_http(f"{url}/healthz", proc)
        startup = time.perf_counter() - started
        each = MESSAGES // size
        clients = math.ceil(CONCURRENCY / size)
        loaders = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.load_client",
                    url,
                    token,
                    str(each),
                    str(clients),
                    str(SECONDS),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for url in urls
        ]
        reports = []
        for loader in loaders:
            out, _ = loader.communicate(timeout=SECONDS + 300)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        drained = outbox_drained(urls[0])  # every instance's /healthz reads the one database
        memory = sum(vm_hwm_mb(proc.pid) for proc in procs)
    finally:
        for proc in procs:
            stop(proc)
    messages = sum(r["messages"] for r in reports)
    seconds = max(r["seconds"] for r in reports)
    checked = correctness(database_url)
    print(f"fleet: {size} instance(s): {messages / seconds:.0f} msg/s", flush=True)
    return {
        "instances": size,
        "clients": clients * size,
        "messages": messages,
        "errors": sum(r["errors"] for r in reports),
        "per_s": messages / seconds,
        "p50_ms": max(r["p50_ms"] for r in reports),
        "p99_ms": max(r["p99_ms"] for r in reports),
        "per_instance": reports,
        "outbox_drained_s": drained,
        "peak_memory_mb": memory,
        "startup_s": startup,
        "database": checked,
        "correct": checked["inbound"] == messages
        and checked["not_decided_once"] == 0
        and checked["unprocessed"] == 0
        and checked["outbox_not_sent"] == 0,
        "load_average": loadavg(),
    }


def run() -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as name:
        for size in SIZES:
            try:
                rows.append(fleet(size, Path(name)))
            except Exception as exc:  # report and go on with the next size
                rows.append({"instances": size, "error": repr(exc)})
    out = {"messages": MESSAGES, "concurrency": CONCURRENCY, "rows": rows}
    write_result("fleet", out)
    return out


def markdown(out: dict[str, Any]) -> str:
    body = []
    for r in out["rows"]:
        if "error" in r:
            body.append([r["instances"], r["error"], None, None, None, None, None, None])
            continue
        body.append(
            [
                r["instances"],
                r["per_s"],
                r["p50_ms"],
                r["p99_ms"],
                r["outbox_drained_s"],
                r["peak_memory_mb"],
                r["startup_s"],
                "yes" if r["correct"] else f"NO {r['database']}",
            ]
        )
    return table(
        [
            "instances on 1 PostgreSQL",
            f"msg/s ({out['concurrency']} clients)",
            "worst p50 ms",
            "worst p99 ms",
            "outbox empty after s",
            "peak MB (all)",
            "start-up s",
            "stored and decided once",
        ],
        body,
    )


if __name__ == "__main__":
    print(markdown(run()))
