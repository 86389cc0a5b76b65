"""Builds the service's parts from the settings: database, library, engine, intake, outbox."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine as DbEngine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.core.throttle import Limits, SpentBudget
from bot.logs import quiet_libraries
from bot.nlu.rasa_format import read_library
from bot.service.intake_queue import IntakeQueue
from bot.service.outbox import DeliveredInApp, Dispatcher, Sender
from bot.service.pollers import Heartbeat
from bot.service.reply_window import ReplyWindow
from bot.service.triage import TriageService
from bot.store import models as m
from bot.store.db import make_engine, make_sessionmaker, migrate
from bot.store.library_repo import replace_library


@dataclass
class Services:
    settings: Settings
    db: DbEngine
    sessions: sessionmaker[Session]
    triage: TriageService
    senders: dict[str, Sender] = field(default_factory=dict)
    # Each remote channel's limits (bot.core.throttle), registered with its sender; live too.
    throttles: dict[str, Limits] = field(default_factory=dict)
    # A channel's budget used up until a time (X's 24 hours of DMs): /healthz and the dashboard.
    spent_budgets: dict[str, SpentBudget] = field(default_factory=dict)
    # What each running channel reports for /healthz and the console ("ok" or what is wrong);
    # live like `senders`: a channel writes its own key while it runs.
    channel_health: dict[str, str] = field(default_factory=dict)
    # Each running poller's pulse (bot/service/pollers.py): /healthz turns a stale one into
    # "degraded" for its channel. Live, keyed by the poller's name.
    heartbeats: dict[str, Heartbeat] = field(default_factory=dict)
    # Channels that take free-form replies only for a while after the citizen's last message
    # (WhatsApp: 24 hours); live: such a channel registers its window when it starts.
    reply_windows: dict[str, ReplyWindow] = field(default_factory=dict)
    intake: IntakeQueue = field(init=False)

    def __post_init__(self) -> None:
        self.intake = IntakeQueue(self.triage)  # its thread starts with the first message

    def delivered_in_app(self, channel: str) -> bool:
        """Whether a reply on `channel` is delivered by the commit that stores it (web chat, API,
        CLI: `DeliveredInApp`). Live: a channel that registers its own sender is not."""
        return self.triage.delivered_in_app(channel)

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(
            self.sessions,
            self.senders,
            max_attempts=self.settings.outbox_max_attempts,
            throttles=self.throttles,
        )


def in_app_senders() -> dict[str, Sender]:
    """Channels whose citizens read replies from our database: web chat, API clients, the CLI."""
    delivered = DeliveredInApp()
    return {"web": delivered, "api": delivered, "cli": delivered}


def build(settings: Settings, migrate_db: bool = True) -> Services:
    quiet_libraries()  # no citizen text or token in library logs (bot/logs.py)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = make_engine(settings.db_url)
    if migrate_db:
        migrate(db)
    sessions = make_sessionmaker(db)
    senders = in_app_senders()  # live: a channel started later registers its own sender here
    triage = TriageService(settings, sessions, senders=senders)
    if settings.engine == "rasa":  # a Rasa server over HTTP; bot.service.rasa_part runs it when managed
        from bot.nlu.rasa_engine import RasaEngine

        triage.set_engine(RasaEngine.from_settings(settings))
    return Services(settings, db, sessions, triage, senders)


def library_is_empty(services: Services) -> bool:
    with services.sessions() as session:
        return session.scalars(select(m.Intent.name).limit(1)).first() is None


def import_library_files(services: Services, nlu_dir=None, domain_dir=None) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Read the Rasa files first (any error leaves the database unchanged), then replace."""
    lib = read_library(nlu_dir or services.settings.nlu_dir, domain_dir or services.settings.domain_dir)
    with services.sessions.begin() as session:
        counts = replace_library(session, lib)
    services.triage.invalidate_library()
    return counts
