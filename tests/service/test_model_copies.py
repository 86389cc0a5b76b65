"""The database keeps copies of the active model and the newest few per engine, not of every
retrain (a Rasa model is tens of MB)."""

from __future__ import annotations

from sqlalchemy import select

from bot.service.models_registry import KEPT_COPIES, activate_model, record_model
from bot.store import models as m


def test_older_copies_go_the_active_ones_and_the_newest_stay(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def record(version: str, engine: str) -> None:
        path = tmp_path / f"{version}.bin"
        path.write_bytes(version.encode() * 100)
        with services.sessions.begin() as session:
            record_model(session, version, engine, path, {})

    record("old-active", "sklearn")
    with services.sessions.begin() as session:
        activate_model(session, "old-active")
    record("rasa-1", "rasa")
    for i in range(1, 6):
        record(f"sk-{i}", "sklearn")

    with services.sessions() as session:
        copies = set(session.scalars(select(m.ModelBlob.version)))
        records = set(session.scalars(select(m.ModelRecord.version)))
    newest = {f"sk-{i}" for i in range(6 - KEPT_COPIES, 6)}
    assert copies == {"old-active", "rasa-1"} | newest  # another engine's copy is its own
    assert {"sk-1", "sk-2"} <= records  # the history stays; only the copies went
    with services.sessions() as session:
        assert session.scalar(select(m.ModelBlob.data).where(m.ModelBlob.version == "sk-5")) == b"sk-5" * 100
