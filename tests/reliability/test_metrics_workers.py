"""`triage serve --workers 2`: /metrics adds up every worker's counters, whichever worker answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.reliability import harness

pytestmark = pytest.mark.postgres


def total(text: str, name: str) -> float:
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples if s.name == name)


def test_every_worker_is_counted(tmp_path, pg_url, trained_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    services = harness.prepare(tmp_path, pg_url, trained_engine)
    serve = harness.Serve(tmp_path, pg_url, args=["--workers", "2"])
    try:
        serve.start()

        def post(i: int) -> int:  # a connection each, eight at once: both workers take some
            body = {
                "sender": f"mw-c{i % 20}",
                "text": harness.TEXTS[i % len(harness.TEXTS)],
                "external_id": f"mw-{i}",
            }
            headers = {"Authorization": f"Bearer {harness.API_TOKEN}", "Connection": "close"}
            return httpx.post(
                f"{serve.url}/api/v1/messages", json=body, headers=headers, timeout=30
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(post, range(60))) == [200] * 60
        for _ in range(12):  # a new connection each: both workers answer some scrapes
            r = httpx.get(f"{serve.url}/metrics", headers={"Connection": "close"}, timeout=10)
            assert r.status_code == 200
            assert total(r.text, "triage_messages_total") == 60, r.text[:2000]
            assert total(r.text, "triage_decision_seconds_count") == 60
        directory = tmp_path / f"prometheus-{serve.port}"
        assert len(list(directory.glob("counter_*.db"))) == 2  # one file per worker
    finally:
        serve.stop()
        services.db.dispose()
