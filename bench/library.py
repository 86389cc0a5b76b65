"""Our own English/Dutch library (nlu_data/): 5-fold cross-validated accuracy, macro-F1 and
coverage at 97% precision, the same split (bot.nlu.evaluate.cross_validate) for every engine.

    .venv/bin/python -m bench.library        (BENCH_RASA=0 skips Rasa)
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import RASA, ROOT, loadavg, pct, prime_embeddings, table, variants, write_result
from bot.nlu.engine import train
from bot.nlu.evaluate import Report, cross_validate
from bot.nlu.rasa_format import read_library

FOLDS = 5


def row(name: str, report: Report, seconds: float, load: list[float]) -> dict[str, Any]:
    return {"engine": name, "accuracy": report.accuracy, "macro_f1": report.macro_f1,
            "coverage_at_97": report.coverage["97"], "coverage": report.coverage,
            "cv_wall_s": seconds, "load_average": load}


def run() -> dict[str, Any]:
    lib = read_library(ROOT / "nlu_data", ROOT / "responses")
    texts = [e.text for e in lib.examples]
    labels = [e.intent for e in lib.examples]
    rows = []
    for variant in variants():
        if variant.uses_embeddings:
            prime_embeddings("library", texts)
        print(f"library: {FOLDS}-fold {variant.name}", flush=True)
        load, start = loadavg(), time.perf_counter()
        report = cross_validate(texts, labels,
                                lambda t, y, v=variant: train(t, y, v.build()).engine.parse_many,
                                variant.name, FOLDS)
        rows.append(row(variant.name, report, time.perf_counter() - start, load))
    if RASA:
        from bench.rasa_bench import RasaBench
        from bot.nlu.rasa_training import fold_fitter

        bench = RasaBench()
        try:
            print(f"library: {FOLDS}-fold Rasa", flush=True)
            load, start = loadavg(), time.perf_counter()
            report = cross_validate(texts, labels,
                                    fold_fitter(bench.worker, bench.settings, bench.dir / "cv"),
                                    "rasa", FOLDS)
            rows.append(row("Rasa: config.yml pipeline", report, time.perf_counter() - start, load))
        finally:
            bench.close()
    out = {"examples": len(texts), "intents": len(set(labels)), "folds": FOLDS, "rows": rows}
    write_result("library", out)
    return out


def markdown(out: dict[str, Any]) -> str:
    return table([f"library ({out['examples']} examples, {out['intents']} intents, "
                  f"{out['folds']}-fold)", "accuracy %", "macro-F1 %", "coverage@97 %", "CV s"],
                 [[r["engine"], pct(r["accuracy"]), pct(r["macro_f1"]), pct(r["coverage_at_97"]),
                   r["cv_wall_s"]] for r in out["rows"]])


if __name__ == "__main__":
    print(markdown(run()))
