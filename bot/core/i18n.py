"""Texts for people, translated where they are shown: `Msg`, and `Refused`, the error that carries one.

A `Msg` is a message id (the English text, with `%(name)s` placeholders) and its parameters. The
place that shows it picks the language: the console translates it with its gettext catalogue
(bot/web/i18n.py, bot/web/locale/), the CLI, Telegram and the logs read it in English, `str(msg)`.
`msg("...")` is the marker `make messages` extracts, in bot/web and bot/service alike, so each text
is written once, where it is raised or returned, and its Dutch lives in the catalogue.

A service refuses a person's request (an empty reply, a question that is not theirs) by raising a
`Refused` subclass with a `Msg`: `str(error)` is the English sentence, `error.message` the text to
translate. Pure: no gettext import, no web layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class Catalogue(Protocol):
    """What translating needs of a gettext catalogue (`gettext.NullTranslations` and its kind)."""

    def gettext(self, message: str, /) -> str: ...


@dataclass(frozen=True)
class Msg:
    """A text for a person, translated when shown: `msgid % params` in their language."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, t: Catalogue) -> str:
        """In `t`'s language; a parameter that is itself a `Msg` is translated too."""
        params = {k: v.text(t) if isinstance(v, Msg) else v for k, v in self.params.items()}
        return _fill(t.gettext(self.msgid), params)

    def __str__(self) -> str:  # English (the msgid is the English text), for logs, the CLI and the API
        return _fill(self.msgid, self.params)


def _fill(text: str, params: Mapping[str, object]) -> str:
    return text % dict(params) if params else text


def msg(msgid: str, **params: object) -> Msg:
    """Mark a text for translation (`make messages` extracts every `msg("...")`)."""
    return Msg(msgid, params)


class Refused(Exception):
    """A request a service refuses, with the reason for the person who asked.

    `str(error)` is the reason in English; `error.message` the `Msg` each channel shows in its
    reader's language. The services' own errors (QueueError, LibraryError, ...) derive from it.
    """

    def __init__(self, message: Msg) -> None:
        super().__init__(str(message))
        self.message = message
