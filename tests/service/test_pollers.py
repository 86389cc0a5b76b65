"""Pollers that cannot die quietly: the heartbeat, /healthz telling the truth, the supervisor."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from bot.service import pollers
from bot.service.pollers import Heartbeat, supervise
from bot.web.api import create_app


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_heartbeat_goes_stale_after_its_timeout_plus_the_margin() -> None:
    clock = Clock()
    beat = Heartbeat("telegram polling", "telegram", timeout=40, margin=60, clock=clock)
    clock.now += 99
    assert beat.stale() is None
    beat.call_completed()
    clock.now += 100
    assert beat.stale() is None
    clock.now += 1
    assert beat.stale() == "telegram polling stalled: no completed call for 101s (allowed 100s)"


def test_a_wait_the_platform_asked_for_is_not_a_stall() -> None:
    clock = Clock()
    beat = Heartbeat("x dm polling", "x", timeout=45, margin=60, clock=clock)
    beat.call_completed()
    beat.waiting(900)  # a 429 until the window resets
    clock.now += 900 + 105
    assert beat.stale() is None
    clock.now += 1
    assert beat.stale() is not None


def test_healthz_turns_degraded_with_the_reason_when_a_poller_stalls(sqlite_services) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    services = sqlite_services
    with TestClient(create_app(services)) as client:
        beat = Heartbeat("telegram polling", "telegram", timeout=40, margin=60, clock=clock)
        services.heartbeats["telegram"] = beat
        services.channel_health["telegram"] = "ok"
        beat.call_completed()
        beat.update_handled()
        body = client.get("/healthz").json()
        assert body["status"] == "ok" and body["channels"]["telegram"] == "ok"
        assert body["pollers"]["telegram"]["last_update"] is not None

        clock.now += 180  # the poller's task died: nothing completes any more
        body = client.get("/healthz").json()
        assert body["status"] == "degraded"
        assert body["channels"]["telegram"].startswith("telegram polling stalled")
        assert body["pollers"]["telegram"]["state"].startswith("telegram polling stalled")
        services.heartbeats.pop("telegram")
        services.channel_health.pop("telegram")


def test_the_supervisor_restarts_a_loop_that_raises_and_stops_one_that_returns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pollers, "backoff_seconds", lambda attempt: 0.01 * attempt)
    runs: list[int] = []
    reports: list[str] = []
    beat = Heartbeat("p", "c", timeout=1)

    async def loop() -> None:
        runs.append(1)
        if len(runs) < 3:
            raise ConnectionError("gone")

    asyncio.run(supervise("p", loop, reports.append, beat))
    assert len(runs) == 3 and beat.restarts == 2
    assert reports == ["p restarting after ConnectionError"] * 2
