"""The production switch: read in any case, and a value we do not know stops the start."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings

REAL_SECRET = "x" * 48


@pytest.mark.parametrize("value", ["Production", "PRODUCTION", " production "])
def test_production_in_any_case_is_production(monkeypatch, value):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ENVIRONMENT", value)
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.environment == "production" and settings.production


@pytest.mark.parametrize("value", ["prod", "staging", ""])
def test_an_unknown_environment_stops_the_start_with_a_clear_message(monkeypatch, value):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ENVIRONMENT", value)
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    with pytest.raises(ValidationError, match="ENVIRONMENT must be development or production"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    result = CliRunner().invoke(app, ["queue", "list"])
    assert result.exit_code == 2
    assert "cannot start: ENVIRONMENT must be development or production" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_production_closes_the_api_whatever_the_case(sqlite_services, monkeypatch):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from bot.web.api import create_app

    monkeypatch.setenv("ENVIRONMENT", "Production")
    monkeypatch.setenv("SECRET_KEY", REAL_SECRET)
    sqlite_services.settings.environment = Settings(_env_file=None).environment  # type: ignore[call-arg]
    with TestClient(create_app(sqlite_services)) as client:
        refused = client.post("/api/v1/messages", json={"sender": "a", "text": "hello"})
    assert refused.status_code == 401


def test_response_hours_from_the_environment_read_as_the_readme_writes_them(monkeypatch):  # type: ignore[no-untyped-def]
    """`RESPONSE_HOURS=community_police_officer=12,municipal_office=48` (the README's example)
    used to stop the start: pydantic-settings read the dict as JSON before our parser saw it."""
    monkeypatch.setenv("RESPONSE_HOURS", "community_police_officer=12, municipal_office=48")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.response_hours == {"community_police_officer": 12.0, "municipal_office": 48.0}
