"""What the handlers reach through `context.deps` (python-telegram-bot's custom context types),
and the channel's texts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from telegram.ext import CallbackContext, ExtBot

from bot.app import Services
from bot.channels.telegram.settings import TelegramSettings
from bot.core.library import Library, fill
from bot.core.types import Language
from bot.nlu.rasa_format import LibraryFiles, read_domain

if TYPE_CHECKING:
    from bot.channels.telegram.pushes import Pusher
    from bot.channels.telegram.updates import UpdateLedger


class Texts:
    """Library texts, falling back to the domain files for keys a library imported before the
    Telegram channel existed does not have yet (so a user never reads a bare utter_ key)."""

    def __init__(self, domain_dir: Path) -> None:
        self.domain_dir = domain_dir

    @cached_property
    def _files(self) -> dict[str, dict[str, str]]:
        lib = LibraryFiles()
        try:
            read_domain(self.domain_dir, lib)
        except Exception:  # noqa: BLE001 - the library in the database is the source of truth
            return {}
        return lib.responses

    def get(self, library: Library, key: str, language: Language, **values: object) -> str:
        if (key, "en") in library.texts or (key, language.value) in library.texts:
            return library.text(key, language, **values)
        variants = self._files.get(key, {})
        return fill(variants.get(language.value) or variants.get("en") or key, values)


@dataclass
class Deps:
    services: Services
    settings: TelegramSettings
    ledger: UpdateLedger
    texts: Texts
    wake: Callable[[], None]  # wake the outbox dispatcher after enqueueing
    failed: set[int] = field(default_factory=set)  # update ids whose handler raised
    pusher: Pusher | None = None
    group_noted: dict[int, float] = field(default_factory=dict)  # group chat -> next note due

    def text(self, library: Library, key: str, language: Language, **values: object) -> str:
        return self.texts.get(
            library, key, language, **{**self.services.settings.contacts.values(), **values}
        )


class TriageContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def deps(self) -> Deps:
        return self.bot_data["deps"]  # type: ignore[no-any-return]


def language_hint(code: str | None) -> Language | None:
    """Telegram's app language: nl is Dutch, anything else English; a weak hint only."""
    if not code:
        return None
    return Language.NL if code.lower().startswith("nl") else Language.EN
