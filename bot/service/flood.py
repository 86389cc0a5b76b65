"""Flood control per citizen, on every channel: every message is still stored and answered, and
a citizen who sends many messages quickly gets one polite note per window.

Kept in memory, per process: it only decides whether to add a note, so losing it on a restart (or
counting a citizen's messages in two instances apart) loses nothing.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class FloodGate:
    limit: int = 8  # more than `limit` messages ...
    window: float = 30.0  # ... within `window` seconds is a flood
    _seen: dict[object, deque[float]] = field(default_factory=dict)
    _noted_until: dict[object, float] = field(default_factory=dict)

    def hit(self, who: object, now: float) -> bool:
        """Count one message; True when the sender should get the slow-down note now."""
        times = self._seen.setdefault(who, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) <= self.limit or self._noted_until.get(who, 0.0) > now:
            return False
        self._noted_until[who] = now + self.window
        self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        if len(self._seen) < 10_000:
            return
        for who in [w for w, t in self._seen.items() if not t or t[-1] <= now - self.window]:
            self._seen.pop(who, None)
            self._noted_until.pop(who, None)
