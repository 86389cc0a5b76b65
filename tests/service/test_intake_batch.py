"""Batched intake (`TriageService.handle_many`, `IntakeQueue`): the same decisions as one by one,
on SQLite and PostgreSQL; duplicates, follow-ups and failures stay per message."""

import asyncio
import threading

from sqlalchemy import func, select

from bot.core.types import Action, Channel, InboundMessage, Language, Parse
from bot.nlu.engine import EngineUnavailable
from bot.service.intake_queue import IntakeQueue
from bot.store import models as m

TEXTS = [
    ("my smoke alarm keeps beeping every minute", Action.ANSWER),
    ("mijn rookmelder piept steeds", Action.ANSWER),
    ("help my house is on fire", Action.EMERGENCY),
    ("who won the football match yesterday", Action.ROUTE),
]


def msg(text: str, sender: str, **kw) -> InboundMessage:  # type: ignore[no-untyped-def]
    return InboundMessage(Channel.API, sender, text, **kw)


def count(services, model, *where) -> int:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_batch_decides_like_one_by_one(services) -> None:  # type: ignore[no-untyped-def]
    results = services.triage.handle_many([msg(t, f"c{i}") for i, (t, _) in enumerate(TEXTS)])
    assert [r.decision.action for r in results] == [a for _, a in TEXTS]
    single = services.triage.handle(msg(TEXTS[0][0], "other"))
    assert results[0].decision.ranking == single.decision.ranking
    assert [r.text for r in results[0].replies] == [r.text for r in single.replies]
    assert count(services, m.DecisionRecord) == len(TEXTS) + 1
    assert count(services, m.Question) == 2  # the emergency and the routed question
    assert all(r.reply_ids for r in results)


def test_duplicates_within_and_across_batches_are_stored_and_decided_once(services) -> None:  # type: ignore[no-untyped-def]
    first = services.triage.handle_many([msg("hallo", "c1", external_id="x-1"),
                                         msg("hallo", "c1", external_id="x-1")])
    assert not first[0].duplicate and first[1].duplicate
    assert first[1].message_id == first[0].message_id
    again = services.triage.handle_many([msg("hallo", "c1", external_id="x-1")])
    assert again[0].duplicate and [r.text for r in again[0].replies] == [r.text for r in first[0].replies]
    assert count(services, m.Message, m.Message.direction == "in") == 1
    assert count(services, m.DecisionRecord) == 1


def test_a_follow_up_in_the_same_batch_answers_the_prompt(services) -> None:  # type: ignore[no-untyped-def]
    results = services.triage.handle_many([msg("my smoke alarm keeps beeping every minute", "c1"),
                                           msg("no", "c1")])
    assert results[0].decision.action is Action.ANSWER
    assert results[1].decision is None  # "no" answered "Did this help?"
    with services.sessions() as s:
        answered = s.get(m.Message, results[0].message_id)
        assert answered.feedback == "no"



def test_a_postcode_in_the_same_batch_as_its_question_answers_it(services) -> None:  # type: ignore[no-untyped-def]
    tip = "I think my neighbour is dealing drugs from his garage, anonymous tip"
    first, area, other = services.triage.handle_many([
        msg(tip, "c1"), msg("1012 AB", "c1"), msg(tip, "c2")])
    assert [r.kind for r in first.replies] == ["ack", "ask_area"]
    assert area.decision is None and "1012 AB" in area.replies[0].text  # read as the area asked
    assert other.question_id not in (None, first.question_id)
    with services.sessions() as s:
        citizen = s.get(m.Citizen, first.citizen_id)
        assert citizen.area_label == "1012 AB" and citizen.pending == "none"
        assert s.get(m.Question, first.question_id).message_id == first.message_id
        assert s.get(m.Message, first.message_id).question_id == first.question_id
        replies = s.scalars(select(m.Message).where(m.Message.direction == "out")
                            .order_by(m.Message.id)).all()
        assert [r.id for r in replies] == sorted(first.reply_ids + area.reply_ids + other.reply_ids)
        assert [r.question_id for r in replies[:2]] == [first.question_id] * 2

class DownEngine:
    name, version = "rasa", "down"

    def parse(self, text: str, language: Language | None = None) -> Parse:
        raise EngineUnavailable("rasa is down")


def test_with_the_engine_down_each_message_is_kept_for_later(services) -> None:  # type: ignore[no-untyped-def]
    services.triage.set_engine(DownEngine())
    results = services.triage.handle_many([msg("how do i get an event permit", "c1"),
                                           msg("help my house is on fire", "c2")])
    assert results[0].decision is None and results[0].replies[0].kind == "notice"
    assert results[1].decision.action is Action.EMERGENCY
    assert count(services, m.Message, m.Message.direction == "in", m.Message.processed.is_(False)) == 1


def test_one_failing_message_does_not_fail_the_others(services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = services.triage.decider.draft

    def fragile(session, message, citizen, inbound, *args):  # type: ignore[no-untyped-def]
        if inbound is not None and inbound.sender == "bad":
            raise RuntimeError("boom")
        return original(session, message, citizen, inbound, *args)

    monkeypatch.setattr(services.triage.decider, "draft", fragile)
    results = services.triage.handle_many([msg("how do I report noise nuisance", "good"),
                                           msg("how do I report noise nuisance", "bad")])
    assert results[0].decision.intent == "noise_nuisance"
    assert isinstance(results[1], RuntimeError)
    # the failed message is stored, undecided, and picked up later
    monkeypatch.setattr(services.triage.decider, "draft", original)
    assert services.triage.process_pending() == 1


def test_the_queue_serves_concurrent_callers_in_batches(services) -> None:  # type: ignore[no-untyped-def]
    queue = IntakeQueue(services.triage, max_batch=8)
    sizes: list[int] = []
    handle_many = services.triage.handle_many
    gate = threading.Event()

    def counting(inbounds):  # type: ignore[no-untyped-def]
        gate.wait(5)  # hold the first batch so that the others pile up behind it
        sizes.append(len(inbounds))
        return handle_many(inbounds)

    services.triage.handle_many = counting

    async def main() -> list:  # type: ignore[type-arg]
        calls = [queue.handle(msg(TEXTS[i % 4][0], f"c{i}")) for i in range(20)]
        tasks = [asyncio.ensure_future(c) for c in calls]
        await asyncio.sleep(0.2)
        gate.set()
        return await asyncio.gather(*tasks)

    try:
        results = asyncio.run(main())
    finally:
        queue.stop()
    assert [r.decision.action for r in results] == [TEXTS[i % 4][1] for i in range(20)]
    assert sum(sizes) == 20 and max(sizes) == 8 and len(sizes) < 20
    assert count(services, m.DecisionRecord) == 20


def test_the_queue_passes_a_storage_failure_to_every_caller(services) -> None:  # type: ignore[no-untyped-def]
    queue = IntakeQueue(services.triage)

    def broken(inbounds):  # type: ignore[no-untyped-def]
        raise ConnectionError("database gone")

    services.triage.handle_many = broken

    async def main() -> list:  # type: ignore[type-arg]
        return await asyncio.gather(*(queue.handle(msg("hi", f"c{i}")) for i in range(3)),
                                    return_exceptions=True)

    try:
        results = asyncio.run(main())
    finally:
        queue.stop()
    assert all(isinstance(r, ConnectionError) for r in results)
