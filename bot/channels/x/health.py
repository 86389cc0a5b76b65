"""The X channel's health as /healthz reports it: "ok", or what a person has to look at.

Each component (poll, send, mentions) reports its own problem, so a working poller does not hide
a sender that X refuses. A change is logged once (the console and the server log), not per call.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from bot.service import metrics

log = logging.getLogger(__name__)


class ChannelHealth:
    def __init__(self, board: MutableMapping[str, str], key: str = "x", initial: str = "connecting") -> None:
        self.board = board
        self.key = key
        self.problems: dict[str, str] = {}
        self.started = False
        board[key] = initial

    def ok(self, component: str) -> None:
        self.started = True
        if component == "poll":  # the DM poller's heartbeat, for Prometheus
            metrics.polled(self.key)
        if self.problems.pop(component, None) is not None:
            log.warning("X %s works again", component)
        self._publish()

    def problem(self, component: str, message: str) -> None:
        if self.problems.get(component) != message:
            log.error("X %s: %s", component, message)
        self.problems[component] = message
        self._publish()

    def _publish(self) -> None:
        if self.problems:
            self.board[self.key] = "; ".join(f"{c}: {m}" for c, m in sorted(self.problems.items()))
        elif self.started:
            self.board[self.key] = "ok"
