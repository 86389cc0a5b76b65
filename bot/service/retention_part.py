"""Runs the retention purge (bot/service/retention.py) in `triage serve`: at start, then hourly.

Listed in `bot.web.plugins.PARTS`. With RETENTION_DAYS=0 (keep forever) it does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from bot.app import Services
from bot.service import retention
from bot.web.plugins import Stop

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 3600.0


async def _loop(services: Services, interval: float) -> None:
    while True:
        try:
            await asyncio.to_thread(retention.run, services.sessions, services.settings.retention_days)
        except Exception:
            log.exception("retention purge failed")
        await asyncio.sleep(interval)


async def start(app: FastAPI, services: Services) -> Stop | None:
    if services.settings.retention_days <= 0:
        log.warning("retention disabled (RETENTION_DAYS=%s)", services.settings.retention_days)
        return None
    task = asyncio.create_task(_loop(services, INTERVAL_SECONDS))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
