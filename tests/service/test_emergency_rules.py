"""The emergency rules at the service's edge: read from the domain directory at start-up (a broken
or missing file stops it), re-read when an admin edits the file (a broken edit is logged and the
last good rules stay in use), and used for every message."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bot.app import build
from bot.config import PROJECT_ROOT
from bot.core.types import Action, Channel, InboundMessage
from bot.nlu.rasa_format import EMERGENCY_FILE, LibraryFileError
from bot.service import knowledge
from tests.conftest import make_services, make_settings

ZEPPELIN = "the zeppelin above the playground is losing height fast"
ZEPPELIN_RULE = "  danger:\n    zeppelin:\n      en:\n        - \\bzeppelin\\b.{0,40}\\blosing\\s+height\\b\n"


def _domain(tmp_path: Path) -> Path:
    domain = tmp_path / "responses"
    shutil.copytree(PROJECT_ROOT / "responses", domain)
    return domain


def _db(tmp_path: Path, sqlite_template: Path) -> str:
    shutil.copyfile(sqlite_template, tmp_path / "triage.db")
    return f"sqlite:///{tmp_path / 'triage.db'}"


def test_the_service_does_not_start_with_broken_rules(tmp_path: Path, sqlite_template: Path) -> None:
    domain = _domain(tmp_path)
    rules = domain / EMERGENCY_FILE
    rules.write_text(rules.read_text(encoding="utf-8").replace("\\bflames\\b", "\\bflames)\\b", 1), "utf-8")
    with pytest.raises(LibraryFileError) as err:
        build(make_settings(tmp_path, _db(tmp_path, sqlite_template), domain_dir=domain))
    assert str(err.value).startswith(f"{rules}:") and "triage_emergency.danger.fire.en[" in str(err.value)


def test_the_service_does_not_start_without_rules(tmp_path: Path, sqlite_template: Path) -> None:
    domain = _domain(tmp_path)
    (domain / EMERGENCY_FILE).unlink()
    with pytest.raises(LibraryFileError, match="the emergency rules are required"):
        build(make_settings(tmp_path, _db(tmp_path, sqlite_template), domain_dir=domain))


def test_an_edit_is_used_at_once_and_a_broken_edit_keeps_the_last_good_rules(  # type: ignore[no-untyped-def]
    tmp_path: Path, sqlite_template: Path, trained_engine, monkeypatch, caplog
) -> None:
    domain = _domain(tmp_path)
    rules = domain / EMERGENCY_FILE
    services = make_services(
        tmp_path, _db(tmp_path, sqlite_template), trained_engine, imported=True, domain_dir=domain
    )
    monkeypatch.setattr(knowledge, "LIBRARY_CHECK_SECONDS", -1.0)  # look at the file on every message
    try:
        before = services.triage.handle(InboundMessage(Channel.API, "a", ZEPPELIN))
        assert before.decision is not None and before.decision.action is not Action.EMERGENCY

        shipped = rules.read_text(encoding="utf-8")
        rules.write_text(shipped.replace("  danger:\n", ZEPPELIN_RULE, 1), encoding="utf-8")
        after = services.triage.handle(InboundMessage(Channel.API, "b", ZEPPELIN))
        assert after.decision is not None and after.decision.action is Action.EMERGENCY
        assert "zeppelin" in after.decision.reasons[0]

        rules.write_text(rules.read_text(encoding="utf-8").replace("losing\\s+height", "losing(", 1), "utf-8")
        with caplog.at_level(logging.ERROR, logger="bot.service.knowledge"):
            still = services.triage.handle(InboundMessage(Channel.API, "c", ZEPPELIN))
        assert still.decision is not None and still.decision.action is Action.EMERGENCY
        assert "the last good rules stay in use" in caplog.text and str(rules) in caplog.text
    finally:
        services.db.dispose()
