"""The Rasa engine's active model reaches every instance of a fleet, like the embedded engine's
(tests/reliability/test_fleet_models.py): a model recorded on host A (its own data dir) is
copied from the database into host B's empty Rasa models folder and served by B's managed Rasa
server, without training; a model activated later on A is swapped in on B; and erasure deletes
the database's copies and each host's files of the models it replaced."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.app import Services, build
from bot.nlu.rasa_engine import RasaSettings
from bot.nlu.rasa_server import ManagedRasaServer
from bot.nlu.rasa_training import TrainedRasa
from bot.service import provenance, rasa_models
from bot.store import models as m
from bot.web.api import create_app
from tests.conftest import make_services, make_settings
from tests.rasa.conftest import free_port


def record_on(host: Services, full_model: Path, version: str, erase_first: bool = False) -> Path:
    """Host A's Rasa training put a model in its folder (the trained `full_model`, under the file
    name of `version`), recorded and activated as `triage train --engine rasa` does; with
    `erase_first`, as the retrain after an erasure does (the older models are forgotten)."""
    path = RasaSettings().models_path(host.settings) / f"{version}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(full_model, path)
    with host.sessions.begin() as session:
        mark = provenance.mark_models(session) if erase_first else None
        rasa_models.record(session, TrainedRasa(path, version, 0, 0, 0.0))
        if mark is not None:
            assert set(provenance.delete_marked_models(session, mark, keep=version)) == {"fleet-1", "fleet-2"}
    return path


def records(host: Services) -> int:
    with host.sessions() as session:
        return session.scalar(select(func.count()).select_from(m.ModelRecord)) or 0


def wait_loaded(server: ManagedRasaServer, version: str, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while server.engine.refresh_version() != version:
        assert time.monotonic() < deadline, f"host B still serves {server.engine.version}, not {version}"
        time.sleep(0.5)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_rasa_model_recorded_on_one_host_is_served_by_another(
    tmp_path: Path, library_db_url: str, full_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RASA_PORT", str(free_port()))
    monkeypatch.delenv("RASA_URL", raising=False)
    monkeypatch.delenv("RASA_MODELS_DIR", raising=False)
    a = make_services(tmp_path / "a", library_db_url, None, imported=True)
    b = build(make_settings(tmp_path / "b", library_db_url, engine="rasa"))  # its own data dir
    b_models = RasaSettings().models_path(b.settings)
    try:
        first = record_on(a, full_model, "fleet-1")
        with a.sessions() as session:
            stored = session.get(m.ModelBlob, "fleet-1")
            assert stored is not None and bytes(stored.data) == first.read_bytes()  # the fleet's copy
        assert not b_models.exists()  # host B never trained nor held a Rasa model

        with TestClient(create_app(b)) as client:
            server: ManagedRasaServer = client.app.state.rasa_server  # type: ignore[attr-defined]
            assert server.model.resolve() == (b_models / "fleet-1.tar.gz").resolve()  # B's own copy
            assert (b_models / "fleet-1.tar.gz").read_bytes() == first.read_bytes()
            assert server.engine.version == "fleet-1" and records(a) == 1  # loaded, nothing trained
            reply = client.post(
                "/api/v1/messages", json={"sender": "c1", "text": "my smoke alarm keeps beeping"}
            )
            assert reply.status_code == 200, reply.text
            assert reply.json()["intent"] == "fire_alarm_beeping"

            record_on(a, full_model, "fleet-2")  # an admin retrains on host A
            wait_loaded(server, "fleet-2")
            assert files(b_models) == ["fleet-1.tar.gz", "fleet-2.tar.gz"]

            # erasure: the retrain replaces both; their copies go from the database and each host
            third = record_on(a, full_model, "fleet-3", erase_first=True)
            wait_loaded(server, "fleet-3")
            deadline = time.monotonic() + 10
            while files(b_models) != ["fleet-3.tar.gz"]:  # deleted by B right after the swap
                assert time.monotonic() < deadline, files(b_models)
                time.sleep(0.2)
            assert files(third.parent) == ["fleet-3.tar.gz"]  # A deleted its own files
            with a.sessions() as session:
                assert list(session.scalars(select(m.ModelBlob.version))) == ["fleet-3"]
            assert records(a) == 3
        assert not server.alive()
    finally:
        a.db.dispose()
        b.db.dispose()
