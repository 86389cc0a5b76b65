"""Security headers on every response, and the signed cookies and tokens that guard forms.

CSRF: a logged-in user's forms carry the session's own token (`web_sessions.csrf_token`); anonymous
pages (login, the citizen web chat) carry a token derived from a random id in a signed HttpOnly
cookie.
Either arrives as the form field `csrf_token` or the header `X-CSRF-Token` (htmx sends the header,
see static/app.js), and is compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANON_COOKIE = "triage_anon"


def csp(form_origins: tuple[str, ...] = ()) -> str:
    """The Content-Security-Policy. `form_origins`: other origins a form may lead to (through a
    redirect too): the SSO provider's, where logging out continues (bot/web/sso.py)."""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            " ".join(["form-action 'self'", *form_origins]),
            "frame-ancestors 'none'",
        ]
    )


CSP = csp()

HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Pure ASGI middleware (streams such as SSE pass through untouched)."""

    def __init__(self, app: ASGIApp, hsts: bool = False, form_origins: tuple[str, ...] = ()) -> None:
        self.app = app
        self.hsts = hsts
        self.headers = {**HEADERS, "content-security-policy": csp(form_origins)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https" or self.hsts

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in self.headers.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                ctype = dict(headers).get(b"content-type", b"")
                if ctype.startswith(b"text/html") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(secret: str, value: str) -> str:
    digest = hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(secret: str, value: str) -> str:
    return f"{value}.{_mac(secret, value)}"


def unsign(secret: str, signed_value: str | None) -> str | None:
    if not signed_value or "." not in signed_value:
        return None
    value, mac = signed_value.rsplit(".", 1)
    return value if hmac.compare_digest(mac, _mac(secret, value)) else None


def anon_csrf(secret: str, anon_id: str) -> str:
    """The CSRF token of an anonymous browser: bound to its signed cookie id."""
    return _mac(secret, f"csrf:{anon_id}")


def same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def secure_cookies(scope: Scope, environment: str) -> bool:
    """Secure cookies behind HTTPS, and always in production (TLS ends at the proxy there)."""
    return scope.get("scheme") == "https" or environment == "production"


class AnonCookie:
    """Sets the signed anonymous-id cookie when a handler asked for a new one (`ensure_anon`)."""

    def __init__(self, app: ASGIApp, environment: str = "development") -> None:
        self.app = app
        self.environment = environment

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                value = scope.get("state", {}).get("anon_new")
                if value:
                    flags = "; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000"
                    if secure_cookies(scope, self.environment):
                        flags += "; Secure"
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", f"{ANON_COOKIE}={value}{flags}".encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)
