"""Flood control per citizen, on every channel: one polite note per window, nothing lost."""

from __future__ import annotations

from bot.app import Services
from bot.core.types import Channel, InboundMessage
from bot.service.flood import FloodGate


def test_flood_gate_notes_once_per_window() -> None:
    gate = FloodGate(limit=8, window=30)
    hits = [gate.hit("sam", float(t)) for t in range(12)]
    assert hits == [False] * 8 + [True] + [False] * 3
    assert not gate.hit("anouk", 5.0)
    assert gate.hit("sam", 45.0) is False  # the window moved on: few recent messages
    later = [gate.hit("sam", 60.0 + t / 10) for t in range(12)]  # a new flood, a new note
    assert later == [False] * 7 + [True] + [False] * 4


def test_a_flood_on_any_channel_gets_one_note_and_every_message_an_answer(services: Services) -> None:
    for channel in (Channel.WEB, Channel.X, Channel.WHATSAPP):
        results = [services.triage.handle(InboundMessage(channel, "fast", f"hello {i}")) for i in range(11)]
        notes = [
            r
            for result in results
            for r in result.replies
            if r.text.startswith("You're sending a lot of messages")
        ]
        assert len(notes) == 1 and all(result.decision is not None for result in results), channel
        assert notes[0] in results[8].replies  # the ninth message within the window
