"""The queue in Dutch on a phone (390x844) in headless Chromium: a browser that asks for Dutch
gets the console in Dutch, live countdowns included, and nothing runs off the screen."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import PHONE, browser_login, make_question, make_user, screenshot

FIRE = "fire_prevention_officer"


def test_the_queue_in_dutch_on_a_phone(browser, live_server):  # type: ignore[no-untyped-def]
    services = live_server.services
    make_user(services, "lotte", roles=FIRE, display_name="Lotte Bakker")  # chose no language
    make_question(
        services,
        FIRE,
        "Er komt rook uit de flat boven ons, wat moeten we doen?",
        emergency=True,
        due_hours=0.08,
    )
    make_question(services, FIRE, "Mag ik een vuurkorf gebruiken in mijn tuin?", language="nl", due_hours=0.5)
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="nl-NL")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{live_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("h1")).to_have_text("Inloggen")
    browser_login(page, live_server, "lotte")

    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("h1")).to_have_text("Mijn wachtrij")
    expect(page.locator("nav.nav a").first).to_have_text("Wachtrij")
    expect(page.locator("nav.nav button")).to_have_text("Uitloggen")
    items = page.locator(".qitem")
    expect(items).to_have_count(2)
    expect(items.first.locator(".badge.emergency")).to_have_text("SPOED")
    expect(items.first.locator(".badge.open")).to_have_text("open")
    # the countdown is written by desk.js, in the words the page gave it
    expect(page.locator(".countdown").first).to_have_text(re.compile(r"^nog \d+m \d\ds$"))
    expect(page.locator("nav[aria-label=Filter] a")).to_have_text(["Open", "Beantwoord", "Gesloten"])
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the Dutch queue is {width}px wide on a {PHONE['width']}px phone"
    screenshot(page, "queue-phone-nl")

    page.click(".qitem a >> nth=1")
    expect(page.locator("#claim")).to_have_text("Oppakken")
    expect(page.locator("#question-live time").first).to_have_text(re.compile(r"^(zojuist|\d+ min geleden)$"))
    expect(page.locator("#question-live time").first).to_have_attribute(
        "title", re.compile(r"^\d\d [a-z]{3} \d\d:\d\d CES?T$")
    )
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the Dutch question page is {width}px wide on a phone"
    assert not errors, errors
    context.close()
