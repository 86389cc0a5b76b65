"""The library in Rasa formats: lossless round trip, clear errors, hostile files refused."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import import_library_files
from bot.nlu.rasa_format import LibraryFileError, read_library, write_library
from bot.store import models as m
from bot.store.library_repo import export_library


def snapshot(services):  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        examples = sorted(s.execute(select(m.TrainingExample.intent, m.TrainingExample.language,
                                           m.TrainingExample.text)).all())
        intents = sorted(s.execute(select(m.Intent.name, m.Intent.mode, m.Intent.role)).all())
        answers = sorted(s.execute(select(m.Answer.key, m.Answer.language, m.Answer.text)).all())
        roles = sorted(s.execute(select(m.Role.slug, m.Role.name_en, m.Role.name_nl, m.Role.area_bound,
                                        m.Role.response_hours, m.Role.staffed_hours, m.Role.time_zone,
                                        m.Role.closed_days)).all())
    return examples, intents, answers, roles


def test_the_shipped_library_is_complete(library_files) -> None:  # type: ignore[no-untyped-def]
    answer_intents = {"fire_alarm_beeping", "fire_alarm_placement", "fire_alarm_maintenance",
                      "carbon_monoxide", "house_fire_escape", "fireworks_safety", "burglary_prevention",
                      "bike_theft_prevention", "report_non_emergency", "when_to_call_112", "noise_nuisance",
                      "online_scams", "event_permit", "contact_community_officer", "extreme_weather",
                      "lost_and_found", "nl_alert_sirens", "pan_fire", "battery_fire_safety",
                      "lost_identity_document", "domestic_violence", "suicide_prevention",
                      "home_security_camera", "neighbourhood_watch", "public_space_report"}
    for intent in answer_intents:
        assert library_files.intents[intent].mode.value == "answer"
        for lang in ("en", "nl"):
            text = library_files.responses[f"utter_{intent}"][lang]
            assert 50 < len(text) <= 620, (intent, lang, len(text))
    routes = {"fire_safety_inspection": "fire_prevention_officer",
              "neighbourhood_safety_concern": "neighbourhood_coordinator",
              "local_crime_tip": "community_police_officer", "enforcement_request": "enforcement_officer",
              "event_safety_consultation": "event_safety_coordinator",
              "contact_mayor_alderman": "municipal_office", "crisis_preparedness": "crisis_management",
              "human_request": "public_order_officer", "complaint_about_service": "municipal_office",
              "own_case_follow_up": "public_order_officer"}
    for intent, role in routes.items():
        assert (library_files.intents[intent].mode.value, library_files.intents[intent].role) == ("route", role)
    counts: dict[tuple[str, str], int] = {}
    for ex in library_files.examples:
        counts[(ex.intent, ex.language)] = counts.get((ex.intent, ex.language), 0) + 1
    for intent in answer_intents | set(routes) | {"greet", "thanks", "goodbye", "bot_challenge"}:
        assert counts.get((intent, "en"), 0) >= 20, intent
        assert counts.get((intent, "nl"), 0) >= 15, intent


def test_export_then_import_is_lossless(sqlite_services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(sqlite_services)
    with sqlite_services.sessions() as s:
        lib = export_library(s)
    write_library(lib, tmp_path / "nlu", tmp_path / "domain")
    import_library_files(sqlite_services, tmp_path / "nlu", tmp_path / "domain")
    assert snapshot(sqlite_services) == before


def test_office_hours_survive_the_round_trip_and_bad_ones_name_the_line(tmp_path: Path) -> None:
    domain = tmp_path / "domain"
    domain.mkdir()
    (tmp_path / "nlu").mkdir()
    (tmp_path / "out_nlu").mkdir()
    (domain / "routing.yml").write_text(
        "triage:\n  roles:\n    desk:\n      name: {en: a desk, nl: een balie}\n"
        "      office_hours: mon-fri 09:00-12:00\n      time_zone: Europe/Brussels\n"
        "      closed_days: [2026-12-24, 2026-12-31]\n    night:\n      name: {en: night}\n"
        "      always_staffed: true\n", encoding="utf-8")
    lib = read_library(tmp_path / "nlu", domain)
    desk = lib.roles["desk"]
    assert (desk.office_hours, desk.time_zone, desk.closed_days) == (
        "mon-fri 09:00-12:00", "Europe/Brussels", ("2026-12-24", "2026-12-31"))
    assert lib.roles["night"].office_hours is None
    write_library(lib, tmp_path / "out_nlu", tmp_path / "out")
    again = read_library(tmp_path / "out_nlu", tmp_path / "out")
    assert again.roles["desk"] == desk and again.roles["night"] == lib.roles["night"]
    (domain / "routing.yml").write_text(
        "triage:\n  roles:\n    desk:\n      name: {en: a desk}\n      office_hours: weekdays 9-5\n",
        encoding="utf-8")
    with pytest.raises(LibraryFileError) as info:
        read_library(tmp_path / "nlu", domain)
    assert info.value.line == 4 and "role desk: office hours 'weekdays 9-5'" in str(info.value)


def test_a_foreign_rasa_project_imports_with_routes_to_the_default_role(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: ask_opening_hours\n  examples: |\n    - when are you open\n'
        "    - opening hours?\n- intent: greet\n  examples: |\n    - hello\n    - hoi\n"
        "- synonym: open\n  examples: |\n    - opened\n")
    (tmp_path / "domain.yml").write_text(
        'version: "3.1"\nintents:\n  - ask_opening_hours\n  - greet:\n      use_entities: []\n'
        "responses:\n  utter_greet:\n  - text: Hello!\n")
    lib = read_library(tmp_path / "data", tmp_path / "domain.yml")
    assert lib.intents["ask_opening_hours"].mode.value == "route"
    assert lib.intents["ask_opening_hours"].role is None
    assert lib.intents["greet"].extra == {"use_entities": []}
    assert {e.text for e in lib.examples} == {"when are you open", "opening hours?", "hello", "hoi"}


@pytest.mark.parametrize(("content", "line", "fragment"), [
    ('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n  - bad: [\n', None, ""),
    ('version: "3.1"\nnlu:\n- intent: greet\n  examples:\n    - hi\n', 3, "must be a text block"),
    ('version: "3.1"\nnlu:\n- intent: "bad name!"\n  examples: |\n    - hi\n', 3, "invalid intent name"),
    ('version: "3.1"\nnlu: 42\n', 1, "must be a list"),
    ("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", 2, "aliases are not allowed"),
    (b"\xff\xfe not utf-8".decode("latin-1"), None, ""),
])
def test_malformed_files_name_the_file_and_line(tmp_path: Path, content: str, line: int | None,
                                                fragment: str) -> None:
    (tmp_path / "nlu").mkdir()
    bad = tmp_path / "nlu" / "bad.yml"
    bad.write_text(content, encoding="utf-8" if "latin" not in content else "latin-1")
    with pytest.raises(LibraryFileError) as info:
        read_library(tmp_path / "nlu", Path(__file__).parents[2] / "responses")
    assert str(bad) in str(info.value)
    if line is not None:
        assert info.value.line == line
    assert fragment in str(info.value)


def test_invalid_utf8_is_reported(tmp_path: Path) -> None:
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "x.yml").write_bytes(b'version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - \xff\n')
    with pytest.raises(LibraryFileError, match="not valid UTF-8"):
        read_library(tmp_path / "nlu", Path(__file__).parents[2] / "responses")


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "big.yml").write_text("# " + "x" * (6 * 1024 * 1024))
    with pytest.raises(LibraryFileError, match="more than"):
        read_library(tmp_path / "nlu", Path(__file__).parents[2] / "responses")


def test_a_bad_import_leaves_the_database_unchanged(sqlite_services, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = snapshot(sqlite_services)
    (tmp_path / "nlu").mkdir()
    (tmp_path / "nlu" / "ok.yml").write_text('version: "3.1"\nnlu:\n- intent: a\n  examples: |\n    - x\n')
    (tmp_path / "nlu" / "zz_bad.yml").write_text('nlu:\n- intent: b\n  examples: [1, 2]\n')
    with pytest.raises(LibraryFileError):
        import_library_files(sqlite_services, tmp_path / "nlu", Path(__file__).parents[2] / "responses")
    assert snapshot(sqlite_services) == before
    with sqlite_services.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.TrainingExample)) > 500
