"""`triage serve --engine rasa` (ENGINE=rasa): the service runs its own Rasa server with the active
Rasa model, parses through it, and stops it on exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.app import build, import_library_files
from bot.nlu.rasa_engine import RasaEngine
from bot.store import models as m
from bot.web.api import create_app
from tests.conftest import make_settings
from tests.rasa.conftest import free_port


def test_serve_with_the_rasa_engine_runs_and_stops_a_managed_server(
        tmp_path: Path, full_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", str(free_port()))
    monkeypatch.delenv("RASA_URL", raising=False)
    services = build(make_settings(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", engine="rasa"))
    import_library_files(services)
    with services.sessions.begin() as session:
        session.add(m.ModelRecord(version="full-test", engine="rasa", path=str(full_model),
                                  active=True))
    with services.sessions() as session:
        engine = services.triage.engine(session)
    assert isinstance(engine, RasaEngine) and engine.managed
    with TestClient(create_app(services)) as client:
        server = client.app.state.rasa_server  # type: ignore[attr-defined]
        assert server.alive()
        response = client.post("/api/v1/messages",
                               json={"sender": "c1", "text": "my smoke alarm keeps beeping"})
        assert response.status_code == 200, response.text
        assert response.json()["action"] == "answer"
        assert response.json()["intent"] == "fire_alarm_beeping"
    assert not server.alive()
    services.db.dispose()
