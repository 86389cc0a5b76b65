"""The throttle's rules, over a clock the test moves."""

import pytest

from bot.core.throttle import Scope, SlidingWindow, Throttle, TokenBucket, take


def test_a_token_bucket_allows_its_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate=1.0, burst=3)
    for _ in range(3):
        assert bucket.wait(100.0) == 0
        bucket.take(100.0)
    assert bucket.wait(100.0) == pytest.approx(1.0)
    assert bucket.wait(100.5) == pytest.approx(0.5)
    assert bucket.wait(101.0) == 0
    bucket.take(101.0)
    assert bucket.wait(101.0) == pytest.approx(1.0)
    assert bucket.wait(200.0) == 0 and bucket.full(200.0)  # refills no further than the burst


def test_a_sliding_window_counts_the_last_seconds_only() -> None:
    window = SlidingWindow(limit=3, seconds=10.0)
    for at in (0.0, 1.0, 2.0):
        assert window.wait(at) == 0
        window.take(at)
    assert window.wait(5.0) == pytest.approx(5.0)  # the first one leaves the window at 10
    assert window.wait(10.0) == 0 and window.used(10.0) == 2


def test_one_chat_waits_for_its_rate_while_other_chats_go_on() -> None:
    throttle = Throttle([SlidingWindow(30, 1.0)], chat_rate=1.0, chat_burst=2)
    assert take(throttle, "sam", 0.0) is None
    assert take(throttle, "sam", 0.0) is None
    refusal = take(throttle, "sam", 0.0)
    assert refusal is not None and refusal.scope is Scope.CHAT and refusal.wait == pytest.approx(1.0)
    assert take(throttle, "anouk", 0.0) is None
    assert take(throttle, "sam", 1.0) is None


def test_the_channel_budget_stops_every_chat_and_a_refusal_counts_nothing() -> None:
    throttle = Throttle([SlidingWindow(30, 1.0, "per second")], chat_rate=1.0, chat_burst=1)
    for i in range(30):
        assert take(throttle, f"chat{i}", 0.0) is None
    refusal = take(throttle, "late", 0.5)
    assert refusal is not None and refusal.scope is Scope.CHANNEL and refusal.limit == "per second"
    assert refusal.wait == pytest.approx(0.5)
    assert take(throttle, "late", 1.0) is None  # its bucket was not spent by the refusal


def test_x_windows_per_15_minutes_and_per_24_hours() -> None:
    throttle = Throttle([SlidingWindow(2, 900.0, "15 minutes"), SlidingWindow(3, 86_400.0, "24 hours")])
    assert take(throttle, "a", 0.0) is None and take(throttle, "b", 1.0) is None
    quarter = take(throttle, "c", 2.0)
    assert quarter is not None and quarter.limit == "15 minutes" and quarter.wait == pytest.approx(898.0)
    assert take(throttle, "c", 900.0) is None
    day = take(throttle, "d", 1801.0)
    assert day is not None and day.limit == "24 hours" and day.wait == pytest.approx(86_400.0 - 1801.0)


def test_idle_chats_are_forgotten() -> None:
    throttle = Throttle([], chat_rate=1.0, chat_burst=1)
    for i in range(2000):
        assert take(throttle, f"c{i}", float(i)) is None
    assert len(throttle._chats) <= 1025
