"""Runs the escalation of unclaimed emergencies (bot/service/escalation.py) in `triage serve`.

Listed in `bot.web.plugins.PARTS`; always on. A moved question is published as
`question.escalated`: the console shows it at once and Telegram pushes it to the new role.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from bot.app import Services
from bot.service.escalation import escalate_unclaimed
from bot.web.plugins import Stop

log = logging.getLogger(__name__)


def run_once(services: Services) -> list[int]:
    with services.sessions.begin() as session:
        moved = escalate_unclaimed(
            session, services.triage.knowledge, services.settings.emergency_escalation_minutes
        )
    for question_id in moved:
        services.triage.publish("question.escalated", question_id)
    return moved


async def _loop(services: Services, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(run_once, services)
        except Exception:
            log.exception("escalating unclaimed emergencies failed")


async def start(app: FastAPI, services: Services) -> Stop | None:
    # Look a few times per escalation period, and at least every 30 seconds.
    interval = min(30.0, services.settings.emergency_escalation_minutes * 60 / 4)
    task = asyncio.create_task(_loop(services, interval))

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop
