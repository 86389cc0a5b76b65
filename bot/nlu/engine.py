"""NLU engines behind one small contract: `parse(text, language) -> Parse`.

The embedded default is scikit-learn: word and character n-gram TF-IDF into a linear SVM whose
scores become probabilities through a fitted softmax temperature (`bot.nlu.classifier`), one model
for English and Dutch together (measured better than one per language on our library: Dutch and
English share many loanwords and the model learns the language itself). With the optional
`embeddings` extra and TRIAGE_EMBEDDINGS=e5, multilingual sentence embeddings join the features
(`bot.nlu.embeddings`). bench/README.md has the measurements behind these choices.
"""

from __future__ import annotations

import hashlib
import pickle
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline

from bot.core.types import IntentScore, Language, Parse
from bot.nlu import embeddings
from bot.nlu.classifier import SoftmaxSVC
from bot.nlu.fast import FastPredictor

ENGINE_NAME = "sklearn"
MODEL_SUFFIX = ".pkl"  # a saved model is <version>.pkl


class EngineUnavailable(Exception):
    """The engine cannot parse right now (a Rasa server down or loading). The message is kept
    and handled when the engine is back, or routed to a person after a timeout."""


class Engine(Protocol):
    name: str
    version: str

    def parse(self, text: str, language: Language | None = None) -> Parse: ...


def normalise(text: str) -> str:
    """Lower case, accents folded ("coördinator" == "coordinator"), whitespace squeezed."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def build_pipeline(
    c: float = 1.0, use_embeddings: bool | None = None, embedding_weight: float = 3.0
) -> Pipeline:
    """TF-IDF (+ sentence embeddings when asked: `use_embeddings`, default TRIAGE_EMBEDDINGS)."""
    if use_embeddings is None:
        use_embeddings = embeddings.requested()
    parts: list[tuple[str, object]] = [
        (
            "words",
            TfidfVectorizer(
                preprocessor=normalise,
                ngram_range=(1, 2),
                sublinear_tf=True,
                min_df=1,
                token_pattern=r"(?u)\b\w+\b",
            ),
        ),
        (
            "chars",
            TfidfVectorizer(
                preprocessor=normalise,
                analyzer="char_wb",
                ngram_range=(2, 5),
                sublinear_tf=True,
                min_df=1,
            ),
        ),
    ]
    if use_embeddings:
        parts.append(("e5", embeddings.SentenceEmbeddings(embedding_weight)))
    features = FeatureUnion(parts)  # type: ignore[arg-type]
    return Pipeline([("features", features), ("clf", SoftmaxSVC(C=c))])


@dataclass
class SklearnEngine:
    """A trained model; `parse` is pure and thread-safe."""

    pipeline: Pipeline
    version: str
    name: str = ENGINE_NAME

    @property
    def intents(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def parse(self, text: str, language: Language | None = None) -> Parse:
        return self.parse_many([text])[0]

    def parse_many(self, texts: Sequence[str]) -> list[Parse]:
        probs = self.probabilities(list(texts))
        classes = self.pipeline.classes_
        out = []
        for row in probs:
            order = np.argsort(row)[::-1][:10]
            ranking = tuple(IntentScore(str(classes[i]), float(row[i])) for i in order)
            out.append(Parse(ranking=ranking, engine=self.name, model_version=self.version))
        return out

    @cached_property
    def _fast(self) -> FastPredictor | None:
        return FastPredictor.of(self.pipeline)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """`pipeline.predict_proba`, computed without scikit-learn's per-call validation where
        the pipeline allows it (`bot.nlu.fast`): about 0.5 ms for one message against 3 ms."""
        if self._fast is not None:
            return self._fast.probabilities(texts)
        return np.asarray(self.pipeline.predict_proba(texts))

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.version}{MODEL_SUFFIX}"
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump({"version": self.version, "pipeline": self.pipeline}, fh)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> SklearnEngine:
        # Models are written by this service into its own data directory; never load foreign files.
        with path.open("rb") as fh:
            data = pickle.load(fh)  # noqa: S301
        return cls(pipeline=data["pipeline"], version=data["version"])


@dataclass(frozen=True)
class TrainResult:
    engine: SklearnEngine
    examples: int
    intents: int
    seconds: float


def data_version(texts: Sequence[str], labels: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:10]


def train(texts: Sequence[str], labels: Sequence[str], pipeline: Pipeline | None = None) -> TrainResult:
    """Fit `pipeline` (default: `build_pipeline()`) on the examples."""
    if len(set(labels)) < 2:
        raise ValueError("training needs examples of at least two intents")
    start = time.perf_counter()
    pipeline = pipeline if pipeline is not None else build_pipeline()
    pipeline.fit(list(texts), list(labels))
    seconds = time.perf_counter() - start
    version = time.strftime("%Y%m%d-%H%M%S") + "-" + data_version(texts, labels)
    return TrainResult(SklearnEngine(pipeline, version), len(texts), len(set(labels)), seconds)
