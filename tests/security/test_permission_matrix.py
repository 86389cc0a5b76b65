"""The whole permission matrix: every console and API route x anonymous / professional of another
role / of another area / the right professional / admin.

Every route of the running app must be in one of the classes below (a new route fails this test
until it is classified). A request that is allowed carries a valid CSRF token, so a 403 can only
come from the permission check; "allowed" means neither 401, 403, a redirect to the login page, nor
a server error. Expectations:

    class        anonymous   other role   other area   professional   admin
    public       yes         yes          yes          yes            yes
    api          token only: a console session never opens the API
    staff        login       yes          yes          yes            yes
    question     login       403          403          yes            yes
    admin        login       403          403          403            yes
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from bot.web.api import create_app
from tests.web.conftest import csrf_of, login, make_question, make_user

ROLE, OTHER_ROLE = "fire_prevention_officer", "community_police_officer"
AREA, OTHER_AREA = "centrum", "noord"
TOKEN = "matrix-api-token-0c4e"
SECRET_TEXT = "MATRIX-7781 broken fire doors in our school"

PUBLIC = {
    "/",
    "/favicon.ico",
    "/login",
    "/logout",
    "/chat",
    "/chat/messages",
    "/chat/send",
    "/chat/button",
    "/healthz",
}
STAFF = {
    "/queue",
    "/queue/list",
    "/events",
    "/account",
    "/account/password",
    "/account/language",
    "/account/telegram/code",
    "/account/telegram/unlink",
    "/account/sso/link",  # only with single sign-on (not in this app): tests/oidc/test_sso_link.py
}
# Admin routes named here so a rename cannot drop them from the matrix unnoticed (the /admin/
# prefix classifies them; the route must exist in this app).
NAMED_ADMIN = {
    "/admin/team/{pro_id}/sso/unlink",  # removing an SSO link: tests/oidc/test_sso_unlink.py
}
QUESTION = re.compile(r"^/questions/\{question_id\}(/\w+)?$")
# Question actions for admins only (a professional who may see the question still gets 403).
ADMIN_ACTIONS = {"/questions/{question_id}/takeover"}
STREAMING = {"/events"}  # an endless stream when allowed: only the refusals are checked
# Allowed for admins, but with effects the rest of the matrix must not see (checked for refusals).
NOT_REPLAYED = {"/logout", "/admin/retrain", "/admin/retrain/confirm", "/account/password"}


def _walk(routes, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:  # type: ignore[no-untyped-def]
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)


def classify(path: str) -> str:
    if path in PUBLIC:
        return "public"
    if path.startswith("/api/"):
        return "api"
    if path == "/metrics":  # loopback or METRICS_TOKEN, never a console session (tests/web/test_metrics.py)
        return "metrics"
    if path in STAFF:
        return "staff"
    if path in ADMIN_ACTIONS:
        return "admin"
    if QUESTION.match(path):
        return "question"
    if path.startswith("/admin/") or path == "/admin":
        return "admin"
    raise AssertionError(f"route {path} is not in the permission matrix: classify it")


@pytest.fixture
def matrix(sqlite_services) -> Iterator[tuple[TestClient, object]]:  # type: ignore[no-untyped-def]
    svc = sqlite_services
    svc.settings.api_token = TOKEN
    make_user(svc, "pro", roles=ROLE, areas=AREA)
    make_user(svc, "otherrole", roles=OTHER_ROLE, areas=AREA)
    make_user(svc, "otherarea", roles=ROLE, areas=OTHER_AREA)
    make_user(svc, "admin", admin=True)
    with TestClient(create_app(svc), headers={"Accept": "text/html"}) as client:
        yield client, svc


def _routes(client: TestClient, svc, qid: int) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    values = {
        "question_id": str(qid),
        "name": "fire_alarm_beeping",
        "key": "utter_fire_alarm_beeping",
        "language": "en",
        "answer_id": "1",
        "example_id": "1",
        "pro_id": "1",
        "channel": "api",
        "sender": "someone",
        "item_id": "1",
        "line_id": "1",
    }
    out = []
    for path, route in _walk(client.app.routes):
        concrete = re.sub(r"\{(\w+)\}", lambda mt: values[mt.group(1)], path)
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path, concrete))
    return out


def _call(client: TestClient, method: str, url: str, csrf: str, **kw):  # type: ignore[no-untyped-def]
    headers = {"X-CSRF-Token": csrf} if csrf and method != "GET" else {}
    return client.request(method, url, headers=headers | kw.pop("headers", {}), follow_redirects=False, **kw)


def _refused(r) -> bool:  # type: ignore[no-untyped-def]
    to_login = r.status_code in (302, 303, 307) and r.headers.get("location", "").startswith("/login")
    return r.status_code in (401, 403) or to_login


def _anon_csrf(client: TestClient) -> str:
    client.cookies.clear()
    return csrf_of(client.get("/chat").text)


@pytest.mark.parametrize("who", ["anonymous", "otherrole", "otherarea", "pro", "admin"])
def test_every_route_for_every_kind_of_user(matrix, who):  # type: ignore[no-untyped-def]
    client, svc = matrix
    qid = make_question(svc, ROLE, text=SECRET_TEXT, area=AREA)
    csrf = _anon_csrf(client) if who == "anonymous" else (client.cookies.clear() or login(client, who))
    routes = _routes(client, svc, qid)
    assert len(routes) >= 60, len(routes)
    checked = {"allowed": 0, "refused": 0}
    for method, path, url in routes:
        kind = classify(path)
        if kind == "api":  # the console session (or none) never opens the API; the token does
            assert _call(client, method, url, csrf).status_code == 401, (who, method, path)
            with_token = _call(client, method, url, csrf, headers={"Authorization": f"Bearer {TOKEN}"})
            assert with_token.status_code not in (401, 403) and with_token.status_code < 500, (
                who,
                method,
                path,
                with_token.status_code,
            )
            checked["allowed"] += 1
            continue
        if kind == "metrics":  # the test client is not on loopback, and no METRICS_TOKEN is set
            assert _call(client, method, url, csrf).status_code == 401, (who, method, path)
            checked["refused"] += 1
            continue
        allowed = {
            "public": True,
            "staff": who != "anonymous",
            "question": who in ("pro", "admin"),
            "admin": who == "admin",
        }[kind]
        if allowed and (path in STREAMING or path in NOT_REPLAYED):
            continue
        r = _call(client, method, url, csrf)
        assert r.status_code < 500, (who, method, path, r.status_code)
        if allowed and (method, path) == ("POST", "/login"):  # empty credentials: 401, never 403
            assert r.status_code == 401, (who, r.status_code)
            checked["allowed"] += 1
        elif allowed:
            assert not _refused(r), (who, method, path, r.status_code, r.text[:200])
            checked["allowed"] += 1
        else:
            assert _refused(r), (who, method, path, r.status_code)
            if who != "anonymous":
                assert r.status_code == 403, (who, method, path, r.status_code)
            assert SECRET_TEXT not in r.text
            checked["refused"] += 1
    assert checked["allowed"] and (who == "admin" or checked["refused"])


@pytest.mark.parametrize("who", ["otherrole", "otherarea"])
def test_a_question_outside_my_role_or_area_never_shows_in_my_lists(matrix, who):  # type: ignore[no-untyped-def]
    client, svc = matrix
    make_question(svc, ROLE, text=SECRET_TEXT, area=AREA)
    client.cookies.clear()
    login(client, who)
    for url in ("/queue", "/queue/list", "/queue/list?view=all", "/account"):
        assert SECRET_TEXT not in client.get(url).text, url
    client.cookies.clear()
    login(client, "pro")
    assert SECRET_TEXT in client.get("/queue").text  # the test can see it where it belongs


def test_the_named_admin_routes_are_in_the_app_and_for_admins_only(matrix) -> None:  # type: ignore[no-untyped-def]
    client, _ = matrix
    paths = {path for path, _ in _walk(client.app.routes)}
    for path in NAMED_ADMIN:
        assert path in paths and classify(path) == "admin", path
