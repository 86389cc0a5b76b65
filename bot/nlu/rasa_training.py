"""Training and evaluating Rasa models from the library in the database.

Training runs the `rasa` command of `.venv-rasa` on an exported project; k-fold evaluation
drives one long-lived `.venv-rasa` Python process (`rasa_worker.py`) so Rasa starts only once.
Trained models are recorded as `ModelRecord(engine="rasa")`; the active one is what a managed
server loads, and a running server swaps to a newly activated one.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.app import Services
from bot.config import Settings
from bot.core.types import Parse
from bot.nlu.engine import data_version
from bot.nlu.evaluate import Parser, Report, cross_validate
from bot.nlu.rasa_engine import ENGINE_NAME, RasaSettings, parse_from_rasa, rasa_env
from bot.nlu.rasa_format import Example, LibraryFiles, write_library
from bot.nlu.rasa_project import write_project
from bot.store import models as m
from bot.store.library_repo import export_library

WORKER = Path(__file__).with_name("rasa_worker.py")


@dataclass(frozen=True)
class TrainedRasa:
    path: Path
    version: str
    examples: int
    intents: int
    seconds: float


def run_rasa(rasa: RasaSettings, settings: Settings, args: list[str], cwd: Path,
             timeout: float = 1800) -> str:
    """Run the `rasa` command; raises RuntimeError with the tail of its output when it fails."""
    rasa.require_venv()
    proc = subprocess.run([str(rasa.rasa_bin), *args], cwd=cwd, env=rasa_env(settings),
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise RuntimeError(f"rasa {args[0]} failed ({proc.returncode}):\n{tail}")
    return proc.stdout


def train_project(lib: LibraryFiles, settings: Settings, rasa: RasaSettings,
                  full: bool = False, name: str | None = None) -> TrainedRasa:
    """Export `lib` to a temporary project and train it: `rasa train nlu` (or `rasa train`)."""
    texts = [e.text for e in lib.examples]
    labels = [e.intent for e in lib.examples]
    version = name or f"{'full' if full else 'nlu'}-{time.strftime('%Y%m%d-%H%M%S')}-" \
                      f"{data_version(texts, labels)}"
    out = rasa.models_path(settings).resolve()
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rasa-project-") as tmp:
        project = write_project(lib, Path(tmp), settings.config_file)
        common = ["--config", str(project.config), "--out", str(out), "--fixed-model-name", version]
        if full:
            args = ["train", "--data", str(project.nlu_dir), "--domain", str(project.domain_dir),
                    *common]
        else:
            args = ["train", "nlu", "--nlu", str(project.nlu_dir), *common]
        run_rasa(rasa, settings, args, cwd=Path(tmp))
    path = out / f"{version}.tar.gz"
    if not path.exists():
        raise RuntimeError(f"rasa reported success but {path} is missing")
    return TrainedRasa(path, version, len(texts), len(set(labels)), time.perf_counter() - start)


def train_from_db(services: Services, rasa: RasaSettings | None = None, full: bool = False,
                  activate: bool = True) -> TrainedRasa:
    """Export the current library, train, record the model and (by default) activate it."""
    rasa = rasa or RasaSettings()
    with services.sessions() as session:
        lib = export_library(session)
    trained = train_project(lib, services.settings, rasa, full=full)
    with services.sessions.begin() as session:
        session.add(m.ModelRecord(version=trained.version, engine=ENGINE_NAME,
                                  path=str(trained.path), metrics={"seconds": trained.seconds},
                                  active=False))
        session.flush()
        if activate:
            activate_rasa_model(session, trained.version)
    return trained


def activate_rasa_model(session: Session, version: str) -> None:
    """Activate a Rasa model; the embedded engine's active model is left alone."""
    session.execute(update(m.ModelRecord).where(m.ModelRecord.engine == ENGINE_NAME)
                    .values(active=m.ModelRecord.version == version))


def active_rasa_model(session: Session) -> Path | None:
    path = session.scalars(select(m.ModelRecord.path).where(
        m.ModelRecord.engine == ENGINE_NAME, m.ModelRecord.active.is_(True))).first()
    return Path(path) if path and Path(path).exists() else None


def retrain(services: Services, engine: Any = None) -> TrainedRasa:
    """Retrain from the console: train, activate, and swap the model on the running server."""
    trained = train_from_db(services)
    if engine is not None:
        engine.load_model(trained.path)
    return trained


# -- k-fold evaluation ------------------------------------------------------------------------


