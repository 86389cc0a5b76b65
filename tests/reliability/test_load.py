"""Load: a fixed-rate (open-loop) stream of citizen messages against `triage serve` on loopback.

No request may fail, every message is stored and decided once, and the latency percentiles are
recorded in var/reliability/. The default suite runs 10 s at 20 messages/s; `make soak`
(TRIAGE_SOAK=1) runs 60 s at 200 messages/s. Bounded: a fixed count, 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter

import httpx
import pytest

from tests.reliability import harness

SOAK = os.environ.get("TRIAGE_SOAK") == "1"
RATE = int(os.environ.get("LOAD_RATE", "200" if SOAK else "20"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60" if SOAK else "10"))
MAX_IN_FLIGHT = 256


async def _fire(url: str, rate: int, seconds: int) -> dict:  # type: ignore[type-arg]
    total = rate * seconds
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
    async with httpx.AsyncClient(timeout=30, limits=limits,
                                 headers={"Authorization": f"Bearer {harness.API_TOKEN}"}) as client:

        async def one(i: int) -> None:
            body = {"sender": f"load-c{i % 500}", "text": harness.TEXTS[i % len(harness.TEXTS)],
                    "external_id": f"load-{i}"}
            async with gate:
                t0 = time.perf_counter()
                for attempt in range(3):  # a kept-alive connection closed under us: same id again
                    try:
                        r = await client.post(f"{url}/api/v1/messages", json=body)
                        break
                    except httpx.TransportError as exc:
                        retried[type(exc).__name__] += 1
                        if attempt == 2:
                            errors[type(exc).__name__] += 1
                            return
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors[f"http {r.status_code}"] += 1

        start = time.perf_counter()
        tasks = []
        for i in range(total):  # open loop: the schedule does not wait for answers
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        sent_in = time.perf_counter() - start
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {"rate_asked": rate, "seconds": seconds, "requests": total, "answered": len(latencies),
            "errors": dict(errors), "transport_retries": dict(retried),
            "offered_rate": round(total / sent_in, 1),
            "throughput": round(len(latencies) / elapsed, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


def run_load(tmp, db_url: str, engine, workers: int = 1) -> dict:  # type: ignore[no-untyped-def]
    services = harness.prepare(tmp, db_url, engine)
    serve = harness.Serve(tmp, db_url)
    if workers > 1:
        serve.extra_env["UVICORN_WORKERS"] = str(workers)
    try:
        serve.start()
        report = asyncio.run(_fire(serve.url, RATE, SECONDS))
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
