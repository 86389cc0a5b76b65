"""CLINC150 with the paper's out-of-scope protocol (Larson et al. 2019, "oos-threshold").

Train on `train`; choose the confidence threshold that maximises accuracy on `val` + `oos_val`
(out-of-scope counted as its own class); report on `test` + `oos_test`: in-scope accuracy (right
AND above the threshold), out-of-scope recall (below the threshold) and coverage at 97% precision
(auto-answer by descending confidence; an auto-answered out-of-scope message is wrong). A second
pair of columns takes the threshold that maximises the mean of in-scope accuracy and out-of-scope
recall on the same validation messages (`choose_threshold`): the same model, another trade-off.

    .venv/bin/python -m bench.clinc150        (BENCH_RASA=0 skips Rasa, BENCH_DIET=1 adds DIET)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    DATA,
    RASA,
    embedding_speed,
    engine_speed,
    pct,
    prime_embeddings,
    table,
    timed_train,
    variants,
    write_result,
)
from bot.core.types import Parse
from bot.nlu.evaluate import coverage_at_precision

OOS = "oos"
PAPER = {  # in-scope accuracy / out-of-scope recall, oos-threshold, data_full
    "FastText": (88.6, 28.3), "SVM": (88.2, 18.0), "CNN": (90.9, 30.9), "DialogFlow": (90.8, 26.7),
    "Rasa (spaCy + sklearn)": (90.9, 31.2), "MLP (USE embeddings)": (93.4, 49.1),
    "BERT (fine-tuned)": (96.2, 52.3),
}
DIET_EPOCHS = int(os.environ.get("BENCH_DIET_EPOCHS", "20"))


def load() -> dict[str, list[tuple[str, str]]]:
    raw = json.loads((DATA / "clinc150" / "data_full.json").read_text())
    return {k: [(t, label) for t, label in v] for k, v in raw.items()}


def tops(parses: Sequence[Parse]) -> tuple[np.ndarray, np.ndarray]:
    names = np.array([p.top.name if p.top else "" for p in parses])
    conf = np.array([p.top.confidence if p.top else 0.0 for p in parses])
    return names, conf


def choose_threshold(truth: np.ndarray, names: np.ndarray, conf: np.ndarray,
                     balanced: bool = False) -> tuple[float, float]:
    """The threshold (and its score) that maximises, on the validation messages, the accuracy
    with out-of-scope as its own class (the paper's choice), or with `balanced` the mean of
    in-scope accuracy and out-of-scope recall: val has 30 in-scope messages for each
    out-of-scope one (test 4.5), so plain accuracy all but ignores the out-of-scope side."""
    inscope = truth != OOS
    best, threshold = -1.0, 0.0
    for t in np.unique(conf):
        predicted = np.where(conf >= t, names, OOS)
        if balanced:
            score = 0.5 * float((predicted == truth)[inscope].mean()
                                + (predicted == OOS)[~inscope].mean())
        else:
            score = float((predicted == truth).mean())
        if score > best:
            best, threshold = score, float(t)
    return threshold, best


def oos_protocol(val: Sequence[tuple[str, str]], val_parses: Sequence[Parse],
                 test: Sequence[tuple[str, str]], test_parses: Sequence[Parse]) -> dict[str, Any]:
    truth_v = np.array([label for _, label in val])
    names_v, conf_v = tops(val_parses)
    truth = np.array([label for _, label in test])
    names, conf = tops(test_parses)
    inscope = truth != OOS
    correct = (names == truth) & inscope

    def at(threshold: float) -> dict[str, float]:
        return {"threshold": threshold,
                "in_scope_accuracy": float((correct & (conf >= threshold))[inscope].mean()),
                "oos_recall": float((conf < threshold)[~inscope].mean())}

    threshold, val_accuracy = choose_threshold(truth_v, names_v, conf_v)
    balanced, val_balanced = choose_threshold(truth_v, names_v, conf_v, balanced=True)
    return {
        **at(threshold),
        "val_accuracy": val_accuracy,
        "balanced_threshold": {**at(balanced), "val_balanced_accuracy": val_balanced},
        "coverage_at_97": coverage_at_precision(list(correct), list(conf), 0.97),
        "top1_accuracy_in_scope": float(correct[inscope].mean()),
    }


def run() -> dict[str, Any]:
    data = load()
    train, val, test = data["train"], data["val"] + data["oos_val"], data["test"] + data["oos_test"]
    texts, labels = [t for t, _ in train], [label for _, label in train]
    val_texts, test_texts = [t for t, _ in val], [t for t, _ in test]
    rows: list[dict[str, Any]] = []
    for variant in variants():
        extra: dict[str, Any] = {}
        if variant.uses_embeddings:
            extra["embedding_cache"] = prime_embeddings("clinc150", texts + val_texts + test_texts)
        print(f"clinc150: training {variant.name}", flush=True)
        result, timing = timed_train(texts, labels, variant.build)
        engine = result.engine
        figures = oos_protocol(val, engine.parse_many(val_texts), test, engine.parse_many(test_texts))
        if variant.uses_embeddings:
            # Training embedded the training set from the cache: add the live embedding time.
            speed = embedding_speed([t for t, _ in data["oos_train"]] + texts[::37])
            extra["embedding_speed"] = speed
            timing["train_wall_s_cached"] = timing["train_wall_s"]
            timing["train_wall_s"] += len(texts) / speed["batch_per_s"]
        rows.append({"engine": variant.name, **figures, **timing, **extra,
                     "speed": engine_speed(engine, test_texts, variant.uses_embeddings)})
    if RASA:
        rows += rasa_rows(texts, labels, val, test)
    out = {"protocol": "oos-threshold (train / val+oos_val / test+oos_test)", "rows": rows,
           "paper": {k: {"in_scope_accuracy": a, "oos_recall": r} for k, (a, r) in PAPER.items()}}
    write_result("clinc150", out)
    return out


def rasa_rows(texts: list[str], labels: list[str], val: list[tuple[str, str]],
              test: list[tuple[str, str]]) -> list[dict[str, Any]]:
    from bench.rasa_bench import RasaBench, diet_config

    rows = []
    bench = RasaBench()
    try:
        configs: list[tuple[str, Path | None]] = [("Rasa: config.yml pipeline", None)]
        if os.environ.get("BENCH_DIET") == "1":
            configs.append((f"Rasa: DIET, {DIET_EPOCHS} epochs",
                            diet_config(Path(tempfile.mkdtemp()) / "config.yml", DIET_EPOCHS)))
        for name, config in configs:
            print(f"clinc150: training {name}", flush=True)
            timing = bench.train(texts, labels, config)
            figures = oos_protocol(val, bench.parse_many([t for t, _ in val]),
                                   test, bench.parse_many([t for t, _ in test]))
            rows.append({"engine": name, **figures, **timing,
                         "speed": bench.speed([t for t, _ in test])})
    finally:
        bench.close()
    return rows


def markdown(out: dict[str, Any]) -> str:
    body = []
    for r in out["rows"]:
        b = r.get("balanced_threshold") or {}
        body.append([r["engine"], pct(r["in_scope_accuracy"]), pct(r["oos_recall"]),
                     pct(b.get("in_scope_accuracy")), pct(b.get("oos_recall")),
                     pct(r["coverage_at_97"]), r["train_wall_s"], r.get("train_cpu_s"),
                     r["speed"]["p50_ms"], r["speed"]["p99_ms"], r["speed"]["batch_per_s"]])
    body += [[f"paper: {k}", v["in_scope_accuracy"], v["oos_recall"], None, None, None, None, None,
              None, None, None] for k, v in out["paper"].items()]
    return table(["CLINC150 engine", "in-scope acc %", "OOS recall %",
                  "balanced: in-scope %", "balanced: OOS %", "coverage@97 %", "train s",
                  "train CPU s", "p50 ms", "p99 ms", "batch msg/s"], body)


if __name__ == "__main__":
    print(markdown(run()))
