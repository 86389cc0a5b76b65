"""Unrecognised questions: recent messages routed because the engine was unsure, grouped by
similarity so an admin can teach the library a whole group at once.

TF-IDF (words and character n-grams, like the engine) with average-linkage agglomerative
clustering on cosine distance: the number of groups follows from how alike the questions are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.nlu.engine import normalise
from bot.store import models as m

DISTANCE = 0.75  # cosine distance under which questions join one group


@dataclass(frozen=True)
class Unrecognised:
    message_id: int
    text: str
    language: str
    predicted: str | None  # the engine's best (too unsure) guess
    confidence: float
    created_at: datetime


@dataclass(frozen=True)
class Group:
    items: tuple[Unrecognised, ...]
    suggestion: str | None  # the most common best guess in the group

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def message_ids(self) -> list[int]:
        return [u.message_id for u in self.items]


def group_texts(texts: Sequence[str], distance: float = DISTANCE) -> list[list[int]]:
    """Indices of `texts` grouped by similarity, biggest group first."""
    if not texts:
        return []
    if len(texts) == 1:
        return [[0]]
    vectoriser = FeatureUnion(
        [
            ("words", TfidfVectorizer(preprocessor=normalise, token_pattern=r"(?u)\b\w+\b")),
            (
                "chars",
                TfidfVectorizer(preprocessor=normalise, analyzer="char_wb", ngram_range=(3, 5)),
            ),
        ]
    )
    matrix = vectoriser.fit_transform(list(texts)).toarray()
    norms = np.linalg.norm(matrix, axis=1)
    matrix[norms == 0] = 1.0  # empty after normalising: cosine distance needs a non-zero vector
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    ).fit_predict(matrix)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def recent_unrecognised(
    session: Session, days: int = 30, limit: int = 400, now: datetime | None = None
) -> list[Unrecognised]:
    """Routed messages whose confidence was under the threshold, not yet training examples."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = session.execute(
        select(m.DecisionRecord, m.Message.text, m.Message.language)
        .join(m.Message, m.Message.id == m.DecisionRecord.message_id)
        .where(
            m.DecisionRecord.action == "route",
            m.DecisionRecord.confidence < m.DecisionRecord.threshold,
            m.DecisionRecord.created_at >= since,
        )
        .order_by(m.DecisionRecord.id.desc())
        .limit(limit)
    ).all()
    known = set(session.scalars(select(m.TrainingExample.text)))
    out, seen = [], set()
    for record, text, language in rows:
        key = normalise(text)
        if text in known or key in seen:
            continue
        seen.add(key)
        best = record.ranking[0][0] if record.ranking else record.intent
        out.append(
            Unrecognised(
                record.message_id,
                text,
                language or record.language,
                best,
                record.confidence,
                record.created_at,
            )
        )
    return out


def groups(session: Session, days: int = 30, distance: float = DISTANCE) -> list[Group]:
    items = recent_unrecognised(session, days)
    out = []
    for indices in group_texts([u.text for u in items], distance):
        members = tuple(items[i] for i in indices)
        votes = Counter(u.predicted for u in members if u.predicted)
        out.append(Group(members, votes.most_common(1)[0][0] if votes else None))
    return out
