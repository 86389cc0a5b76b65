"""The `triage` command: init, the JSONL contract, library export/import, queue, chat."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT


def triage(tmp: Path, *args: str, stdin: str = "", db: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        "TRIAGE_DATA_DIR": str(tmp),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp),
        "DATABASE_URL": db,
        "COLUMNS": "200",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def initialised(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("cli")
    result = triage(tmp, "init")
    assert result.returncode == 0, result.stderr
    assert "one-time password" in result.stdout and "accuracy" in result.stdout
    return tmp


def test_init_twice_keeps_the_admin_and_the_model(initialised: Path) -> None:
    again = triage(initialised, "init")
    assert again.returncode == 0, again.stderr
    assert "exists" in again.stdout and "is active" in again.stdout


def test_classify_jsonl_contract(initialised: Path) -> None:
    lines = [
        {"text": "my smoke alarm keeps beeping"},
        {"text": "er is brand, help!", "language": "nl"},
        {"text": "can I talk to a real person"},
        {"text": "hoi"},
        {"text": ""},
    ]
    result = triage(
        initialised, "classify", "--jsonl", stdin="\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    )
    assert result.returncode == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == 6
    for row in out[:5]:
        assert set(row) == {"action", "intent", "confidence", "role", "language", "reply"}
        assert row["action"] in {"emergency", "smalltalk", "answer", "route"}
        assert row["language"] in {"en", "nl"} and isinstance(row["confidence"], float)
    assert out[0]["action"] == "answer" and out[0]["intent"] == "fire_alarm_beeping"
    assert out[1]["action"] == "emergency" and out[1]["language"] == "nl" and "112" in out[1]["reply"]
    assert out[2]["action"] == "route" and out[2]["intent"] is not None and out[2]["role"]
    assert out[3]["action"] == "smalltalk"
    assert "error" in out[5]


def test_classify_is_a_dry_run(initialised: Path) -> None:
    import sqlite3

    db = sqlite3.connect(initialised / "triage.db")
    before = db.execute("select count(*) from messages").fetchone()[0]
    triage(initialised, "classify", "--jsonl", stdin='{"text": "hello"}\n')
    assert db.execute("select count(*) from messages").fetchone()[0] == before


def test_classify_works_before_init(tmp_path: Path) -> None:
    result = triage(tmp_path, "classify", "--jsonl", stdin='{"text": "mijn rookmelder piept"}\n')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["intent"] == "fire_alarm_beeping"


def test_export_import_round_trip_and_bad_import(initialised: Path, tmp_path: Path) -> None:
    exported = triage(
        initialised, "library", "export", "--nlu", str(tmp_path / "n"), "--domain", str(tmp_path / "d")
    )
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "d" / "routing.yml").exists() and list((tmp_path / "n").rglob("*.yml"))
    imported = triage(
        initialised,
        "library",
        "import",
        "--nlu",
        str(tmp_path / "n"),
        "--domain",
        str(tmp_path / "d"),
        "--no-train",
    )
    assert imported.returncode == 0, imported.stderr
    (tmp_path / "n" / "broken.yml").write_text("nlu:\n- intent: x\n  examples: [1]\n")
    bad = triage(
        initialised, "library", "import", "--nlu", str(tmp_path / "n"), "--domain", str(tmp_path / "d")
    )
    assert bad.returncode == 1 and "broken.yml:2" in bad.stderr


def test_library_rules_regenerates_rules_yml_from_the_files(tmp_path: Path) -> None:
    import shutil

    nlu, domain = tmp_path / "nlu_data", tmp_path / "responses"
    shutil.copytree(PROJECT_ROOT / "nlu_data", nlu)
    shutil.copytree(PROJECT_ROOT / "responses", domain)
    (nlu / "rules.yml").unlink()
    result = triage(tmp_path, "library", "rules", "--nlu", str(nlu), "--domain", str(domain))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout and "rules.yml" in result.stdout
    expected = (PROJECT_ROOT / "nlu_data" / "rules.yml").read_text(encoding="utf-8")
    assert (nlu / "rules.yml").read_text(encoding="utf-8") == expected


def test_chat_and_queue_in_the_terminal(initialised: Path) -> None:
    chat = triage(
        initialised,
        "chat",
        "--sender",
        "t1",
        stdin="hallo\nik wil graag de burgemeester spreken over ons buurtfeest\nquit\n",
    )
    assert chat.returncode == 0, chat.stderr
    assert "burgemeester" in chat.stdout or "doorgestuurd" in chat.stdout
    listing = triage(initialised, "queue", "list")
    assert "municipal_office" in listing.stdout
    qid = next(
        line.split("│")[1].strip() for line in listing.stdout.splitlines() if "municipal_office" in line
    )
    shown = triage(initialised, "queue", "show", qid)
    assert "why:" in shown.stdout and "citizen" in shown.stdout
    answered = triage(initialised, "queue", "answer", qid, "De burgemeester komt graag langs.")
    assert answered.returncode == 0, answered.stderr
    assert "answered" in triage(initialised, "queue", "list", "--all").stdout


def test_help_everywhere(initialised: Path) -> None:
    for args in [(), ("library",), ("queue",), ("user",)]:
        result = triage(initialised, *args, "--help")
        assert result.returncode == 0 and "Usage" in result.stdout


def test_evaluate_reports_the_policy_and_the_emergency_rules(initialised: Path) -> None:
    result = triage(initialised, "evaluate", "--folds", "2", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    policy, rules = report["policy"], report["emergency_rules"]
    assert policy["examples"] == report["examples"] and 0 <= policy["wrong_answer_rate"] < 0.2
    assert policy["role_accuracy"] > 0.5 and policy["emergency_recall"] > 0.8
    assert rules["emergencies"] >= 100 and rules["recall"] > 0.9 and rules["false_alarm_rate"] < 0.1
