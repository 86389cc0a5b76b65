"""One settings object, read from the environment and `.env`, passed in explicitly."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.calendar import DEFAULT_ZONE, zone
from bot.core.replies import Contacts

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="", extra="ignore")

    triage_data_dir: Path = Field(default=Path("var"))
    database_url: str = ""  # default: SQLite file in the data dir
    environment: str = "development"  # development / production, any case

    # Library and engine
    nlu_dir: Path = PROJECT_ROOT / "nlu_data"
    domain_dir: Path = PROJECT_ROOT / "responses"
    config_file: Path = PROJECT_ROOT / "config.yml"
    engine: str = "sklearn"  # sklearn / rasa

    # Organisation (placeholders in the answers; never invented)
    emergency_number: str = "112"
    non_emergency_number: str = "0900-8844"
    municipality_url: str = ""
    municipality_phone: str = ""
    default_role: str = "public_order_officer"
    # The staff's time zone: the console shows times in it (a role's own calendar has its own).
    timezone: str = DEFAULT_ZONE
    # Per-role response-time promise in hours, overriding the library's: "community_police_officer=12,..."
    response_hours: Annotated[dict[str, float], NoDecode] = Field(default_factory=dict)  # not JSON
    sign_replies_with_name: bool = False
    retention_days: int = 90
    # More than FLOOD_MESSAGES from one citizen within FLOOD_SECONDS: one polite "slow down" note
    # (every message is still stored and answered).
    flood_messages: int = Field(default=8, ge=1)
    flood_seconds: float = Field(default=30.0, gt=0)
    # An emergency nobody has claimed after this many minutes goes one role up its escalation
    # path (responses/routing.yml), and on until the admins have it.
    emergency_escalation_minutes: float = Field(default=5.0, gt=0)

    # Service
    host: str = "127.0.0.1"
    port: int = 8000
    max_message_chars: int = 4096
    # Request bodies over this are refused with 413 (bot/web/limits.py); no route takes uploads.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    outbox_interval_seconds: float = 0.5
    outbox_max_attempts: int = 8
    secret_key: str = "dev-insecure-secret-change-me"
    api_token: str = ""  # for machine clients such as the Rasa action server
    # With the engine down, a message waits this long for it, then goes to a person.
    engine_timeout_seconds: float = 120.0
    # GET /metrics (Prometheus): open to loopback clients; anyone else needs this bearer token.
    metrics_token: str = ""
    metrics_loopback_open: bool = True

    # Single sign-on with OpenID Connect (bot/web/sso.py); empty OIDC_ISSUER: local passwords only.
    oidc_issuer: str = ""  # https://login.microsoftonline.com/<tenant>/v2.0, https://kc/realms/x
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_name: str = "your organisation"  # on the button: "Sign in with <name>"
    # A claim holding role values (dotted for nested: realm_access.roles); empty: an admin assigns
    # roles on the Team page. With it, roles, areas and admin rights follow the claim at every login.
    oidc_roles_claim: str = ""
    oidc_areas_claim: str = ""
    # The provider's value -> our role slug ("Brandpreventie=fire_prevention_officer,..."); a value
    # equal to one of our role slugs needs no entry. Unknown values are ignored (and logged).
    oidc_role_map: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)  # not JSON
    oidc_admin_value: str = ""  # a value in the roles claim that makes an admin
    # Where the provider sends the browser back; empty: derived from the request (/login/oidc/callback).
    oidc_redirect_url: str = ""

    @field_validator("response_hours", mode="before")
    @classmethod
    def _parse_hours(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
            return {k.strip(): float(v) for k, v in pairs}
        return value

    @field_validator("oidc_role_map", mode="before")
    @classmethod
    def _parse_role_map(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = (item.split("=", 1) for item in value.split(",") if "=" in item)
            return {k.strip(): v.strip() for k, v in pairs}
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError("OIDC_ISSUER must be an https:// URL (http only on loopback, for tests)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return zone(value)  # a CalendarError (a ValueError) names the setting's problem

    @field_validator("environment", mode="before")
    @classmethod
    def _known_environment(cls, value: object) -> str:
        """Read in any case ("Production" is production); anything else stops the start, so a
        typo never runs production with the development secret and an open API."""
        name = str(value).strip().lower()
        if name not in ENVIRONMENTS:
            raise ValueError(f"ENVIRONMENT must be {' or '.join(ENVIRONMENTS)}, not {str(value)!r}")
        return name

    @field_validator("secret_key")
    @classmethod
    def _real_secret_outside_dev(cls, value: str, info) -> str:  # type: ignore[no-untyped-def]
        if info.data.get("environment") == "production" and value.startswith("dev-insecure"):
            raise ValueError("SECRET_KEY must be set to a real secret in production")
        return value

    @property
    def oidc(self) -> bool:
        """Single sign-on is configured."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def data_dir(self) -> Path:
        return self.triage_data_dir

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.triage_data_dir / 'triage.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.triage_data_dir / "models"

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(
            emergency_number=self.emergency_number,
            non_emergency_number=self.non_emergency_number,
            municipality_url=self.municipality_url,  # unset: a phrase in the text's language
            municipality_phone=self.municipality_phone,
            retention_days=self.retention_days,
        )
