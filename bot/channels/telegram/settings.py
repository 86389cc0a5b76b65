"""TELEGRAM_* settings, read from the environment and `.env` like the service's own settings."""

from __future__ import annotations

import hashlib
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.throttle import SlidingWindow, Throttle
from bot.core.types import Language

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="telegram_", extra="ignore")

    bot_token: str = ""  # from BotFather; no token, no Telegram channel
    api_url: str = DEFAULT_API_URL  # a self-hosted Bot API server, e.g. http://127.0.0.1:8081
    # polling (one instance) or webhook (any number, behind TELEGRAM_WEBHOOK_URL). Empty: webhook
    # when TELEGRAM_WEBHOOK_URL is set, else polling, with a warning to say which.
    mode: Literal["", "polling", "webhook"] = ""
    webhook_url: str = ""  # public HTTPS URL of this service's webhook (mode webhook)
    # Polling: delete a webhook that is set (another deployment's), taking over its updates. Off:
    # a laptop or a staging instance never takes production's traffic by starting.
    delete_webhook: bool = False
    webhook_secret: str = ""  # X-Telegram-Bot-Api-Secret-Token; empty: derived from the token
    poll_timeout: int = Field(default=30, ge=0, le=50)  # long-polling timeout in seconds
    staff_language: Language = Language.NL  # professionals' texts unless they chose one (Account)
    reminder_fraction: float = Field(default=0.25, gt=0, lt=1)  # remind in the last 25% of the time
    reminder_interval_seconds: float = Field(default=60.0, gt=0)
    push_attempts: int = Field(default=5, ge=1)  # direct sends to professionals
    allow_groups: bool = False  # stay in a group the bot is added to (it answers in private only)
    # Proactive throttling within Telegram's limits (core.telegram.org/bots/faq): "no more than 30
    # messages per second or so" overall, "avoid more than one message per second" in a chat,
    # "short bursts" allowed. See docs/TELEGRAM.md.
    messages_per_second: int = Field(default=30, ge=1)
    chat_messages_per_second: float = Field(default=1.0, gt=0)
    chat_burst: int = Field(default=3, ge=1)

    def throttle(self) -> Throttle:
        return Throttle(
            [SlidingWindow(self.messages_per_second, 1.0, "messages per second")],
            chat_rate=self.chat_messages_per_second,
            chat_burst=self.chat_burst,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.strip())

    @property
    def resolved_mode(self) -> str:
        return self.mode or ("webhook" if self.webhook_url.strip() else "polling")

    @property
    def use_webhook(self) -> bool:
        return self.resolved_mode == "webhook"

    def problem(self) -> str | None:
        """A contradiction in the settings, which keeps the channel from starting."""
        if self.mode == "webhook" and not self.webhook_url.strip():
            return "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL"
        if self.mode == "polling" and self.webhook_url.strip():
            return "TELEGRAM_MODE=polling but TELEGRAM_WEBHOOK_URL is set: choose one"
        if self.delete_webhook and self.use_webhook:
            return "TELEGRAM_DELETE_WEBHOOK is for polling; a webhook instance sets its own"
        return None

    @property
    def base_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_url.rstrip('/')}/file/bot"

    @property
    def webhook_path(self) -> str:
        return urlparse(self.webhook_url).path or DEFAULT_WEBHOOK_PATH

    @property
    def secret_token(self) -> str:
        """Every instance derives the same secret from the token, so none needs extra config.

        Telegram allows 1-256 characters A-Z, a-z, 0-9, _ and -; a hex digest qualifies.
        """
        if self.webhook_secret:
            return self.webhook_secret
        return hashlib.sha256(b"telegram-webhook:" + self.bot_token.encode()).hexdigest()
