"""Curation in headless Chromium: the reply box previews the filled, signed text; an admin sees a
draft that drops the 112 line flagged and restores an earlier version."""

from __future__ import annotations

from playwright.sync_api import expect

from bot.service import library_admin as lib
from tests.web.conftest import PHONE, browser_login, make_question, make_user

FIRE = "fire_prevention_officer"
KEY = "utter_fire_alarm_beeping"


def test_the_reply_box_previews_what_the_citizen_reads(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    services = live_server.services
    make_user(services, "alice", roles=FIRE)
    qid = make_question(services, FIRE, "My smoke alarm beeps, what now?")
    page = browser.new_page(viewport=PHONE)
    browser_login(page, live_server, "alice")
    page.goto(f"{live_server.url}/questions/{qid}")
    page.select_option("#template", label="fire_alarm_beeping")
    preview = page.locator("#preview-text")
    expect(preview).to_contain_text(f"call {services.settings.emergency_number} from outside")
    expect(preview).to_contain_text("Fire prevention officer")  # signed as the citizen sees it
    expect(preview).not_to_contain_text("{emergency_number}")
    page.fill("#reply-text", "Call {emergency_numbr} now.")
    expect(page.locator("#preview-error")).to_contain_text("{emergency_numbr}")
    page.fill("#reply-text", "Call {emergency_number} now.")
    expect(preview).to_contain_text(f"Call {services.settings.emergency_number} now.")
    page.close()


def test_an_admin_is_stopped_from_dropping_the_112_line_and_goes_back(browser, live_server) -> None:  # type: ignore[no-untyped-def]
    services = live_server.services
    make_user(services, "ada", admin=True)
    page = browser.new_page(viewport=PHONE)
    browser_login(page, live_server, "ada")
    page.goto(f"{live_server.url}/admin/answers/{KEY}/en")
    page.fill("#answer-text", "Replace the battery.")
    page.click("#save-draft")
    expect(page.locator("#drops-required")).to_contain_text("{emergency_number}")
    page.click("#version-2 button.approve")  # the override box is required: nothing happens
    expect(page.locator("#version-2 .badge.status-draft")).to_be_visible()
    page.check("#version-2 input[name=override]")
    page.click("#version-2 button.approve")
    expect(page.locator("#current-answer")).to_have_text("Replace the battery.")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("#version-1 button.restore")
    expect(page.locator(".flash.ok")).to_contain_text("earlier version is now a draft")
    page.click("#version-3 button.approve")
    expect(page.locator("#current-answer")).to_contain_text("from outside")
    expect(page.locator("#out-of-step")).to_have_count(0)
    page.goto(f"{live_server.url}/admin/answers/{KEY}/nl")
    expect(page.locator("#out-of-step")).to_contain_text("English answer changed")
    page.click("#mark-in-step")
    expect(page.locator("#out-of-step")).to_have_count(0)
    with services.sessions() as s:
        assert [v.status for v in lib.versions(s, KEY, "en")] == ["approved", "approved", "approved"]
    page.close()
