"""Pollers that cannot die quietly: a heartbeat each, and a supervisor that restarts them.

A channel that polls (Telegram's getUpdates, X's DM events) records a `Heartbeat`: when its last
call to the platform completed and when it last handled an update. `/healthz` asks each heartbeat
whether it is stale: no completed call for longer than the poller's own timeout plus a margin
(longer when the platform asked us to wait, a rate limit). A poller whose task died, or that hangs
in a call, goes stale, and the channel shows "degraded" with the reason.

`supervise` runs a poller's loop and starts it again, with backoff, when it raises: a bug or a
database error in one place must not end the channel for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.service import metrics
from bot.service.outbox import backoff_seconds

log = logging.getLogger(__name__)

MARGIN_SECONDS = 60.0  # a slow network or a busy event loop is not yet a dead poller
MAX_RESTART_WAIT = 60.0


@dataclass
class Heartbeat:
    """One poller's pulse. `timeout`: the longest a healthy poll cycle takes (long-polling
    timeout plus the pause between polls); `clock` is wall time (injectable for tests)."""

    name: str
    channel: str
    timeout: float
    margin: float = MARGIN_SECONDS
    clock: Callable[[], float] = time.time
    started: float = field(init=False)
    last_call: float | None = field(default=None, init=False)  # last completed platform call
    last_update: float | None = field(default=None, init=False)  # last update handled
    waiting_until: float = field(default=0.0, init=False)  # a wait the platform asked for
    restarts: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def begin(self) -> None:
        """The poller starts now (the allowance runs from here until its first call)."""
        self.started = self.clock()

    def call_completed(self) -> None:
        self.last_call = self.clock()
        metrics.polled(self.channel)  # the same beat for Prometheus

    def update_handled(self) -> None:
        self.last_update = self.clock()

    def waiting(self, seconds: float) -> None:
        """The platform asked us to wait (429, a rate-limit window): not a stalled poller."""
        self.waiting_until = max(self.waiting_until, self.clock() + seconds)

    def stale(self) -> str | None:
        """Why the poller looks dead, or None while it is alive."""
        now = self.clock()
        since = max(self.last_call or self.started, self.waiting_until)
        allowed = self.timeout + self.margin
        if now - since <= allowed:
            return None
        age = now - (self.last_call or self.started)
        return f"{self.name} stalled: no completed call for {age:.0f}s (allowed {allowed:.0f}s)"

    def report(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "last_call": _iso(self.last_call),
            "last_update": _iso(self.last_update),
            "restarts": self.restarts,
            "state": self.stale() or "ok",
        }


def _iso(moment: float | None) -> str | None:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds") if moment else None


def stale_channels(heartbeats: dict[str, Heartbeat]) -> dict[str, str]:
    """channel -> why its poller(s) look dead, for the channels with a stale heartbeat."""
    found: dict[str, str] = {}
    for beat in list(heartbeats.values()):
        reason = beat.stale()
        if reason is not None:
            found[beat.channel] = f"{found[beat.channel]}; {reason}" if beat.channel in found else reason
    return found


async def supervise(
    name: str,
    loop: Callable[[], Awaitable[None]],
    on_health: Callable[[str], None] = lambda _: None,
    heartbeat: Heartbeat | None = None,
    max_wait: float = MAX_RESTART_WAIT,
) -> None:
    """Run `loop()`; when it raises, log it, report it and start it again after a backoff.
    A loop that returns has stopped on purpose (an invalid token): so does the supervisor."""
    failures = 0
    while True:
        began = time.monotonic()
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever killed it, the channel must go on
            if time.monotonic() - began > 10 * max_wait:
                failures = 0  # it ran well for a long time: start the backoff afresh
            failures += 1
            if heartbeat is not None:
                heartbeat.restarts += 1
            wait = min(backoff_seconds(failures), max_wait)
            on_health(f"{name} restarting after {type(exc).__name__}")
            log.exception("%s died; restarting in %.1fs", name, wait)
            await asyncio.sleep(wait)
