"""`triage backup` and `triage restore`: a round trip on SQLite and on PostgreSQL brings back the
database and the models as they were, and refuses what would go wrong."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config import PROJECT_ROOT
from bot.core.types import Channel, InboundMessage
from bot.service import backup as backups
from bot.store import models as m
from tests.conftest import make_services


def triage(tmp: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "TRIAGE_DATA_DIR": str(tmp),
        "DATABASE_URL": db,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "COLUMNS": "200",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
    )


def inbound_texts(services) -> list[str]:  # type: ignore[no-untyped-def]
    with services.sessions() as session:
        return list(
            session.scalars(select(m.Message.text).where(m.Message.direction == "in").order_by(m.Message.id))
        )


def test_a_backup_restores_the_database_and_the_models(services, trained_engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = services.settings
    url = settings.db_url
    services.triage.handle(InboundMessage(Channel.API, "c0", "my smoke alarm keeps beeping", external_id="0"))
    services.triage.handle(InboundMessage(Channel.API, "c1", "Where do I report noise?", external_id="1"))
    model = trained_engine.save(settings.models_dir)
    with services.sessions.begin() as session:
        session.add(
            m.ModelRecord(
                version=trained_engine.version, engine="sklearn", path=str(model.resolve()), active=True
            )
        )
    rasa = settings.data_dir / "rasa-models"
    rasa.mkdir(parents=True)
    (rasa / "20260101-model.tar.gz").write_bytes(b"rasa model bytes")

    made = triage(settings.data_dir, url, "backup", str(tmp_path / "nightly.tar.gz"))
    assert made.returncode == 0, made.stderr + made.stdout
    assert "erasure" in made.stdout.lower()  # says what the file holds
    archive = tmp_path / "nightly.tar.gz"
    assert oct(archive.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", f"models/{model.name}", "rasa-models/20260101-model.tar.gz"} <= names
    manifest = backups.read_manifest(archive)
    assert manifest.counts["messages"] >= 2 and manifest.database == backups.kind_of(url)

    # after the backup: another message, the models gone, and citizen c1 asks to be forgotten
    services.triage.handle(InboundMessage(Channel.API, "c2", "I want to invite the mayor", external_id="2"))
    services.triage.handle(InboundMessage(Channel.API, "c1", "/forget", external_id="3"))
    services.triage.handle(InboundMessage(Channel.API, "c1", "yes", external_id="4"))
    model.unlink()
    (rasa / "20260101-model.tar.gz").unlink()
    assert inbound_texts(services) == ["my smoke alarm keeps beeping", "I want to invite the mayor"]
    services.db.dispose()  # this test's connections: "every instance stopped"

    restored = triage(settings.data_dir, url, "restore", str(archive), "--yes")
    assert restored.returncode == 0, restored.stderr + restored.stdout
    # the backup's state, less c1, whose erasure came after the backup and is applied again
    assert inbound_texts(services) == ["my smoke alarm keeps beeping"]
    assert "erased again since the backup: 1 citizen" in restored.stdout
    assert model.exists() and (rasa / "20260101-model.tar.gz").read_bytes() == b"rasa model bytes"

    # the restored service works: a new message is decided with the restored model
    again = make_services(settings.data_dir, url, None, imported=True)
    result = again.triage.handle(
        InboundMessage(Channel.API, "c3", "my smoke alarm keeps beeping", external_id="3")
    )
    assert result.decision is not None and result.decision.intent == "fire_alarm_beeping"
    with again.sessions() as session:
        assert session.scalar(select(func.count()).select_from(m.Citizen)) == 3
    again.db.dispose()


def test_restore_refuses_what_is_not_a_backup_or_another_database(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar file")
    with pytest.raises(backups.BackupError, match="not a triage backup"):
        backups.restore(services.settings, junk)
    archive = tmp_path / "b.tar.gz"
    backups.create(services.settings, archive)
    other = services.settings.model_copy(
        update={
            "database_url": "sqlite:///" + str(tmp_path / "x.db")
            if services.settings.database_url.startswith("postgresql")
            else "postgresql+psycopg://postgres@127.0.0.1:5432/none"
        }
    )
    with pytest.raises(backups.BackupError, match="holds a"):
        backups.restore(other, archive)


@pytest.mark.postgres
def test_postgres_restore_waits_for_the_instances_to_stop(tmp_path, pg_url, trained_engine) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import reset_pg

    reset_pg(pg_url)
    services = make_services(tmp_path, pg_url, trained_engine)
    archive = tmp_path / "b.tar.gz"
    backups.create(services.settings, archive)
    with services.sessions() as session:  # a running instance holds a session
        session.execute(select(1))
        with pytest.raises(backups.BackupError, match="stop every instance"):
            backups.restore(services.settings, archive)
    services.db.dispose()
    backups.restore(services.settings, archive)


def test_pg_tools_are_found() -> None:
    for tool in ("pg_dump", "pg_restore", "psql"):
        assert os.access(backups.pg_tool(tool), os.X_OK)


def test_a_restore_elsewhere_serves_the_model_from_the_database(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The database's copy of each model (bot.service.models_registry) is in the backup too: an
    instance whose data dir never held the file loads the restored active model, no training."""
    from bot.service.models_registry import train_from_db

    with services.sessions.begin() as session:
        version = train_from_db(session, services.settings.models_dir).result.engine.version
    archive = tmp_path / "nightly.tar.gz"
    backups.create(services.settings, archive)
    with services.sessions.begin() as session:  # after the backup: the model's copy is lost
        session.execute(m.ModelBlob.__table__.delete())
    services.db.dispose()
    backups.restore(services.settings, archive)

    other_host = tmp_path / "other-host"
    other_host.mkdir()
    again = make_services(other_host, services.settings.db_url, None, imported=True)
    try:
        with again.sessions() as session:
            assert again.triage.engine(session).version == version
            assert session.scalar(select(func.count()).select_from(m.ModelRecord)) == 1  # nothing trained
        assert (again.settings.models_dir / f"{version}.pkl").exists()
    finally:
        again.db.dispose()
