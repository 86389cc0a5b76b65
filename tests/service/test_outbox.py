"""The outbox: retries on rate limits and errors, stops for blocked users, never sends twice."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.core.types import Channel, InboundMessage, Language, Reply
from bot.service.outbox import (
    Dispatcher,
    OutboundPayload,
    RecipientUnreachable,
    RetryAfter,
    TransientSendError,
)
from bot.store import models as m
from bot.store import outbox


class ScriptedSender:
    """Raises the scripted errors in order, then succeeds; records every successful send."""

    in_app = False

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent: list[OutboundPayload] = []
        self.lock = threading.Lock()

    async def send(self, payload: OutboundPayload) -> str | None:
        if self.errors:
            raise self.errors.pop(0)
        with self.lock:
            self.sent.append(payload)
        return f"ext-{payload.item_id}"


def enqueue(services, sender: str = "c1", text: str = "hi") -> None:  # type: ignore[no-untyped-def]
    services.triage.handle(InboundMessage(Channel.TELEGRAM, sender, text))


def items(services) -> list[m.OutboxItem]:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return list(s.scalars(select(m.OutboxItem).order_by(m.OutboxItem.id)))


def make_due(services) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as s:
        s.execute(update(m.OutboxItem).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


def test_rate_limit_waits_retry_after_and_does_not_count_as_a_failure(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services)
    sender = ScriptedSender(RetryAfter(30))
    dispatcher = Dispatcher(services.sessions, {"telegram": sender})
    asyncio.run(dispatcher.run_once())
    (item,) = items(services)
    assert item.status == "pending" and item.attempts == 0
    wait = (item.next_attempt_at - datetime.now(UTC)).total_seconds()
    assert 25 < wait <= 30
    assert asyncio.run(dispatcher.run_once()) == 0  # not due yet
    make_due(services)
    asyncio.run(dispatcher.run_once())
    assert items(services)[0].status == "sent" and items(services)[0].external_id == f"ext-{item.id}"
    assert len(sender.sent) == 1


def test_transient_errors_back_off_then_fail_after_max_attempts(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services)
    sender = ScriptedSender(*[TransientSendError("502")] * 5)
    dispatcher = Dispatcher(services.sessions, {"telegram": sender}, max_attempts=3)
    for _ in range(3):
        asyncio.run(dispatcher.run_once())
        make_due(services)
    (item,) = items(services)
    assert item.status == "failed" and item.attempts == 3 and "502" in item.last_error
    assert sender.sent == []


def test_blocked_recipient_is_marked_unreachable_and_nothing_more_is_tried(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services, text="my smoke alarm keeps beeping")  # answer + feedback prompt: two items
    sender = ScriptedSender(RecipientUnreachable("403 blocked"))
    asyncio.run(Dispatcher(services.sessions, {"telegram": sender}).run_once())
    assert [i.status for i in items(services)] == ["failed", "failed"]
    with services.sessions.begin() as s:
        citizen = s.scalars(select(m.Citizen)).one()
        assert citizen.unreachable
        outbox.enqueue(s, [outbox.Outgoing(citizen, [Reply("a professional's answer")], Language.EN)])
    assert len(items(services)) == 2  # no new outbox rows for an unreachable citizen
    enqueue(services, text="hello again")  # they write again: they unblocked the bot
    assert len(items(services)) == 3
    with services.sessions() as s:
        assert not s.scalars(select(m.Citizen)).one().unreachable


def test_an_item_left_sending_by_a_dead_process_is_not_sent_again(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services)
    with services.sessions.begin() as s:
        s.execute(
            update(m.OutboxItem).values(
                status="sending", locked_until=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
    sender = ScriptedSender()
    asyncio.run(Dispatcher(services.sessions, {"telegram": sender}).run_once())
    assert items(services)[0].status == "unknown" and sender.sent == []


def test_concurrent_dispatchers_send_each_item_exactly_once(services) -> None:  # type: ignore[no-untyped-def]
    for i in range(40):
        enqueue(services, sender=f"c{i}")
    sender = ScriptedSender()

    def run() -> None:
        dispatcher = Dispatcher(services.sessions, {"telegram": sender}, batch=7)
        while asyncio.run(dispatcher.run_once()):
            pass

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [p.item_id for p in sender.sent]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert all(i.status == "sent" for i in items(services))


def test_a_chat_keeps_its_order_while_an_earlier_item_waits_out_a_429_or_a_retry(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services, sender="sam", text="my smoke alarm keeps beeping")  # answer + "Did this help?"
    enqueue(services, sender="anouk", text="my smoke alarm keeps beeping")
    sam_answer, sam_prompt, anouk_answer, anouk_prompt = items(services)
    assert sam_answer.recipient == sam_prompt.recipient == "sam"
    sender = ScriptedSender(RetryAfter(30), TransientSendError("502"))
    dispatcher = Dispatcher(services.sessions, {"telegram": sender})

    asyncio.run(dispatcher.run_once())  # sam's answer: 429; anouk's answer: 502, retried later
    assert [p.item_id for p in sender.sent] == []  # both prompts wait behind their answers
    assert [i.status for i in items(services)] == ["pending"] * 4

    make_due(services)
    asyncio.run(dispatcher.run_once())
    assert [p.item_id for p in sender.sent] == [
        sam_answer.id,
        sam_prompt.id,
        anouk_answer.id,
        anouk_prompt.id,
    ]


def test_other_chats_are_not_held_up_by_one_chat_waiting(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services, sender="sam", text="my smoke alarm keeps beeping")
    for i in range(3):
        enqueue(services, sender=f"c{i}")
    sender = ScriptedSender(RetryAfter(30))
    asyncio.run(Dispatcher(services.sessions, {"telegram": sender}).run_once())
    assert sorted({p.recipient for p in sender.sent}) == ["c0", "c1", "c2"]
    assert [i.status for i in items(services) if i.recipient == "sam"] == ["pending", "pending"]


def test_the_emergency_reply_is_claimed_first_by_its_priority_column(services) -> None:  # type: ignore[no-untyped-def]
    enqueue(services, sender="sam", text="my smoke alarm keeps beeping")  # answer + "Did this help?"
    enqueue(services, sender="anouk", text="there is a fire in my kitchen right now, help")
    stored = items(services)
    emergencies = [i.id for i in stored if i.payload["kind"] == "emergency"]
    assert emergencies and [i.priority for i in stored] == [0 if i.id in emergencies else 1 for i in stored]
    with services.sessions.begin() as s:  # the column decides, not the payload
        s.execute(update(m.OutboxItem).where(m.OutboxItem.id == stored[1].id).values(priority=0))
    sender = ScriptedSender()
    asyncio.run(Dispatcher(services.sessions, {"telegram": sender}).run_once())
    first = sorted([stored[1].id, *emergencies])
    assert [p.item_id for p in sender.sent][: len(first)] == first


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).timestamp() + 1.0

    def __call__(self) -> float:
        return self.now


def test_a_throttled_chat_waits_pending_in_order_and_other_chats_go_on(services) -> None:  # type: ignore[no-untyped-def]
    from bot.core.throttle import SlidingWindow, Throttle

    enqueue(services, sender="sam", text="my smoke alarm keeps beeping")  # answer + "Did this help?"
    enqueue(services, sender="anouk", text="my smoke alarm keeps beeping")
    sam_answer, sam_prompt, anouk_answer, anouk_prompt = items(services)
    clock, sender = Clock(), ScriptedSender()
    throttle = Throttle([SlidingWindow(30, 1.0)], chat_rate=1.0, chat_burst=1)
    dispatcher = Dispatcher(
        services.sessions, {"telegram": sender}, throttles={"telegram": throttle}, clock=clock
    )

    asyncio.run(dispatcher.run_once())
    assert [p.item_id for p in sender.sent] == [sam_answer.id, anouk_answer.id]  # one each, now
    waiting = {i.id: i for i in items(services)}
    assert waiting[sam_prompt.id].status == waiting[anouk_prompt.id].status == "pending"
    assert waiting[sam_prompt.id].attempts == 0  # a throttle is not a failed attempt
    assert waiting[sam_prompt.id].next_attempt_at.timestamp() - clock.now == pytest.approx(1.0, abs=0.01)

    clock.now += 0.5
    asyncio.run(dispatcher.run_once())
    assert len(sender.sent) == 2  # not before its second
    clock.now += 0.6
    asyncio.run(dispatcher.run_once())
    assert [p.item_id for p in sender.sent][2:] == [sam_prompt.id, anouk_prompt.id]


def test_an_emergency_reply_goes_first_when_the_channel_budget_has_room_again(services) -> None:  # type: ignore[no-untyped-def]
    from bot.core.throttle import SlidingWindow, Throttle

    for i in range(3):
        enqueue(services, sender=f"c{i}", text="my smoke alarm keeps beeping")
    clock, sender = Clock(), ScriptedSender()
    throttle = Throttle([SlidingWindow(2, 1.0)])
    dispatcher = Dispatcher(
        services.sessions, {"telegram": sender}, throttles={"telegram": throttle}, clock=clock
    )
    asyncio.run(dispatcher.run_once())
    assert len(sender.sent) == 2 and dispatcher.throttled_for == pytest.approx(1.0)
    assert all(i.next_attempt_at.timestamp() < clock.now for i in items(services) if i.status == "pending")

    enqueue(services, sender="anouk", text="there is a fire in my kitchen right now, help")
    emergency = next(i.id for i in items(services) if i.payload["kind"] == "emergency")
    clock.now += 1.0
    asyncio.run(dispatcher.run_once())
    assert sender.sent[2].item_id == emergency  # ahead of the ordinary replies that waited longer
    assert len(sender.sent) == 4


def test_a_claim_lost_to_another_dispatcher_spends_none_of_the_chats_rate(services) -> None:  # type: ignore[no-untyped-def]
    from bot.core.throttle import SlidingWindow, Throttle

    enqueue(services, sender="sam", text="my smoke alarm keeps beeping")
    clock, sender = Clock(), ScriptedSender()
    throttle = Throttle([SlidingWindow(30, 1.0)], chat_rate=1.0, chat_burst=1)

    class Beaten(Dispatcher):
        def _pick(self, rows, session, now):  # type: ignore[no-untyped-def]
            chosen = super()._pick(rows, session, now)
            session.execute(  # another dispatcher claims it between our select and our update
                update(m.OutboxItem).where(m.OutboxItem.id.in_(chosen)).values(status="sending")
            )
            return chosen

    asyncio.run(
        Beaten(
            services.sessions, {"telegram": sender}, throttles={"telegram": throttle}, clock=clock
        ).run_once()
    )
    assert sender.sent == []
    assert throttle.check("sam", clock.now) is None  # sam's one message a second is still there
    assert throttle.windows[0].used(clock.now) == 0
