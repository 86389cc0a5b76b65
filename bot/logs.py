"""Keeps citizens' words and credentials out of the logs, whatever level an operator picks.

Our own log calls never pass message text, tokens or passwords. Some libraries do, at DEBUG or even
INFO: httpx logs each request URL (a Telegram URL holds the bot token), python-telegram-bot logs
every API call's parameters and results (the citizens' and our texts), oauthlib logs OAuth
signatures. Their loggers get a floor here; SQLAlchemy is told to hide statement parameters
(bot/store/db.py), which would otherwise appear in error messages and tracebacks.

The access log (uvicorn's) names each request's path and query string, and some carry a citizen's
identity (`/api/v1/conversations/api/+31612345678/replies`, `/admin/privacy?citizen=telegram:42`):
`AccessLogRedactor` keeps the route's shape and the query's names, never their values.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import parse_qsl

FLOORS = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    "oauthlib": logging.WARNING,
    "requests_oauthlib": logging.WARNING,
    "urllib3": logging.WARNING,
    "tweepy": logging.INFO,
    "multipart": logging.INFO,
    "python_multipart": logging.INFO,
}


def quiet_libraries() -> None:
    redact_access_log()
    for name, level in FLOORS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)


HIDDEN = "-"
# Path segments that name a citizen: the intake API's conversation reads (channel, then sender).
IDENTIFYING = (re.compile(r"^(/api/v1/conversations/[^/]+/)[^/]+"),)
NAME = re.compile(r"[a-z_]{1,32}")


def redact_path(full_path: str) -> str:
    """/api/v1/conversations/api/+316.../replies?after=5 -> /api/v1/conversations/api/-/replies?after=-;
    a query's names are kept when they look like parameter names, never its values."""
    path, mark, query = full_path.partition("?")
    for pattern in IDENTIFYING:
        path = pattern.sub(rf"\g<1>{HIDDEN}", path)
    if not mark:
        return path
    names = [name if NAME.fullmatch(name) else HIDDEN for name, _ in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?{'&'.join(f'{name}={HIDDEN}' for name in names)}" if names else path


class AccessLogRedactor(logging.Filter):
    """On uvicorn's access logger: its record's arguments are (client, method, path, http
    version, status); the path is redacted before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_path(args[2]), *args[3:])
        return True


def redact_access_log() -> None:
    """For any way the app is served (`triage serve`, or uvicorn run by hand)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedactor) for f in logger.filters):
        logger.addFilter(AccessLogRedactor())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with the redactor on its access logger: set before
    the first request, and in every worker process."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": AccessLogRedactor}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
