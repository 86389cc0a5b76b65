"""The connection to X: a real tweepy `Client` (API v2), the auth mode, and the rate-limit windows.

tweepy's `Response` drops the HTTP headers, so a requests response hook on the client's session
remembers each endpoint's x-rate-limit-* headers; the poller uses them to slow down before X
answers 429. Every call is synchronous: call these from a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
import tweepy

from bot.channels.x.settings import XSettings

log = logging.getLogger(__name__)

_NUMERIC = re.compile(r"/\d{3,}(?=/|$)")  # user and conversation ids, not "/2"
REQUEST_TIMEOUT = 30.0


@dataclass
class Window:
    limit: int
    remaining: int
    reset: float  # Unix time


@dataclass
class RateLimits:
    """The last rate-limit headers seen per endpoint ("GET /2/dm_events"): the 15-minute window
    (x-rate-limit-*) and, where X sends them, the account's 24-hour budget
    (x-user-limit-24hour-*, for sending DMs and posting)."""

    windows: dict[str, Window] = field(default_factory=dict)
    daily: dict[str, Window] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request is None:
            return
        key = endpoint_key(response.request.method or "GET", response.url)
        for store, prefix in ((self.windows, "x-rate-limit"), (self.daily, "x-user-limit-24hour")):
            window = _window(response.headers, prefix)
            if window is not None:
                with self._lock:
                    store[key] = window

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds to wait before calling `key` again: 0 unless its window or its day is used up."""
        now = time.time() if now is None else now
        with self._lock:
            windows = [self.windows.get(key), self.daily.get(key)]
        waits = [w.reset - now + 1.0 for w in windows if w and w.remaining <= 0 and w.reset > now]
        return max(waits, default=0.0)

    def daily_exhausted(self, key: str, now: float | None = None) -> Window | None:
        """The 24-hour budget of `key` when it is used up and not yet reset."""
        now = time.time() if now is None else now
        with self._lock:
            window = self.daily.get(key)
        return window if window and window.remaining <= 0 and window.reset > now else None


def _window(headers: Any, prefix: str) -> Window | None:
    if f"{prefix}-remaining" not in headers:
        return None
    try:
        return Window(
            int(headers.get(f"{prefix}-limit", 0)),
            int(headers[f"{prefix}-remaining"]),
            float(headers.get(f"{prefix}-reset", 0)),
        )
    except ValueError:
        return None


def endpoint_key(method: str, url: str) -> str:
    path = url.split("://", 1)[-1].split("?", 1)[0]
    path = path[path.find("/") :] if "/" in path else "/"
    return f"{method.upper()} {_NUMERIC.sub('/:id', path)}"


@dataclass
class XConnection:
    """The tweepy client and how to authenticate its calls (user_auth: OAuth 1.0a or not)."""

    client: tweepy.Client
    user_auth: bool
    limits: RateLimits
    _me: tuple[str, str] | None = None

    def me(self) -> tuple[str, str]:
        """The organisation's account: (user id, username), looked up once."""
        if self._me is None:
            response = self.client.get_me(user_auth=self.user_auth)
            self._me = (str(response.data.id), str(response.data.username))
        return self._me

    def close(self) -> None:
        self.client.session.close()


class _TimeoutSession(requests.Session):
    """tweepy sets no timeout; a hung connection must not stall the poller forever."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        return super().request(*args, **kwargs)


def connect(settings: XSettings) -> XConnection:
    """A tweepy Client for the organisation's account. No network call is made here."""
    if settings.uses_oauth1:
        key, secret, token, token_secret = settings.oauth1
        client = tweepy.Client(
            consumer_key=key,
            consumer_secret=secret,
            access_token=token,
            access_token_secret=token_secret,
            wait_on_rate_limit=False,
        )
        user_auth = True
    else:
        # An OAuth 2.0 user access token travels as a Bearer token: user_auth=False in tweepy.
        client = tweepy.Client(bearer_token=settings.bearer_user_token, wait_on_rate_limit=False)
        user_auth = False
    client.session.close()
    client.session = _TimeoutSession()
    limits = RateLimits()
    client.session.hooks["response"].append(limits.record)
    return XConnection(client, user_auth, limits)
