"""The admin console in headless Chromium: teach the library, retrain, see the difference, and
read the dashboard. Saves screenshots of the main pages to docs/screenshots/."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from bot.core.types import Action, ButtonPress, Channel, InboundMessage
from bot.service import retrain
from bot.service.queue import Viewer, reply
from bot.store import models as m
from tests.web.conftest import DESKTOP, PHONE, browser_login, make_user, screenshot

DRONE = "can I fly my drone over the stadium on sunday"
DRONE_EXAMPLES = (
    "can I fly a drone over the stadium",
    "drone flying above a football match",
    "is my drone allowed near the stadium",
    "rules for flying drones in the city",
    "drone permit for flying over a crowd",
    "mag ik met mijn drone over het stadion vliegen",
)


def traffic(services) -> None:  # type: ignore[no-untyped-def]
    handle = lambda text, who: services.triage.handle(InboundMessage(Channel.WEB, who, text))  # noqa: E731
    answered = handle("my smoke alarm keeps beeping every minute", "c1")
    services.triage.press(ButtonPress(Channel.WEB, "c1", f"fb:{answered.message_id}:yes"))
    handle("hoe voorkom ik fietsdiefstal", "c2")
    handle("I think my neighbour is dealing drugs from his garage, anonymous tip", "c3")
    handle("er is brand in de flat hiernaast, veel rook!!", "c4")
    handle(DRONE, "c5")
    handle("may I fly a drone over the stadium", "c6")


def test_an_admin_teaches_an_answer_and_retrains_and_the_bot_answers(
    live_server, browser, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(retrain, "FOLDS", 2)  # the same code path, a faster estimate
    services = live_server.services
    make_user(services, "ada", admin=True, display_name="Ada Admin")
    traffic(services)
    before = services.triage.handle(InboundMessage(Channel.WEB, "c7", DRONE))
    assert before.decision.action is Action.ROUTE

    page = browser.new_page(viewport=DESKTOP)
    browser_login(page, live_server, "ada")
    page.goto(f"{live_server.url}/admin/library")
    expect(page.locator("#intents")).to_contain_text("fire_alarm_beeping")
    screenshot(page, "admin-library")

    # A new intent with examples and an approved answer.
    page.fill("#name", "drone_rules")
    page.select_option("#mode", "answer")
    page.click("#new-intent button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/intents/drone_rules.*"))
    for text in DRONE_EXAMPLES:
        page.fill("#example-text", text)
        page.click("#add-example")
        expect(page.locator(".flash.ok")).to_contain_text("Example added")
    expect(page.locator("ul.examples li")).to_have_count(len(DRONE_EXAMPLES))
    page.click("#edit-en")
    page.fill(
        "#answer-text",
        "Drones need a permit near crowds <and> stadiums: see the municipality's website.",
    )
    page.click("#save-draft")
    expect(page.locator(".flash.ok")).to_contain_text("Draft saved")
    page.click("#version-1 button.approve")
    expect(page.locator("#current-answer")).to_contain_text(
        "Drones need a permit near crowds <and> stadiums"
    )

    # Edit an existing answer: the new version is a draft, shown against the approved one.
    page.goto(f"{live_server.url}/admin/answers/utter_fire_alarm_beeping/en")
    current = page.input_value("#answer-text")
    page.fill("#answer-text", "Check the battery first. " + current)
    page.click("#save-draft")
    expect(page.locator("#diff ins")).to_contain_text("Check the battery first.")
    screenshot(page, "admin-answer-versions")
    page.click("#version-2 button.approve")
    expect(page.locator(".flash.ok")).to_contain_text("Approved")

    # The unrecognised drone questions, grouped, become examples too.
    page.goto(f"{live_server.url}/admin/unrecognised")
    group = page.locator("section.group", has_text="may I fly a drone over the stadium")
    expect(group).to_contain_text(DRONE)
    screenshot(page, "admin-unrecognised")
    group.locator("select[name=intent]").select_option("drone_rules")
    group.locator("button", has_text="Add as examples").click()
    expect(page.locator(".flash.ok")).to_contain_text("Added as training examples")

    # Retrain in the background; the page follows it until the new model is active.
    page.goto(f"{live_server.url}/admin/retrain")
    page.click("#start-retrain")
    expect(page.locator("#retrain-status")).to_have_attribute("data-state", "done", timeout=240_000)
    expect(page.locator("#retrain-result")).to_contain_text("is active")
    expect(page.locator("table.metrics")).to_contain_text("Macro-F1")
    screenshot(page, "admin-retrain")

    after = services.triage.handle(InboundMessage(Channel.WEB, "c8", DRONE))
    assert (after.decision.action, after.decision.intent) == (Action.ANSWER, "drone_rules")
    assert after.replies[0].text.startswith("Drones need a permit near crowds <and> stadiums")
    beeping = services.triage.handle(
        InboundMessage(Channel.WEB, "c9", "my smoke alarm keeps beeping every minute")
    )
    assert beeping.replies[0].text.startswith("Check the battery first.")
    page.close()


def test_the_dashboard_draws_its_charts_and_a_new_professional_gets_a_password(
    live_server, browser
) -> None:  # type: ignore[no-untyped-def]
    services = live_server.services
    make_user(services, "ada", admin=True, display_name="Ada Admin")
    traffic(services)
    with services.sessions.begin() as session:  # a professional answered one routed question
        question = session.scalars(
            select(m.Question).where(m.Question.emergency.is_(False))
        ).first()
        reply(session, Viewer("piet", frozenset({question.role})), question.id, "We are on it.")
    page = browser.new_page(viewport=DESKTOP)
    browser_login(page, live_server, "ada")
    page.goto(f"{live_server.url}/admin/dashboard?days=7")
    expect(page.locator("svg.chart")).to_have_count(3)
    expect(page.locator("#chart-per-day rect.bar-answer")).to_have_count(1)
    expect(page.locator("#chart-per-day rect.bar-route")).to_have_count(1)
    expect(page.locator("#chart-top-intents")).to_contain_text("fire_alarm_beeping")
    expect(page.locator("#auto-answer-rate")).to_have_text(re.compile(r"\d+%"))
    screenshot(page, "admin-dashboard")
    with page.expect_download() as download:
        page.click("#csv")
    assert download.value.suggested_filename == "dashboard-7d.csv"

    page.goto(f"{live_server.url}/admin/team")
    page.fill("#username", "j.jansen")
    page.fill("#display_name", "Jan Jansen")
    page.check("input[name=roles][value=community_police_officer]")
    page.click("#create-user")
    expect(page.locator("#new-password")).to_have_text(re.compile(r"\S{12,}"))
    screenshot(page, "admin-team")
    page.close()

    phone = browser.new_page(viewport=PHONE)
    browser_login(phone, live_server, "ada")
    phone.goto(f"{live_server.url}/admin/dashboard")
    expect(phone.locator("svg.chart").first).to_be_visible()
    assert (
        phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    )  # no sideways scrolling
    screenshot(phone, "admin-dashboard-phone")
    phone.goto(f"{live_server.url}/admin/intents/fire_alarm_beeping")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(phone, "admin-intent-phone", full_page=False)
    phone.close()
