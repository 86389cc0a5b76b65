"""The console's languages: English and Dutch, from gettext catalogues in `bot/web/locale/`.

The catalogues are the `.po` files themselves: `translations(language)` reads one with Babel the
first time it is asked for and compiles it in memory, so there is no compiled `.mo` to forget to
rebuild (`make messages` re-extracts the strings and updates the `.po` files).

Which language a page is in (`page_language`): the user's choice on the Account page; when they
chose nothing (or nobody is logged in), Dutch if the browser's Accept-Language prefers `nl` over
`en`, else English.

Python code that produces a text for a page (a flash, a form error) returns a `Msg` (made with
`msg`, the marker `make messages` extracts); `render` translates it for the page's language. `Msg`
lives in bot.core.i18n, so the services word their refusals (`Refused`) with it too: a page shows
`error.message`, translated like any console text.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# Re-exported: the value type lives in bot.core, so the services word their refusals with it too.
from bot.core.i18n import Msg as Msg
from bot.core.i18n import Refused as Refused
from bot.core.i18n import msg as msg

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
DEFAULT = "en"
LANGUAGES: tuple[str, ...] = ("en", "nl")  # en is the source language: its catalogue is the msgids
NAMES = {"en": "English", "nl": "Nederlands"}  # each in its own language, for the picker


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English: the msgids themselves)."""
    if language not in LANGUAGES or language == DEFAULT:
        return gettext.NullTranslations()
    with po_path(language).open("rb") as fp:
        catalog = read_po(fp, locale=language)
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _accepted(header: str) -> dict[str, float]:
    """Accept-Language as {primary language: highest q}: "nl-NL,nl;q=0.9,en;q=0.8" -> nl 1.0, en 0.8."""
    weights: dict[str, float] = {}
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if not primary or primary == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[primary] = max(weights.get(primary, 0.0), q)
    return weights


def browser_language(accept_language: str | None) -> str:
    """Dutch when the browser prefers nl over en (or asks for nl and not en), else English."""
    weights = _accepted(accept_language or "")
    nl, en = weights.get("nl", 0.0), weights.get("en", 0.0)
    return "nl" if nl > 0 and nl > en else DEFAULT


def page_language(chosen: str | None, accept_language: str | None) -> str:
    """The user's choice when they made one, else the browser's preference."""
    if chosen in LANGUAGES:
        return chosen  # type: ignore[return-value]
    return browser_language(accept_language)
