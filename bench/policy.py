"""What the triage policy does for citizens, before and after a change, on the same messages.

Three figures a team cares about beyond intent accuracy, on this tree's library (5-fold: each
message decided by a model that never saw it), and the emergency rules on the emergency table
(`tests/core/emergency_cases.yml`):

    wrong auto-answers   a library answer sent for a message whose true intent is another one
    role accuracy        of the messages a role owns, the share that reach that role
    emergency recall     emergencies treated as one (library examples, and the table's cases)
    false alarms         other messages treated as an emergency

`--before REF` decides the SAME held-out messages with the code, library and rules of an earlier
commit (checked out with `git archive` into a temporary directory and run in a subprocess), so
the two rows compare the systems, not two data sets: the earlier commit is trained on its own
examples minus the fold being decided, and judged by this tree's labels (a message of an intent
the earlier library did not have is right only if it reaches the role that owns it now).

    .venv/bin/python -m bench.policy [--before REF]
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

FOLDS = 5
SEED = 13
HERE = Path(globals().get("__file__", ".")).resolve().parent.parent


# --- the probe: runs inside whichever tree is first on sys.path (this one, or REF's) ----------


def probe(root: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Decisions for the held-out folds and emergency verdicts for the table's texts, made by
    the code and data under `root`. Uses only APIs that every version of the tree has had."""
    from bot.core import emergency as em
    from bot.core.language import detect_language
    from bot.core.policy import decide
    from bot.core.types import Thresholds
    from bot.nlu import rasa_format as rf
    from bot.nlu.engine import train
    from bot.service.dryrun import library_from_files

    files = rf.read_library(root / "nlu_data", root / "responses")
    rules = rf.read_emergency(root / "responses") if hasattr(rf, "read_emergency") else None
    with_rules = len(inspect.signature(library_from_files).parameters) > 1
    library = library_from_files(files, rules) if with_rules else library_from_files(files)
    thresholds = Thresholds(*rf.read_thresholds(root / "config.yml"))
    own = [(e.text, e.intent) for e in files.examples]

    decisions: list[dict[str, Any] | None] = [None] * len(request["texts"])
    for fold in range(request["folds"]):
        held = [i for i, f in enumerate(request["fold_of"]) if f == fold]
        unseen = {request["texts"][i].casefold() for i in held}
        train_set = [(t, y) for t, y in own if t.casefold() not in unseen]
        engine = train([t for t, _ in train_set], [y for _, y in train_set]).engine
        texts = [request["texts"][i] for i in held]
        for i, text, parse in zip(held, texts, engine.parse_many(texts), strict=True):
            d = decide(text, detect_language(text), parse, library, thresholds, area_known=True)
            reached = (
                library.intents[d.answer_intent].role
                if d.action.value == "answer" and d.answer_intent in library.intents
                else d.role
            )
            decisions[i] = {"action": d.action.value, "answer_intent": d.answer_intent, "role": reached}

    def alarm(text: str) -> bool:
        signal = em.detect_emergency(text, rules) if rules is not None else em.detect_emergency(text)
        return bool(signal.is_emergency)

    return {"decisions": decisions, "alarms": [alarm(t) for t in request["cases"]]}


# --- this tree: the messages, the folds, the truth and the figures --------------------------


def request_for(root: Path) -> tuple[dict[str, Any], Any, list[Any]]:
    from sklearn.model_selection import StratifiedKFold

    from bot.nlu.rasa_format import read_emergency, read_library
    from bot.service.dryrun import library_from_files
    from bot.service.emergency_eval import CASES_FILE, read_cases

    files = read_library(root / "nlu_data", root / "responses")
    library = library_from_files(files, read_emergency(root / "responses"))
    texts = [e.text for e in files.examples]
    labels = [e.intent for e in files.examples]
    fold_of = [0] * len(texts)
    split = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fold, (_, test) in enumerate(split.split(texts, labels)):
        for i in test:
            fold_of[i] = fold
    cases = read_cases(CASES_FILE)
    request = {
        "texts": texts,
        "labels": labels,
        "fold_of": fold_of,
        "folds": FOLDS,
        "cases": [c.text for c in cases],
    }
    return request, library, cases


