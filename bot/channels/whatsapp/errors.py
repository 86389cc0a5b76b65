"""What went wrong talking to the Graph API, in the terms the channel acts on.

    GraphError
    ├── GraphRateLimited   codes 4, 80007, 130429, 131056 or HTTP 429: wait `seconds` (Retry-After,
    │                      X-Business-Use-Case-Usage's estimated_time_to_regain_access, or a
    │                      default per code), then try again
    ├── GraphTransient     5xx, codes 1, 2, 131000, 131016, 133004, connection errors: backoff
    ├── GraphConfigError   the token expired or lacks permission (190, 0, 3, 10, 200-299, 401),
    │                      the account is locked or unpaid: a person must act; shown in /healthz
    ├── GraphRecipientRefused  the number cannot get our messages (131026, 131030, 131021)
    ├── GraphWindowClosed  131047: more than 24 hours since the citizen's last message
    ├── GraphTemplateError 132xxx: the configured template does not exist or does not fit
    └── GraphRequestError  any other refusal: a bug or a bad request, not worth retrying

`translate` reads an httpx response (or exception) and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

RATE_LIMIT_WAIT = {4: 60.0, 80007: 60.0, 130429: 2.0, 131056: 6.0}  # seconds, when no header says
TRANSIENT = {1, 2, 131000, 131016, 133004}
CONFIG = {0, 3, 10, 190, 368, 131031, 131042, 131045, 133010}
RECIPIENT = {131021, 131026, 131030}
WINDOW = {131047}


class GraphError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class GraphRateLimited(GraphError):
    def __init__(self, seconds: float, message: str, code: int | None = None) -> None:
        super().__init__(f"rate limited for {seconds:.0f}s: {message}", code)
        self.seconds = seconds


class GraphTransient(GraphError):
    pass


class GraphConfigError(GraphError):
    pass


class GraphRecipientRefused(GraphError):
    pass


class GraphWindowClosed(GraphError):
    pass


class GraphTemplateError(GraphError):
    pass


class GraphRequestError(GraphError):
    pass


def error_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except (json.JSONDecodeError, ValueError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def describe(error: dict[str, Any], status: int) -> str:
    details = (
        (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    )
    code = error.get("code")
    text = str(error.get("message") or f"HTTP {status}")
    return f"({code}) {text}" + (f": {details}" if details else "") if code is not None else text


def wait_seconds(response: httpx.Response, code: int | None) -> float:
    """How long the Graph API asks us to wait: Retry-After, else the business use case header's
    estimated_time_to_regain_access (minutes), else a default for the code."""
    header = response.headers.get("retry-after")
    if header:
        try:
            return max(1.0, float(header))
        except ValueError:
            pass
    usage = response.headers.get("x-business-use-case-usage")
    if usage:
        try:
            minutes = [
                float(entry.get("estimated_time_to_regain_access") or 0)
                for entries in json.loads(usage).values()
                for entry in entries
            ]
            if any(minutes):
                return max(minutes) * 60.0
        except (ValueError, AttributeError, TypeError):
            pass
    return RATE_LIMIT_WAIT.get(code or 0, 60.0)


def translate(response: httpx.Response) -> GraphError:
    """The error a refused request stands for."""
    error = error_of(response)
    code = error.get("code")
    code = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    message = describe(error, response.status_code)
    if code in RATE_LIMIT_WAIT or response.status_code == 429:
        return GraphRateLimited(wait_seconds(response, code), message, code)
    if code in WINDOW:
        return GraphWindowClosed(message, code)
    if code in RECIPIENT:
        return GraphRecipientRefused(message, code)
    if code == 190 or response.status_code == 401:
        return GraphConfigError(f"the access token has expired or is invalid {message}", code)
    if code in CONFIG or (code is not None and 200 <= code <= 299):
        return GraphConfigError(message, code)
    if code is not None and 132000 <= code < 133000:
        return GraphTemplateError(message, code)
    if code in TRANSIENT or response.status_code >= 500:
        return GraphTransient(message, code)
    return GraphRequestError(message, code)
