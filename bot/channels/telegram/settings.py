"""TELEGRAM_* settings, read from the environment and `.env` like the service's own settings."""

from __future__ import annotations

import hashlib
from urllib.parse import urlparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.core.types import Language

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="telegram_", extra="ignore")

    bot_token: str = ""  # from BotFather; no token, no Telegram channel
    api_url: str = DEFAULT_API_URL  # a self-hosted Bot API server, e.g. http://127.0.0.1:8081
    webhook_url: str = ""  # public HTTPS URL of this service's webhook; empty: long polling
    webhook_secret: str = ""  # X-Telegram-Bot-Api-Secret-Token; empty: derived from the token
    poll_timeout: int = Field(default=30, ge=0, le=50)  # long-polling timeout in seconds
    staff_language: Language = Language.NL  # texts for professionals
    reminder_fraction: float = Field(default=0.25, gt=0, lt=1)  # remind in the last 25% of the time
    reminder_interval_seconds: float = Field(default=60.0, gt=0)
    push_attempts: int = Field(default=5, ge=1)  # direct sends to professionals
    allow_groups: bool = False  # stay in a group the bot is added to (it answers in private only)

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token.strip())

    @property
    def use_webhook(self) -> bool:
        return bool(self.webhook_url.strip())

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