def figures(request: dict[str, Any], library: Any, cases: list[Any], out: dict[str, Any]) -> dict[str, Any]:
    """The policy's figures for `out` (a probe's answer), judged by this tree's labels."""
    n = answered = wrong = owned = right_role = emergencies = caught = others = false_alarms = 0
    for label, d in zip(request["labels"], out["decisions"], strict=True):
        n += 1
        spec = library.spec(label)
        if d["action"] == "answer":
            answered += 1
            wrong += d["answer_intent"] != label
        if spec is not None and spec.mode.value == "emergency":
            emergencies += 1
            caught += d["action"] == "emergency"
            continue
        others += 1
        false_alarms += d["action"] == "emergency"
        owner = library.owners.get(label)
        if owner is None:
            continue
        owned += 1
        right_role += d["action"] in ("answer", "route") and d["role"] == owner
    table_emergencies = [a for c, a in zip(cases, out["alarms"], strict=True) if c.emergency]
    table_others = [a for c, a in zip(cases, out["alarms"], strict=True) if not c.emergency]
    return {
        "messages": n,
        "auto_answered": answered / n,
        "wrong_auto_answers": wrong,
        "wrong_auto_answer_rate": wrong / n,
        "role_accuracy": right_role / owned if owned else 1.0,
        "library_emergency_recall": caught / emergencies if emergencies else 1.0,
        "library_false_alarms": false_alarms,
        "table_cases": len(cases),
        "table_emergency_recall": sum(table_emergencies) / len(table_emergencies),
        "table_false_alarm_rate": sum(table_others) / len(table_others),
    }


def run_before(ref: str, request: dict[str, Any]) -> dict[str, Any]:
    """The probe inside a checkout of `ref`, fed this tree's messages and folds."""
    with tempfile.TemporaryDirectory(prefix="bench-policy-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(HERE), "archive", ref], check=True, capture_output=True
        ).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        code = (
            "import json, sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
            f"exec(open({str(Path(__file__))!r}).read().split('# --- this tree')[0]);"
            "print(json.dumps(probe(Path(sys.argv[1]), json.load(sys.stdin))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, tmp],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            cwd=tmp,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": tmp},
        )
        if done.returncode:
            raise SystemExit(f"the probe failed in {ref}:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def run(before: str | None = None) -> dict[str, Any]:
    from bench.common import loadavg, write_result

    request, library, cases = request_for(HERE)
    rows = []
    if before:
        print(f"policy: {FOLDS}-fold, decided by {before}", flush=True)
        rows.append({"tree": before, **figures(request, library, cases, run_before(before, request))})
    print(f"policy: {FOLDS}-fold, decided by this tree", flush=True)
    rows.append({"tree": "this tree", **figures(request, library, cases, probe(HERE, request))})
    out = {
        "folds": FOLDS,
        "seed": SEED,
        "messages": len(request["texts"]),
        "intents": len(set(request["labels"])),
        "load_average": loadavg(),
        "rows": rows,
    }
    write_result("policy", out)
    return out


def markdown(out: dict[str, Any]) -> str:
    from bench.common import pct, table

    return table(
        [
            f"policy on {out['messages']} held-out messages ({out['intents']} intents), {out['folds']}-fold",
            "auto-answered %",
            "wrong auto-answers",
            "role accuracy %",
            "emergency recall % (library)",
            "emergency recall % (table)",
            "false alarms % (table)",
        ],
        [
            [
                r["tree"],
                pct(r["auto_answered"]),
                f"{r['wrong_auto_answers']} ({pct(r['wrong_auto_answer_rate'])}%)",
                pct(r["role_accuracy"]),
                pct(r["library_emergency_recall"]),
                pct(r["table_emergency_recall"]),
                pct(r["table_false_alarm_rate"]),
            ]
            for r in out["rows"]
        ],
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    ref = args[args.index("--before") + 1] if "--before" in args else None
    print(markdown(run(ref)))
