"""Prometheus metrics counted where things happen: the message path, the engine, the pollers.

Each is one increment or one observation (prometheus-client's own lock, nothing of ours), so the
message path pays microseconds. What the database knows (backlogs, open questions, the active
model) is read when Prometheus scrapes, by `bot.service.status_metrics`, not counted here.

`triage serve --workers N` sets PROMETHEUS_MULTIPROC_DIR before the workers start: each worker
then writes its values to files there and `/metrics` (any worker) adds them up (`exposition`).
Every name starts with `triage_`; docs/OPERATIONS.md lists them, ops/ holds the alert rules and
the Grafana dashboard that use them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from bot.core.types import Decision

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

MESSAGES = Counter(
    "triage_messages",
    "Citizens' messages decided, by channel, action (emergency, answer, route, smalltalk; "
    "notice for one the bot could not classify: a photo, bad input, the engine down) and language.",
    ["channel", "action", "language"],
)
DECISION_SECONDS = Histogram(
    "triage_decision_seconds",
    "From a message reaching the service to its decision and replies stored in the outbox.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
ENGINE_ERRORS = Counter(
    "triage_engine_errors",
    "Engine calls that failed (the Rasa server or the model unavailable); the message waits or "
    "goes to a person.",
    ["engine"],
)
POLLER_LAST_SUCCESS = Gauge(
    "triage_poller_last_success_timestamp_seconds",
    "When a channel's poller last heard from its platform (Unix time); the lag is time() minus this.",
    ["channel"],
    multiprocess_mode="max",
)


def decided(channel: str, decision: Decision | None, seconds: float | None) -> None:
    """One message decided: counted by channel, action and language; its latency observed."""
    action = decision.action.value if decision is not None else "notice"
    language = decision.language.value if decision is not None else "unknown"
    MESSAGES.labels(channel, action, language).inc()
    if seconds is not None:
        DECISION_SECONDS.labels(channel).observe(seconds)


def engine_failed(engine: str) -> None:
    ENGINE_ERRORS.labels(engine).inc()


def polled(channel: str) -> None:
    """A poller's heartbeat: its platform answered (with updates or without)."""
    POLLER_LAST_SUCCESS.labels(channel).set(time.time())


def exposition() -> bytes:
    """This process's metrics, or with PROMETHEUS_MULTIPROC_DIR set every worker's, added up."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def prepare_multiprocess_dir(default: Path) -> Path:
    """Before the workers start: PROMETHEUS_MULTIPROC_DIR (or `default`), emptied of the last
    run's files (prometheus-client would add them up with this run's), set in the environment
    the workers inherit."""
    directory = Path(os.environ.get(MULTIPROC_ENV) or default).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.db"):
        old.unlink()
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory
