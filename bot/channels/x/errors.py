"""What went wrong talking to X, in the terms the channel acts on.

    XError
    ├── XRateLimited      429: wait `seconds` (until x-rate-limit-reset), then try again
    ├── XTransient        5xx, connection or timeout errors: retry with backoff
    ├── XConfigError      401/403 about the app or token: a person must fix the settings;
    │                     shown in /healthz, retried only after a long pause
    ├── XRecipientRefused the citizen does not accept our DMs (403 codes 150/349, 404 user)
    └── XRequestError     any other 4xx: a bug or a bad request, not retried as transient

`translate` turns tweepy's and requests' exceptions into these; it reads nothing else.
"""

from __future__ import annotations

import time

import requests
import tweepy

# X's error codes for "this user does not take DMs from you" (not a configuration problem).
RECIPIENT_CODES = {150, 151, 349, 476}
DEFAULT_RATE_LIMIT_WAIT = 60.0


class XError(Exception):
    pass


class XRateLimited(XError):
    def __init__(self, seconds: float, detail: str = "") -> None:
        super().__init__(f"rate limited for {seconds:.0f}s {detail}".strip())
        self.seconds = seconds


class XTransient(XError):
    pass


class XConfigError(XError):
    pass


class XRecipientRefused(XError):
    pass


class XRequestError(XError):
    pass


def reset_wait(response: requests.Response | None, now: float | None = None) -> float:
    """Seconds until the window in the x-rate-limit-reset header (a Unix time) opens again."""
    now = time.time() if now is None else now
    header = response.headers.get("x-rate-limit-reset") if response is not None else None
    try:
        return max(1.0, float(header) - now + 1.0) if header else DEFAULT_RATE_LIMIT_WAIT
    except ValueError:
        return DEFAULT_RATE_LIMIT_WAIT


def translate(exc: BaseException, now: float | None = None) -> XError:
    if isinstance(exc, XError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        return XRateLimited(reset_wait(exc.response, now), str(exc))
    if isinstance(exc, tweepy.Unauthorized):
        return XConfigError(f"X rejected the credentials (401 Unauthorized): {_detail(exc)}")
    if isinstance(exc, tweepy.Forbidden):
        if RECIPIENT_CODES & set(exc.api_codes) or "cannot send messages" in str(exc).lower():
            return XRecipientRefused(str(exc))
        return XConfigError(
            f"X refused the request (403 Forbidden): {_detail(exc)}. Check the app's access level "
            "and that it has Direct Message permission (OAuth 1.0a: 'Read, write and Direct "
            "Messages'; OAuth 2.0: scopes dm.read dm.write)"
        )
    if isinstance(exc, tweepy.NotFound):
        return XRecipientRefused(str(exc))
    if isinstance(exc, tweepy.TwitterServerError | requests.RequestException):
        return XTransient(str(exc) or type(exc).__name__)
    if isinstance(exc, tweepy.HTTPException):
        return XRequestError(str(exc))
    return XRequestError(repr(exc))


def _detail(exc: tweepy.HTTPException) -> str:
    return "; ".join(str(m) for m in exc.api_messages) or str(exc).splitlines()[0]