class RasaWorker:
    """`.venv-rasa/bin/python rasa_worker.py`, driven over JSON lines; one request at a time."""

    def __init__(self, rasa: RasaSettings, settings: Settings, log: IO[str] | None = None) -> None:
        rasa.require_venv()
        self._proc = subprocess.Popen(
            [str(rasa.python_bin), str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=log or subprocess.DEVNULL, text=True, env=rasa_env(settings),
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
    lib.examples = [Example(label, "", text, "nlu.yml")
                    for text, label in zip(texts, labels, strict=True)]
    return lib


def fold_fitter(worker: RasaWorker, settings: Settings, workdir: Path) -> Any:
    """A `fit(texts, labels) -> Parser` for `cross_validate`: one Rasa NLU model per fold."""
    counter = iter(range(10_000))

    def fit(texts: Sequence[str], labels: Sequence[str]) -> Parser:
        fold = next(counter)
        nlu_dir = workdir / f"fold{fold}" / "nlu"
        write_library(_examples(texts, labels), nlu_dir, workdir / f"fold{fold}" / "domain")
        trained = worker.request(op="train", config=str(settings.config_file.resolve()),
                                 nlu=str(nlu_dir), out=str(workdir / "models"), name=f"fold{fold}")
        worker.request(op="load", model=trained["model"])

        def parse(batch: Sequence[str]) -> list[Parse]:
            results = worker.request(op="parse", texts=list(batch))["results"]
            return [parse_from_rasa(r, f"fold{fold}") for r in results]

        return parse

    return fit


def cross_validate_rasa(settings: Settings, rasa: RasaSettings, texts: Sequence[str],
                        labels: Sequence[str], folds: int = 5) -> Report:
    """k-fold cross-validation with Rasa: the split and the Report of `cross_validate`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rasa-cv-") as tmp, \
            RasaWorker(rasa, settings) as worker:
        fit = fold_fitter(worker, settings, Path(tmp))
        return cross_validate(texts, labels, fit, ENGINE_NAME, folds)


# -- retraining from the console --------------------------------------------------------------


def retrain_from_console(services: Services, actor: str, folds: int) -> dict[str, Any]:
    """The console's retrain (bot.service.retrain) with the Rasa engine: cross-validate with Rasa,
    train, activate when not worse than the active Rasa model, and swap it on the running server."""
    from bot.service import retrain as console
    from bot.service.queue import audit
    from bot.store.library_repo import set_state, training_data

    def save(values: dict[str, Any]) -> dict[str, Any]:
        with services.sessions.begin() as session:
            merged = console.status(session) | values
            set_state(session, console.STATE_KEY, json.dumps(merged))
            return merged

    rasa = RasaSettings()
    with services.sessions() as session:
        texts, labels = training_data(session)
        active = session.scalars(select(m.ModelRecord).where(
            m.ModelRecord.engine == ENGINE_NAME, m.ModelRecord.active.is_(True))).first()
        before = dict(active.metrics or {}) | {"version": active.version} if active else None
    report = cross_validate_rasa(services.settings, rasa, texts, labels, folds)
    after = console.metrics_of(report)
    save({"step": "training"})
    trained = train_from_db(services, rasa, activate=False)
    after["version"] = trained.version
    accept = console.not_worse(before, after)
    with services.sessions.begin() as session:
        record = session.scalars(select(m.ModelRecord).where(
            m.ModelRecord.version == trained.version)).one()
        record.metrics = after
        if accept:
            activate_rasa_model(session, trained.version)
            audit(session, actor, "model.activate", f"model:{trained.version}",
                  {"before": before, "after": after, "automatic": True})
    if accept:
        swap_in_this_process(services, trained.path)
    return save({
        "state": "done" if accept else "pending", "actor": actor, "before": before, "after": after,
        "candidate": trained.version, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S+00:00",
                                                                    time.gmtime()),
        "reason": ("no recorded metrics for the active model"
                   if not before or "accuracy" not in before
                   else "not worse than the active model" if accept
                   else "worse than the active model: confirm to activate anyway"),
    })


def confirm_from_console(services: Services, version: str) -> None:
    """Activate a Rasa candidate an admin confirmed, and load it on the running server."""
    with services.sessions.begin() as session:
        activate_rasa_model(session, version)
        path = session.scalars(select(m.ModelRecord.path).where(
            m.ModelRecord.version == version)).one()
    swap_in_this_process(services, Path(path))


def swap_in_this_process(services: Services, model: Path) -> None:
    """Load `model` on the Rasa server this process parses with (a managed server would also pick
    it up from the database within seconds)."""
    from bot.nlu.engine import EngineUnavailable
    from bot.nlu.rasa_engine import RasaEngine

    with services.sessions() as session:
        engine = services.triage.engine(session)
    if isinstance(engine, RasaEngine):
        # When the server is down, the managed part loads the active model once it is back.
        with contextlib.suppress(EngineUnavailable):
            engine.load_model(model)
