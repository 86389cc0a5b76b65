"""`triage privacy export|erase|purge`: subject access and erasure for one citizen, from the CLI."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.core.types import Channel, InboundMessage, Language
from bot.store import models as m

SECRET_TEXT = "I am Anna Bakker, 06-12345678, my ex keeps following me home"


@pytest.fixture
def cli_env(sqlite_services, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", sqlite_services.settings.db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(sqlite_services.settings.data_dir))
    return sqlite_services


def _citizen_with_history(services) -> int:  # type: ignore[no-untyped-def]
    services.triage.handle(InboundMessage(Channel.API, "anna", SECRET_TEXT, Language.EN))
    other = services.triage.handle(
        InboundMessage(Channel.API, "bert", "Where do I report a pothole?", Language.EN)
    )
    assert other.citizen_id
    with services.sessions() as s:
        return int(s.scalars(select(m.Citizen.id).where(m.Citizen.external_id == "anna")).one())


def test_export_gives_everything_about_one_citizen_and_nothing_else(cli_env, tmp_path):  # type: ignore[no-untyped-def]
    cid = _citizen_with_history(cli_env)
    runner = CliRunner()
    by_ref = runner.invoke(app, ["privacy", "export", "api:anna"])
    assert by_ref.exit_code == 0, by_ref.output
    data = json.loads(by_ref.stdout)
    assert data["citizen"]["id"] == cid
    assert SECRET_TEXT in [msg["text"] for msg in data["messages"]]
    assert any(msg["direction"] == "out" for msg in data["messages"])  # our replies too
    assert "pothole" not in by_ref.stdout  # another citizen's words never leak in
    target = tmp_path / "anna.json"
    by_id = runner.invoke(app, ["privacy", "export", str(cid), "--out", str(target)])
    assert by_id.exit_code == 0 and json.loads(target.read_text()) == data
    missing = runner.invoke(app, ["privacy", "export", "api:nobody"])
    assert missing.exit_code == 1 and "no citizen" in missing.output


def test_erase_removes_the_words_keeps_the_counts_and_is_audited(cli_env):  # type: ignore[no-untyped-def]
    cid = _citizen_with_history(cli_env)
    with cli_env.sessions() as s:
        questions_before = s.scalars(select(m.Question.id)).all()
    result = CliRunner().invoke(app, ["privacy", "erase", "api:anna", "--yes"])
    assert result.exit_code == 0, result.output
    export = CliRunner().invoke(app, ["privacy", "export", str(cid)])
    assert SECRET_TEXT not in export.stdout and "06-12345678" not in export.stdout
    with cli_env.sessions() as s:
        assert SECRET_TEXT not in str(s.scalars(select(m.Message.text)).all())
        assert SECRET_TEXT not in str(s.scalars(select(m.Question.text)).all())
        assert s.scalars(select(m.Question.id)).all() == questions_before  # statistics keep the rows
        assert "pothole" in str(s.scalars(select(m.Message.text)).all())  # the other citizen is intact
        audit = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "privacy.erase")).one()
        assert audit.target == f"citizen:{cid}" and SECRET_TEXT not in json.dumps(audit.detail)


def test_erase_asks_first_and_purge_reports_counts(cli_env):  # type: ignore[no-untyped-def]
    _citizen_with_history(cli_env)
    refused = CliRunner().invoke(app, ["privacy", "erase", "api:anna"], input="n\n")
    assert refused.exit_code != 0
    with cli_env.sessions() as s:
        assert SECRET_TEXT in str(s.scalars(select(m.Message.text)).all())
    purge = CliRunner().invoke(app, ["privacy", "purge"])
    assert purge.exit_code == 0 and "'messages': 0" in purge.output  # nothing is 90 days old yet
