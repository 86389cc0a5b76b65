"""responses/emergency.yml: read into EmergencyRules at the edge, ignored by the library importer
and by Rasa, and refused with its file, line and entry when it is malformed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.core.emergency import detect_emergency
from bot.nlu.rasa_format import EMERGENCY_FILE, LibraryFileError, read_emergency, read_library

RESPONSES = PROJECT_ROOT / "responses"

GOOD = """\
triage_emergency:
  danger:
    fire:
      # something is burning
      en:
        - \\bon\\s+fire\\b
      nl:
        - \\bin\\s+brand\\b
  now:
    right_now:
      en: [\\bright\\s+now\\b]
  not_now:
    past:
      en:
        - \\blast\\s+week\\b
"""


def test_the_shipped_rules_cover_every_group_in_both_languages() -> None:
    rules = read_emergency(RESPONSES)
    assert len(rules.danger) >= 10 and rules.now and rules.not_now
    names = {f.name for f in rules.danger}
    assert {"fire", "gas", "carbon_monoxide", "unconscious", "violence", "break_in", "self_harm"} <= names
    assert detect_emergency("er is brand", rules).is_emergency
    assert detect_emergency("there's a fire", rules).is_emergency


def test_the_library_reader_ignores_the_rules_file(library_files) -> None:  # type: ignore[no-untyped-def]
    assert "triage_emergency" not in library_files.intents
    assert all(f != EMERGENCY_FILE for f in library_files.response_files.values())


@pytest.mark.parametrize(
    ("replace", "by", "line", "entry", "problem"),
    [
        ("\\bon\\s+fire\\b", "\\bon\\s+(fire\\b", 6, "danger.fire.en[0]", "not a valid regular"),
        ("en: [\\bright\\s+now\\b]", "en: \\bright\\s+now\\b", 11, "now.right_now.en", "must be a list"),
        ("- \\bin\\s+brand\\b", "- [in, brand]", 8, "danger.fire.nl[0]", "non-empty text"),
        ("    past:", "    past:\n      patterns: []", 14, "not_now.past.patterns", "unknown key"),
        ("  now:", "  nu:\n    x: {en: [y]}\n  now:", 9, "nu", "unknown group"),
    ],
)
def test_a_malformed_rules_file_names_the_file_line_and_entry(
    tmp_path: Path, replace: str, by: str, line: int, entry: str, problem: str
) -> None:
    assert replace in GOOD
    bad = tmp_path / EMERGENCY_FILE
    bad.write_text(GOOD.replace(replace, by), encoding="utf-8")
    with pytest.raises(LibraryFileError) as err:
        read_emergency(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{bad}:{line}: triage_emergency.{entry}: "), message
    assert problem in message


def test_rules_read_from_a_file(tmp_path: Path) -> None:
    (tmp_path / EMERGENCY_FILE).write_text(GOOD, encoding="utf-8")
    rules = read_emergency(tmp_path / EMERGENCY_FILE)
    assert detect_emergency("de schuur staat in brand", rules).is_emergency
    assert not detect_emergency("the shed was on fire last week", rules).is_emergency


def test_a_missing_or_keyless_rules_file_is_an_error_not_an_empty_rule_set(tmp_path: Path) -> None:
    with pytest.raises(LibraryFileError, match="no such file: the emergency rules are required"):
        read_emergency(tmp_path)
    (tmp_path / EMERGENCY_FILE).write_text("danger: {}\n", encoding="utf-8")
    with pytest.raises(LibraryFileError, match="expected a mapping with a 'triage_emergency:' key"):
        read_emergency(tmp_path)


def test_an_import_refuses_a_domain_with_broken_rules(tmp_path: Path) -> None:
    domain = tmp_path / "responses"
    shutil.copytree(RESPONSES, domain)
    path = domain / EMERGENCY_FILE
    broken = path.read_text(encoding="utf-8").replace("\\bflames\\b", "\\bflames(\\b", 1)
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(LibraryFileError) as err:
        read_library(PROJECT_ROOT / "nlu_data", domain)
    assert str(path) in str(err.value) and "triage_emergency.danger.fire.en[" in str(err.value)
