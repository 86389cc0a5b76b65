"""The X channel's health as /healthz reports it: "ok", or what a person has to look at.

Each component (poll, send, mentions) reports its own problem, so a working poller does not hide
a sender that X refuses. A change is logged once (the console and the server log), not per call.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime

from bot.core.throttle import SpentBudget
from bot.service import metrics

log = logging.getLogger(__name__)


DAY = "24 hours"


class ChannelHealth:
    def __init__(
        self,
        board: MutableMapping[str, str],
        key: str = "x",
        initial: str = "connecting",
        budgets: MutableMapping[str, SpentBudget] | None = None,
    ) -> None:
        self.board = board
        self.key = key
        self.budgets = budgets if budgets is not None else {}  # Services.spent_budgets
        self.problems: dict[str, str] = {}
        self.started = False
        board[key] = initial

    def ok(self, component: str) -> None:
        self.started = True
        if component == "poll":  # the DM poller's heartbeat, for Prometheus
            metrics.polled(self.key)
        if component == "send":  # a DM went out: the day's budget is not spent (any more)
            self.budgets.pop(self.key, None)
            if self.problems.pop("budget", None) is not None:
                log.warning("X's 24-hour DM limit has room again")
        if self.problems.pop(component, None) is not None:
            log.warning("X %s works again", component)
        self._publish()

    def budget_spent(self, until: float) -> None:
        """X's 24-hour DM budget is used up until `until` (Unix time), by X's headers or by our
        own count: nothing is sent until then. /healthz says so, and the admin dashboard."""
        resets = datetime.fromtimestamp(until, UTC)
        self.budgets[self.key] = SpentBudget(self.key, DAY, resets)
        self.problem("budget", f"X's 24-hour DM limit is used up until {resets:%Y-%m-%d %H:%M} UTC")

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
