"""Retraining from the console, in the background.

The candidate is cross-validated on the library as it is now and compared with the metrics
recorded for the active model (the same cross-validation, run when that model was trained). It
is activated only when accuracy and macro-F1 are not worse (within TOLERANCE); otherwise it waits
for an admin to confirm or discard it. After an erasure or a purge removed training examples
(bot/service/provenance.py), the next retrain is the admin's confirmation: its model is activated
whatever it scores, and the files of the models that learned the removed words are deleted.
The status lives in a `channel_state` row as JSON, so every
process (and every web worker) sees the same state.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.app import Services
from bot.nlu.engine import SklearnEngine, train
from bot.nlu.evaluate import Report, cross_validate
from bot.nlu.rasa_engine import ENGINE_NAME as RASA
from bot.nlu.rasa_engine import RasaSettings
from bot.nlu.rasa_training import cross_validate_rasa
from bot.service import provenance, rasa_models
from bot.service.models_registry import activate_model, active_model, model_file, train_from_db
from bot.service.queue import audit
from bot.store import models as m
from bot.store.db import scrub_after_commit
from bot.store.library_repo import get_state, set_state, training_data

log = logging.getLogger(__name__)

STATE_KEY = "retrain.status"
TOLERANCE = 0.005
FOLDS = 5
STALE_AFTER = timedelta(hours=1)  # a "running" state older than this died with its process

_lock = threading.Lock()


class RetrainError(RuntimeError):
    """A retrain action that cannot be done now; the message is fit to show the admin."""


def status(session: Session) -> dict[str, Any]:
    raw = get_state(session, STATE_KEY)
    return json.loads(raw) if raw else {"state": "idle"}


def _save(session: Session, value: dict[str, Any]) -> None:
    set_state(session, STATE_KEY, json.dumps(value))


def metrics_of(report: Report) -> dict[str, Any]:
    return {
        "accuracy": report.accuracy,
        "macro_f1": report.macro_f1,
        "coverage": report.coverage,
        "folds": report.folds,
        "examples": report.examples,
        "intents": report.intents,
    }


def not_worse(before: dict[str, Any] | None, after: dict[str, Any], tolerance: float = TOLERANCE) -> bool:
    """The candidate may replace the active model without asking: no recorded metrics to beat,
    or neither accuracy nor macro-F1 dropped by more than `tolerance`."""
    if not before or "accuracy" not in before or "macro_f1" not in before:
        return True
    return (
        after["accuracy"] >= before["accuracy"] - tolerance
        and after["macro_f1"] >= before["macro_f1"] - tolerance
    )


PRIVACY_REASON = "replaces the models that learned erased or expired words"


def _reason(before: dict[str, Any] | None, accept: bool, mark: dict[str, Any] | None = None) -> str:
    if mark is not None:
        return PRIVACY_REASON
    if not before or "accuracy" not in before:
        return "no recorded metrics for the active model"
    if accept:
        return "not worse than the active model"
    return "worse than the active model: confirm to activate anyway"


def _running(current: dict[str, Any], now: datetime) -> bool:
    if current.get("state") != "running":
        return False
    started = datetime.fromisoformat(current.get("started_at", now.isoformat()))
    return now - started < STALE_AFTER


def start(services: Services, actor: str, folds: int | None = None) -> threading.Thread:
    """Mark a retrain as running and run it in a background thread."""
    now = datetime.now(UTC)
    with services.sessions.begin() as session:
        # Lock the state row where the database can, so two admins do not start two runs.
        session.get(m.ChannelState, STATE_KEY, with_for_update=True)
        current = status(session)
        if _running(current, now):
            raise RetrainError(f"a retrain started by {current.get('actor')} is still running")
        _save(
            session,
            {
                "state": "running",
                "actor": actor,
                "started_at": now.isoformat(),
                "step": "cross-validating",
                "previous": _last_result(current),
            },
        )
        audit(session, actor, "model.retrain", None, None)
    thread = threading.Thread(target=run, args=(services, actor, folds or FOLDS), name="retrain", daemon=True)
    thread.start()
    return thread


def _last_result(current: dict[str, Any]) -> dict[str, Any] | None:
    return (
        {k: current.get(k) for k in ("state", "before", "after", "candidate")}
        if current.get("state") in ("done", "pending")
        else None
    )


def run(services: Services, actor: str, folds: int = FOLDS) -> dict[str, Any]:
    """Cross-validate, train, and activate if not worse. Returns the final status."""
    with _lock:
        try:
            return _run(services, actor, folds)
        except Exception as exc:
            log.exception("retrain failed")
            with services.sessions.begin() as session:
                final = status(session) | {
                    "state": "failed",
                    "error": f"{type(exc).__name__}: {exc}",
                    "finished_at": datetime.now(UTC).isoformat(),
                }
                _save(session, final)
            return final


def _run(services: Services, actor: str, folds: int) -> dict[str, Any]:
    if services.settings.engine == RASA:  # train with Rasa and swap the model on its server
        return _run_rasa(services, actor, folds)
    with services.sessions() as session:
        texts, labels = training_data(session)
        active = active_model(session)
        before = dict(active.metrics or {}) if active else None
        if before is not None and active is not None:
            before["version"] = active.version
        mark = provenance.marked(session)
    report = cross_validate(texts, labels, lambda t, y: train(t, y).engine.parse_many, "sklearn", folds)
    after = metrics_of(report)
    _update(services, {"step": "training"})
    with services.sessions.begin() as session:
        trained = train_from_db(session, services.settings.models_dir, activate=False, metrics=after)
    after["version"] = trained.result.engine.version
    accept = mark is not None or not_worse(before, after)
    final: dict[str, Any] = {
        "state": "done" if accept else "pending",
        "actor": actor,
        "before": before,
        "after": after,
        "candidate": trained.result.engine.version,
        "finished_at": datetime.now(UTC).isoformat(),
        "reason": _reason(before, accept, mark),
    }
    with services.sessions.begin() as session:
        final["started_at"] = status(session).get("started_at")
        if accept:
            activate_model(session, trained.result.engine.version)
            audit(
                session,
                actor,
                "model.activate",
                f"model:{trained.result.engine.version}",
                {"before": before, "after": after, "automatic": True},
            )
            _forget_marked(session, actor, mark, trained.result.engine.version)
        _save(session, final)
    if accept:
        use_in_this_process(services, trained.result.engine)
    return final


def _run_rasa(services: Services, actor: str, folds: int) -> dict[str, Any]:
    """`_run` with the Rasa engine: cross-validate with Rasa, train, activate when not worse than
    the active Rasa model, and load it on the Rasa server this process parses with."""
    rasa = RasaSettings()
    with services.sessions() as session:
        texts, labels = training_data(session)
        active = active_model(session, RASA)
        before = dict(active.metrics or {}) | {"version": active.version} if active else None
        mark = provenance.marked(session)
    report = cross_validate_rasa(services.settings, rasa, texts, labels, folds)
    after = metrics_of(report)
    _update(services, {"step": "training"})
    trained = rasa_models.train_from_db(services, rasa, activate=False)
    after["version"] = trained.version
    accept = mark is not None or not_worse(before, after)
    with services.sessions.begin() as session:
        record = session.scalars(select(m.ModelRecord).where(m.ModelRecord.version == trained.version)).one()
        record.metrics = after
        if accept:
            activate_model(session, trained.version, RASA)
            audit(
                session,
                actor,
                "model.activate",
                f"model:{trained.version}",
                {"before": before, "after": after, "automatic": True},
            )
            _forget_marked(session, actor, mark, trained.version)
    if accept:
        rasa_models.swap_in_this_process(services, trained.version)
    return _update(
        services,
        {
            "state": "done" if accept else "pending",
            "actor": actor,
            "before": before,
            "after": after,
            "candidate": trained.version,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "reason": _reason(before, accept, mark),
        },
    )


def _forget_marked(session: Session, actor: str, mark: dict[str, Any] | None, active: str) -> None:
    if mark is None:
        return
    gone = provenance.delete_marked_models(session, mark, keep=active)
    scrub_after_commit(session)
    audit(session, actor, "model.forget", f"model:{active}", {"deleted": gone})


def _update(services: Services, values: dict[str, Any]) -> dict[str, Any]:
    """Merge `values` into the stored status; returns the new status."""
    with services.sessions.begin() as session:
        merged = status(session) | values
        _save(session, merged)
        return merged


def confirm(services: Services, actor: str) -> dict[str, Any]:
    """Activate a candidate that scored worse, because the admin says so."""
    with services.sessions.begin() as session:
        current = status(session)
        version = current.get("candidate")
        if current.get("state") != "pending" or not version:
            raise RetrainError("there is no model waiting for confirmation")
        record = session.scalars(select(m.ModelRecord).where(m.ModelRecord.version == version)).first()
        if record is None:
            raise RetrainError(f"model {version} is gone")
        engine = record.engine
        activate_model(session, version, engine)
        audit(
            session,
            actor,
            "model.activate",
            f"model:{version}",
            {"before": current.get("before"), "after": current.get("after"), "automatic": False},
        )
        current |= {"state": "done", "reason": f"activated by {actor} after review"}
        _save(session, current)
    if engine == RASA:
        rasa_models.swap_in_this_process(services, version)
        return current
    with services.sessions() as session:  # the candidate may have been trained on another host
        path = model_file(session, version, services.settings.models_dir)
    if path is not None:
        use_in_this_process(services, SklearnEngine.load(path))
    return current


def discard(services: Services, actor: str) -> dict[str, Any]:
    with services.sessions.begin() as session:
        current = status(session)
        if current.get("state") != "pending":
            raise RetrainError("there is no model waiting for confirmation")
        audit(session, actor, "model.discard", f"model:{current.get('candidate')}", None)
        current |= {"state": "discarded", "reason": f"discarded by {actor}"}
        _save(session, current)
    return current


def use_in_this_process(services: Services, engine: SklearnEngine) -> None:
    """Use the activated model here at once; other processes notice the active flag. (With
    ENGINE=rasa, `rasa_models.swap_in_this_process` loads it on the Rasa server.)"""
    services.triage.use_model(engine)
