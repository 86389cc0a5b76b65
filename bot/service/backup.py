"""`triage backup` and `triage restore`: the database and the models in one file.

A backup is a gzipped tar file:

    manifest.json          when, which database kind, schema revisions, row counts, what it holds
    database/triage.sqlite SQLite's online backup API (consistent while the service writes), or
    database/triage.pgdump pg_dump's custom format (a consistent snapshot, PostgreSQL)
    models/, rasa-models/  the trained models of <TRIAGE_DATA_DIR>, when there are any

A restore replaces the database and those folders with the backup's, then brings the schema up to
this version's migrations and applies the retention period (`triage privacy purge`) again.
PostgreSQL is restored in one transaction (psql --single-transaction): it succeeds whole or leaves
the database as it was. A backup holds citizens' messages: see docs/OPERATIONS.md ("Backups").
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, inspect, make_url, select, text
from sqlalchemy.engine import URL

from bot.config import Settings
from bot.store import models as m
from bot.store.db import make_engine, make_sessionmaker, migrate

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/triage.sqlite"
PG_MEMBER = "database/triage.pgdump"
PRIVACY_NOTE = (
    "Holds citizens' messages, questions, decisions and identities as they were at created_at. "
    "An erasure or retention purge made later does not reach this file: keep it no longer than "
    "the retention period, and restoring it re-applies the retention period."
)


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Manifest:
    created_at: str
    database: str  # sqlite / postgresql
    revisions: list[str]
    counts: dict[str, int]
    directories: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at,
            "database": self.database,
            "revisions": self.revisions,
            "counts": self.counts,
            "directories": self.directories,
            "privacy": PRIVACY_NOTE,
        }


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def model_dirs(settings: Settings) -> dict[str, Path]:
    """The folders a backup carries, by their name inside it."""
    from bot.nlu.rasa_engine import RasaSettings

    return {"models": settings.models_dir, "rasa-models": RasaSettings().models_path(settings)}


def pg_tool(name: str) -> str:
    """pg_dump, pg_restore or psql: on PATH (Debian's wrappers pick the newest), else the newest
    /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return str(candidates[-1])


def pg_env(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options for a SQLAlchemy URL; the password goes in PGPASSWORD, not argv."""
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _describe(url: str) -> tuple[list[str], dict[str, int]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise BackupError("the database has no schema yet: nothing to back up")
            revisions = sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))
            counts = {
                table.__tablename__: int(conn.scalar(select(func.count()).select_from(table)) or 0)
                for table in (m.Citizen, m.Message, m.Question, m.Professional)
            }
    finally:
        engine.dispose()
    return revisions, counts


def create(settings: Settings, destination: Path) -> Manifest:
    """Write a backup of the running (or stopped) service to `destination`."""
    url = settings.db_url
    revisions, counts = _describe(url)
    dirs = {name: path for name, path in model_dirs(settings).items() if path.is_dir()}
    manifest = Manifest(
        datetime.now(UTC).isoformat(timespec="seconds"), kind_of(url), revisions, counts, sorted(dirs)
    )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    with tempfile.TemporaryDirectory(prefix="triage-backup-") as work:
        if manifest.database == "sqlite":
            dump, member = Path(work) / "triage.sqlite", SQLITE_MEMBER
            source = sqlite3.connect(make_url(url).database or "")
            target = sqlite3.connect(dump)
            try:
                with target:
                    source.backup(target)  # consistent, while other connections write
            finally:
                target.close()
                source.close()
        else:
            dump, member = Path(work) / "triage.pgdump", PG_MEMBER
            args, env = pg_env(make_url(url))
            _run(
                [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", "--file", str(dump), *args],
                env,
            )
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest.to_json(), indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=member)
            for name, path in dirs.items():
                tar.add(path, arcname=name)
    os.chmod(partial, 0o600)  # citizens' messages: readable by the service's user only
    partial.replace(destination)
    return manifest


def read_manifest(source: Path) -> Manifest:
    try:
        with tarfile.open(source, "r:gz") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            data = json.loads(member.read())
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError) as exc:
        raise BackupError(f"{source} is not a triage backup: {exc}") from exc
    if data.get("format") != FORMAT:
        raise BackupError(f"{source} has backup format {data.get('format')}, this version reads {FORMAT}")
    return Manifest(
        data["created_at"], data["database"], data["revisions"], data["counts"], data["directories"]
    )


def other_connections(url: str) -> int:
    """Sessions of other processes on this PostgreSQL database (a running instance)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid()"
                    )
                )
                or 0
            )
    finally:
        engine.dispose()


def erased_since_backup(settings: Settings, manifest: Manifest) -> list[int]:
    """Citizens erased in the current database after the backup was taken (none when it has
    no schema yet)."""
    from bot.service.privacy import erasures_since

    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("audit_log"):
                return []
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            return erasures_since(session, datetime.fromisoformat(manifest.created_at))
    finally:
        engine.dispose()


def restore(settings: Settings, source: Path, force: bool = False) -> Manifest:
    """Replace the database and the model folders with the backup's. Stop every instance first:
    on PostgreSQL another session on the database refuses the restore unless `force`."""
    manifest = read_manifest(source)
    url = settings.db_url
    if manifest.database != kind_of(url):
        raise BackupError(f"the backup holds a {manifest.database} database; DATABASE_URL is {kind_of(url)}")
    if manifest.database == "postgresql" and not force and (busy := other_connections(url)):
        raise BackupError(f"{busy} other session(s) use the database: stop every instance first (or --force)")
    with tempfile.TemporaryDirectory(prefix="triage-restore-") as work:
        with tarfile.open(source, "r:gz") as tar:
            tar.extractall(work, filter="data")
        root = Path(work)
        if manifest.database == "sqlite":
            _restore_sqlite(root / SQLITE_MEMBER, Path(make_url(url).database or ""))
        else:
            _restore_pg(root / PG_MEMBER, make_url(url), root)
        targets = model_dirs(settings)
        for name in manifest.directories:
            if name in targets:
                target = targets[name]
                shutil.rmtree(target, ignore_errors=True)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(root / name, target)
    engine = make_engine(url)
    try:
        migrate(engine)  # a backup of an older version: up to this version's schema
    finally:
        engine.dispose()
    return manifest


def _restore_sqlite(backup: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(backup)
    destination = sqlite3.connect(target)
    try:
        with destination:
            source.backup(destination)  # page by page, under SQLite's own locks
    finally:
        destination.close()
        source.close()


def _restore_pg(dump: Path, url: URL, work: Path) -> None:
    """The dump as SQL, run after emptying the schema, all in one transaction."""
    script = work / "restore.sql"
    _run([pg_tool("pg_restore"), "--no-owner", "--no-acl", "--file", str(script), str(dump)])
    args, env = pg_env(url)
    _run(
        [
            pg_tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set",
            "ON_ERROR_STOP=1",
            "--command",
            "DROP SCHEMA IF EXISTS public CASCADE",
            "--command",
            "CREATE SCHEMA public",
            "--file",
            str(script),
            *args,
        ],
        env,
    )
