"""The X channel's settings, read from X_* environment variables (and `.env`).

Two ways to act as the organisation's account (user context; app-only tokens cannot read DMs):
OAuth 1.0a (X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET) or an OAuth 2.0
user access token (X_BEARER_USER_TOKEN, scopes dm.read dm.write tweet.read users.read).
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# GET /2/dm_events allows 300 requests per 15 minutes per user (shared by the DM lookup
# endpoints): one request every 3 seconds. A poll makes at least one request.
MIN_POLL_SECONDS = 3.0


# POST /2/dm_conversations/with/:participant_id/messages, as X documents it: 200 requests per
# 15 minutes and 1,000 per 24 hours per user (the organisation's account), 15,000 per 24 hours per
# app. Lower them when the account's plan allows less (docs/X.md).
DM_PER_15_MINUTES = 200
DM_PER_24_HOURS = 1000


class XSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="X_", env_file=".env", extra="ignore")

    api_key: str = ""
    api_secret: str = ""
    access_token: str = ""
    access_token_secret: str = ""
    bearer_user_token: str = ""  # OAuth 2.0 user context (Authorization Code with PKCE)

    poll_seconds: float = Field(default=15.0, ge=MIN_POLL_SECONDS)
    public_mention_replies: bool = False
    mentions_poll_seconds: float = Field(default=60.0, ge=15.0)
    dm_per_15_minutes: int = Field(default=DM_PER_15_MINUTES, ge=1)  # DMs the outbox sends, at most
    dm_per_24_hours: int = Field(default=DM_PER_24_HOURS, ge=1)

    @property
    def oauth1(self) -> tuple[str, str, str, str]:
        return (self.api_key, self.api_secret, self.access_token, self.access_token_secret)

    @property
    def uses_oauth1(self) -> bool:
        return all(self.oauth1)

    @property
    def configured(self) -> bool:
        """Any X credential set: the channel should run (or say what is missing)."""
        return any(self.oauth1) or bool(self.bearer_user_token)

    def problem(self) -> str | None:
        """What is wrong with the credentials, or None when the channel can start."""
        if self.uses_oauth1 or self.bearer_user_token:
            return None
        missing = [
            name
            for name, value in zip(
                ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
                self.oauth1,
                strict=True,
            )
            if not value
        ]
        return "incomplete OAuth 1.0a credentials: missing " + ", ".join(missing)
