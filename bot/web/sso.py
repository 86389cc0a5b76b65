"""Single sign-on with OpenID Connect, on Authlib's Starlette client (a part: bot.web.plugins).

Installed only with OIDC_ISSUER and OIDC_CLIENT_ID set. The flow is the authorization code flow
with PKCE (S256): `GET /login/oidc` sends the browser to the provider with a fresh state and nonce,
kept with the PKCE verifier in a short-lived signed cookie (`triage_oidc`, HttpOnly, SameSite=Lax,
only sent to /login/oidc); `GET /login/oidc/callback` has Authlib check the state, swap the code
for tokens and validate the ID token (signature from the provider's JWKS, issuer, audience,
expiry, nonce). Who that is here is `bot.service.sso.sign_in`'s to say; the console session is the
same as after a password login (bot.web.auth). Logout ends it and, when the provider advertises an
`end_session_endpoint`, goes there with `id_token_hint` and back to /login.

Linking (`POST /account/sso/link`, from the Account page of a signed-in user): the same flow and
callback, with `prompt=login` (the provider asks who you are even with a session there); the flow
cookie also holds the linking user's id bound to the flow's state, and the callback attaches the
identity to that user only if the browser is still signed in as them (`bot.service.sso.link`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth, StarletteOAuth2App
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from starlette.middleware.sessions import SessionMiddleware

from bot.app import Services
from bot.config import Settings
from bot.service import sso
from bot.store import models as m
from bot.web import security
from bot.web.auth import (
    SESSION_COOKIE,
    User,
    current_user,
    end_session,
    optional_user,
    safe_next,
    set_session_cookie,
    start_session,
    verify_csrf,
)
from bot.web.deps import ServicesDep, services_of
from bot.web.i18n import Msg, msg
from bot.web.plugins import Stop
from bot.web.templating import render

log = logging.getLogger(__name__)

FLOW_COOKIE = "triage_oidc"
FLOW_PATH = "/login/oidc"
FLOW_SECONDS = 600  # a sign-in not finished within ten minutes starts again
# What a failed callback can raise: the provider's error, a state or nonce or signature that does
# not check out, a provider that cannot be reached or answers nonsense.
FLOW_ERRORS = (OAuthError, JoseError, httpx.HTTPError, ValueError, KeyError, RuntimeError)
LINK_PATH = "/account/sso/link"

# What the Account page says after linking (/account?sso=...): the message and its kind.
LINK_RESULTS: dict[str, tuple[Msg, str]] = {
    sso.LinkOutcome.LINKED: (
        msg("Your organisation account is linked. From now on you can also sign in with it."),
        "ok",
    ),
    sso.LinkOutcome.ALREADY: (msg("This organisation account was already linked to your account."), "ok"),
    sso.LinkOutcome.TAKEN: (
        msg(
            "Not linked: this organisation account already belongs to another user of the console. "
            "Ask an admin to sort it out."
        ),
        "error",
    ),
    sso.LinkOutcome.OTHER: (
        msg("Not linked: your account is already linked to an organisation account."),
        "error",
    ),
    sso.LinkOutcome.FAILED: (
        msg("Linking your organisation account did not succeed. Please try again."),
        "error",
    ),
    "unreachable": (
        msg("The organisation's sign-in service cannot be reached right now. Try again in a moment."),
        "error",
    ),
}

router = APIRouter()


def _client(request: Request) -> StarletteOAuth2App | None:
    return getattr(request.app.state, "oidc", None)


def login_context(request: Request) -> dict[str, Any]:
    """What the login page needs for the "Sign in with ..." button (nothing without SSO)."""
    if _client(request) is None:
        return {}
    return {"sso_name": services_of(request).settings.oidc_name}


def _callback_url(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


def _login_url(request: Request, settings: Settings) -> str:
    """Where the provider sends the browser after logging out: our login page."""
    callback = _callback_url(request, settings)
    return callback[: callback.index(FLOW_PATH)] + "/login" if FLOW_PATH in callback else "/login"


def _refused(request: Request, message: str, status_code: int = 400) -> Response:
    return render(
        request,
        "login.html",
        status_code=status_code,
        next="/queue",
        username="",
        flash=message,
        flash_kind="error",
        **login_context(request),
    )


@router.get(FLOW_PATH, name="oidc_login")
async def oidc_login(request: Request, svc: ServicesDep, next: str | None = None) -> Response:
    client = _client(request)
    assert client is not None
    request.session.pop("link", None)  # a sign-in, not the end of an earlier linking
    request.session["next"] = safe_next(next)
    try:
        return await client.authorize_redirect(request, _callback_url(request, svc.settings))  # type: ignore[no-any-return]
    except FLOW_ERRORS as exc:
        log.warning("SSO: the provider cannot be reached: %r", exc)
        return _refused(
            request,
            f"Signing in with {svc.settings.oidc_name} is not possible right now. Try again in a moment.",
            503,
        )


@router.get(f"{FLOW_PATH}/callback", name="oidc_callback")
async def oidc_callback(request: Request, svc: ServicesDep) -> Response:
    client = _client(request)
    assert client is not None
    # Linking, when this flow's state is the one the Account page's button started.
    link = request.session.pop("link", None)
    linking = isinstance(link, dict) and link.get("state") == request.query_params.get("state")
    try:
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo")
        if not claims or not token.get("id_token"):
            raise ValueError("no ID token in the provider's answer")
    except FLOW_ERRORS as exc:
        # A tampered or replayed state, a wrong nonce, a bad signature, a refusal at the provider.
        log.warning("SSO: %s refused: %r", "linking" if linking else "sign-in", exc)
        if linking:
            return _link_result(sso.LinkOutcome.FAILED)
        return _refused(
            request, f"Signing in with {svc.settings.oidc_name} did not succeed. Please try again."
        )
    issuer = str(claims.get("iss") or svc.settings.oidc_issuer)
    if linking:
        assert isinstance(link, dict)
        return await _finish_link(request, svc, int(link.get("user") or 0), issuer, claims)
    rules = sso.ClaimRules.of(svc.settings)

    def sign_in() -> sso.SignIn:
        with svc.sessions.begin() as session:
            return sso.sign_in(session, issuer, claims, rules)

    result = await asyncio.to_thread(sign_in)
    if result.professional_id is None:
        return _refused(request, result.refusal or "Signing in did not succeed.", 403)
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a fresh token at every login: a planted cookie is worth nothing
        await asyncio.to_thread(end_session, svc, security.token_hash(old))
    session_token = await asyncio.to_thread(
        start_session, svc, result.professional_id, str(token["id_token"])
    )
    target = safe_next(request.session.pop("next", None))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, svc, response, session_token)
    return response


def _link_result(outcome: str) -> Response:
    return RedirectResponse(f"/account?sso={outcome}", status_code=303)


@router.post(LINK_PATH, name="oidc_link", dependencies=[Depends(verify_csrf)])
async def oidc_link(
    request: Request, svc: ServicesDep, user: Annotated[User, Depends(current_user)]
) -> Response:
    """Start linking the signed-in user's account to their organisation account."""
    client = _client(request)
    assert client is not None
    if await asyncio.to_thread(identity_of, svc, user.id) is not None:
        return _link_result(sso.LinkOutcome.OTHER)
    state = security.new_token()
    request.session["link"] = {"user": user.id, "state": state}
    try:
        return await client.authorize_redirect(  # type: ignore[no-any-return]
            request, _callback_url(request, svc.settings), state=state, prompt="login"
        )
    except FLOW_ERRORS as exc:
        log.warning("SSO: the provider cannot be reached: %r", exc)
        request.session.pop("link", None)
        return _link_result("unreachable")


