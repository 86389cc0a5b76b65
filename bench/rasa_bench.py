"""The Rasa engine in the benchmarks: trained and parsed by one long-lived `.venv-rasa` worker
(bot/nlu/rasa_worker.py), with the config.yml pipeline or another config."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, latency_ms, loadavg
from bot.config import Settings
from bot.core.types import Parse
from bot.nlu.rasa_engine import RasaSettings, parse_from_rasa
from bot.nlu.rasa_format import write_library
from bot.nlu.rasa_training import RasaWorker, _examples


def diet_config(path: Path, epochs: int) -> Path:
    """config.yml with DIETClassifier (few epochs: CPU only) in place of logistic regression."""
    text = (ROOT / "config.yml").read_text()
    text = text.replace("  - name: LogisticRegressionClassifier\n    max_iter: 1000\n",
                        f"  - name: DIETClassifier\n    epochs: {epochs}\n"
                        "    constrain_similarities: true\n")
    path.write_text(text)
    return path


class RasaBench:
    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-rasa-")
        self.dir = Path(self._tmp.name)
        self.settings = Settings(triage_data_dir=self.dir / "data", _env_file=None)  # type: ignore[call-arg]
        self.settings.data_dir.mkdir(parents=True)
        start = time.perf_counter()
        self.worker = RasaWorker(RasaSettings(), self.settings)
        self.start_s = time.perf_counter() - start
        self.count = 0

    def train(self, texts: Sequence[str], labels: Sequence[str], config: Path | None = None
              ) -> dict[str, Any]:
        self.count += 1
        nlu = self.dir / f"p{self.count}" / "nlu"
        write_library(_examples(texts, labels), nlu, self.dir / f"p{self.count}" / "domain")
        load = loadavg()
        start = time.perf_counter()
        answer = self.worker.request(op="train", config=str(config or self.settings.config_file.resolve()),
                                     nlu=str(nlu), out=str(self.dir / "models"), name=f"m{self.count}")
        wall = time.perf_counter() - start
        self.worker.request(op="load", model=answer["model"])
        return {"train_wall_s": wall, "train_s_in_worker": answer["seconds"], "load_average": load}

    def parse_many(self, texts: Sequence[str]) -> list[Parse]:
        results = self.worker.request(op="parse", texts=list(texts))["results"]
        return [parse_from_rasa(r, f"m{self.count}") for r in results]

    def speed(self, texts: Sequence[str]) -> dict[str, Any]:
        lat = latency_ms(lambda t: self.parse_many([t]), list(texts[:300]))
        start = time.perf_counter()
        self.parse_many(list(texts[:1000]))
        rate = min(1000, len(texts)) / (time.perf_counter() - start)
        return {"p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "batch_per_s": rate,
                "load_average": loadavg(), "note": "through the worker's JSON-lines pipe"}

    def close(self) -> None:
        self.worker.close()
        self._tmp.cleanup()
