"""CSRF on every state-changing request, escaping of citizen text, security headers."""

from __future__ import annotations

import re

from fastapi.routing import APIRoute

from bot.web import security
from bot.web.auth import verify_csrf
from tests.web.conftest import csrf_of, login, make_question, make_user, switch_to

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def _uses(dependant, fn) -> bool:  # type: ignore[no-untyped-def]
    return any(d.call is fn or _uses(d, fn) for d in dependant.dependencies)


def _routes(routes, prefix: str = "", deps: tuple = ()):  # type: ignore[no-untyped-def]
    """(path, route, dependencies added at include time), also inside included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route, deps
        elif hasattr(route, "original_router"):  # FastAPI's lazily included router
            ctx = route.include_context
            yield from _routes(
                route.original_router.routes, prefix + ctx.prefix, deps + tuple(ctx.dependencies)
            )


def test_every_state_changing_route_checks_csrf(app_client):  # type: ignore[no-untyped-def]
    unsafe = [
        (path, r, deps)
        for path, r, deps in _routes(app_client.app.routes)
        if r.methods & {"POST", "PUT", "PATCH", "DELETE"} and not path.startswith("/api/")
    ]
    assert len(unsafe) >= 8  # login, logout, password, desk actions, chat
    missing = [
        path
        for path, r, deps in unsafe
        if not (_uses(r.dependant, verify_csrf) or any(d.dependency is verify_csrf for d in deps))
    ]
    assert missing == [], f"routes without verify_csrf: {missing}"


def test_posts_without_or_with_a_wrong_csrf_token_are_refused(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    qid = make_question(services, "fire_prevention_officer")
    assert (
        app_client.post("/login", data={"username": "fiona", "password": "x" * 12}).status_code
        == 403
    )
    token = login(app_client, "fiona")
    url = f"/questions/{qid}/claim"
    assert app_client.post(url).status_code == 403
    assert app_client.post(url, data={"csrf_token": "forged"}).status_code == 403
    assert app_client.post(url, headers={"X-CSRF-Token": token[:-1] + "x"}).status_code == 403
    secret = services.settings.secret_key  # this browser's anonymous token is not the session's
    anon = security.unsign(secret, app_client.cookies[security.ANON_COOKIE])
    assert anon
    assert (
        app_client.post(url, data={"csrf_token": security.anon_csrf(secret, anon)}).status_code
        == 403
    )
    assert (
        app_client.post(url, headers={"X-CSRF-Token": token, "HX-Request": "true"}).status_code
        == 200
    )
    other = switch_to(app_client, None)
    assert other == ""
    assert app_client.post("/chat/send", data={"text": "hi"}).status_code == 403


def test_citizen_text_is_escaped_everywhere(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    qid = make_question(services, "fire_prevention_officer", text=XSS)
    login(app_client, "fiona")
    for path in ("/queue", f"/questions/{qid}", f"/questions/{qid}/live"):
        page = app_client.get(path).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    switch_to(app_client, None)
    token = csrf_of(app_client.get("/chat").text)
    app_client.post("/chat/send", data={"text": XSS, "csrf_token": token})
    page = app_client.get("/chat").text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_security_headers_and_no_inline_scripts(app_client, services):  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles="fire_prevention_officer")
    qid = make_question(services, "fire_prevention_officer")
    pages = ["/", "/login", "/chat"]
    for path in pages:
        _check_page(app_client.get(path))
    login(app_client, "fiona")
    for path in ("/queue", f"/questions/{qid}", "/account"):
        _check_page(app_client.get(path))
    static = app_client.get("/static/htmx.min.js")
    assert static.status_code == 200 and static.headers["x-content-type-options"] == "nosniff"
    assert app_client.get("/healthz").headers["x-frame-options"] == "DENY"


def _check_page(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.url
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text), "inline script"
    assert not re.search(r"\son[a-z]+=", response.text), "inline event handler"
    assert "https://" not in response.text.split("<body", 1)[0], "no CDN"


def test_rough_edges_a_browser_meets(app_client, services) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import login, make_user

    make_user(services, "ada", admin=True)
    login(app_client, "ada")
    for path in ("/questions/abc", "/admin/dashboard?days=abc"):
        page = app_client.get(path)
        assert page.status_code == 422 and "text/html" in page.headers["content-type"], path
        assert "not valid" in page.text
    assert app_client.get("/admin", follow_redirects=False).headers["location"] == "/admin/dashboard"
    assert app_client.get("/favicon.ico", follow_redirects=False).status_code == 301
    assert app_client.get("/static/favicon.svg").status_code == 200
    assert app_client.get("/admin/answers/utter_no_such_thing/en").status_code == 404
