"""Random conversations of several citizens on every channel, through the one entry every adapter
calls (`TriageService.handle` and `.press`), checked against the conversation's promises:

- a hand-off opens at most one question, and no message opens two;
- a press counts at most once, and only for the prompt open now;
- a press never touches another citizen (the same id on another channel is another citizen);
- a refused press changes nothing;
- no citizen is ever stuck: after anything, "/stop" closes every prompt and a question is answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import Services
from bot.core.types import ButtonPress, Channel, InboundMessage
from bot.service.triage import PressRefused
from bot.store import models as m
from bot.store.questions import HANDOFF_PRIORITY
from tests.conftest import make_services

TEXTS = (
    "my smoke alarm keeps beeping every minute",  # a library answer: "Did this help?"
    "hoe voorkom ik fietsdiefstal",
    "I think my neighbour is dealing drugs from his garage, anonymous tip",  # asks the postcode
    "I would like a fire safety inspection of my restaurant",
    "help er is brand in de keuken!!",  # an emergency
    "yes",
    "no",
    "ja graag",
    "nee",
    "nope",
    "skip",
    "overslaan",
    "stop",
    "laat maar",
    "1012 AB",
    "1053",
    "Centrum",
    "/forget",
    "/language",
    "/language nl",
    "/language en",
    "/area 1012 AB",
    "/area",
    "/help",
    "/stop",
    "/start",
    "nederlands",
    "english",
    "",
    "🔥🔥",
    "ok",
    "thanks",
)
WHO = (
    (Channel.API, "a"),
    (Channel.WEB, "a"),
    (Channel.TELEGRAM, "b"),
    (Channel.X, "c"),
    (Channel.WHATSAPP, "d"),
)
FORGED = ("fb:1:yes", "ho:2:yes", "fg:3:yes", "ar:4:skip", "lg:5:nl", "pq:c:1", "fb:x:yes", "")

Say = st.tuples(st.just("say"), st.integers(0, len(WHO) - 1), st.sampled_from(TEXTS))
# A press picks a button some citizen received (by position, modulo how many there are), or a
# forged one.
Press = st.tuples(st.just("press"), st.integers(0, len(WHO) - 1), st.integers(0, 10_000))
Forge = st.tuples(st.just("forge"), st.integers(0, len(WHO) - 1), st.sampled_from(FORGED))
Actions = st.lists(st.one_of(Say, Say, Press, Press, Forge), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def svc(tmp_path_factory, sqlite_template, trained_engine) -> Iterator[Services]:  # type: ignore[no-untyped-def]
    import shutil

    tmp = tmp_path_factory.mktemp("properties")
    shutil.copyfile(sqlite_template, tmp / "triage.db")
    services = make_services(tmp, f"sqlite:///{tmp / 'triage.db'}", trained_engine, imported=True)
    yield services
    services.db.dispose()


RUNS = count()


@dataclass
class World:
    """One example's citizens (fresh ids, so examples do not meet) and what they were shown."""

    run: int
    buttons: list[tuple[int, str]] = field(default_factory=list)  # (citizen index, data)
    used: set[tuple[int, str]] = field(default_factory=set)

    def sender(self, who: int) -> tuple[Channel, str]:
        channel, sender = WHO[who]
        return channel, f"{sender}-{self.run}"


def state(svc: Services, channel: Channel, sender: str) -> tuple[str, int | None, int]:
    """The citizen's prompt and how many messages they have been sent."""
    with svc.sessions() as s:
        citizen = s.scalars(
            select(m.Citizen).where(m.Citizen.channel == channel.value, m.Citizen.external_id == sender)
        ).first()
        if citizen is None:
            return "none", None, 0
        sent = (
            s.scalar(
                select(func.count())
                .select_from(m.Message)
                .where(m.Message.citizen_id == citizen.id, m.Message.direction == "out")
            )
            or 0
        )
        return citizen.pending, citizen.pending_ref, int(sent)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(actions=Actions)
def test_random_conversations_keep_the_promises(svc: Services, actions: list) -> None:  # type: ignore[type-arg]
    world = World(next(RUNS))
    for kind, who, what in actions:
        channel, sender = world.sender(who)
        if kind == "say":
            result = svc.triage.handle(InboundMessage(channel, sender, str(what)))
            world.buttons += [(who, b.data) for r in result.replies for b in r.buttons]
            continue
        if kind == "press" and not world.buttons:
            continue
        owner, data = world.buttons[int(what) % len(world.buttons)] if kind == "press" else (-1, what)
        others = {i: state(svc, *world.sender(i)) for i in range(len(WHO)) if i != who}
        before = state(svc, channel, sender)
        try:
            result = svc.triage.press(ButtonPress(channel, sender, str(data)))
        except PressRefused:
            assert state(svc, channel, sender) == before, f"a refused press changed {sender}"
        else:
            assert owner == who, f"{sender} pressed a button of citizen {owner}: {data}"
            assert before[1] == int(str(data).split(":")[1]), f"{data} pressed at {before[:2]}"
            assert (who, data) not in world.used, f"{data} counted twice"
            world.used.add((who, data))
            world.buttons += [(who, b.data) for r in result.replies for b in r.buttons]
        for i, seen in others.items():
            assert state(svc, *world.sender(i)) == seen, "a press touched another citizen"

    with svc.sessions() as s:
        twice = s.scalars(
            select(m.Question.message_id).group_by(m.Question.message_id).having(func.count() > 1)
        ).all()
        handoffs = s.scalars(
            select(m.Question.message_id)
            .where(m.Question.priority == HANDOFF_PRIORITY)
            .group_by(m.Question.message_id)
            .having(func.count() > 1)
        ).all()
    assert twice == [] and handoffs == []

    for who in range(len(WHO)):  # nobody is stuck
        channel, sender = world.sender(who)
        svc.triage.handle(InboundMessage(channel, sender, "/stop"))
        assert state(svc, channel, sender)[:2] == ("none", None)
        asked = svc.triage.handle(InboundMessage(channel, sender, "how do I report noise nuisance"))
        assert asked.decision is not None
