"""`triage serve` on SQLite: one process on one host, and it says so at start."""

from __future__ import annotations

from tests.reliability import harness
from tests.test_cli import triage


def test_sqlite_refuses_several_workers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = triage(tmp_path, "serve", "--workers", "2")
    assert result.returncode == 1
    assert "SQLite serves one process on one host" in result.stderr + result.stdout


def test_sqlite_says_it_is_single_instance_at_start(tmp_path, trained_engine) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    services = harness.prepare(tmp_path, url, trained_engine)
    serve = harness.Serve(tmp_path, url)
    try:
        serve.start()
    finally:
        serve.stop()
        services.db.dispose()
    assert "SQLite, single instance" in serve.log.read_text()