async def _finish_link(
    request: Request, svc: Services, user_id: int, issuer: str, claims: Mapping[str, Any]
) -> Response:
    user = optional_user(request)
    if user is None or user.id != user_id:
        # Signed out, or someone else signed in, between the button and the provider's answer.
        log.warning("SSO: linking refused: the browser is no longer signed in as the user who started it")
        return _link_result(sso.LinkOutcome.FAILED)

    def attach() -> sso.LinkOutcome:
        try:
            with svc.sessions.begin() as session:
                return sso.link(session, user_id, issuer, claims)
        except IntegrityError:  # linked to someone else a moment ago
            return sso.LinkOutcome.TAKEN

    return _link_result(await asyncio.to_thread(attach))


def identity_of(svc: Services, pro_id: int) -> tuple[str, str] | None:
    """The organisation account (issuer, sub) linked to professional `pro_id`, if any."""
    with svc.sessions() as session:
        pro = session.get(m.Professional, pro_id)
        if pro is None or not pro.oidc_issuer or not pro.oidc_subject:
            return None
        return pro.oidc_issuer, pro.oidc_subject


def account_context(request: Request) -> dict[str, Any]:
    """What the Account page needs for its organisation-account section (nothing without SSO)."""
    if _client(request) is None:
        return {}
    settings = services_of(request).settings
    return {"sso_name": settings.oidc_name, "sso_roles_from_claim": bool(settings.oidc_roles_claim)}


