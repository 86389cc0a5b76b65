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


DRONES = [
    "can I fly my drone over the stadium on sunday",
    "mag ik met mijn drone over het stadion vliegen",
]
WEATHER = ["what is the weather tomorrow", "wat voor weer wordt het morgen"]


def test_everything_the_library_did_not_answer_is_listed_with_why(services) -> None:  # type: ignore[no-untyped-def]
    texts = {
        "unsure": "can I fly my drone over the stadium on sunday",
        "out_of_scope": "who won the football match yesterday",
        "answered": "my smoke alarm keeps beeping every minute",
        "recognised route": "I want to complain about my tax bill",
    }
    results = {k: services.triage.handle(InboundMessage(Channel.API, k, t)) for k, t in texts.items()}
    assert results["out_of_scope"].decision.confidence >= 0.9  # sure it is out of scope
    with services.sessions() as s:
        items = {u.text: u for u in clustering.recent_unrecognised(s)}
    assert set(items) == {texts["unsure"], texts["out_of_scope"]}
    assert items[texts["unsure"]].why is clustering.Why.UNSURE
    assert items[texts["out_of_scope"]].why is clustering.Why.OUT_OF_SCOPE


def test_a_question_routed_to_the_default_role_or_without_an_answer_counts() -> None:
    record = m.DecisionRecord(
        action="route",
        intent="noise_nuisance",
        confidence=0.9,
        threshold=0.45,
        reasons=["confident noise_nuisance 0.90", "default role public_order_officer"],
    )
    assert clustering.why_not_answered(record) is clustering.Why.DEFAULT_ROLE
    record.reasons = ["confident x 0.90", "no approved nl answer for x", "-> fire_prevention_officer"]
    assert clustering.why_not_answered(record) is clustering.Why.NO_ANSWER
    record.reasons = ["confident x 0.90", "route intent -> fire_prevention_officer"]
    assert clustering.why_not_answered(record) is None
    record.action = "answer"
    assert clustering.why_not_answered(record) is None


def test_groups_cross_languages_and_count_over_time(services) -> None:  # type: ignore[no-untyped-def]
    for i, text in enumerate([*DRONES, *WEATHER, WEATHER[0], "who won the football match yesterday"]):
        services.triage.handle(InboundMessage(Channel.API, f"c{i}", text))
    with services.sessions() as s:
        engine = services.triage.knowledge.engine(s)
        groups = clustering.groups(s, days=7, engine=engine)
        chart = clustering.totals(s, days=7)
    as_sets = [{u.text for u in g.items} for g in groups]
    assert set(DRONES) in as_sets, as_sets  # one group, English and Dutch
    weather = next(g for g in groups if WEATHER[0] in {u.text for u in g.items})
    assert weather.asked == weather.size + 1  # asked twice, listed once
    assert len(weather.counts) == 7 and weather.counts[-1] == weather.asked  # all today
    assert sum(sum(c.values()) for _, c in chart) == 6 and len(chart) == 7
    drones = next(g for g in groups if set(DRONES) == {u.text for u in g.items})
    assert drones.languages == ["en", "nl"] and "drone" in drones.name


def test_counts_per_period() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 3, 12, tzinfo=UTC)
    times = [now - timedelta(days=d) for d in (0, 1, 8, 8, 30)]
    assert clustering.per_period(times, 3, now, 7) == (0, 2, 2)  # oldest first
    assert clustering.per_period(times, 2, now, 1) == (1, 1)


def test_the_page_shows_every_unplaced_question_and_one_click_makes_an_intent(services, app_client) -> None:  # type: ignore[no-untyped-def]
    import re

    from tests.web.conftest import login, make_user

    for i, text in enumerate([*DRONES, "who won the football match yesterday"]):
        services.triage.handle(InboundMessage(Channel.API, f"c{i}", text))
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    page = app_client.get("/admin/unrecognised").text
    assert "who won the football match yesterday" in page and "out of scope" in page
    assert 'id="unanswered-chart"' in page and "3 questions not answered" in page
    group = page[page.index(DRONES[1]) - 2000 :]
    group = group[: group.index('action="/admin/unrecognised/new-intent"') + 400]
    name = re.search(r'name="name" form="new-\d+" value="([a-z_]+)"', group).group(1)
    ids = re.findall(r'type="hidden" name="message_id" value="(\d+)"', group)
    r = app_client.post(
        "/admin/unrecognised/new-intent",
        data={"csrf_token": csrf, "name": name, "mode": "answer", "role": "", "message_id": ids},
    )
    assert r.status_code == 200 and f"/admin/intents/{name}" in str(r.url)
    with services.sessions() as s:
        examples = set(s.scalars(select(m.TrainingExample.text).where(m.TrainingExample.intent == name)))
        assert examples == set(DRONES)
        assert DRONES[0] not in {u.text for u in clustering.recent_unrecognised(s)}
    r = app_client.post(
        "/admin/unrecognised/assign", data={"csrf_token": csrf, "intent": name, "message_id": ids}
    )
    assert "already" in r.text  # nothing new to add
