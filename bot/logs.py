"""Keeps citizens' words and credentials out of the logs, whatever level an operator picks.

Our own log calls never pass message text, tokens or passwords. Some libraries do, at DEBUG or even
INFO: httpx logs each request URL (a Telegram URL holds the bot token), python-telegram-bot logs
every API call's parameters and results (the citizens' and our texts), oauthlib logs OAuth
signatures. Their loggers get a floor here; SQLAlchemy is told to hide statement parameters
(bot/store/db.py), which would otherwise appear in error messages and tracebacks.
"""

from __future__ import annotations

import logging

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
    for name, level in FLOORS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < level:
            logger.setLevel(level)
