"""X's DM limits before a send: our own count of DMs per 15 minutes and per 24 hours (XSettings
dm_per_15_minutes, dm_per_24_hours) and X's own word, the x-user-limit-24hour-* headers of the
last send, when they say the day's budget is spent. The outbox dispatcher asks before it claims an
X item (bot.core.throttle.Limits); a spent day shows on /healthz and the admin dashboard."""

from __future__ import annotations

from bot.channels.x.client import RateLimits
from bot.channels.x.health import DAY, ChannelHealth
from bot.channels.x.sender import DM_SEND
from bot.core.throttle import Refusal, Scope, SlidingWindow, Throttle


def dm_throttle(per_15_minutes: int, per_24_hours: int) -> Throttle:
    return Throttle(
        [SlidingWindow(per_15_minutes, 900.0, "15 minutes"), SlidingWindow(per_24_hours, 86_400.0, DAY)]
    )


class XThrottle:
    def __init__(self, own: Throttle, limits: RateLimits, health: ChannelHealth) -> None:
        self.own = own
        self.limits = limits
        self.health = health

    def check(self, chat: str, now: float) -> Refusal | None:
        day = self.limits.daily_exhausted(DM_SEND, now)
        refusal = (
            Refusal(day.reset - now + 1.0, Scope.CHANNEL, DAY)
            if day is not None
            else self.own.check(chat, now)
        )
        if refusal is not None and refusal.limit == DAY:
            self.health.budget_spent(now + refusal.wait)
        return refusal

    def count(self, chat: str, now: float) -> None:
        self.own.count(chat, now)
