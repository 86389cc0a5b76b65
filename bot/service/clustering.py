"""Unrecognised questions: everything the library did not answer (the engine was unsure, the
question was out of scope, it went to the default role, or the library had no answer in the
citizen's language), grouped by similarity across English and Dutch so an admin can teach the
library a whole group at once.

TF-IDF (words and character n-grams, like the engine) plus the engine's probabilities over the
library's intents (language-independent: "drone over the stadium" and "drone boven het stadion"
get alike guesses, even when each guess is unsure), with average-linkage agglomerative
clustering on cosine distance: the number of groups follows from how alike the questions are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.types import Action
from bot.nlu.engine import Engine, normalise
from bot.store import models as m

DISTANCE = 0.75  # cosine distance under which questions join one group
RANKING_WEIGHT = 1.0  # how much the engine's ranking counts next to the words
OUT_OF_SCOPE = "out_of_scope"
# Intents whose guess says nothing about the subject (they must not pull unrelated questions
# together): the catch-all and the conversational ones.
NEUTRAL = frozenset({OUT_OF_SCOPE, "greet", "goodbye", "thanks", "bot_challenge", "affirm", "deny"})


class Why(StrEnum):
    """Why the library did not answer a question."""

    UNSURE = "unsure"  # the engine's confidence was under the threshold
    OUT_OF_SCOPE = "out_of_scope"  # recognised as outside what the library covers
    DEFAULT_ROLE = "default_role"  # nobody's intent: it went to the default role
    NO_ANSWER = "no_answer"  # a known intent without an approved answer in that language


WHY_LABELS = {
    Why.UNSURE: "unsure",
    Why.OUT_OF_SCOPE: "out of scope",
    Why.DEFAULT_ROLE: "default role",
    Why.NO_ANSWER: "no answer in that language",
}


@dataclass(frozen=True)
class Unrecognised:
    message_id: int
    text: str
    language: str
    predicted: str | None  # the engine's best guess
    confidence: float
    created_at: datetime  # the latest time it was asked
    why: Why = Why.UNSURE
    asked: int = 1  # how often this text was asked in the period
    ranking: tuple[tuple[str, float], ...] = ()
    times: tuple[datetime, ...] = field(default=(), repr=False)  # every time it was asked


@dataclass(frozen=True)
class Group:
    items: tuple[Unrecognised, ...]
    suggestion: str | None  # the most common best guess in the group
    counts: tuple[int, ...] = ()  # times asked per period (a day or a week), oldest first
    period_days: int = 7

    @property
    def size(self) -> int:
        return len(self.items)

    @property
    def asked(self) -> int:
        return sum(u.asked for u in self.items)

    @property
    def message_ids(self) -> list[int]:
        return [u.message_id for u in self.items]

    @property
    def languages(self) -> list[str]:
        return sorted({u.language for u in self.items})

    @property
    def reasons(self) -> list[str]:
        counts = Counter(u.why for u in self.items)
        return [WHY_LABELS[w] for w, _ in counts.most_common()]

    @property
    def name(self) -> str:
        """A name for a new intent from these questions: the suggestion's words are no use (the
        guess was wrong), so the group's most telling words."""
        return name_for([u.text for u in self.items])


def _ranking_features(rankings: Sequence[Sequence[tuple[str, float]]]) -> csr_matrix:
    names = sorted({n for r in rankings for n, _ in r if n not in NEUTRAL})
    index = {n: i for i, n in enumerate(names)}
    rows, cols, vals = [], [], []
    for row, ranking in enumerate(rankings):
        for name, conf in ranking:
            if name in index:
                rows.append(row)
                cols.append(index[name])
                vals.append(float(conf))
    matrix = csr_matrix((vals, (rows, cols)), shape=(len(rankings), max(len(names), 1)))
    return normalize(matrix)


def group_texts(
    texts: Sequence[str],
    distance: float = DISTANCE,
    rankings: Sequence[Sequence[tuple[str, float]]] | None = None,
) -> list[list[int]]:
    """Indices of `texts` grouped by similarity, biggest group first. With `rankings` (the
    engine's [(intent, confidence)] per text) questions with the same guesses come closer,
    whatever their language."""
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
    words = normalize(vectoriser.fit_transform(list(texts)))
    if rankings is not None:
        words = hstack([words, _ranking_features(rankings) * RANKING_WEIGHT]).tocsr()
    matrix = words.toarray()
    norms = np.linalg.norm(matrix, axis=1)
    matrix[norms == 0] = 1.0  # empty after normalising: cosine distance needs a non-zero vector
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    ).fit_predict(matrix)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


_STOP_WORDS = (
    "a an and are at be can do does for from how i if in is it me my of on or our the there this "
    "to we what when where who why will with you your de het een en ik je jij mijn met niet op te "
    "van voor wat waar wie hoe mag kan moet er dat die om over bij naar"
)
_STOP = frozenset(_STOP_WORDS.split())


