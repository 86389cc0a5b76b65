"""A newly activated model is served by every instance of a fleet, also by one on another host
(its own data dir, without the model's file): it loads the database's copy, never trains its own,
and deletes its copy when erasure deleted the model."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.service import library_admin as lib
from bot.service import provenance
from bot.service.models_registry import EngineHolder, activate_model, train_from_db
from bot.store import models as m
from tests.conftest import make_services, reset_pg

pytestmark = pytest.mark.postgres


def records(services) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return s.scalar(select(func.count()).select_from(m.ModelRecord)) or 0


def served(services) -> str:  # type: ignore[no-untyped-def]
    with services.sessions() as s:  # as intake asks: a read, never committed
        return services.triage.engine(s).version  # type: ignore[no-any-return]


def wait_served(services, version: str, timeout: float) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    while served(services) != version:
        assert time.monotonic() - started < timeout, f"still serving {served(services)}, not {version}"
        time.sleep(0.1)
    return time.monotonic() - started


def test_every_instance_serves_the_activated_model_without_training(tmp_path, pg_url) -> None:  # type: ignore[no-untyped-def]
    reset_pg(pg_url)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = make_services(tmp_path / "a", pg_url, None)  # host A: migrates, imports the library
    b = make_services(tmp_path / "b", pg_url, None, imported=True)  # host B: its own data dir
    try:
        with a.sessions.begin() as s:
            first = train_from_db(s, a.settings.models_dir).result.engine.version
        assert served(b) == first  # loaded, not trained
        assert records(a) == 1
        assert (b.settings.models_dir / f"{first}.pkl").exists()  # B's own copy, from the database

        with a.sessions.begin() as s:  # an admin teaches an example and retrains on A
            lib.add_example(s, "ada", "noise_nuisance", "the neighbours play drums at night")
            trained = train_from_db(s, a.settings.models_dir)
        a.triage.use_model(trained.result.engine)
        second = trained.result.engine.version
        took = wait_served(b, second, EngineHolder.CHECK_SECONDS + 3)
        assert records(a) == 2  # B trained nothing
        copy = b.settings.models_dir / f"{second}.pkl"
        assert copy.read_bytes() == trained.path.read_bytes()
        print(f"instance B served the model activated on A after {took:.1f} s")

        # an older version activated again (the admin's rollback): B follows, from its copy
        with a.sessions.begin() as s:
            activate_model(s, first)
        wait_served(b, first, EngineHolder.CHECK_SECONDS + 3)

        # erasure: the models that learned the words are replaced, their copies deleted everywhere
        with a.sessions.begin() as s:
            mark = provenance.mark_models(s)
            third = train_from_db(s, a.settings.models_dir).result.engine.version
            assert set(provenance.delete_marked_models(s, mark, keep=third)) == {first, second}
        wait_served(b, third, EngineHolder.CHECK_SECONDS + 3)
        assert sorted(p.name for p in b.settings.models_dir.iterdir()) == [f"{third}.pkl"]
        assert sorted(p.name for p in a.settings.models_dir.iterdir()) == [f"{third}.pkl"]
        with a.sessions() as s:
            assert list(s.scalars(select(m.ModelBlob.version))) == [third]
    finally:
        a.db.dispose()
        b.db.dispose()


def test_a_model_recorded_before_the_database_kept_copies_is_replaced_once(tmp_path, pg_url) -> None:  # type: ignore[no-untyped-def]
    """No file here and no copy in the database (trained elsewhere before this version): one
    instance trains a replacement, which every other instance then loads; no ping-pong."""
    reset_pg(pg_url)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    a = make_services(tmp_path / "a", pg_url, None)
    b = make_services(tmp_path / "b", pg_url, None, imported=True)
    try:
        with a.sessions.begin() as s:
            old = train_from_db(s, a.settings.models_dir).result.engine.version
        with a.sessions.begin() as s:  # as if recorded by an older version on another host
            s.execute(m.ModelBlob.__table__.delete())
        (a.settings.models_dir / f"{old}.pkl").unlink()
        replacement = served(b)
        assert replacement != old and records(a) == 2
        assert served(a) == replacement  # A loads B's from the database instead of training
        time.sleep(EngineHolder.CHECK_SECONDS + 0.5)
        assert served(a) == served(b) == replacement and records(a) == 2
    finally:
        a.db.dispose()
        b.db.dispose()
