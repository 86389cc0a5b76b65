"""Cross-validated quality of the library: the same report for every engine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from bot.core.types import Parse

PRECISION_TARGETS = (0.95, 0.97, 0.99)


@dataclass
class IntentRow:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Report:
    engine: str
    folds: int
    examples: int
    intents: int
    accuracy: float
    macro_f1: float
    coverage: dict[str, float]  # "97" -> share auto-answerable at >= 97% precision
    per_intent: list[IntentRow] = field(default_factory=list)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # true, predicted, count

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def coverage_at_precision(correct: Sequence[bool], confidence: Sequence[float], target: float) -> float:
    """Largest share of messages, taken by descending confidence, whose precision is >= target."""
    if not correct:
        return 0.0
    order = np.argsort(-np.asarray(confidence), kind="stable")
    hits = np.cumsum(np.asarray(correct, dtype=float)[order])
    n = np.arange(1, len(order) + 1)
    ok = np.nonzero(hits / n >= target)[0]
    return float((ok[-1] + 1) / len(order)) if len(ok) else 0.0


def report_from_predictions(
    engine: str, folds: int, truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]
) -> Report:
    labels = sorted(set(truth))
    p, r, f, s = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    correct = [t == q for t, q in zip(truth, predicted, strict=True)]
    pairs = Counter((t, q) for t, q in zip(truth, predicted, strict=True) if t != q)
    return Report(
        engine=engine,
        folds=folds,
        examples=len(truth),
        intents=len(labels),
        accuracy=float(accuracy_score(truth, predicted)),
        macro_f1=float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        coverage={
            f"{round(t * 100)}": coverage_at_precision(correct, confidence, t) for t in PRECISION_TARGETS
        },
        per_intent=[
            IntentRow(label, float(p[i]), float(r[i]), float(f[i]), int(s[i]))
            for i, label in enumerate(labels)
        ],
        confusions=[(t, q, n) for (t, q), n in pairs.most_common(15)],
    )


Parser = Callable[[Sequence[str]], list[Parse]]


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    fit: Callable[[Sequence[str], Sequence[str]], Parser],
    engine: str,
    folds: int = 5,
    seed: int = 13,
    on_fold: Callable[[int], None] | None = None,
    on_parse: Callable[[int, Parse], None] | None = None,
) -> Report:
    """k-fold cross-validation; `fit(train_texts, train_labels)` returns a batch parser.
    `on_parse(i, parse)` sees each held-out example's parse (for the policy's figures)."""
    counts = Counter(labels)
    folds = max(2, min(folds, min(counts.values())))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    predicted = [""] * len(texts)
    confidence = [0.0] * len(texts)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(texts, labels)):
        parser = fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        parses = parser([texts[i] for i in test_idx])
        for i, parse in zip(test_idx, parses, strict=True):
            top = parse.top
            predicted[i] = top.name if top else ""
            confidence[i] = top.confidence if top else 0.0
            if on_parse:
                on_parse(i, parse)
        if on_fold:
            on_fold(fold)
    return report_from_predictions(engine, folds, labels, predicted, confidence)
