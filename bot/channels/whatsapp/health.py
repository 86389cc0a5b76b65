"""The WhatsApp channel's line in /healthz: "ok", or what a person has to look at.

Each component (send, template) reports its own problem; a change is logged once, not per call.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

log = logging.getLogger(__name__)

KEY = "whatsapp"


class Health:
    def __init__(self, board: MutableMapping[str, str]) -> None:
        self.board = board
        self.problems: dict[str, str] = {}
        board[KEY] = "ok"

    def ok(self, component: str) -> None:
        if self.problems.pop(component, None) is not None:
            log.warning("WhatsApp %s works again", component)
            self._publish()

    def problem(self, component: str, message: str) -> None:
        if self.problems.get(component) != message:
            log.error("WhatsApp %s: %s", component, message)
        self.problems[component] = message
        self._publish()

    def _publish(self) -> None:
        self.board[KEY] = "; ".join(f"{c}: {m}" for c, m in sorted(self.problems.items())) or "ok"

    def close(self) -> None:
        self.board.pop(KEY, None)
