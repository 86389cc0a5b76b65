"""What the bot knows when it decides: the library (cached, reloaded when an admin changes it), the
emergency rules from responses/emergency.yml, the engine that reads messages, the thresholds from
config.yml and the roles' response times.

The emergency rules are read here, at the edge, and handed to the core on the `Library` value. A
broken rules file stops the start-up with its file, line and entry; a broken edit while running
is logged and the last good rules stay in use, so the bot never runs without them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core.calendar import Calendar, Promise, promise
from bot.core.emergency import EmergencyRules
from bot.core.library import Library
from bot.core.replies import Expected, expected
from bot.core.staffing import Placement, Staffing, place
from bot.core.types import Language, Thresholds
from bot.nlu.engine import Engine, SklearnEngine
from bot.nlu.rasa_format import (
    EMERGENCY_FILE,
    LibraryFileError,
    LibraryFiles,
    read_domain,
    read_emergency,
    read_thresholds,
)
from bot.service.models_registry import EngineHolder
from bot.store import team
from bot.store.library_repo import library_version, load_library

log = logging.getLogger(__name__)

LIBRARY_CHECK_SECONDS = 2.0  # how often to look whether an admin changed the library or the rules
STAFFING_CHECK_SECONDS = 5.0  # how often to read who is on duty


class Knowledge:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], engine: Engine | None = None
    ) -> None:
        self.settings = settings
        self._fixed_engine = engine
        self._holder = EngineHolder(sessions, settings.models_dir)
        self.thresholds = Thresholds(*read_thresholds(settings.config_file))
        self._library: Library | None = None
        self._library_version = -1
        self._library_checked = 0.0
        self._fallback_texts: dict[tuple[str, str], str] | None = None
        self._staffing: Staffing | None = None
        self._staffing_read = 0.0
        self.emergency_file = settings.domain_dir / EMERGENCY_FILE
        self._emergency_stamp = _stamp(self.emergency_file)
        self._emergency = read_emergency(self.emergency_file)  # broken or missing: no start-up
        # The moment a promise is made from; a test (or a what-if) may fix it, like the engine.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def emergency(self) -> EmergencyRules:
        """The emergency rules in use (also on every `Library` this returns)."""
        return self._emergency

    def library(self, session: Session) -> Library:
        now = time.monotonic()
        if self._library is None or now - self._library_checked > LIBRARY_CHECK_SECONDS:
            rules_changed = self._reload_emergency()
            version = library_version(session)
            if self._library is None or version != self._library_version:
                self._library = load_library(session, self._emergency, fallback_texts=self._builtin_texts())
                self._library_version = version
            elif rules_changed:
                self._library = replace(self._library, emergency=self._emergency)
            self._library_checked = now
        return self._library

    def _reload_emergency(self) -> bool:
        """Read the rules file again if an admin changed it; True when new rules are in use."""
        stamp = _stamp(self.emergency_file)
        if stamp == self._emergency_stamp:
            return False
        self._emergency_stamp = stamp
        try:
            self._emergency = read_emergency(self.emergency_file)
        except LibraryFileError as exc:
            log.error("emergency rules not reloaded, the last good rules stay in use: %s", exc)
            return False
        log.info("emergency rules reloaded from %s", self.emergency_file)
        return True

    def _builtin_texts(self) -> dict[tuple[str, str], str]:
        """The shipped system texts, for a library imported without them (any Rasa project, or
        one imported before a text was added)."""
        if self._fallback_texts is None:
            files = LibraryFiles()
            try:
                read_domain(self.settings.domain_dir, files)
            except LibraryFileError:
                log.warning("built-in texts unreadable in %s", self.settings.domain_dir)
            self._fallback_texts = {
                (key, lang): text
                for key, by_lang in files.responses.items()
                for lang, text in by_lang.items()
            }
        return self._fallback_texts

    def invalidate_library(self) -> None:
        self._library = None

    def staffing(self, session: Session) -> Staffing:
        """Who is on duty (active professionals' roles and areas), read at most every few
        seconds: a question must never wait for a colleague who left, nor skip one who joined."""
        now = time.monotonic()
        if self._staffing is None or now - self._staffing_read > STAFFING_CHECK_SECONDS:
            self._staffing = team.staffing(session)
            self._staffing_read = now
        return self._staffing

    def invalidate_staffing(self) -> None:
        self._staffing = None

    def place(self, session: Session, library: Library, role: str, area: str | None) -> Placement:
        """Where a new question for `role` lands: up the escalation path past roles nobody holds."""
        return place(role, area, library, self.staffing(session))

    def engine(self, session: Session) -> Engine:
        return self._fixed_engine or self._holder.get(session)

    def set_engine(self, engine: Engine) -> None:
        """Pin an engine (the Rasa engine, or a model in tests) instead of the active model."""
        self._fixed_engine = engine

    def use_model(self, engine: SklearnEngine) -> None:
        """A newly activated embedded model, used at once by this process (others notice the
        active flag within EngineHolder.CHECK_SECONDS). A pinned non-sklearn engine stays."""
        if self._fixed_engine is None:
            self._holder.set(engine)
        elif isinstance(self._fixed_engine, SklearnEngine):
            self._fixed_engine = engine

    def response_hours(self, library: Library, role: str | None) -> float:
        role_value = library.role(role)
        return self.settings.response_hours.get(role_value.slug, role_value.response_hours)

    def promise(self, library: Library, role: str | None, now: datetime | None = None) -> Promised:
        """What a question for `role` arriving `now` (by the clock) is promised: its response hours
        counted in the role's working time (the calendar was parsed with the cached library)."""
        now = now or self.clock()
        hours = self.response_hours(library, role)
        calendar = library.role(role).calendar
        return Promised(hours, calendar, promise(calendar, now, hours), now)


@dataclass(frozen=True, slots=True)
class Promised:
    """A new question's promise: the role's hours of working time from `now` in its calendar."""

    hours: float
    calendar: Calendar
    made: Promise
    now: datetime

    def phrased(self, language: Language) -> Expected:
        return expected(self.calendar, self.made, self.now, self.hours, language)


def _stamp(path: Path) -> tuple[int, int] | None:
    """When and how big: enough to notice an edit without reading the file."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
