"""Proactive throttling against the fake Bot API: a chat gets about one message a second (after a
short burst), the bot at most 30 a second overall, in order; nothing waits for a 429."""

from __future__ import annotations

import asyncio
import time

from telegram import Bot

from bot.app import Services
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.settings import TelegramSettings
from bot.core.types import Channel, Language, Reply
from bot.service.outbox import Dispatcher
from bot.store import citizens, outbox
from tests.helpers.fake_telegram import FakeTelegram

SAM = 424242


class Clock:
    """The dispatcher's clock, moved by the test: a hundred seconds of sending in a few."""

    def __init__(self) -> None:
        self.now = time.time() + 1.0  # the items were stored "now": they are due

    def __call__(self) -> float:
        return self.now


def _store(services: Services, texts_by_chat: dict[int, list[str]]) -> None:
    with services.sessions.begin() as session:
        batch = [
            outbox.Outgoing(
                citizens.get_or_create(session, Channel.TELEGRAM.value, str(chat)),
                [Reply(text) for text in texts],
                Language.EN,
            )
            for chat, texts in texts_by_chat.items()
        ]
        outbox.enqueue(session, batch)


async def _send_all(services: Services, fake: FakeTelegram, total: int, limit: float) -> dict[str, float]:
    """Run the dispatcher on the test's clock until `total` messages reached the fake; when each
    text went out, by that clock."""
    settings = TelegramSettings(_env_file=None, bot_token=fake.token, api_url=fake.url)  # type: ignore[call-arg]
    clock = Clock()
    start = clock.now
    bot = Bot(fake.token, base_url=settings.base_url)
    dispatcher = Dispatcher(
        services.sessions,
        {"telegram": TelegramSender(bot)},
        throttles={"telegram": settings.throttle()},
        clock=clock,
    )
    sent_at: dict[str, float] = {}
    async with bot:
        while len(sent_at) < total:
            assert clock.now - start < limit, f"only {len(sent_at)} of {total} sent"
            await dispatcher.run_once()
            for message in fake.sent():
                sent_at.setdefault(message["text"], clock.now - start)
            clock.now += dispatcher.throttled_for or 0.1
    return sent_at


def _most_in_any(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times))


def test_a_hundred_items_to_one_chat_go_out_in_order_at_the_chat_rate(
    services: Services, fake: FakeTelegram
) -> None:
    texts = [f"message {i:03d}" for i in range(100)]
    _store(services, {SAM: texts})
    sent_at = asyncio.run(_send_all(services, fake, 100, limit=150.0))
    assert fake.texts(SAM) == texts  # in order
    times = [sent_at[text] for text in texts]
    assert _most_in_any(times, 1.0) <= 3  # a burst of three, then one a second
    assert all(t <= 3 + i * 1.0 for i, t in enumerate(sorted(times)))  # never over the bucket
    assert all(b - a >= 0.999 for a, b in zip(times[3:], times[4:], strict=False))
    assert 96.0 <= times[-1] <= 100.0  # and not slower: 97 seconds after the burst


def test_many_chats_go_out_at_the_global_rate(services: Services, fake: FakeTelegram) -> None:
    chats = {1000 + i: [f"chat {i} first", f"chat {i} second"] for i in range(150)}
    _store(services, chats)
    sent_at = asyncio.run(_send_all(services, fake, 300, limit=60.0))
    times = list(sent_at.values())
    assert _most_in_any(times, 1.0) <= 30  # Telegram's "30 messages per second or so"
    assert max(times) <= 11.0  # 300 messages at 30 a second: about ten seconds, not more
    for chat, (first, second) in chats.items():
        assert fake.texts(chat) == [first, second]
