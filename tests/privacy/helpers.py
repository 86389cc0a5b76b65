"""Shared by the privacy tests."""

from __future__ import annotations

from sqlalchemy import delete, select

from bot.store import models as m

KEEP = ("fire_alarm_beeping", "noise_nuisance", "local_crime_tip", "bike_theft_prevention")


def small_library(services) -> None:  # type: ignore[no-untyped-def]
    """Keep a few intents' examples so that training and cross-validation take seconds."""
    with services.sessions.begin() as s:
        s.execute(delete(m.TrainingExample).where(m.TrainingExample.intent.not_in(KEEP)))
        assert set(s.scalars(select(m.TrainingExample.intent))) == set(KEEP)
