"""Malformed or hostile library files: a clear error naming the file, and the database unchanged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.app import import_library_files
from bot.cli import app as cli
from bot.config import PROJECT_ROOT
from bot.nlu.rasa_format import MAX_FILE_BYTES, LibraryFileError
from bot.store import models as m

BOMB = "a: &a [" + ",".join(["x"] * 9) + "]\n" + "".join(
    f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
) + "nlu: *i\n"

CASES = {
    "yaml bomb (aliases)": ("nlu", "en/nlu.yml", BOMB),
    "alias of an example": ("nlu", "en/nlu.yml", "nlu:\n- intent: greet\n  examples: &e |\n    - hi\n"
                            "- intent: bye\n  examples: *e\n"),
    "python object tag": ("nlu", "en/nlu.yml", "nlu: !!python/object/apply:os.system ['true']\n"),
    "nlu is a string": ("nlu", "en/nlu.yml", "nlu: hello\n"),
    "examples is a number": ("nlu", "en/nlu.yml", "nlu:\n- intent: greet\n  examples: 42\n"),
    "intent is a list": ("nlu", "en/nlu.yml", "nlu:\n- intent: [a, b]\n  examples: |\n    - hi\n"),
    "responses is a list": ("domain", "answers.yml", "version: '3.1'\nresponses: [1, 2, 3]\n"),
    "response text is a mapping": ("domain", "answers.yml",
                                   "responses:\n  utter_greet:\n  - text: {a: b}\n"),
    "routing roles wrong type": ("domain", "routing.yml", "triage:\n  roles: 7\n"),
    "deeply nested": ("nlu", "en/nlu.yml", "nlu: " + "[" * 20_000 + "]" * 20_000 + "\n"),
    "not UTF-8": ("nlu", "en/nlu.yml", b"nlu:\n- intent: greet\n  examples: |\n    - caf\xe9\n"),
    "broken YAML": ("domain", "answers.yml", "responses:\n  utter_x: [\n"),
    "example too long": ("nlu", "en/nlu.yml",
                         "nlu:\n- intent: greet\n  examples: |\n    - " + "a" * 5000 + "\n"),
}


def _copy_library(tmp: Path) -> tuple[Path, Path]:
    nlu, domain = tmp / "nlu", tmp / "domain"
    shutil.copytree(PROJECT_ROOT / "nlu_data", nlu)
    shutil.copytree(PROJECT_ROOT / "responses", domain)
    return nlu, domain


def _snapshot(services) -> dict:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return {
            model.__tablename__: s.scalar(select(func.count()).select_from(model))
            for model in (m.Intent, m.TrainingExample, m.Answer, m.Role, m.Area)
        } | {"answers": sorted(s.execute(select(m.Answer.key, m.Answer.language, m.Answer.text)).all())}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_file_is_refused_with_its_name_and_the_database_is_unchanged(sqlite_services, tmp_path,  # type: ignore[no-untyped-def]
                                                                            case):
    which, rel, content = CASES[case]
    nlu, domain = _copy_library(tmp_path)
    target = (nlu if which == "nlu" else domain) / rel
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    before = _snapshot(sqlite_services)
    with pytest.raises(LibraryFileError) as info:
        import_library_files(sqlite_services, nlu, domain)
    assert target.name in str(info.value), str(info.value)
    assert _snapshot(sqlite_services) == before


def test_a_huge_file_is_refused_without_reading_it(sqlite_services, tmp_path):  # type: ignore[no-untyped-def]
    nlu, domain = _copy_library(tmp_path)
    huge = nlu / "en" / "huge.yml"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: 5 MiB of nothing
    before = _snapshot(sqlite_services)
    with pytest.raises(LibraryFileError, match="more than"):
        import_library_files(sqlite_services, nlu, domain)
    assert _snapshot(sqlite_services) == before


def test_the_cli_reports_the_error_and_exits_non_zero(sqlite_services, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", sqlite_services.settings.db_url)
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path))
    nlu, domain = _copy_library(tmp_path)
    (nlu / "en" / "nlu.yml").write_text(BOMB, encoding="utf-8")
    before = _snapshot(sqlite_services)
    result = CliRunner().invoke(cli, ["library", "import", "--nlu", str(nlu), "--domain", str(domain),
                                      "--no-train"])
    assert result.exit_code == 1
    flat = result.output.replace("\n", "")  # the console may wrap a long path
    assert "error" in flat and "nlu.yml" in flat
    assert "Traceback" not in result.output
    assert _snapshot(sqlite_services) == before
