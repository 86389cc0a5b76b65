"""Unrecognised questions grouped by similarity, with the engine's best guess as suggestion."""

from sqlalchemy import func, select

from bot.core.types import Channel, InboundMessage
from bot.service import clustering
from bot.service.library_admin import add_example
from bot.store import models as m


def test_similar_questions_share_a_group() -> None:
    texts = [
        "can I fly my drone over the stadium",
        "drone flying over the stadium allowed?",
        "where do I apply for a fireworks permit",
        "fireworks permit application where",
        "mijn kat zit vast",
    ]
    groups = clustering.group_texts(texts)
    as_sets = [set(g) for g in groups]
    assert {0, 1} in as_sets and {2, 3} in as_sets and {4} in as_sets
    assert clustering.group_texts([]) == [] and clustering.group_texts(["one"]) == [[0]]


def test_groups_of_recent_low_confidence_routes(services) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate(
        [
            "can I fly my drone over the stadium on sunday",
            "may I fly a drone over the stadium",
            "can I fly my drone over the stadium on sunday",  # same again: once
            "my smoke alarm keeps beeping every minute",
        ]
    ):  # answered: not listed
        services.triage.handle(InboundMessage(Channel.API, f"c{i}", text))
    with services.sessions() as s:
        groups = clustering.groups(s)
        assert [g.size for g in groups] == [2]
        assert groups[0].suggestion == groups[0].items[0].predicted is not None
        assert s.scalar(select(func.count()).select_from(m.DecisionRecord)) == 4
    with services.sessions.begin() as s:  # once taught, a question is no longer unrecognised
        add_example(s, "ada", "noise_nuisance", "may I fly a drone over the stadium")
    with services.sessions() as s:
        assert [g.size for g in clustering.groups(s)] == [1]
