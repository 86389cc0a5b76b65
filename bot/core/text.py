"""Checks on a citizen's raw text before classification, and splitting a reply that is too long
for a channel. The raw text is always stored as received; the checks decide whether it can be
classified and what to say if not."""

from __future__ import annotations

import json
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


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def well_formed(text: str) -> tuple[str, str | None]:
    """A text that is valid Unicode, and the text as received when it was not: a JSON "\\ud800"
    escape gives a lone surrogate, which no UTF-8 page, file or database can hold. It becomes
    U+FFFD (what a reader sees); the original is kept JSON-escaped, exactly, beside it."""
    if not _LONE_SURROGATE.search(text):
        return text, None
    return _LONE_SURROGATE.sub("\ufffd", text), json.dumps(text)


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


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, for a channel with a message limit (Telegram
    4,096, an X DM 10,000). Each cut is at the last paragraph break before the limit, else the last
    line break, else the last space; a single word longer than the limit is cut hard. The pieces,
    joined by whitespace, give back the words; the result is never empty (`[""]` for no text)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut(rest[: limit + 1])  # a break right at the limit still leaves a full piece
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return parts


def _cut(window: str) -> int:
    """Where to end the piece that starts `window` (which has no leading whitespace)."""
    for sep in ("\n\n", "\n"):
        cut = window.rfind(sep)
        if cut > 0:
            return cut
    spaces = (i for i in range(len(window) - 1, 0, -1) if window[i].isspace())  # tabs too
    return next(spaces, len(window) - 1)
