"""The SSO sign-in in headless Chromium: from our login page through the real provider's login
form to the queue, and logout through the provider back to our login page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.oidc.conftest import FIRE, PASSWORD, SSOServer
from tests.web.conftest import make_question, screenshot


def test_sign_in_with_the_organisation_from_the_login_page_to_the_queue(
    browser, sso_claims: SSOServer
) -> None:  # type: ignore[no-untyped-def]
    make_question(sso_claims.services, FIRE, "Mag ik een vuurkorf gebruiken in mijn tuin?", language="nl")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{sso_claims.url}/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueue"))
    button = page.locator("#sso-login")
    expect(button).to_have_text("Sign in with Politie Test")
    screenshot(page, "login-sso")
    button.click()
    page.wait_for_url(re.compile(re.escape(sso_claims.provider.issuer) + r"/interaction/"))
    page.fill("#op-login", "erin")
    page.fill("#op-password", PASSWORD)
    page.click("#op-submit")
    page.wait_for_url(f"{sso_claims.url}/queue")
    expect(page.locator(".qitem")).to_have_count(1)
    expect(page.locator(".qitem").first).to_contain_text("vuurkorf")
    # Logout: the provider confirms, then sends the browser back to our login page.
    page.click("nav form[action='/logout'] button")
    page.wait_for_url(re.compile(re.escape(sso_claims.provider.issuer) + r"/session/end"))
    page.click("#op-logout")
    page.wait_for_url(re.compile(re.escape(sso_claims.url) + r"/login"))
    expect(page.locator("#sso-login")).to_be_visible()
    page.goto(f"{sso_claims.url}/queue")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fqueue"))
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def test_link_the_organisation_account_from_the_account_page(browser, sso_plain: SSOServer) -> None:  # type: ignore[no-untyped-def]
    """A local user links their organisation account in Chromium: the Account page's button, the
    provider's login form (the CSP lets the form lead there), back on the Account page, linked."""
    from bot.service import users
    from tests.oidc.test_sso import LOCAL_PASSWORD

    with sso_plain.services.sessions.begin() as session:
        users.create(session, "wim", LOCAL_PASSWORD, roles=FIRE, one_time=False)
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{sso_plain.url}/login?next=/account")
    page.fill("#username", "wim")
    page.fill("#password", LOCAL_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{sso_plain.url}/account")
    button = page.locator("#sso-link")
    expect(button).to_have_text("Link my organisation account")
    button.click()
    page.wait_for_url(re.compile(re.escape(sso_plain.provider.issuer) + r"/interaction/"))
    page.fill("#op-login", "henk")
    page.fill("#op-password", PASSWORD)
    page.click("#op-submit")
    page.wait_for_url(re.compile(re.escape(sso_plain.url) + r"/account\?sso=linked"))
    expect(page.locator(".flash.ok")).to_contain_text("Your organisation account is linked")
    expect(page.locator("#sso-subject")).to_have_text("sub-henk-8d31")
    screenshot(page, "account-sso-linked")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
