"""The real console in headless Chromium: login, a claim race, a reply reaching the web chat.

Screenshots of the main pages (phone and desktop) are saved to docs/screenshots/.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from bot.core.types import Channel, InboundMessage
from bot.store import models as m
from tests.web.conftest import DESKTOP, PHONE, browser_login, make_question, make_user, screenshot

FIRE = "fire_prevention_officer"


def _seed(services) -> int:  # type: ignore[no-untyped-def]
    make_user(services, "alice", roles=FIRE, display_name="Alice de Vries")
    make_user(services, "bob", roles=FIRE, display_name="Bob Jansen")
    make_question(
        services,
        FIRE,
        "There is smoke coming out of the flat above us, what do we do?",
        emergency=True,
        due_hours=0.08,
    )
    result = services.triage.handle(
        InboundMessage(
            Channel.API,
            "citizen-cafe",
            "Can the fire brigade check the fire exits of our café? "
            "We expect 200 guests at the festival.",
        )
    )
    assert result.question_id is not None and result.decision.role == FIRE, result.decision
    make_question(
        services, FIRE, "Mag ik een vuurkorf gebruiken in mijn tuin?", language="nl", due_hours=0.5
    )
    return result.question_id


def test_login_queue_and_question_pages(browser, live_server):  # type: ignore[no-untyped-def]
    qid = _seed(live_server.services)
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, device_scale_factor=1)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda msg, errors=errors: errors.append(msg.text) if msg.type == "error" else None,
        )
        page.goto(f"{live_server.url}/queue")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueue"))
        page.fill("#username", "alice")
        page.fill("#password", "wrong password!")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_have_text("Wrong username or password.")
        if name == "phone":
            screenshot(page, "login-phone")
        browser_login(page, live_server, "alice")
        items = page.locator(".qitem")
        expect(items).to_have_count(3)
        expect(items.first).to_have_class(re.compile("emergency"))
        expect(page.locator(".countdown").first).to_have_text(re.compile(r"due in \d+m \d\ds"))
        expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))
        screenshot(page, f"queue-{name}")
        page.click(f"#q-{qid} a")
        expect(page.locator("h1")).to_have_text(f"Question #{qid}")
        expect(page.locator("#thread")).to_contain_text("fire exits of our café")
        expect(page.locator("#why .ranking li").first).to_contain_text("fire_safety_inspection")
        screenshot(page, f"question-{name}")
        assert not [e for e in errors if "Content Security Policy" in e], errors
        context.close()


def test_two_professionals_claim_the_same_question(browser, live_server):  # type: ignore[no-untyped-def]
    qid = _seed(live_server.services)
    pages = []
    for user in ("alice", "bob"):
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        browser_login(page, live_server, user)
        page.goto(f"{live_server.url}/questions/{qid}")
        expect(page.locator("#claim")).to_be_visible()
        pages.append(page)
    alice, bob = pages
    bob_queue = bob.context.new_page()
    bob_queue.goto(f"{live_server.url}/queue")
    expect(bob_queue.locator("#live")).to_have_class(re.compile(r"\bon\b"))
    # Both press Claim before either response arrives.
    alice.evaluate("document.getElementById('claim').click()")
    bob.evaluate("document.getElementById('claim').click()")
    flashes = [p.locator(".flash").first for p in pages]
    for flash in flashes:
        expect(flash).to_have_text(
            re.compile(r"You have claimed this question\.|Already claimed by")
        )
    texts = [f.inner_text() for f in flashes]
    winners = [t for t in texts if t.startswith("You have claimed")]
    assert len(winners) == 1, texts
    winner = "alice" if texts[0].startswith("You have") else "bob"
    loser_text = texts[1] if winner == "alice" else texts[0]
    assert loser_text == f"Already claimed by {winner}."
    loser = bob if winner == "alice" else alice
    expect(loser.locator("#held")).to_have_text(
        f"{winner} has claimed this question: they reply, reassign or close it."
    )
    screenshot(loser, "claim-race-loser-phone")
    # Bob's open queue shows the claim without a reload (server-sent events).
    expect(bob_queue.locator(f"#q-{qid} .badge.claimed")).to_have_text(f"claimed: {winner}")
    with live_server.services.sessions() as session:
        assert session.get(m.Question, qid).assignee == winner


def test_a_reply_reaches_the_citizens_web_chat(browser, live_server):  # type: ignore[no-untyped-def]
    make_user(live_server.services, "alice", roles=FIRE, display_name="Alice de Vries")
    pro = browser.new_context(viewport=DESKTOP).new_page()
    browser_login(pro, live_server, "alice")
    expect(pro.locator(".empty")).to_be_visible()
    expect(pro.locator("#live")).to_have_class(re.compile(r"\bon\b"))

    citizen = browser.new_context(viewport=PHONE).new_page()
    citizen.goto(f"{live_server.url}/chat")
    for n, hello in enumerate(("hello", "hi there", "good morning", "hello again", "hey")):
        citizen.fill("#chat-text", hello)  # a conversation longer than the phone's screen
        citizen.click("#chat-send")
        expect(citizen.locator(".msg.smalltalk")).to_have_count(n + 1, timeout=10_000)
    citizen.fill("#chat-text", "Can the fire brigade check my building? I run a small hotel.")
    citizen.click("#chat-send")
    expect(citizen.locator(".msg.ack")).to_be_visible(timeout=10_000)

    # The question appears in the professional's queue without a reload.
    expect(pro.locator(".qitem")).to_have_count(1, timeout=10_000)
    pro.click(".qitem a")
    expect(pro.locator("#why .ranking li").first).to_contain_text("fire_safety_inspection")
    pro.fill("#reply-text", "Yes, we can. An officer will call you this week to plan a visit.")
    pro.click("#send-reply")
    expect(pro.locator(".flash.ok")).to_have_text("Your reply was sent to the citizen.")
    expect(pro.locator("#status")).to_have_text("answered: alice")

    reply = citizen.locator(".msg.professional")
    expect(reply).to_contain_text("An officer will call you this week", timeout=10_000)
    expect(reply).to_contain_text("Fire prevention officer")
    # On a phone the newest bubble is above the message box, not hidden under it.
    citizen.wait_for_timeout(300)
    bubble = citizen.locator(".chat-log .msg").last.bounding_box()
    form = citizen.locator(".chat-form").bounding_box()
    assert bubble is not None and form is not None
    assert bubble["y"] + bubble["height"] <= form["y"] + 1, (bubble, form)
    screenshot(citizen, "chat-phone")
    with live_server.services.sessions() as session:
        item = session.scalars(select(m.OutboxItem).order_by(m.OutboxItem.id.desc())).first()
        assert item.status == "sent" and item.channel == "web"
