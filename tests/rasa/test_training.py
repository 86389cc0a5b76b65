"""`triage train --engine rasa` (rasa train nlu from the database), the model swap on a running
server, `triage evaluate --engine rasa` (the same Report as the embedded engine), and a retrain
from the console with ENGINE=rasa."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console
from sqlalchemy import select

from bot.app import Services, build
from bot.cli import train_rasa
from bot.nlu.engine import train
from bot.nlu.evaluate import cross_validate
from bot.nlu.rasa_format import LibraryFiles
from bot.nlu.rasa_training import cross_validate_rasa
from bot.service import retrain
from bot.service.models_registry import active_model
from bot.store import models as m
from bot.store.library_repo import replace_library, training_data
from tests.conftest import make_services, make_settings
from tests.rasa.conftest import Stack

SMALL = {"greet", "thanks", "fire_alarm_beeping", "bike_theft_prevention", "emergency", "noise_nuisance"}


@pytest.fixture(scope="module")
def small_services(tmp_path_factory: pytest.TempPathFactory, library) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    """A library of six intents: quick to train."""
    tmp = tmp_path_factory.mktemp("small")
    services = make_services(tmp, f"sqlite:///{tmp / 'triage.db'}", None)
    small = LibraryFiles(
        intents={k: v for k, v in library.intents.items() if k in SMALL},
        examples=[e for e in library.examples if e.intent in SMALL],
        responses=library.responses,
        response_files=library.response_files,
        roles=library.roles,
        default_role=library.default_role,
        domain_extra=library.domain_extra,
    )
    with services.sessions.begin() as session:
        replace_library(session, small)
    yield services
    services.db.dispose()


@pytest.fixture(scope="module")
def trained(small_services: Services, rasa_settings) -> m.ModelRecord:  # type: ignore[no-untyped-def]
    console = Console(file=io.StringIO(), width=200)
    train_rasa(small_services, console)
    assert "trained Rasa model" in console.file.getvalue()  # type: ignore[attr-defined]
    with small_services.sessions() as session:
        return session.scalars(
            select(m.ModelRecord).where(m.ModelRecord.engine == "rasa", m.ModelRecord.active.is_(True))
        ).one()


def test_train_exports_the_library_and_records_the_model(
    small_services: Services, trained: m.ModelRecord
) -> None:
    from pathlib import Path

    assert trained.version.startswith("nlu-")
    assert Path(trained.path).exists() and trained.path.endswith(f"{trained.version}.tar.gz")
    with small_services.sessions() as session:  # the copy other hosts load (test_fleet_models.py)
        copy = session.get(m.ModelBlob, trained.version)
        assert copy is not None and bytes(copy.data) == Path(trained.path).read_bytes()


def test_the_new_model_is_swapped_on_the_running_server(
    stack: Stack, trained: m.ModelRecord, full_model
) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    try:
        stack.server.swap(Path(trained.path))
        assert stack.rasa.version == trained.version
        parse = stack.rasa.parse("what is the weather like")
        assert {s.name for s in parse.ranking} <= SMALL  # only the small library's intents
    finally:
        stack.server.swap(full_model)
    assert stack.rasa.version == "full-test"


def test_evaluate_gives_the_same_report_as_the_embedded_engine(
    small_services: Services, rasa_settings
) -> None:  # type: ignore[no-untyped-def]
    with small_services.sessions() as session:
        texts, labels = training_data(session)
    rasa = cross_validate_rasa(small_services.settings, rasa_settings, texts, labels, folds=2)
    embedded = cross_validate(texts, labels, lambda t, y: train(t, y).engine.parse_many, "sklearn", 2)
    assert rasa.engine == "rasa" and embedded.engine == "sklearn"
    assert (rasa.folds, rasa.examples, rasa.intents) == (embedded.folds, embedded.examples, embedded.intents)
    assert set(rasa.coverage) == set(embedded.coverage)
    assert [r.intent for r in rasa.per_intent] == [r.intent for r in embedded.per_intent]
    assert sum(r.support for r in rasa.per_intent) == len(texts)
    assert rasa.accuracy > 0.8, rasa.to_dict()


@pytest.fixture
def rasa_services(small_services: Services, stack: Stack) -> Iterator[Services]:
    """The small library's database with ENGINE=rasa, parsing with the test's Rasa server."""
    tmp = small_services.settings.data_dir
    services = build(make_settings(tmp, f"sqlite:///{tmp / 'triage.db'}", engine="rasa"))
    services.triage.set_engine(stack.rasa)
    yield services
    services.db.dispose()


def test_a_worse_retrain_waits_for_the_admin_then_is_loaded_on_the_server(
    rasa_services: Services, stack: Stack, trained: m.ModelRecord, full_model
) -> None:  # type: ignore[no-untyped-def]
    with rasa_services.sessions.begin() as session:
        record = session.scalars(select(m.ModelRecord).where(m.ModelRecord.version == trained.version)).one()
        record.metrics = {"accuracy": 1.1, "macro_f1": 1.1}  # no candidate can match this
    try:
        final = retrain.run(rasa_services, "ada", folds=2)
        assert final["state"] == "pending", final
        assert final["before"]["version"] == trained.version and final["candidate"] != trained.version
        assert final["after"]["folds"] == 2 and final["reason"].startswith("worse")
        with rasa_services.sessions() as session:
            assert active_model(session, "rasa").version == trained.version  # type: ignore[union-attr]
        retrain.confirm(rasa_services, "ada")
        with rasa_services.sessions() as session:
            assert active_model(session, "rasa").version == final["candidate"]  # type: ignore[union-attr]
            assert retrain.status(session)["state"] == "done"
        assert stack.rasa.version == final["candidate"]  # loaded on the running server
    finally:
        stack.server.swap(full_model)
