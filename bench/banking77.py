"""BANKING77: accuracy on `test` after training on `train` (no out-of-scope data), same engines.

    .venv/bin/python -m bench.banking77        (BENCH_RASA=0 skips Rasa)
"""

from __future__ import annotations

import csv
from typing import Any

from bench.common import (
    DATA,
    RASA,
    engine_speed,
    pct,
    prime_embeddings,
    table,
    timed_train,
    variants,
    write_result,
)
from bot.nlu.evaluate import coverage_at_precision

PAPER = {"BERT-large fine-tuned (Casanueva et al.)": 93.7, "USE+ConveRT (Casanueva et al.)": 93.4}


def load(split: str) -> tuple[list[str], list[str]]:
    with (DATA / "banking77" / f"{split}.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def score(parses: list[Any], truth: list[str]) -> dict[str, float]:
    correct = [bool(p.top and p.top.name == t) for p, t in zip(parses, truth, strict=True)]
    conf = [p.top.confidence if p.top else 0.0 for p in parses]
    return {"accuracy": sum(correct) / len(correct),
            "coverage_at_97": coverage_at_precision(correct, conf, 0.97)}


def run() -> dict[str, Any]:
    texts, labels = load("train")
    test_texts, test_labels = load("test")
    rows: list[dict[str, Any]] = []
    for variant in variants():
        extra: dict[str, Any] = {}
        if variant.uses_embeddings:
            extra["embedding_cache"] = prime_embeddings("banking77", texts + test_texts)
        print(f"banking77: training {variant.name}", flush=True)
        result, timing = timed_train(texts, labels, variant.build)
        figures = score(result.engine.parse_many(test_texts), test_labels)
        speed = {} if variant.uses_embeddings else {"speed": engine_speed(result.engine, test_texts)}
        rows.append({"engine": variant.name, **figures, **timing, **speed, **extra})
    if RASA:
        from bench.rasa_bench import RasaBench

        bench = RasaBench()
        try:
            print("banking77: training Rasa", flush=True)
            timing = bench.train(texts, labels)
            rows.append({"engine": "Rasa: config.yml pipeline",
                         **score(bench.parse_many(test_texts), test_labels), **timing})
        finally:
            bench.close()
    out = {"rows": rows, "paper": PAPER}
    write_result("banking77", out)
    return out


def markdown(out: dict[str, Any]) -> str:
    body = [[r["engine"], pct(r["accuracy"]), pct(r["coverage_at_97"]), r["train_wall_s"]]
            for r in out["rows"]]
    body += [[f"paper: {k}", v, None, None] for k, v in out["paper"].items()]
    return table(["BANKING77 engine", "accuracy %", "coverage@97 %", "train s"], body)


if __name__ == "__main__":
    print(markdown(run()))
