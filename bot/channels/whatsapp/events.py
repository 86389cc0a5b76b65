"""A webhook post's contents as typed values: citizens' messages, button presses, statuses.

Meta batches: one post may hold several entries, changes, messages and statuses, for several
numbers of the same business account; only those for our phone number id are read. Nothing from
the raw JSON leaves this module. What a message means is the conversation core's: a text, a caption
or a location is passed on as it is; a photo without caption, a voice message or a sticker as its
kind, which the core answers like on every channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.core.types import DeliveryStatus

# WhatsApp's message types and the media kinds the other channels use for them.
MEDIA = {"image": "photo", "video": "video", "sticker": "sticker", "document": "document"}
IGNORED = {"reaction", "system", "ephemeral", "request_welcome"}  # not something the citizen asked


@dataclass(frozen=True, slots=True)
class Incoming:
    """A citizen's message: `text` (a caption for media), `media` its kind or None for text."""

    wamid: str
    sender: str  # the citizen's WhatsApp id (their number, digits only)
    text: str
    media: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class Pressed:
    """A reply button the citizen pressed: `data` is the id we gave it."""

    wamid: str
    sender: str
    data: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Status:
    """What WhatsApp reports about a message we sent."""

    wamid: str
    status: DeliveryStatus
    at: datetime
    error: str | None = None


Event = Incoming | Pressed | Status


def read(payload: Any, phone_number_id: str) -> list[Event]:
    """The events of one webhook post for our number, oldest first."""
    events: list[Event] = []
    for value in _values(payload, phone_number_id):
        for item in value.get("messages") or ():
            event = _message(item)
            if event is not None:
                events.append(event)
        for item in value.get("statuses") or ():
            status = _status(item)
            if status is not None:
                events.append(status)
    return sorted(events, key=lambda e: e.at)  # stable: same second keeps the post's order


def _values(payload: Any, phone_number_id: str) -> Iterator[dict[str, Any]]:
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return
    for entry in payload.get("entry") or ():
        for change in (entry or {}).get("changes") or ():
            value = (change or {}).get("value") or {}
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            if str((value.get("metadata") or {}).get("phone_number_id", "")) != phone_number_id:
                continue
            yield value


def _at(item: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(item.get("timestamp") or 0), UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def _message(item: dict[str, Any]) -> Incoming | Pressed | None:
    kind = str(item.get("type") or "")
    wamid, sender, at = str(item.get("id") or ""), str(item.get("from") or ""), _at(item)
    if not wamid or not sender or kind in IGNORED:
        return None
    if kind == "text":
        return Incoming(wamid, sender, str((item.get("text") or {}).get("body") or ""), None, at)
    if kind == "interactive":
        reply = item.get("interactive") or {}
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        if chosen.get("id"):
            return Pressed(wamid, sender, str(chosen["id"]), at)
        return Incoming(wamid, sender, "", "other", at)
    if kind == "button":  # a quick-reply button of a template: its text is what the citizen said
        button = item.get("button") or {}
        return Incoming(wamid, sender, str(button.get("text") or button.get("payload") or ""), None, at)
    if kind in MEDIA:
        media = item.get(kind) or {}
        return Incoming(wamid, sender, str(media.get("caption") or ""), MEDIA[kind], at)
    if kind == "audio":
        voice = bool((item.get("audio") or {}).get("voice"))
        return Incoming(wamid, sender, "", "voice" if voice else "audio", at)
    if kind == "location":
        return Incoming(wamid, sender, *_location(item.get("location") or {}), at)
    if kind == "contacts":
        return Incoming(wamid, sender, _contacts(item.get("contacts") or []), "contact", at)
    return Incoming(wamid, sender, "", "other", at)  # unsupported, order, poll...: answered as media


def _location(place: dict[str, Any]) -> tuple[str, str]:
    """A location as the professional reads it (like Telegram's): kept, never classified."""
    try:
        point = f"{float(place['latitude']):.6f}, {float(place['longitude']):.6f}"
    except (KeyError, TypeError, ValueError):
        return "📍", "location"
    name = ", ".join(str(place[k]) for k in ("name", "address") if place.get(k))
    return (f"📍 {name} ({point})", "venue") if name else (f"📍 {point}", "location")


def _contacts(cards: list[Any]) -> str:
    parts = []
    for card in cards:
        name = ((card or {}).get("name") or {}).get("formatted_name") or ""
        phones = " ".join(str(p.get("phone") or "") for p in (card or {}).get("phones") or [] if p)
        parts.append(f"👤 {name} {phones}".strip())
    return "; ".join(parts)


def _status(item: dict[str, Any]) -> Status | None:
    try:
        status = DeliveryStatus(str(item.get("status") or ""))
    except ValueError:
        return None  # "deleted", "warning" and statuses added later: nothing to record
    wamid = str(item.get("id") or "")
    if not wamid:
        return None
    error = None
    if status is DeliveryStatus.FAILED:
        errors = item.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        detail = (
            (first.get("error_data") or {}).get("details")
            if isinstance(first.get("error_data"), dict)
            else None
        )
        reason = first.get("title") or first.get("message") or ""
        error = f"WhatsApp could not deliver it ({first.get('code')}) {reason}"
        error = (error.strip() + (f": {detail}" if detail else ""))[:500]
    return Status(wamid, status, _at(item), error)
