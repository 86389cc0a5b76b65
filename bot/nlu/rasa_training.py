"""Training and evaluating Rasa models from a library (`LibraryFiles`).

Training runs the `rasa` command of `.venv-rasa` on an exported project; k-fold evaluation
drives one long-lived `.venv-rasa` Python process (`rasa_worker.py`) so Rasa starts only once.
Recording, activating and swapping the trained models needs the database: that is
`bot/service/rasa_models.py`; this module knows only files, settings and the `rasa` processes.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bot.config import Settings
from bot.core.types import Parse
from bot.nlu.engine import data_version
from bot.nlu.evaluate import Parser, Report, cross_validate
from bot.nlu.rasa_engine import ENGINE_NAME, MODEL_SUFFIX, RasaSettings, parse_from_rasa, rasa_env
from bot.nlu.rasa_format import Example, LibraryFiles, write_library
from bot.nlu.rasa_project import write_project

WORKER = Path(__file__).with_name("rasa_worker.py")


@dataclass(frozen=True)
class TrainedRasa:
    path: Path
    version: str
    examples: int
    intents: int
    seconds: float


def run_rasa(
    rasa: RasaSettings, settings: Settings, args: list[str], cwd: Path, timeout: float = 1800
) -> str:
    """Run the `rasa` command; raises RuntimeError with the tail of its output when it fails."""
    rasa.require_venv()
    proc = subprocess.run(
        [str(rasa.rasa_bin), *args],
        cwd=cwd,
        env=rasa_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"rasa {args[0]} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def train_project(
    lib: LibraryFiles, settings: Settings, rasa: RasaSettings, full: bool = False, name: str | None = None
) -> TrainedRasa:
    """Export `lib` to a temporary project and train it: `rasa train nlu` (or `rasa train`)."""
    texts = [e.text for e in lib.examples]
    labels = [e.intent for e in lib.examples]
    version = (
        name or f"{'full' if full else 'nlu'}-{time.strftime('%Y%m%d-%H%M%S')}-{data_version(texts, labels)}"
    )
    out = rasa.models_path(settings).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rasa-project-") as tmp:
        project = write_project(lib, Path(tmp), settings.config_file)
        common = ["--config", str(project.config), "--out", str(out), "--fixed-model-name", version]
        if full:
            args = ["train", "--data", str(project.nlu_dir), "--domain", str(project.domain_dir), *common]
        else:
            args = ["train", "nlu", "--nlu", str(project.nlu_dir), *common]
        run_rasa(rasa, settings, args, cwd=Path(tmp))
    path = out / f"{version}{MODEL_SUFFIX}"
    if not path.exists():
        raise RuntimeError(f"rasa reported success but {path} is missing")
    return TrainedRasa(path, version, len(texts), len(set(labels)), time.perf_counter() - start)


# -- k-fold evaluation ------------------------------------------------------------------------


class RasaWorker:
    """`.venv-rasa/bin/python rasa_worker.py`, driven over JSON lines; one request at a time."""

    def __init__(self, rasa: RasaSettings, settings: Settings, log: IO[str] | None = None) -> None:
        rasa.require_venv()
        self._proc = subprocess.Popen(
            [str(rasa.python_bin), str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log or subprocess.DEVNULL,
            text=True,
            env=rasa_env(settings),
            cwd=settings.data_dir,
        )
        self._lock = threading.Lock()
        self._read()  # {"ready": true} once Rasa is imported

    def request(self, **payload: Any) -> dict[str, Any]:
        with self._lock:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(payload) + "\n")
            self._proc.stdin.flush()
            return self._read()

    def _read(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the Rasa worker exited ({self._proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise RuntimeError(f"Rasa worker: {answer.get('error')}")
        return answer

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> RasaWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _examples(texts: Sequence[str], labels: Sequence[str]) -> LibraryFiles:
    lib = LibraryFiles()
    lib.examples = [Example(label, "", text, "nlu.yml") for text, label in zip(texts, labels, strict=True)]
    return lib


def fold_fitter(worker: RasaWorker, settings: Settings, workdir: Path) -> Any:
    """A `fit(texts, labels) -> Parser` for `cross_validate`: one Rasa NLU model per fold."""
    counter = iter(range(10_000))

    def fit(texts: Sequence[str], labels: Sequence[str]) -> Parser:
        fold = next(counter)
        nlu_dir = workdir / f"fold{fold}" / "nlu"
        write_library(_examples(texts, labels), nlu_dir, workdir / f"fold{fold}" / "domain")
        trained = worker.request(
            op="train",
            config=str(settings.config_file.resolve()),
            nlu=str(nlu_dir),
            out=str(workdir / "models"),
            name=f"fold{fold}",
        )
        worker.request(op="load", model=trained["model"])

        def parse(batch: Sequence[str]) -> list[Parse]:
            results = worker.request(op="parse", texts=list(batch))["results"]
            return [parse_from_rasa(r, f"fold{fold}") for r in results]

        return parse

    return fit


def cross_validate_rasa(
    settings: Settings, rasa: RasaSettings, texts: Sequence[str], labels: Sequence[str], folds: int = 5
) -> Report:
    """k-fold cross-validation with Rasa: the split and the Report of `cross_validate`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rasa-cv-") as tmp, RasaWorker(rasa, settings) as worker:
        fit = fold_fitter(worker, settings, Path(tmp))
        return cross_validate(texts, labels, fit, ENGINE_NAME, folds)
