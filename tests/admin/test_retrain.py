"""Retraining: activate when not worse, otherwise wait for the admin; status shared via the db."""

import pytest
from sqlalchemy import delete, select

from bot.core.types import Action, Channel, InboundMessage
from bot.service import library_admin as lib
from bot.service import retrain
from bot.service.models_registry import active_model
from bot.store import models as m

KEEP = ("fire_alarm_beeping", "noise_nuisance", "local_crime_tip", "bike_theft_prevention")


def small_library(services) -> None:  # type: ignore[no-untyped-def]
    """Keep a few intents so cross-validation takes seconds."""
    with services.sessions.begin() as s:
        s.execute(delete(m.TrainingExample).where(m.TrainingExample.intent.not_in(KEEP)))
        assert set(s.scalars(select(m.TrainingExample.intent))) == set(KEEP)


def test_not_worse_within_tolerance() -> None:
    before = {"accuracy": 0.80, "macro_f1": 0.78}
    assert retrain.not_worse(None, {"accuracy": 0.1, "macro_f1": 0.1})
    assert retrain.not_worse(before, {"accuracy": 0.796, "macro_f1": 0.776})
    assert not retrain.not_worse(before, {"accuracy": 0.79, "macro_f1": 0.80})
    assert not retrain.not_worse(before, {"accuracy": 0.85, "macro_f1": 0.77})


def test_retrain_activates_a_model_that_learned_new_examples(services) -> None:  # type: ignore[no-untyped-def]
    small_library(services)
    question = "can I fly my drone over the stadium on sunday"
    assert (
        services.triage.handle(InboundMessage(Channel.API, "c1", question)).decision.action
        is Action.ROUTE
    )
    with services.sessions.begin() as s:
        lib.create_intent(s, "ada", "drone_rules", "answer", None)
        for text in (
            "can I fly a drone over the stadium",
            "drone flying above a football match",
            "is my drone allowed near the stadium",
            "rules for flying drones in the city",
            "mag ik met mijn drone over het stadion vliegen",
            "drone vliegen boven het stadion",
        ):
            lib.add_example(s, "ada", "drone_rules", text)
        lib.approve(
            s,
            "ada",
            lib.save_draft(s, "ada", "utter_drone_rules", "en", "Drones need a permit.").id,
        )
    retrain.start(services, "ada", folds=3).join(timeout=120)
    with services.sessions() as s:
        status = retrain.status(s)
        assert status["state"] == "done", status
        assert status["after"]["accuracy"] > 0.5 and status["before"] is None
        assert active_model(s).version == status["candidate"]
        assert {"model.retrain", "model.activate"} <= set(s.scalars(select(m.AuditLog.action)))
    services.triage.invalidate_library()
    again = services.triage.handle(InboundMessage(Channel.API, "c2", question))
    assert again.decision.intent == "drone_rules"
    assert again.replies[0].text == "Drones need a permit."


def test_a_worse_model_waits_for_the_admin(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    small_library(services)
    with services.sessions.begin() as s:
        s.add(
            m.ModelRecord(
                version="old",
                engine="sklearn",
                path="/nonexistent",
                active=True,
                metrics={"accuracy": 1.0, "macro_f1": 1.0},
            )
        )
    pinned = services.triage.engine(services.sessions())
    final = retrain.run(services, "ada", folds=2)
    assert final["state"] == "pending" and final["before"]["version"] == "old"
    with services.sessions() as s:
        assert active_model(s).version == "old"
    assert services.triage.engine(services.sessions()) is pinned
    retrain.confirm(services, "ada")
    with services.sessions() as s:
        assert active_model(s).version == final["candidate"]
        assert retrain.status(s)["state"] == "done"
    assert services.triage.engine(services.sessions()).version == final["candidate"]
    with pytest.raises(retrain.RetrainError):
        retrain.confirm(services, "ada")


def test_only_one_retrain_runs_at_a_time(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        retrain._save(
            s, {"state": "running", "actor": "bob", "started_at": "2999-01-01T00:00:00+00:00"}
        )
    with pytest.raises(retrain.RetrainError, match="bob"):
        retrain.start(services, "ada")
