"""Jinja2 templates for the console (autoescaped: citizen text is untrusted) and `render`.

`render(request, "page.html", **ctx)` adds `user` (or None), `csrf_token` (for forms; htmx sends
it as a header from the <meta> in base.html), `nav` (the menu for this user) and `staff_zone` (the
TIMEZONE setting, for the `when` filter) to the context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.responses import Response

from bot.core.calendar import DEFAULT_ZONE
from bot.service.queue import hidden_label
from bot.web.auth import User, csrf_token_for, optional_user, services_of

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    admin_only: bool = False


# The menu, in order. Page authors: add an item here for a new top-level page.
NAV: tuple[NavItem, ...] = (
    NavItem("Queue", "/queue"),
    NavItem("Library", "/admin/library", admin_only=True),
    NavItem("Dashboard", "/admin/dashboard", admin_only=True),
    NavItem("Team", "/admin/team", admin_only=True),
    NavItem("Privacy", "/admin/privacy", admin_only=True),
    NavItem("Account", "/account"),
)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    """A moment in the staff's time zone (the TIMEZONE setting), with the zone's abbreviation."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(ZoneInfo(context.get("staff_zone") or DEFAULT_ZONE))
    return local.strftime("%d %b %H:%M %Z")


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["iso"] = _iso
_env.filters["when"] = _when
_env.filters["hidden_label"] = hidden_label
_env.filters["pct"] = lambda x: f"{float(x) * 100:.0f}%"

templates = Jinja2Templates(env=_env)


def nav_for(user: User | None, path: str) -> list[dict[str, Any]]:
    if user is None:
        return []
    return [
        {
            "label": item.label,
            "href": item.href,
            "active": path == item.href or path.startswith(item.href + "/"),
        }
        for item in NAV
        if user.is_admin or not item.admin_only
    ]


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **ctx: Any,
) -> Response:
    user = optional_user(request)
    context = {
        "user": user,
        "csrf_token": csrf_token_for(request),
        "nav": nav_for(user, request.url.path),
        "staff_zone": services_of(request).settings.timezone,
        **ctx,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)
