"""What went wrong talking to X, in the terms the channel acts on.

    XError
    ├── XRateLimited      429: wait `seconds` (until the window, or the 24-hour limit, resets)
    ├── XTransient        5xx, connection or timeout errors: retry with backoff
    ├── XConfigError      401/403 about the app or token: a person must fix the settings;
    │   │                 shown in /healthz, retried only after a long pause
    │   └── XUnclearForbidden  a 403 that names neither the app nor the recipient
    ├── XRecipientRefused the citizen does not take our DMs, or no longer exists
    └── XRequestError     any other 4xx (a 404 for a path, not a user): a bug or a bad request

X API v2 answers errors as RFC 7807 problems ({"type", "title", "detail", "status", ...}; the
types are X's documented `https://api.x.com/2/problems/...`); some DM errors still come as v1.1
{"errors": [{"code", "message"}]}. tweepy reads only the latter, so the body is read here too.
`translate` turns tweepy's and requests' exceptions into these; it reads nothing else.
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests
import tweepy

# X's v1.1 error codes for "this user does not take DMs from you" (not a configuration problem).
RECIPIENT_CODES = {150, 151, 349, 476}
# v2 problem types (the last part of the type URI) about the app, its access or its token.
CONFIG_PROBLEMS = {"client-forbidden", "unsupported-authentication", "oauth1-permissions"}
# v2 problem types about the resource asked for: for a DM, the recipient.
RESOURCE_PROBLEMS = {"not-authorized-for-resource", "resource-unavailable", "resource-not-found"}
_ABOUT_RECIPIENT = re.compile(
    r"(this|the|that) (user|recipient|participant)|cannot send (direct )?messages|"
    r"not (allowed|permitted) to (send|message|create)|message requests|do(es)? not follow",
    re.IGNORECASE,
)
_ABOUT_APP = re.compile(
    r"\b(app|application|project|client|permissions?|access level|scopes?|oauth|enrolled|token)\b",
    re.IGNORECASE,
)
DEFAULT_RATE_LIMIT_WAIT = 60.0


class XError(Exception):
    pass


class XRateLimited(XError):
    def __init__(self, seconds: float, detail: str = "", daily: bool = False) -> None:
        super().__init__(f"rate limited for {seconds:.0f}s {detail}".strip())
        self.seconds = seconds
        self.daily = daily  # the 24-hour limit, not the 15-minute window


class XTransient(XError):
    pass


class XConfigError(XError):
    pass


class XUnclearForbidden(XConfigError):
    """A 403 whose body says neither "the app" nor "this user": the sender counts it against the
    one item first, and takes it for the app's only when a second recipient gets it too."""


class XRecipientRefused(XError):
    pass


class XRequestError(XError):
    pass


def _header(response: Any, name: str) -> float | None:
    value = response.headers.get(name) if response is not None else None
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def reset_wait(response: requests.Response | None, now: float | None = None) -> tuple[float, bool]:
    """Seconds until X takes requests again, and whether it is the 24-hour limit: the window's
    x-rate-limit-reset, or x-user-limit-24hour-reset / x-app-limit-24hour-reset when that day's
    budget is used up (both Unix times)."""
    now = time.time() if now is None else now
    resets: list[tuple[float, bool]] = []
    window = _header(response, "x-rate-limit-reset")
    if window is not None:
        resets.append((window, False))
    for scope in ("user", "app"):
        if _header(response, f"x-{scope}-limit-24hour-remaining") == 0:
            daily = _header(response, f"x-{scope}-limit-24hour-reset")
            if daily is not None:
                resets.append((daily, True))
    if not resets:
        return DEFAULT_RATE_LIMIT_WAIT, False
    at, daily = max(resets)
    return max(1.0, at - now + 1.0), daily


def problems(exc: tweepy.HTTPException) -> list[dict[str, Any]]:
    """The v2 problem objects of an error response: the body itself and its `errors`."""
    try:
        body = exc.response.json()
    except Exception:  # noqa: BLE001 - not JSON: nothing to read
        return []
    if not isinstance(body, dict):
        return []
    found = [body] + [e for e in body.get("errors", []) if isinstance(e, dict)]
    return [p for p in found if p.get("type") or p.get("detail") or p.get("title")]


def _kind(problem: dict[str, Any]) -> str:
    return str(problem.get("type") or "").rstrip("/").rsplit("/", 1)[-1]


def _detail(exc: tweepy.HTTPException) -> str:
    texts = [str(m) for m in exc.api_messages]
    texts += [str(p.get("detail") or p.get("title")) for p in problems(exc)]
    return "; ".join(dict.fromkeys(t for t in texts if t)) or str(exc).splitlines()[0]


def _about_recipient(exc: tweepy.HTTPException) -> bool:
    if RECIPIENT_CODES & set(exc.api_codes):
        return True
    for problem in problems(exc):
        kind = _kind(problem)
        if kind in RESOURCE_PROBLEMS and (
            problem.get("resource_type") == "user" or problem.get("parameter") == "participant_id"
        ):
            return True
        if kind not in CONFIG_PROBLEMS and _ABOUT_RECIPIENT.search(str(problem.get("detail", ""))):
            return True
    return any(_ABOUT_RECIPIENT.search(str(m)) for m in exc.api_messages)


def _about_app(exc: tweepy.HTTPException) -> bool:
    for problem in problems(exc):
        if _kind(problem) in CONFIG_PROBLEMS or problem.get("reason") or problem.get("registration_url"):
            return True
        if _ABOUT_APP.search(str(problem.get("detail", ""))):
            return True
    return any(_ABOUT_APP.search(str(m)) for m in exc.api_messages)


def translate(exc: BaseException, now: float | None = None) -> XError:
    if isinstance(exc, XError):
        return exc
    if isinstance(exc, tweepy.TooManyRequests):
        seconds, daily = reset_wait(exc.response, now)
        return XRateLimited(seconds, str(exc), daily=daily)
    if isinstance(exc, tweepy.Unauthorized):
        return XConfigError(f"X rejected the credentials (401 Unauthorized): {_detail(exc)}")
    if isinstance(exc, tweepy.Forbidden):
        if _about_recipient(exc):
            return XRecipientRefused(_detail(exc))
        cls = XConfigError if _about_app(exc) else XUnclearForbidden
        return cls(
            f"X refused the request (403 Forbidden): {_detail(exc)}. Check the app's access level "
            "and that it has Direct Message permission (OAuth 1.0a: 'Read, write and Direct "
            "Messages'; OAuth 2.0: scopes dm.read dm.write)"
        )
    if isinstance(exc, tweepy.NotFound):
        if _about_recipient(exc):  # the user does not exist (any more)
            return XRecipientRefused(_detail(exc))
        return XRequestError(f"X answered 404 Not Found: {_detail(exc)}")
    if isinstance(exc, tweepy.TwitterServerError | requests.RequestException):
        return XTransient(str(exc) or type(exc).__name__)
    if isinstance(exc, tweepy.HTTPException):
        return XRequestError(str(exc))
    return XRequestError(repr(exc))
