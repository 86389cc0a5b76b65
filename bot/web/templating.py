"""Jinja2 templates for the console (autoescaped: citizen text is untrusted) and `render`.

`render(request, "page.html", **ctx)` adds `user` (or None), `csrf_token` (for forms; htmx sends
it as a header from the <meta> in base.html), `nav` (the menu for this user), `staff_zone` (the
TIMEZONE setting, for the time filters) and `ui_language` (the page's language, `bot.web.i18n`)
to the context, and translates every `Msg` among the context's values.

Templates mark text with Jinja2's i18n extension (`{% trans %}...{% endtrans %}`, `_("...")`,
new-style: `_("%(n)s min", n=3)`); the catalogue is the page's language's. Filters: `when` (the
absolute time in TIMEZONE), `ago` (relative within a day, the absolute time in its title), `day`.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.responses import Response

from bot.service.queue import hidden_label
from bot.web import timefmt
from bot.web.auth import User, csrf_token_for, optional_user, services_of
from bot.web.i18n import DEFAULT, Msg, msg, page_language, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    label: Msg
    href: str
    admin_only: bool = False


# The menu, in order. Page authors: add an item here for a new top-level page.
NAV: tuple[NavItem, ...] = (
    NavItem(msg("Queue"), "/queue"),
    NavItem(msg("Library"), "/admin/library", admin_only=True),
    NavItem(msg("Dashboard"), "/admin/dashboard", admin_only=True),
    NavItem(msg("Team"), "/admin/team", admin_only=True),
    NavItem(msg("Privacy"), "/admin/privacy", admin_only=True),
    NavItem(msg("Account"), "/account"),
)


def _iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


# Values the console shows as words (statuses, close reasons, answers to "did this help"):
# `{{ q.status|label }}`. A value not listed shows as it is.
LABELS: dict[str, Msg] = {
    "open": msg("open"),
    "claimed": msg("claimed"),
    "answered": msg("answered"),
    "closed": msg("closed"),
    "resolved": msg("resolved"),
    "no_reply_needed": msg("no reply needed"),
    "spam": msg("spam"),
    "yes": msg("yes"),
    "no": msg("no"),
    "draft": msg("draft"),
    "approved": msg("approved"),
    "retired": msg("retired"),
    "rejected": msg("rejected"),
    "discarded": msg("discarded"),
    # why a question is on the Unrecognised page (bot.service.clustering.WHY_LABELS)
    "unsure": msg("unsure"),
    "out of scope": msg("out of scope"),
    "default role": msg("default role"),
    "no answer in that language": msg("no answer in that language"),
    # the outcomes in the charts (bot.service.svg_charts.LABELS)
    "routed": msg("routed"),
    "emergency": msg("emergency"),
}


def word(value: str, t: gettext.NullTranslations) -> str:
    """`value` as a word of LABELS in the catalogue `t` (for Python code: chart legends)."""
    found = LABELS.get(value)
    return found.text(t) if found is not None else value.replace("_", " ")


def page_language_of(request: Request) -> str:
    """The language `render` uses for this request (the user's choice, else the browser's)."""
    user = optional_user(request)
    return page_language(user.language if user else None, request.headers.get("accept-language"))


def _t(context: Context) -> gettext.NullTranslations:
    return translations(context.get("ui_language") or DEFAULT)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _t(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _t(context).ngettext(singular, plural, n)


@pass_context
def _when(context: Context, value: datetime | None) -> str:
    """A moment in the staff's time zone (the TIMEZONE setting), with the zone's abbreviation."""
    return timefmt.when(value, context.get("staff_zone"), context.get("ui_language") or DEFAULT)


@pass_context
def _ago(context: Context, value: datetime | None) -> Markup:
    """`<time>` with "12 min ago" for a moment within a day (else the absolute time); the absolute
    time, in TIMEZONE, is its title."""
    if value is None:
        return Markup("")
    absolute = _when(context, value)
    near = timefmt.relative(value, datetime.now(UTC))
    shown = near.text(_t(context)) if near is not None else absolute
    return Markup('<time datetime="{}" title="{}">{}</time>').format(_iso(value), absolute, shown)


@pass_context
def _label(context: Context, value: object) -> str:
    return word(str(value), _t(context))


@pass_context
def _role_label(context: Context, role: Any) -> str:
    """A role row's name in the page's language (its English name when it has no Dutch one)."""
    if context.get("ui_language") == "nl" and getattr(role, "name_nl", ""):
        return str(role.name_nl)
    return str(role.name_en)


@pass_context
def _day(context: Context, value: datetime | None, year: bool = False) -> str:
    return timefmt.day(value, context.get("ui_language") or DEFAULT, year=year)


_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "svg"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)
_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: whitespace collapsed (babel.cfg says so too)
_env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
_env.filters["iso"] = _iso
_env.filters["when"] = _when
_env.filters["ago"] = _ago
_env.filters["day"] = _day
_env.filters["label"] = _label
_env.filters["role_label"] = _role_label
_env.filters["hidden_label"] = hidden_label
_env.filters["pct"] = lambda x: f"{float(x) * 100:.0f}%"

templates = Jinja2Templates(env=_env)


def nav_for(user: User | None, path: str, t: gettext.NullTranslations) -> list[dict[str, Any]]:
    if user is None:
        return []
    return [
        {
            "label": item.label.text(t),
            "href": item.href,
            "active": path == item.href or path.startswith(item.href + "/"),
        }
        for item in NAV
        if user.is_admin or not item.admin_only
    ]


def _translated(value: Any, t: gettext.NullTranslations) -> Any:
    """A `Msg` (a console text, a service's refusal) in the page's language; anything else as is."""
    return value.text(t) if isinstance(value, Msg) else value


def render(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **ctx: Any,
) -> Response:
    user = optional_user(request)
    language = page_language_of(request)
    t = translations(language)
    context = {
        "user": user,
        "csrf_token": csrf_token_for(request),
        "nav": nav_for(user, request.url.path, t),
        "staff_zone": services_of(request).settings.timezone,
        "ui_language": language,
        **{key: _translated(value, t) for key, value in ctx.items()},
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)
