"""Starts the WhatsApp channel inside `triage serve` when WHATSAPP_* is set (docs/WHATSAPP.md).

It adds the webhook (GET handshake, signed POSTs) at WHATSAPP_WEBHOOK_PATH, registers the outbox
sender and the 24-hour reply window for the whatsapp channel, and reports its health in
`services.channel_health["whatsapp"]` for /healthz. No conversation rule lives in this package.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import FastAPI

from bot.app import Services
from bot.channels.whatsapp.graph import GraphClient
from bot.channels.whatsapp.health import KEY, Health
from bot.channels.whatsapp.inbox import Inbox
from bot.channels.whatsapp.sender import WhatsAppSender
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.channels.whatsapp.webhook import receive_endpoint, verify_endpoint
from bot.core.types import Channel
from bot.service.reply_window import ReplyWindow
from bot.web.deps import dispatcher_of
from bot.web.plugins import Stop

log = logging.getLogger(__name__)

CHANNEL = Channel.WHATSAPP.value


def window_of(settings: WhatsAppSettings) -> ReplyWindow:
    templates = {lang: t.name for lang in settings.reply_templates if (t := settings.template(lang))}
    return ReplyWindow("WhatsApp", settings.window_hours, templates)


async def start(
    app: FastAPI,
    services: Services,
    settings: WhatsAppSettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Stop | None:
    settings = settings or WhatsAppSettings()
    if not settings.configured:
        return None
    board = services.channel_health
    problem = settings.problem()
    if problem is not None:
        board[KEY] = f"not started: {problem}"
        log.error("WhatsApp channel not started: %s", problem)
        return None

    health = Health(board)
    client = GraphClient(settings, transport)
    window = window_of(settings)
    wake = dispatcher_of(app).wakeup.set
    inbox = Inbox(services, wake)
    running: list[Inbox] = [inbox]

    app.add_api_route(
        settings.webhook_path, verify_endpoint(settings), methods=["GET"], include_in_schema=False
    )
    app.add_api_route(
        settings.webhook_path,
        receive_endpoint(settings, lambda: running[0] if running else None),
        methods=["POST"],
        include_in_schema=False,
    )
    services.reply_windows[CHANNEL] = window
    services.senders[CHANNEL] = WhatsAppSender(client, services.sessions, settings, window, health)
    wake()
    log.info(
        "WhatsApp channel started: webhook at %s, reply templates for %s",
        settings.webhook_path,
        ", ".join(sorted(window.templates)) or "no language",
    )

    async def stop() -> None:
        running.clear()
        await inbox.drain()
        services.senders.pop(CHANNEL, None)
        services.reply_windows.pop(CHANNEL, None)
        health.close()
        await client.close()

    return stop
