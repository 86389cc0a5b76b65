"""The Graph API's one call we make: POST /<version>/<phone number id>/messages (httpx, async).

Bodies are built here from plain values: a text, a text with reply buttons, a template. WhatsApp's
limits are applied where the body is built: 4,096 characters of text, 1,024 of an interactive
message's body, at most 3 reply buttons of 20 characters, unique titles, ids up to 256.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from bot.channels.whatsapp.errors import GraphRequestError, GraphTransient, translate
from bot.channels.whatsapp.settings import Template, WhatsAppSettings

TEXT_MAX = 4096
BUTTON_BODY_MAX = 1024
MAX_BUTTONS = 3
TITLE_MAX = 20
BUTTON_ID_MAX = 256


def text_body(to: str, text: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }


def title(label: str) -> str:
    label = " ".join(label.split())
    return label if len(label) <= TITLE_MAX else label[: TITLE_MAX - 1].rstrip() + "…"


def buttons_body(to: str, text: str, buttons: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Reply buttons: the press comes back as an interactive button_reply with our id."""
    assert 0 < len(buttons) <= MAX_BUTTONS and len(text) <= BUTTON_BODY_MAX
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": text},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": data[:BUTTON_ID_MAX], "title": title(label)}}
                    for label, data in buttons
                ]
            },
        },
    }


def template_parameter(text: str) -> str:
    """A template's text parameter may hold no newline or tab and no more than four spaces in a
    row (Graph error 132018): paragraphs are joined with a separator instead."""
    parts = [" ".join(line.split()) for line in re.split(r"[\r\n\t]+", text)]
    return " · ".join(part for part in parts if part)


def template_body(to: str, template: Template, text: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {
            "name": template.name,
            "language": {"code": template.code},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": template_parameter(text)}]}
            ],
        },
    }


class GraphClient:
    """Sends message bodies; returns WhatsApp's message id (wamid) or raises a GraphError."""

    def __init__(self, settings: WhatsAppSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = settings.messages_url
        self.http = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {settings.access_token}"},
            timeout=settings.request_timeout,
            transport=transport,
        )

    async def send(self, body: dict[str, Any]) -> str:
        try:
            response = await self.http.post(self.url, json=body)
        except httpx.TransportError as exc:
            raise GraphTransient(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise translate(response)
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GraphRequestError(f"unexpected answer: {response.text[:200]}") from exc

    async def close(self) -> None:
        await self.http.aclose()
