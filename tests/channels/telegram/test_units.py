"""The channel's pure parts and its services: link codes, privacy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app import Services
from bot.core.types import Channel, InboundMessage
from bot.service import linking, privacy, users
from bot.store import models as m


def test_link_codes_work_once_and_expire(sqlite_services: Services) -> None:
    with sqlite_services.sessions.begin() as session:
        pro = users.create(session, "fenna", "a-long-password", roles="fire_prevention_officer")
        code = linking.issue_code(session, pro)
        stored = session.scalars(select(m.LinkCode.code_hash)).one()
        assert code not in stored and len(stored) == 64  # only the hash is kept
        assert linking.redeem(session, code.lower(), "900001").username == "fenna"
        with pytest.raises(linking.LinkError):
            linking.redeem(session, code, "900001")
        late = linking.issue_code(session, pro)
        session.scalars(select(m.LinkCode).where(m.LinkCode.used_at.is_(None))).one().expires_at = (
            datetime.now(UTC) - timedelta(minutes=1)
        )
        with pytest.raises(linking.LinkError):
            linking.redeem(session, late, "900001")


def test_cli_user_link_prints_a_code_that_links(sqlite_services: Services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bot import cli

    with sqlite_services.sessions.begin() as session:
        users.create(session, "fenna", "a-long-password")
    monkeypatch.setattr(cli, "_services", lambda: sqlite_services)
    result = CliRunner().invoke(cli.app, ["user", "link", "fenna"])
    assert result.exit_code == 0, result.output
    code = result.output.split("/link ", 1)[1].split()[0]
    with sqlite_services.sessions.begin() as session:
        assert linking.redeem(session, code, "900001").telegram_chat_id == "900001"
    assert CliRunner().invoke(cli.app, ["user", "link", "nobody"]).exit_code == 1


def test_export_then_erase_a_citizen(sqlite_services: Services) -> None:
    services = sqlite_services
    services.triage.handle(
        InboundMessage(
            Channel.TELEGRAM,
            "42",
            "I would like a fire safety inspection of my building",
            external_id="42:1",
        )
    )
    with services.sessions.begin() as session:
        citizen = session.scalars(select(m.Citizen)).one()
        citizen_id = citizen.id
        exported = privacy.export_citizen(session, citizen_id)
        assert exported["citizen"]["external_id"] == "42"
        assert [msg["direction"] for msg in exported["messages"]] == ["in", "out"]
        assert exported["messages"][0]["decision"]["intent"] == "fire_safety_inspection"
        assert exported["questions"][0]["status"] == "open"
        counts = privacy.erase_citizen(session, citizen)
        assert counts["messages"] == 2 and counts["decisions"] == 1 and counts["outbox"] == 1
    with services.sessions() as session:
        after = privacy.export_citizen(session, citizen_id)
    assert after["messages"] == []
    assert after["questions"][0]["text"] == "[erased]" and after["questions"][0]["status"] == "closed"


def test_the_part_stays_off_without_a_token(sqlite_services: Services) -> None:
    import asyncio

    from fastapi import FastAPI

    from bot.channels.telegram import part
    from bot.channels.telegram.settings import TelegramSettings

    off = TelegramSettings(_env_file=None, bot_token="")  # type: ignore[call-arg]
    assert asyncio.run(part.start(FastAPI(), sqlite_services, off)) is None
    assert "telegram" not in sqlite_services.senders
