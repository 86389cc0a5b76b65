"""Checks on a citizen's raw text before classification. The raw text is always stored as
received; these checks decide whether it can be classified and what to say if not."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from bot.core.emergency import EmergencyRules, detect_emergency

MAX_CHARS = 4096


class TextProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NO_WORDS = "no_words"  # emoji or symbols only


PROBLEM_TEXT_KEYS = {
    TextProblem.EMPTY: "utter_empty_message",
    TextProblem.TOO_LONG: "utter_too_long",
    TextProblem.NO_WORDS: "utter_no_words",
}

_SPACE = re.compile(r"\s+")


def classifiable(text: str, max_chars: int = MAX_CHARS) -> str:
    """The part of the text the classifier reads."""
    return clean(text[: max_chars * 4])[: max_chars * 2]


def clean(text: str) -> str:
    """Text for the classifier: control and format characters removed, whitespace folded."""
    kept = (
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
        if unicodedata.category(ch) not in ("Cf", "Cs", "Co")
    )
    return _SPACE.sub(" ", "".join(kept)).strip()


def check(text: str, emergency: EmergencyRules, max_chars: int = MAX_CHARS) -> TextProblem | None:
    """What keeps this text from being classified. An over-long message that describes an
    emergency (by the `emergency` rules) is not refused: a missed emergency costs more than
    reading a long text."""
    cleaned = clean(text)
    if not cleaned:
        return TextProblem.EMPTY
    if len(text) > max_chars and not detect_emergency(cleaned[: max_chars * 4], emergency).is_emergency:
        return TextProblem.TOO_LONG
    if not any(ch.isalnum() for ch in cleaned):
        return TextProblem.NO_WORDS
    return None
