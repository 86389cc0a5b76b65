"""Unsure of the intent but sure of the role: the question goes to that role, and its page shows
the ranking summed per role."""

from __future__ import annotations

from bot.core.types import Channel, InboundMessage, IntentScore, Language, Parse
from tests.web.conftest import login, make_user


class FixedEngine:
    """An engine that reads every message the same way: split between two fire-safety intents."""

    name, version = "fixed", "v1"

    def parse(self, text: str, language: Language | None = None) -> Parse:
        return Parse(
            (
                IntentScore("fire_alarm_maintenance", 0.36),
                IntentScore("fire_safety_inspection", 0.34),
                IntentScore("noise_nuisance", 0.1),
            ),
            self.name,
            self.version,
        )


def test_role_level_routing_and_the_ranking_by_role(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    services.triage.knowledge.invalidate_staffing()
    services.triage.set_engine(FixedEngine())
    result = services.triage.handle(
        InboundMessage(Channel.API, "c1", "something about the detectors in our flat")
    )
    assert result.decision.role == "fire_prevention_officer", result.decision.reasons
    assert any(
        r.startswith("role-level: fire_prevention_officer holds 0.70") for r in result.decision.reasons
    )
    login(app_client, "fiona")
    page = app_client.get(f"/questions/{result.question_id}").text
    assert 'id="by-role"' in page and "Fire prevention officer" in page and "70%" in page
