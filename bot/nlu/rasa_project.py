"""The library as a Rasa 3 project directory: NLU data, domain, rules, config.

The rules are derived from the library's routing (answer and smalltalk intents to
`action_answer_from_library`, route intents and `nlu_fallback` to `action_route_to_professional`,
emergency intents to `action_emergency`), so `nlu_data/rules.yml` can be regenerated whenever
the library gains an intent: `triage library rules` rewrites it from the files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.core.types import Mode
from bot.nlu.rasa_format import LibraryFiles, read_library, write_library

ACTION_ANSWER = "action_answer_from_library"
ACTION_ROUTE = "action_route_to_professional"
ACTION_EMERGENCY = "action_emergency"
ACTIONS = (ACTION_ROUTE, ACTION_ANSWER, ACTION_EMERGENCY)
FALLBACK_INTENT = "nlu_fallback"

_ACTION_OF_MODE = {
    Mode.ANSWER: ACTION_ANSWER,
    Mode.SMALLTALK: ACTION_ANSWER,
    Mode.ROUTE: ACTION_ROUTE,
    Mode.EMERGENCY: ACTION_EMERGENCY,
}
_RULE_HEADER = (
    "# Rules for running the assistant with Rasa itself (`rasa shell`, Rasa's channels): each\n"
    "# intent hands over to the triage service through the custom actions in actions/.\n"
    "# Generated from responses/routing.yml by `triage library rules`.\n"
)


def rules_for(lib: LibraryFiles) -> dict[str, Any]:
    """One rule per intent, plus the low-confidence fallback, in Rasa's rules format."""
    rules: list[dict[str, Any]] = [
        {
            "rule": "unsure of the intent: pass to a professional",
            "steps": [{"intent": FALLBACK_INTENT}, {"action": ACTION_ROUTE}],
        },
    ]
    for intent in sorted(lib.intents.values(), key=lambda i: (list(Mode).index(i.mode), i.name)):
        action = _ACTION_OF_MODE[intent.mode]
        rules.append(
            {
                "rule": f"{intent.name} ({intent.mode.value})",
                "steps": [{"intent": intent.name}, {"action": action}],
            }
        )
    return {"version": "3.1", "rules": rules}


def domain_actions() -> dict[str, Any]:
    return {"version": "3.1", "actions": list(ACTIONS)}


def rules_text(lib: LibraryFiles) -> str:
    return _RULE_HEADER + yaml.safe_dump(rules_for(lib), sort_keys=False, allow_unicode=True)


def write_rules(nlu_dir: Path, domain_dir: Path) -> Path:
    """Rewrite `<nlu_dir>/rules.yml` from the library files; returns the file written."""
    target = nlu_dir / "rules.yml"
    target.write_text(rules_text(read_library(nlu_dir, domain_dir)), encoding="utf-8")
    return target


@dataclass(frozen=True)
class Project:
    root: Path
    nlu_dir: Path
    domain_dir: Path
    config: Path


def write_project(lib: LibraryFiles, root: Path, config_file: Path) -> Project:
    """Write `lib` as a Rasa project under `root` (nlu_data/, responses/, config.yml)."""
    nlu_dir, domain_dir = root / "nlu_data", root / "responses"
    write_library(lib, nlu_dir, domain_dir)
    (nlu_dir / "rules.yml").write_text(rules_text(lib), encoding="utf-8")
    if "actions" not in lib.domain_extra:
        (domain_dir / "actions.yml").write_text(
            yaml.safe_dump(domain_actions(), sort_keys=False), encoding="utf-8"
        )
    config = root / "config.yml"
    shutil.copyfile(config_file, config)
    return Project(root, nlu_dir, domain_dir, config)
