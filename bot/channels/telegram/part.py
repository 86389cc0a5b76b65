"""The Telegram part of `triage serve`: same process and event loop as the intake API.

Started when TELEGRAM_BOT_TOKEN is set. TELEGRAM_MODE says how: polling (one instance) or webhook
(any number, TELEGRAM_WEBHOOK_URL); unset, a webhook URL means webhook. A polling instance deletes
a webhook only with TELEGRAM_DELETE_WEBHOOK=1: started on a laptop, it takes no one's traffic.
Registers the outbox sender for the telegram channel and pushes questions to linked professionals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from telegram import Bot
from telegram import error as tg
from telegram.ext import Application

from bot.app import Services
from bot.channels.telegram.app import build_application
from bot.channels.telegram.context import Deps, Texts
from bot.channels.telegram.pushes import Pusher
from bot.channels.telegram.sender import TelegramSender, retry_seconds
from bot.channels.telegram.settings import TelegramSettings
from bot.channels.telegram.updates import (
    ALLOWED_UPDATES,
    READ_MARGIN,
    UpdateLedger,
    UpdateRunner,
)
from bot.channels.telegram.webhook import webhook_endpoint
from bot.core.types import Channel
from bot.service import metrics
from bot.service.leadership import Leadership
from bot.service.outbox import backoff_seconds
from bot.service.pollers import Heartbeat, supervise
from bot.web.deps import dispatcher_of

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]


def bot_id_of(token: str) -> int:
    """A bot token is "<bot id>:<secret>"; the id keys the stored update ids and offset."""
    head = token.split(":", 1)[0]
    if not head.isdigit():
        raise ValueError("TELEGRAM_BOT_TOKEN does not look like a BotFather token (<id>:<secret>)")
    return int(head)


async def warn_if_webhook_set(bot: Bot) -> None:
    """Polling never deletes a webhook unless told to (TELEGRAM_DELETE_WEBHOOK=1): the webhook is
    another deployment's, probably production's. getUpdates answers 409 while it is set."""
    info = await bot.get_webhook_info()
    if info.url:
        log.error(
            "Telegram: a webhook is set (%s), so its deployment receives the updates and this polling "
            "instance gets none. TELEGRAM_DELETE_WEBHOOK=1 takes them over; or use TELEGRAM_MODE=webhook.",
            info.url,
        )


async def start(app: FastAPI, services: Services, settings: TelegramSettings | None = None) -> Stop | None:
    settings = settings or TelegramSettings()
    if not settings.enabled:
        return None
    health = services.channel_health
    problem = settings.problem()
    if problem is not None:
        health["telegram"] = f"not started: {problem}"
        log.error("Telegram channel not started: %s", problem)
        return None
    if not settings.mode:
        log.warning(
            "TELEGRAM_MODE is not set: %s, as TELEGRAM_WEBHOOK_URL is %s. Set TELEGRAM_MODE=%s.",
            settings.resolved_mode,
            "set" if settings.use_webhook else "empty",
            settings.resolved_mode,
        )
    health["telegram"] = "starting"

    def set_health(state: str) -> None:
        health["telegram"] = state

    def poller_health(state: str) -> None:
        set_health(state)
        if state == "ok":  # getUpdates answered: the poller's heartbeat (Prometheus)
            metrics.polled(Channel.TELEGRAM.value)

    deps = Deps(
        services=services,
        settings=settings,
        ledger=UpdateLedger(services.sessions, bot_id_of(settings.bot_token)),
        texts=Texts(services.settings.domain_dir),
        wake=dispatcher_of(app).wakeup.set,
    )
    application: Application = build_application(deps, settings)  # type: ignore[type-arg]
    heartbeat = (
        None
        if settings.use_webhook
        else Heartbeat("telegram polling", "telegram", settings.poll_timeout + READ_MARGIN)
    )
    runner = UpdateRunner(application, deps.ledger, deps.failed, poller_health, heartbeat)
    pusher = Pusher(deps, application.bot, asyncio.get_running_loop())
    deps.pusher = pusher
    ready: list[bool] = []

    if settings.use_webhook:
        app.add_api_route(
            settings.webhook_path,
            webhook_endpoint(settings.secret_token, lambda: (application.bot, runner) if ready else None),
            methods=["POST"],
            include_in_schema=False,
        )

    async def run() -> None:
        failures = 0
        while True:  # Telegram may be unreachable at start: keep trying, the API runs meanwhile
            try:
                await application.initialize()
                if settings.use_webhook:
                    await application.bot.set_webhook(
                        settings.webhook_url,
                        secret_token=settings.secret_token,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                elif settings.delete_webhook:  # told to: take the updates over from a webhook
                    await application.bot.delete_webhook()
                else:
                    await warn_if_webhook_set(application.bot)
                break
            except tg.InvalidToken:
                set_health("invalid token")
                log.exception("Telegram rejected TELEGRAM_BOT_TOKEN; the channel is off")
                return
            except tg.RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc))
            except tg.TelegramError as exc:
                failures += 1
                set_health(f"unreachable: {type(exc).__name__}")
                log.warning("Telegram not reachable at start (%s); retrying", exc)
                await asyncio.sleep(min(backoff_seconds(failures), 60.0))
        services.throttles[Channel.TELEGRAM.value] = settings.throttle()
        services.senders[Channel.TELEGRAM.value] = TelegramSender(application.bot)
        services.triage.listeners.append(pusher.listener)
        ready.append(True)
        set_health("ok")
        deps.wake()
        log.info(
            "Telegram channel up (%s) as @%s",
            "webhook" if settings.use_webhook else "polling",
            application.bot.username,
        )
        background = [asyncio.create_task(pusher.remind_forever())]
        if heartbeat is not None:  # one poller across the fleet (PostgreSQL advisory lock)
            beat = heartbeat

            async def lead() -> None:
                """While this instance leads: the heartbeat counts, the poller restarts when it dies."""
                beat.begin()
                services.heartbeats["telegram"] = beat
                try:
                    await supervise(
                        "telegram polling",
                        lambda: runner.poll_forever(application.bot, settings.poll_timeout),
                        set_health,
                        beat,
                    )
                finally:
                    services.heartbeats.pop("telegram", None)

            poller = Leadership(services.settings.db_url, f"telegram-poller:{deps.ledger.bot_id}")
            background.append(asyncio.create_task(poller.run(lead)))
        try:
            await asyncio.gather(*background)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    task = asyncio.create_task(run())

    async def stop() -> None:
        ready.clear()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if pusher.listener in services.triage.listeners:
            services.triage.listeners.remove(pusher.listener)
        services.senders.pop(Channel.TELEGRAM.value, None)
        services.throttles.pop(Channel.TELEGRAM.value, None)
        await pusher.close()
        await application.shutdown()  # a no-op when it never initialised
        health.pop("telegram", None)
        services.heartbeats.pop("telegram", None)

    return stop
