"""Proactive throttling: send within a platform's published limits instead of waiting for its 429s.

Pure: every call takes `now` (seconds, any clock that only moves forward), so the rules are tested
without waiting. A `Throttle` answers one question for the outbox dispatcher: may one more message
go to this chat now? It is either allowed or refused with how long to wait and whether the chat
(its own rate) or the whole channel (a shared budget) is what is full; a message that then really
goes is counted.

- `TokenBucket`: `rate` messages a second on average, bursts of up to `burst` (Telegram's "about
  one message a second in a chat, short bursts allowed").
- `SlidingWindow`: at most `limit` messages in any `seconds` (Telegram's 30 a second overall, X's
  DMs per 15 minutes and per 24 hours).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

IDLE_CHATS_KEPT = 1024  # per-chat buckets beyond this are pruned when full (the chat is idle)


class Scope(StrEnum):
    CHAT = "chat"  # this chat's own rate: its later messages wait, other chats go on
    CHANNEL = "channel"  # a budget the whole channel shares: nothing more goes out on it


@dataclass(frozen=True, slots=True)
class Refusal:
    wait: float  # seconds until a message can go
    scope: Scope
    limit: str  # which limit, for logs and health ("24 hours", "per chat")


@dataclass(frozen=True, slots=True)
class SpentBudget:
    """A channel's budget that is used up until `resets_at` (X's 24 hours of DMs): nothing goes
    out on it until then. /healthz and the admin dashboard show it."""

    channel: str
    limit: str  # "24 hours"
    resets_at: datetime  # aware, UTC


class Limits(Protocol):
    """What the outbox dispatcher asks of a channel's limits (`Throttle`, or a channel's wrapper
    of it such as X's): whether one message to `chat` may go at `now`, None or why not; and
    `count` one that went (its claim was won: one lost to another dispatcher spends nothing)."""

    def check(self, chat: str, now: float) -> Refusal | None: ...

    def count(self, chat: str, now: float) -> None: ...


def take(limits: Limits, chat: str, now: float) -> Refusal | None:
    """`check`, and `count` the message when it may go (one sender alone, as in the tests)."""
    refusal = limits.check(chat, now)
    if refusal is None:
        limits.count(chat, now)
    return refusal


@dataclass(slots=True)
class TokenBucket:
    rate: float  # tokens added per second
    burst: float  # the most tokens it holds (a full bucket lets `burst` messages go at once)
    tokens: float = field(init=False)
    stamp: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a token bucket needs a positive rate and a burst of at least 1")
        self.tokens = self.burst

    def _refill(self, now: float) -> None:
        if self.stamp is not None and now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        if self.stamp is None or now > self.stamp:
            self.stamp = now

    def wait(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self.tokens -= 1

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.burst


@dataclass(slots=True)
class SlidingWindow:
    limit: int  # messages allowed in any window of `seconds`
    seconds: float
    name: str = ""
    sent: deque[float] = field(default_factory=deque, init=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.seconds <= 0:
            raise ValueError("a window needs a limit of at least 1 and a positive length")

    def wait(self, now: float) -> float:
        while self.sent and self.sent[0] <= now - self.seconds:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.limit else self.sent[0] + self.seconds - now

    def take(self, now: float) -> None:
        self.sent.append(now)

    def used(self, now: float) -> int:
        self.wait(now)
        return len(self.sent)


class Throttle:
    """A channel's limits: windows the whole channel shares, and a token bucket per chat."""

    def __init__(self, windows: Sequence[SlidingWindow], chat_rate: float | None = None, chat_burst: int = 1):
        self.windows = list(windows)
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self._chats: dict[str, TokenBucket] = {}

    def check(self, chat: str, now: float) -> Refusal | None:
        """None if one more message to `chat` may go now, else why it must wait. Counts nothing:
        the caller `count`s the message once it is really going (its claim was won). A full
        channel comes first: no chat can go until it has room."""
        for window in self.windows:
            wait = window.wait(now)
            if wait > 0:
                return Refusal(wait, Scope.CHANNEL, window.name or f"{window.limit} per {window.seconds:g} s")
        bucket = self._bucket(chat, now)
        if bucket is not None:
            wait = bucket.wait(now)
            if wait > 0:
                return Refusal(wait, Scope.CHAT, "per chat")
        return None

    def count(self, chat: str, now: float) -> None:
        """One message to `chat` went at `now`."""
        bucket = self._bucket(chat, now)
        if bucket is not None:
            bucket.take(now)
        for window in self.windows:
            window.take(now)

    def _bucket(self, chat: str, now: float) -> TokenBucket | None:
        if self.chat_rate is None:
            return None
        bucket = self._chats.get(chat)
        if bucket is None:
            if len(self._chats) >= IDLE_CHATS_KEPT:  # forget idle chats: a full bucket is a new one
                self._chats = {c: b for c, b in self._chats.items() if not b.full(now)}
            bucket = self._chats[chat] = TokenBucket(self.chat_rate, self.chat_burst)
        return bucket
