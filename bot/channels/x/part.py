"""Starts the X channel inside `triage serve` when X credentials are set (see docs/X.md).

It registers the DM sender with the outbox, polls DMs (and, when enabled, mentions) as tasks on
the app's event loop, and reports its health in `services.channel_health["x"]` for /healthz.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import FastAPI

from bot.app import Services
from bot.channels.x.client import connect
from bot.channels.x.health import ChannelHealth
from bot.channels.x.mentions import MentionResponder
from bot.channels.x.poller import DmPoller
from bot.channels.x.sender import XSender
from bot.channels.x.settings import XSettings
from bot.channels.x.throttle import XThrottle, dm_throttle
from bot.service.leadership import Leadership
from bot.service.pollers import supervise
from bot.web.deps import dispatcher_of
from bot.web.plugins import Stop

log = logging.getLogger(__name__)


async def start(app: FastAPI, services: Services, settings: XSettings | None = None) -> Stop | None:
    settings = settings or XSettings()
    if not settings.configured:
        return None
    board = services.channel_health
    problem = settings.problem()
    if problem is not None:
        board["x"] = f"not started: {problem}"
        log.error("X channel not started: %s", problem)
        return None

    health = ChannelHealth(board, budgets=services.spent_budgets)
    conn = connect(settings)
    own = dm_throttle(settings.dm_per_15_minutes, settings.dm_per_24_hours)
    services.throttles["x"] = XThrottle(own, conn.limits, health)
    services.senders["x"] = XSender(conn, services.sessions, services.triage.library, health)

    poller = DmPoller(conn, services, health, settings.poll_seconds, dispatcher_of(app).wakeup.set)

    def report(component: str) -> Callable[[str], None]:
        return lambda problem: health.problem(component, problem)

    jobs = [lambda: supervise("x dm polling", poller.run, report("poll"), poller.heartbeat)]
    if settings.public_mention_replies:
        mentions = MentionResponder(conn, services, health, settings.mentions_poll_seconds)
        jobs.append(lambda: supervise("x mentions", mentions.run, report("mentions")))

    async def poll() -> None:
        """While this instance leads: the heartbeat counts, each poller restarts when it dies."""
        poller.heartbeat.begin()
        services.heartbeats["x"] = poller.heartbeat
        try:
            await asyncio.gather(*(job() for job in jobs))
        finally:
            services.heartbeats.pop("x", None)

    # One instance polls X across the fleet (PostgreSQL advisory lock): one request budget.
    # A standby instance sends replies all the same, so its channel is well.
    leadership = Leadership(services.settings.db_url, "x-poller")
    tasks = [
        asyncio.create_task(leadership.run(poll, on_standby=lambda: health.ok("standby")), name="x-pollers")
    ]
    log.info(
        "X channel started (%s, polling every %.0fs, public mention replies %s)",
        "OAuth 1.0a" if conn.user_auth else "OAuth 2.0 user token",
        settings.poll_seconds,
        "on" if settings.public_mention_replies else "off",
    )

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        services.senders.pop("x", None)
        services.throttles.pop("x", None)
        services.spent_budgets.pop("x", None)
        services.heartbeats.pop("x", None)
        board.pop("x", None)
        conn.close()

    return stop
