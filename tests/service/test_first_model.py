"""A database with no model yet (a fresh install, a data dir wiped): the first message trains one
and is answered at once. On SQLite the decision's transaction holds the one write lock, so a
training in a transaction of its own waited 30 s on it and failed with "database is locked"."""

from __future__ import annotations

import shutil

from sqlalchemy import select

from bot.core.types import Action, Channel, InboundMessage
from bot.store import models as m
from tests.conftest import make_services


def test_the_first_message_trains_the_model_and_is_answered(tmp_path, sqlite_template) -> None:  # type: ignore[no-untyped-def]
    shutil.copyfile(sqlite_template, tmp_path / "triage.db")
    services = make_services(tmp_path, f"sqlite:///{tmp_path / 'triage.db'}", None, imported=True)
    try:
        with services.sessions() as session:
            assert session.scalars(select(m.ModelRecord)).first() is None
        result = services.triage.handle(InboundMessage(Channel.API, "c1", "my smoke alarm keeps beeping"))
        assert result.decision is not None and result.decision.action is Action.ANSWER
        with services.sessions() as session:
            active = session.scalars(select(m.ModelRecord).where(m.ModelRecord.active.is_(True))).one()
            assert session.get(m.ModelBlob, active.version) is not None  # the fleet's copy too
    finally:
        services.db.dispose()
