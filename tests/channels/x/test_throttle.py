"""X's DM limits before a send: our own count per 15 minutes and 24 hours, X's 24-hour headers,
and a spent day on /healthz (degraded, with the reason and when it resets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses
from fastapi.testclient import TestClient

from bot.channels.x.client import RateLimits, Window
from bot.channels.x.health import ChannelHealth
from bot.channels.x.sender import DM_SEND
from bot.channels.x.settings import XSettings
from bot.channels.x.throttle import XThrottle, dm_throttle
from bot.core.throttle import Scope, SpentBudget, take
from bot.web.api import create_app
from tests.channels.x.conftest import CITIZEN, OWN_ID, add_me, add_page, dm_send_url, event, page
from tests.channels.x.test_part import X_ENV, _clear_x_env, wait_for
from tests.channels.x.test_poller import BEEPING, set_cursor

NOW = 1_790_000_000.0


def test_the_default_figures_are_xs_published_dm_limits() -> None:
    settings = XSettings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.dm_per_15_minutes, settings.dm_per_24_hours) == (200, 1000)


def test_our_own_count_stops_sends_and_says_when_the_day_resets() -> None:
    board: dict[str, str] = {}
    budgets: dict[str, SpentBudget] = {}
    health = ChannelHealth(board, budgets=budgets)
    throttle = XThrottle(dm_throttle(2, 3), RateLimits(), health)
    assert take(throttle, "a", NOW) is None and take(throttle, "b", NOW + 1) is None
    quarter = take(throttle, "c", NOW + 2)
    assert quarter is not None and quarter.scope is Scope.CHANNEL and quarter.limit == "15 minutes"
    assert "x" not in budgets  # a full quarter of an hour is no warning
    assert take(throttle, "c", NOW + 900) is None
    day = take(throttle, "d", NOW + 1000)
    assert day is not None and day.limit == "24 hours" and day.wait == pytest.approx(86_400 - 1000)
    resets = datetime.fromtimestamp(NOW + 86_400, UTC)
    assert budgets["x"] == SpentBudget("x", "24 hours", resets)
    assert f"X's 24-hour DM limit is used up until {resets:%Y-%m-%d %H:%M} UTC" in board["x"]
    health.ok("send")  # the next DM that goes out clears it
    assert "x" not in budgets and board["x"] == "ok"


def test_xs_own_headers_stop_sends_before_our_count_does() -> None:
    board: dict[str, str] = {}
    budgets: dict[str, SpentBudget] = {}
    limits = RateLimits()
    limits.daily[DM_SEND] = Window(limit=1000, remaining=0, reset=NOW + 3600)
    throttle = XThrottle(dm_throttle(200, 1000), limits, ChannelHealth(board, budgets=budgets))
    refusal = take(throttle, "a", NOW)
    assert refusal is not None and refusal.scope is Scope.CHANNEL and refusal.wait == pytest.approx(3601)
    assert budgets["x"].resets_at == datetime.fromtimestamp(NOW + 3601, UTC)
    assert take(throttle, "a", NOW + 3602) is None  # X's reset has passed


def test_a_spent_day_makes_healthz_degraded_with_the_reason_and_the_reset(sqlite_services, http, monkeypatch):
    services = sqlite_services
    _clear_x_env(monkeypatch)
    for key, value in {**X_ENV, "X_DM_PER_24_HOURS": "1"}.items():
        monkeypatch.setenv(key, value)
    set_cursor(services, 1)
    add_me(http)
    add_page(http, page([event(2, BEEPING)]))  # answer and "Did this help?": two DMs, one allowed
    http.add(
        responses.POST,
        dm_send_url(CITIZEN),
        status=201,
        json={"data": {"dm_conversation_id": f"{CITIZEN}-{OWN_ID}", "dm_event_id": "5"}},
    )
    with TestClient(create_app(services)) as client:
        assert wait_for(lambda: "24-hour DM limit" in client.get("/healthz").json()["channels"].get("x", ""))
        body = client.get("/healthz").json()
        spent = services.spent_budgets["x"]
    assert body["status"] == "degraded"
    assert f"used up until {spent.resets_at:%Y-%m-%d %H:%M} UTC" in body["channels"]["x"]
    assert (spent.resets_at - datetime.now(UTC)).total_seconds() == pytest.approx(86_400, abs=60)
    assert len([c for c in http.calls if c.request.method == "POST"]) == 1  # X was not asked again
