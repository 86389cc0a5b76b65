"""WHATSAPP_* settings, read from the environment and `.env` like the service's own settings.

Four values come from the Meta app (docs/WHATSAPP.md): the phone number id, an access token (a
system user's permanent token in production), the app secret (signs every webhook post) and a
verify token of our own choosing (the webhook's GET handshake). The channel starts when the phone
number id and the access token are set, and refuses to start without the two secrets.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_GRAPH_URL = "https://graph.facebook.com"


@dataclass(frozen=True, slots=True)
class Template:
    """An approved template message: its name and language code ("en_GB", "nl")."""

    name: str
    code: str


class WhatsAppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="whatsapp_", extra="ignore")

    phone_number_id: str = ""  # the business number's id (not the number itself)
    access_token: str = ""
    app_secret: str = ""  # X-Hub-Signature-256: HMAC-SHA256 of each webhook post's body
    verify_token: str = ""  # our choice; Meta sends it back in the webhook's GET handshake
    graph_url: str = DEFAULT_GRAPH_URL  # tests point this at a local fake
    api_version: str = "v21.0"
    webhook_path: str = "/whatsapp/webhook"
    # A professional's reply after the 24-hour window goes out as this template, per language:
    # "en=citizen_reply:en_GB,nl=citizen_reply:nl" (name, then the template's language code).
    reply_templates: dict[str, str] = Field(default_factory=dict)
    window_hours: float = Field(default=24.0, gt=0, le=24.0)
    request_timeout: float = Field(default=30.0, gt=0)

    @field_validator("reply_templates", mode="before")
    @classmethod
    def _parse_templates(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
            return {k.strip(): v.strip() for k, v in pairs if v.strip()}
        return value

    @property
    def configured(self) -> bool:
        """Any of the two sending credentials set: the channel should run (or say what is missing)."""
        return bool(self.phone_number_id.strip() or self.access_token.strip())

    def problem(self) -> str | None:
        """What is missing, or None when the channel can start."""
        missing = [
            f"WHATSAPP_{name.upper()}"
            for name in ("phone_number_id", "access_token", "app_secret", "verify_token")
            if not getattr(self, name).strip()
        ]
        return "missing " + ", ".join(missing) if missing else None

    def template(self, language: str) -> Template | None:
        value = self.reply_templates.get(language)
        if not value:
            return None
        name, _, code = value.partition(":")
        return Template(name.strip(), code.strip() or language)

    @property
    def messages_url(self) -> str:
        return f"{self.graph_url.rstrip('/')}/{self.api_version}/{self.phone_number_id}/messages"