def link_flash(request: Request, result: str) -> dict[str, Any]:
    """The Account page's message after linking (`?sso=<result>`); nothing for an unknown one."""
    if _client(request) is None or result not in LINK_RESULTS:
        return {}
    message, kind = LINK_RESULTS[result]
    return {"flash": message, "flash_kind": kind}


@router.get("/waiting")
async def waiting(
    request: Request, svc: ServicesDep, user: Annotated[User, Depends(current_user)]
) -> Response:
    """An SSO user without a role: an admin must give them one (Team page)."""
    if not user.waiting:
        return RedirectResponse("/queue", status_code=303)
    return render(request, "waiting.html", provider=svc.settings.oidc_name)


async def provider_logout_url(request: Request, id_token: str | None) -> str | None:
    """The provider's end-session URL for an SSO session (None: none advertised, or no SSO)."""
    client = _client(request)
    if client is None or not id_token:
        return None
    settings = services_of(request).settings
    try:
        metadata = await client.load_server_metadata()
        endpoint = str(metadata.get("end_session_endpoint") or "")
        if not endpoint:
            return None
        parts = urlsplit(endpoint)
        if f"{parts.scheme}://{parts.netloc}" not in form_origins(settings):
            # The CSP lets the logout form lead only to the issuer's origin.
            log.warning(
                "SSO: end_session_endpoint %s is not at the issuer's origin; local logout only", endpoint
            )
            return None
        result = await client.create_logout_url(
            post_logout_redirect_uri=_login_url(request, settings),
            id_token_hint=id_token,
            client_id=settings.oidc_client_id,
        )
    except FLOW_ERRORS as exc:
        log.warning("SSO: no logout at the provider: %r", exc)
        return None
    return str(result["url"])


def form_origins(settings: Settings) -> tuple[str, ...]:
    """The provider's origin, where the logout form's redirect continues (the CSP's form-action)."""
    if not settings.oidc:
        return ()
    parts = urlsplit(settings.oidc_issuer)
    return (f"{parts.scheme}://{parts.netloc}",)


def install(app: FastAPI, settings: Settings) -> None:
    if not settings.oidc:
        return
    oauth = OAuth()
    app.state.oidc = oauth.register(
        "oidc",
        client_id=settings.oidc_client_id,
        client_secret=settings.oidc_client_secret or None,
        server_metadata_url=f"{settings.oidc_issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email", "code_challenge_method": "S256"},
    )
    app.include_router(router)
    # The flow's state, nonce and PKCE verifier: signed (SECRET_KEY), HttpOnly, Lax, ten minutes.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=FLOW_COOKIE,
        max_age=FLOW_SECONDS,
        path=FLOW_PATH,
        same_site="lax",
        https_only=settings.production,
    )


async def start(app: FastAPI, services: Services) -> Stop | None:
    return None
