"""Shared fixtures: a service on SQLite or on the local PostgreSQL server, with the real library.

PostgreSQL tests fail (never skip) when the server is unreachable: CI must run them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.app import Services, build, import_library_files
from bot.config import PROJECT_ROOT, Settings
from bot.nlu.engine import SklearnEngine, train
from bot.nlu.rasa_format import read_library

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def library_files():  # type: ignore[no-untyped-def]
    return read_library(PROJECT_ROOT / "nlu_data", PROJECT_ROOT / "responses")


@pytest.fixture(scope="session")
def trained_engine(library_files) -> SklearnEngine:  # type: ignore[no-untyped-def]
    texts = [e.text for e in library_files.examples]
    labels = [e.intent for e in library_files.examples]
    return train(texts, labels).engine


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """A database of this test worker's own on the local PostgreSQL server."""
    from sqlalchemy import create_engine

    # TEST_DB_TAG keeps concurrent runs (several checkouts, several developers) apart.
    name = f"triage_test_{os.environ.get('TEST_DB_TAG', '')}{_worker()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is required for this test and is unreachable: {exc}")
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def reset_pg(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def make_settings(tmp: Path, db_url: str = "", **overrides: object) -> Settings:
    return Settings(triage_data_dir=tmp, database_url=db_url, _env_file=None, **overrides)  # type: ignore[call-arg]


def make_services(tmp: Path, db_url: str, engine: SklearnEngine | None, imported: bool = False,
                  **overrides: object) -> Services:
    """A service on `db_url`; `imported` says the database already holds the library."""
    services = build(make_settings(tmp, db_url, **overrides))
    if not imported:
        import_library_files(services)
    if engine is not None:
        services.triage.set_engine(engine)
    return services


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A migrated SQLite database with the library imported, copied for each test."""
    tmp = tmp_path_factory.mktemp("template")
    services = make_services(tmp, f"sqlite:///{tmp / 'triage.db'}", None)
    services.db.dispose()
    return tmp / "triage.db"


@pytest.fixture(scope="session")
def pg_template(pg_url) -> str:  # type: ignore[no-untyped-def]
    """A PostgreSQL template database with the library imported: CREATE DATABASE ... TEMPLATE."""
    import tempfile

    name = pg_url.rsplit("/", 1)[1] + "_tpl"
    _recreate_pg(name)
    url = pg_url.rsplit("/", 1)[0] + f"/{name}"
    services = make_services(Path(tempfile.mkdtemp()), url, None)
    services.db.dispose()
    return name


def _recreate_pg(name: str, template: str | None = None) -> None:
    from sqlalchemy import create_engine

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An empty database (migrations and imports are the test's business)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'triage.db'}"
    url = request.getfixturevalue("pg_url")
    reset_pg(url)
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def library_db_url(request, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A fresh database with the migrated schema and the shipped library, from a template."""
    import shutil

    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "triage.db")
        return f"sqlite:///{tmp_path / 'triage.db'}"
    url = request.getfixturevalue("pg_url")
    _recreate_pg(url.rsplit("/", 1)[1], template=request.getfixturevalue("pg_template"))
    return url


@pytest.fixture
def services(tmp_path, library_db_url, trained_engine) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    svc = make_services(tmp_path, library_db_url, trained_engine, imported=True)
    yield svc
    svc.db.dispose()


@pytest.fixture
def sqlite_services(tmp_path, sqlite_template, trained_engine) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    import shutil

    shutil.copyfile(sqlite_template, tmp_path / "triage.db")
    svc = make_services(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", trained_engine, imported=True)
    yield svc
    svc.db.dispose()