def name_for(texts: Sequence[str]) -> str:
    """Two telling words of `texts`, joined as an intent name ("drone_stadium")."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = {w for w in normalise(text).split() if w.isalpha() and w not in _STOP and len(w) > 2}
        counts.update(words)
    best = [w for w, _ in counts.most_common(2)]
    return "_".join(best) or "new_intent"


def why_not_answered(record: m.DecisionRecord) -> Why | None:
    """Why a routed question is one the library did not answer; None for a question the engine
    recognised as a professional's (a route intent with its own role)."""
    if record.action != Action.ROUTE.value:
        return None
    reasons = [str(r) for r in record.reasons or []]
    if record.confidence < record.threshold:
        return Why.UNSURE
    if record.intent == OUT_OF_SCOPE:
        return Why.OUT_OF_SCOPE
    if any(r.startswith("no approved ") for r in reasons):
        return Why.NO_ANSWER
    if any(r.startswith("default role") for r in reasons):
        return Why.DEFAULT_ROLE
    return None


def recent_unrecognised(
    session: Session, days: int = 30, limit: int = 2000, now: datetime | None = None
) -> list[Unrecognised]:
    """Questions of the last `days` the library did not answer, not yet training examples; one
    per text (newest), with how often it was asked."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    rows = session.execute(
        select(m.DecisionRecord, m.Message.text, m.Message.language)
        .join(m.Message, m.Message.id == m.DecisionRecord.message_id)
        .where(m.DecisionRecord.action == Action.ROUTE.value, m.DecisionRecord.created_at >= since)
        .order_by(m.DecisionRecord.id.desc())
        .limit(limit)
    ).all()
    known = {normalise(t) for t in session.scalars(select(m.TrainingExample.text))}
    firsts: dict[str, Unrecognised] = {}
    times: dict[str, list[datetime]] = {}
    for record, text, language in rows:
        why = why_not_answered(record)
        key = normalise(text)
        if why is None or key in known:
            continue
        times.setdefault(key, []).append(record.created_at)
        if key in firsts:
            continue
        ranking = tuple((str(n), float(c)) for n, c in record.ranking or [])
        firsts[key] = Unrecognised(
            record.message_id,
            text,
            language or record.language,
            ranking[0][0] if ranking else record.intent,
            record.confidence,
            record.created_at,
            why,
            ranking=ranking,
        )
    return [
        Unrecognised(
            u.message_id,
            u.text,
            u.language,
            u.predicted,
            u.confidence,
            u.created_at,
            u.why,
            len(times[k]),
            u.ranking,
            tuple(times[k]),
        )
        for k, u in firsts.items()
    ]


def per_period(times: Sequence[datetime], periods: int, now: datetime, days: int = 7) -> tuple[int, ...]:
    """Counts per period of `days` days, oldest first; the last period ends now."""
    counts = [0] * periods
    for t in times:
        age = (now - t).days // days
        if 0 <= age < periods:
            counts[periods - 1 - age] += 1
    return tuple(counts)


def _rankings(items: Sequence[Unrecognised], engine: Engine | None) -> list[Sequence[tuple[str, float]]]:
    """The engine's ranking (its top ten) of each text when it reads a batch cheaply; else the top
    three stored with each decision."""
    parse_many = getattr(engine, "parse_many", None)
    if parse_many is None or not items:
        return [u.ranking for u in items]
    return [[(s.name, s.confidence) for s in p.ranking] for p in parse_many([u.text for u in items])]


def groups(
    session: Session,
    days: int = 30,
    distance: float = DISTANCE,
    now: datetime | None = None,
    engine: Engine | None = None,
) -> list[Group]:
    now = now or datetime.now(UTC)
    items = recent_unrecognised(session, days, now=now)
    step = 1 if days <= 14 else 7  # per day over a week or two, per week beyond
    periods = max(1, -(-days // step))
    out = []
    for indices in group_texts([u.text for u in items], distance, _rankings(items, engine)):
        members = tuple(items[i] for i in indices)
        votes = Counter(u.predicted for u in members if u.predicted and u.predicted not in NEUTRAL)
        out.append(
            Group(
                members,
                votes.most_common(1)[0][0] if votes else None,
                per_period([t for u in members for t in u.times], periods, now, step),
                step,
            )
        )
    return sorted(out, key=lambda g: (-g.asked, -g.size))


def totals(session: Session, days: int = 30, now: datetime | None = None) -> list[tuple[str, dict[str, int]]]:
    """Unanswered questions per day and reason, for the chart above the groups (taught ones too:
    this is what the library missed, not what is left to do)."""
    now = now or datetime.now(UTC)
    since = (now - timedelta(days=days - 1)).date()
    per_day: dict[str, dict[str, int]] = {(since + timedelta(days=i)).isoformat(): {} for i in range(days)}
    rows = session.scalars(
        select(m.DecisionRecord).where(
            m.DecisionRecord.action == Action.ROUTE.value,
            m.DecisionRecord.created_at >= datetime.combine(since, datetime.min.time(), UTC),
        )
    )
    for record in rows:
        why = why_not_answered(record)
        day = per_day.get(record.created_at.date().isoformat())
        if why is not None and day is not None:
            day[why.value] = day.get(why.value, 0) + 1
    return [(day[5:], counts) for day, counts in per_day.items()]
