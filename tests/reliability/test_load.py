"""Load: a fixed-rate (open-loop) stream of citizen messages against `triage serve` on loopback.

No request may fail, every message is stored and decided once, and the latency percentiles are
recorded in var/reliability/. The default suite runs 10 s at 20 messages/s; `make soak`
(TRIAGE_SOAK=1) runs 60 s at 200 messages/s. Bounded: a fixed count, 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from bench.load_client import open_loop
from tests.reliability import harness

SOAK = os.environ.get("TRIAGE_SOAK") == "1"
RATE = int(os.environ.get("LOAD_RATE", "200" if SOAK else "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60" if SOAK else "10"))


def run_load(tmp, db_url: str, engine, workers: int = 1) -> dict:  # type: ignore[no-untyped-def]
    services = harness.prepare(tmp, db_url, engine)
    serve = harness.Serve(tmp, db_url)
    if workers > 1:
        serve.extra_env["UVICORN_WORKERS"] = str(workers)
    try:
        serve.start()
        report = asyncio.run(open_loop(
            serve.url, harness.API_TOKEN, harness.TEXTS, RATE, SECONDS,
            lambda i, text: {"sender": f"load-c{i % 500}", "text": text, "external_id": f"load-{i}"}))
        counts = harness.wait_drained(services, "api", timeout=60)
        report["database"] = vars(counts)
        report["db"] = db_url.split(":", 1)[0]
    finally:
        serve.stop()
        services.db.dispose()
    return report


def _check(report: dict) -> None:  # type: ignore[type-arg]
    total = report["requests"]
    assert report["errors"] == {} and report["answered"] == total
    db = report["database"]
    assert db["inbound"] == db["distinct_external"] == total
    assert db["unprocessed"] == 0 and db["messages_without_one_decision"] == 0
    assert set(db["outbox"]) == {"sent"}


def _write(name: str, report: dict) -> None:  # type: ignore[type-arg]
    out = harness.PROJECT_ROOT / "var" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(report, indent=2))
    print(name, json.dumps(report))


def test_a_steady_stream_gets_no_errors_and_its_latency_is_recorded(tmp_path, trained_engine):  # type: ignore[no-untyped-def]
    report = run_load(tmp_path, f"sqlite:///{tmp_path / 'load.db'}", trained_engine)
    _write(f"load-sqlite-{RATE}x{SECONDS}", report)
    _check(report)


@pytest.mark.postgres
@pytest.mark.soak  # the long version: `make soak`
def test_load_on_postgresql(tmp_path, trained_engine, pg_url):  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    report = run_load(tmp_path, pg_url, trained_engine)
    _write(f"load-postgres-{RATE}x{SECONDS}", report)
    _check(report)
