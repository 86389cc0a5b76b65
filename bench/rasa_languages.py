"""One Rasa model for English and Dutch, or one per language? And how does Rasa compare with the
embedded engine? k-fold cross-validation on the library files, the same split for all three.

    .venv/bin/python bench/rasa_languages.py [folds]

Per language: each fold trains an English and a Dutch model on the fold's examples of that
language; a test message goes to the model of its detected language (as the service would).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bot.config import PROJECT_ROOT, Settings
from bot.core.language import detect_language
from bot.core.types import Parse
from bot.nlu.engine import train
from bot.nlu.evaluate import Parser, cross_validate
from bot.nlu.rasa_engine import RasaSettings, parse_from_rasa
from bot.nlu.rasa_format import Example, LibraryFiles, read_library, write_library
from bot.nlu.rasa_training import RasaWorker, fold_fitter


def main(folds: int) -> None:
    lib = read_library(PROJECT_ROOT / "nlu_data", PROJECT_ROOT / "responses")
    texts = [e.text for e in lib.examples]
    labels = [e.intent for e in lib.examples]
    language = {e.text: e.language or detect_language(e.text).value for e in lib.examples}
    print(f"{len(texts)} examples, {len(set(labels))} intents, {folds} folds")

    start = time.perf_counter()
    report = cross_validate(texts, labels, lambda t, y: train(t, y).engine.parse_many, "sklearn",
                            folds)
    print(f"sklearn         accuracy {report.accuracy:.3f}  macro-F1 {report.macro_f1:.3f}  "
          f"coverage {report.coverage}  {time.perf_counter() - start:.0f} s")

    rasa = RasaSettings()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(triage_data_dir=Path(tmp) / "data", _env_file=None)  # type: ignore[call-arg]
        settings.data_dir.mkdir(parents=True)
        with RasaWorker(rasa, settings) as worker:
            start = time.perf_counter()
            fit = fold_fitter(worker, settings, Path(tmp) / "one")
            report = cross_validate(texts, labels, fit, "rasa", folds)
            print(f"rasa, one model accuracy {report.accuracy:.3f}  "
                  f"macro-F1 {report.macro_f1:.3f}  coverage {report.coverage}  "
                  f"{time.perf_counter() - start:.0f} s")

            counter = iter(range(1000))

            def fit_per_language(t: Sequence[str], y: Sequence[str]) -> Parser:
                fold = next(counter)
                for lang in ("en", "nl"):
                    subset = LibraryFiles(examples=[Example(label, lang, text, "nlu.yml")
                                                    for text, label in zip(t, y, strict=True)
                                                    if language[text] == lang])
                    nlu = Path(tmp) / f"two{fold}{lang}"
                    write_library(subset, nlu / "nlu", nlu / "domain")
                    model = worker.request(op="train", config=str(settings.config_file),
                                           nlu=str(nlu / "nlu"), out=str(Path(tmp) / "models"),
                                           name=f"two{fold}{lang}")
                    worker.request(op="load", model=model["model"], key=lang)

                def parse(batch: Sequence[str]) -> list[Parse]:
                    out = []
                    for text in batch:
                        lang = detect_language(text).value
                        result = worker.request(op="parse", texts=[text], key=lang)["results"][0]
                        out.append(parse_from_rasa(result, f"two{fold}"))
                    return out

                return parse

            start = time.perf_counter()
            report = cross_validate(texts, labels, fit_per_language, "rasa", folds)
            print(f"rasa, per lang  accuracy {report.accuracy:.3f}  "
                  f"macro-F1 {report.macro_f1:.3f}  coverage {report.coverage}  "
                  f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
