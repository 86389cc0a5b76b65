"""Erasure reaches every copy of a citizen's words: training examples, audit entries, library
answers approved from a reply to them, the models trained on them, and SQLite's files (-wal too).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

from bot.cli import app
from bot.core.types import Action, Channel, InboundMessage, Language
from bot.service import library_admin as lib
from bot.service import professional, provenance, retention, retrain
from bot.service.models_registry import active_model, train_from_db
from bot.service.queue import Viewer
from bot.store import models as m
from bot.web.api import create_app
from tests.privacy.helpers import small_library
from tests.web.conftest import login, make_user

# One word no library holds, in lower case: the model's vocabulary keeps words lower-cased.
MARKER = "quokkavlinder"
ADMIN = Viewer("ada", is_admin=True)


def tables_holding(url: str, needle: str) -> list[str]:
    """Every table, every row, as text (binary columns, such as a model's file, as bytes): the
    tables that hold `needle` (any case)."""

    def holds(value: object) -> bool:
        if isinstance(value, bytes | memoryview):
            return needle.encode() in bytes(value).lower()
        return needle in str(value).lower()

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = inspect(conn).get_table_names()
            return [
                name
                for name in names
                if any(holds(value) for row in conn.execute(text(f'SELECT * FROM "{name}"')) for value in row)
            ]
    finally:
        engine.dispose()


def files_holding(directory: Path, needle: str) -> list[str]:
    """Every file under `directory` (the database, its -wal and -shm, the models), as bytes."""
    return [
        str(path.relative_to(directory))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and needle.encode() in path.read_bytes().lower()
    ]


def _teach_everything(services) -> tuple[int, int, Path]:  # type: ignore[no-untyped-def]
    """Anna's words go into an example, an audit entry, an approved answer and a model."""
    small_library(services)
    asked = services.triage.handle(
        InboundMessage(Channel.API, "anna", f"can the {MARKER} parade close my street on sunday", Language.EN)
    )
    alarm = services.triage.handle(
        InboundMessage(Channel.API, "anna", f"accident at the {MARKER} bridge, a man is trapped", Language.EN)
    )
    assert alarm.decision is not None and alarm.decision.action is Action.EMERGENCY
    assert alarm.question_id is not None
    assert MARKER not in " ".join(alarm.decision.reasons)  # the reason names the rule only
    services.triage.handle(InboundMessage(Channel.API, "bert", "my smoke alarm keeps chirping", Language.EN))
    with services.sessions.begin() as s:
        lib.add_examples_from_messages(s, "ada", "noise_nuisance", [asked.message_id])
        professional.answer_in(
            s, services, ADMIN, alarm.question_id, f"A car is on its way to the {MARKER} bridge."
        )
    with services.sessions.begin() as s:
        suggestion = lib.suggest_from_reply(s, ADMIN, alarm.question_id)
        draft = lib.draft_from_suggestion(s, "ada", suggestion.id, "fire_alarm_beeping", "en")
        approved = lib.approve(s, "ada", draft.id, override=True)  # it drops the 112 line: on purpose
        answer_id = approved.id
    with services.sessions.begin() as s:
        trained = train_from_db(s, services.settings.models_dir)
        old_version = trained.result.engine.version
        audit_details = json.dumps([a.detail for a in s.scalars(select(m.AuditLog))])
        sources = set(s.scalars(select(m.TrainingExample.source_message_id)))
    assert {asked.message_id, alarm.message_id} <= sources  # each example knows where it came from
    assert MARKER not in audit_details  # example.add holds ids, never the text
    assert MARKER.encode() in trained.path.read_bytes()  # the model did learn the word
    assert {"training_examples", "model_blobs"} <= set(tables_holding(services.settings.db_url, MARKER))
    return answer_id, old_version, trained.path


def test_erasure_leaves_no_copy_in_any_table_or_file(services, monkeypatch):  # type: ignore[no-untyped-def]
    answer_id, old_version, old_model = _teach_everything(services)
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(services.settings.data_dir))

    result = CliRunner().invoke(app, ["privacy", "erase", "api:anna", "--yes", "--retrain"])

    assert result.exit_code == 0, result.output
    assert "'examples': 2" in result.output and "'answers': " in result.output
    assert tables_holding(services.settings.db_url, MARKER) == []
    assert files_holding(services.settings.data_dir, MARKER) == []
    assert not old_model.exists()
    wal = Path(str(services.settings.data_dir / "triage.db") + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    with services.sessions() as s:
        assert active_model(s).version != old_version
        assert provenance.marked(s) is None
        assert s.get(m.Answer, answer_id).status == "retired"
        assert lib.current_approved(s, "utter_fire_alarm_beeping", "en") is not None  # the previous text
        assert "chirping" in str(s.scalars(select(m.Message.text)).all())  # another citizen is intact
        actions = set(s.scalars(select(m.AuditLog.action)))
    assert {"privacy.erase", "model.forget"} <= actions


def test_erasure_without_retrain_marks_the_model_and_the_console_says_so(sqlite_services, monkeypatch):  # type: ignore[no-untyped-def]
    services = sqlite_services
    _teach_everything(services)
    monkeypatch.setenv("DATABASE_URL", services.settings.db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(services.settings.data_dir))

    result = CliRunner().invoke(app, ["privacy", "erase", "api:anna", "--yes", "--no-retrain"])

    assert result.exit_code == 0, result.output
    assert "learned from the removed words" in result.output
    # the marked model, in the database as in the models folder, stays until the retrain
    assert tables_holding(services.settings.db_url, MARKER) == ["model_blobs"]
    with services.sessions() as s:
        mark = provenance.marked(s)
        assert mark is not None and active_model(s).version in mark["models"]


def test_the_retention_purge_reaches_the_same_copies(services):  # type: ignore[no-untyped-def]
    answer_id, old_version, old_model = _teach_everything(services)
    asyncio.run(services.dispatcher().run_once())  # the replies are delivered
    with services.sessions.begin() as s:  # the emergency is answered: close it, as work done
        for question in s.scalars(select(m.Question)):
            question.status = "closed"

    report = retention.run(services.sessions, 90, now=datetime.now(UTC) + timedelta(days=91))

    assert report.examples == 2
    # The approved answer stays as the organisation's reviewed text, no longer linked to anyone.
    # (and the marked model's copy in the database stays until the retrain, as its file does)
    assert tables_holding(services.settings.db_url, MARKER) == ["answers", "model_blobs"]
    with services.sessions() as s:
        kept = s.get(m.Answer, answer_id)
        assert kept.status == "approved" and kept.suggested_from_question is None
        assert provenance.marked(s) is not None
    retrain.start(services, "ada", folds=3).join(timeout=300)
    with services.sessions() as s:
        assert retrain.status(s)["state"] == "done"
        assert retrain.status(s)["reason"] == retrain.PRIVACY_REASON
        assert active_model(s).version != old_version and provenance.marked(s) is None
    assert not old_model.exists()
    assert files_holding(services.settings.models_dir, MARKER) == []
    assert tables_holding(services.settings.db_url, MARKER) == ["answers"]
    again = retention.run(services.sessions, 90, now=datetime.now(UTC) + timedelta(days=91))
    assert again.examples == 0 and again.answers == 0  # idempotent


def test_the_console_erases_says_the_model_learned_the_words_and_retrains_on_request(sqlite_services):  # type: ignore[no-untyped-def]
    services = sqlite_services
    _, old_version, old_model = _teach_everything(services)
    make_user(services, "root", admin=True)
    with services.sessions() as s:
        anna = s.scalars(select(m.Citizen.id).where(m.Citizen.external_id == "anna")).one()
    with TestClient(create_app(services), headers={"Accept": "text/html"}) as client:
        csrf = login(client, "root")
        done = client.post(
            "/admin/privacy/erase", data={"citizen": anna, "confirm": "erase", "csrf_token": csrf}
        )
        assert done.status_code == 200 and 'id="retrain-needed"' in done.text
        assert 'id="retrain-needed"' in client.get("/admin/retrain").text
        assert tables_holding(services.settings.db_url, MARKER) == ["model_blobs"]
        assert old_model.exists()  # both copies of the model, until the admin confirms
        client.post("/admin/retrain", data={"csrf_token": csrf})
        for _ in range(600):
            with services.sessions() as s:
                if retrain.status(s)["state"] != "running":
                    break
            time.sleep(0.2)
        page = client.get("/admin/retrain").text
        assert 'id="retrain-needed"' not in page and retrain.PRIVACY_REASON in page
    assert not old_model.exists() and files_holding(services.settings.data_dir, MARKER) == []
    assert tables_holding(services.settings.db_url, MARKER) == []


def test_an_erasure_during_the_retrain_keeps_the_new_model_marked(sqlite_services):  # type: ignore[no-untyped-def]
    services = sqlite_services
    small_library(services)
    with services.sessions.begin() as s:
        first = train_from_db(s, services.settings.models_dir).result.engine.version
        mark = provenance.mark_models(s, datetime(2026, 1, 1, tzinfo=UTC))
        lib.add_example(s, "ada", "noise_nuisance", "the neighbours play drums at night")  # new data
        second = train_from_db(s, services.settings.models_dir).result.engine.version  # the retrain's
        provenance.mark_models(s, datetime(2026, 1, 2, tzinfo=UTC))  # another erasure meanwhile
        gone = provenance.delete_marked_models(s, mark, keep=second)
        left = provenance.marked(s)
    assert gone == [first]
    assert left is not None and left["models"] == [second]  # the next retrain replaces it too
    with services.sessions.begin() as s:
        lib.add_example(s, "ada", "noise_nuisance", "a dog barks all day next door")
        third = train_from_db(s, services.settings.models_dir).result.engine.version
        assert provenance.delete_marked_models(s, left, keep=third) == [second]
        assert provenance.marked(s) is None
