"""A normal Rasa 3 project: `rasa data validate` passes, and the rules follow the library."""

from __future__ import annotations

import re
import subprocess

import yaml

from bot.config import PROJECT_ROOT
from bot.nlu.rasa_engine import RasaSettings, rasa_env
from bot.nlu.rasa_project import ACTIONS, rules_text


def test_rasa_data_validate_passes(rasa_settings: RasaSettings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run(
        [
            str(rasa_settings.rasa_bin),
            "data",
            "validate",
            "--data",
            "nlu_data",
            "--domain",
            "responses",
            "--config",
            "config.yml",
        ],
        cwd=PROJECT_ROOT,
        env=rasa_env() | {"RASA_CACHE_DIRECTORY": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = proc.stdout + proc.stderr
    errors = [line for line in output.splitlines() if re.search(r"\bERROR\b", line)]
    assert proc.returncode == 0 and not errors, "\n".join(errors or output.splitlines()[-30:])


def test_rules_yml_is_generated_from_the_routing(library) -> None:  # type: ignore[no-untyped-def]
    written = (PROJECT_ROOT / "nlu_data" / "rules.yml").read_text(encoding="utf-8")
    assert written == rules_text(library), "run `triage library rules` to regenerate"


def test_every_intent_and_the_fallback_lead_to_our_actions(library) -> None:  # type: ignore[no-untyped-def]
    rules = yaml.safe_load((PROJECT_ROOT / "nlu_data" / "rules.yml").read_text())["rules"]
    action_of = {r["steps"][0]["intent"]: r["steps"][1]["action"] for r in rules}
    assert set(action_of) == set(library.intents) | {"nlu_fallback"}
    assert action_of["nlu_fallback"] == "action_route_to_professional"
    assert action_of["emergency"] == "action_emergency"
    assert action_of["fire_alarm_beeping"] == "action_answer_from_library"
    assert action_of["local_crime_tip"] == "action_route_to_professional"
    domain_actions = yaml.safe_load((PROJECT_ROOT / "responses" / "actions.yml").read_text())
    assert set(domain_actions["actions"]) == set(ACTIONS)
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["url"].endswith("/webhook")
