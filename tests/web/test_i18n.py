"""The console in Dutch and English: the catalogue is complete, a user's choice (or the browser's
Accept-Language) picks the language, and relative times read right at their boundaries."""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import select

from bot.core.i18n import Refused, msg
from bot.service.queue import ClaimLost
from bot.store import models as m
from bot.web import timefmt
from bot.web.i18n import LOCALE_DIR, browser_language, page_language, po_path, translations
from tests.web.conftest import csrf_of, login, make_question, make_user, switch_to

ROOT = Path(__file__).resolve().parents[2]
POLICE = "community_police_officer"
NL = {"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.8"}
EN = {"Accept-Language": "en-GB,en;q=0.9,nl;q=0.5"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s|\{(\w+)\}")


EXTRACTED_FROM = ("web", "service")  # the console and the services' refusals, as `make messages`


def _extracted() -> set[str | tuple[str, ...]]:
    """Every msgid in the templates, bot/web and bot/service, extracted now as `make messages` does."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str | tuple[str, ...]] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "msg": None}
    for package in EXTRACTED_FROM:
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "bot" / package), method_map, options_map, keywords=keywords
        ):
            found.add(message)
    return found


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_every_console_string_has_a_dutch_translation_with_the_same_placeholders() -> None:
    with po_path("nl").open("rb") as fp:
        catalog = read_po(fp, locale="nl")
    extracted = _extracted()
    assert len(extracted) > 300, "the extraction found too little: is babel.cfg still right?"
    missing, empty, mismatched = [], [], []
    for msgid in extracted:
        entry = catalog.get(msgid)
        if entry is None:
            missing.append(msgid)
            continue
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(s.strip() for s in strings):
            empty.append(msgid)
            continue
        for string in strings:
            if _placeholders(string) != _placeholders(ids[-1]):
                mismatched.append((msgid, string))
    assert not missing, f"not in the Dutch catalogue (run make messages, then translate): {missing}"
    assert not empty, f"no Dutch translation: {empty}"
    assert not mismatched, f"placeholders differ: {mismatched}"
    assert (LOCALE_DIR / "messages.pot").exists()


def test_the_dutch_catalogue_loads_and_translates() -> None:
    nl = translations("nl")
    assert nl.gettext("Claim") == "Oppakken"
    assert nl.ngettext("%(count)s draft", "%(count)s drafts", 2) == "%(count)s concepten"
    assert translations("en").gettext("Claim") == "Claim"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "en"),
        ("", "en"),
        ("nl", "nl"),
        ("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", "nl"),
        ("en-US,en;q=0.9,nl;q=0.8", "en"),
        ("de-DE,de;q=0.9,nl;q=0.5", "nl"),  # nl is wanted and en is not
        ("nl;q=0.5,en;q=0.5", "en"),  # a tie stays English
        ("nl;q=0,en;q=0.1", "en"),
        ("fr", "en"),
        ("NL-be", "nl"),
        ("nl;q=abc", "en"),  # a broken weight counts as nothing
    ],
)
def test_accept_language_picks_dutch_only_when_preferred_over_english(header, language) -> None:  # type: ignore[no-untyped-def]
    assert browser_language(header) == language


def test_a_chosen_language_wins_over_the_browser() -> None:
    assert page_language("en", "nl") == "en"
    assert page_language("nl", "en-US") == "nl"
    assert page_language(None, "nl") == "nl"
    assert page_language("xx", "en") == "en"


NOW = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "en", "nl"),
    [
        (0, "just now", "zojuist"),
        (-59, "just now", "zojuist"),
        (-60, "1 min ago", "1 min geleden"),
        (-3599, "59 min ago", "59 min geleden"),
        (-3600, "1 h ago", "1 uur geleden"),
        (-12 * 60, "12 min ago", "12 min geleden"),
        (-86399, "23 h ago", "23 uur geleden"),
        (59, "in under a minute", "binnen een minuut"),
        (60, "in 1 min", "over 1 min"),
        (3 * 3600, "in 3 h", "over 3 uur"),
        (86399, "in 23 h", "over 23 uur"),
    ],
)
def test_relative_times_at_their_boundaries(seconds: int, en: str, nl: str) -> None:
    near = timefmt.relative(NOW + timedelta(seconds=seconds), NOW)
    assert near is not None
    assert near.text(translations("en")) == en
    assert near.text(translations("nl")) == nl


@pytest.mark.parametrize("seconds", [86400, -86400, 10 * 86400])
def test_a_day_or_more_away_is_not_relative(seconds: int) -> None:
    assert timefmt.relative(NOW + timedelta(seconds=seconds), NOW) is None


def test_absolute_times_in_the_staff_zone_with_dutch_month_names() -> None:
    moment = datetime(2026, 3, 8, 16, 0, tzinfo=UTC)
    assert timefmt.when(moment, "Europe/Amsterdam", "en") == "08 Mar 17:00 CET"
    assert timefmt.when(moment, "Europe/Amsterdam", "nl") == "08 mrt 17:00 CET"
    assert timefmt.day(moment, "nl", year=True) == "08 mrt 2026"


# -- pages ------------------------------------------------------------------------------------


def _set_language(services, username: str, language: str | None) -> None:  # type: ignore[no-untyped-def]
    with services.sessions.begin() as session:
        pro = session.scalars(select(m.Professional).where(m.Professional.username == username)).one()
        pro.language = language


def test_a_user_who_chose_dutch_gets_the_queue_and_question_in_dutch(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "anouk", roles=POLICE)
    make_user(services, "alex", roles=POLICE)
    qid = make_question(services, POLICE, "Er staat al weken een auto zonder kenteken", language="nl")
    _set_language(services, "anouk", "nl")
    _set_language(services, "alex", "en")

    login(app_client, "anouk")
    queue = app_client.get("/queue", headers=EN).text  # her choice wins over the browser
    assert '<html lang="nl">' in queue
    assert "<h1>Mijn wachtrij</h1>" in queue and ">Wachtrij</a>" in queue and "Uitloggen" in queue
    assert "My queue" not in queue and "Logout" not in queue and "Log out" not in queue
    question = app_client.get(f"/questions/{qid}", headers=EN).text
    assert 'id="claim">Oppakken</button>' in question and "<h2>Beantwoorden</h2>" in question
    # a recent moment is relative, with the absolute time (Dutch month, TIMEZONE) in its title
    received = re.search(
        r"<dt>Ontvangen</dt><dd><time datetime=\"[^\"]+\" title=\"([^\"]+)\">([^<]+)</time>", question
    )
    assert received, question
    assert re.fullmatch(r"\d\d [a-z]{3} \d\d:\d\d CES?T", received.group(1)), received.group(1)
    assert received.group(2) in ("zojuist", "1 min geleden")

    switch_to(app_client, "alex")
    queue = app_client.get("/queue", headers=NL).text
    assert '<html lang="en">' in queue and "<h1>My queue</h1>" in queue and "Wachtrij" not in queue
    question = app_client.get(f"/questions/{qid}", headers=NL).text
    assert 'id="claim">Claim</button>' in question and "just now" in question


def test_accept_language_picks_dutch_for_a_user_who_chose_nothing(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "sanne", roles=POLICE)
    login(app_client, "sanne")
    dutch = app_client.get("/queue", headers=NL).text
    assert '<html lang="nl">' in dutch and "<h1>Mijn wachtrij</h1>" in dutch
    english = app_client.get("/queue", headers=EN).text
    assert '<html lang="en">' in english and "<h1>My queue</h1>" in english
    plain = app_client.get("/queue").text  # no Accept-Language at all: English
    assert "<h1>My queue</h1>" in plain


def test_the_login_page_and_its_messages_follow_the_browser(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "bram", roles=POLICE)
    page = app_client.get("/login", headers=NL)
    assert '<html lang="nl">' in page.text and "<h1>Inloggen</h1>" in page.text
    wrong = app_client.post(
        "/login",
        data={
            "username": "bram",
            "password": "not it at all",
            "csrf_token": csrf_of(page.text),
            "next": "/queue",
        },
        headers=NL,
    )
    assert wrong.status_code == 401 and "Gebruikersnaam of wachtwoord klopt niet." in wrong.text
    english = app_client.get("/login", headers=EN).text
    assert "<h1>Log in</h1>" in english


def test_the_language_is_chosen_on_the_account_page_and_kept(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "joost", roles=POLICE)
    token = login(app_client, "joost")
    account = app_client.get("/account", headers=EN).text
    assert 'id="language-choice"' in account and "As my browser asks (now: English)" in account
    saved = app_client.post("/account/language", data={"language": "nl", "csrf_token": token}, headers=EN)
    assert saved.status_code == 200
    assert "De taal van de console is opgeslagen." in saved.text and '<html lang="nl">' in saved.text
    with services.sessions() as session:
        pro = session.scalars(select(m.Professional).where(m.Professional.username == "joost")).one()
        assert pro.language == "nl"
    assert "<h1>Mijn wachtrij</h1>" in app_client.get("/queue", headers=EN).text

    back = app_client.post("/account/language", data={"language": "", "csrf_token": token}, headers=EN)
    assert "The console&#39;s language was saved." in back.text
    assert "<h1>My queue</h1>" in app_client.get("/queue", headers=EN).text
    assert "<h1>Mijn wachtrij</h1>" in app_client.get("/queue", headers=NL).text

    refused = app_client.post("/account/language", data={"language": "fr", "csrf_token": token}, headers=EN)
    assert refused.status_code == 400 and "Unknown language." in refused.text


def test_error_pages_follow_the_language(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "femke", roles=POLICE)
    _set_language(services, "femke", "nl")
    login(app_client, "femke")
    page = app_client.get("/admin/library")
    assert page.status_code == 403 and "Niet voor jou" in page.text
    assert "Deze pagina is alleen voor beheerders." in page.text
    odd = app_client.get("/questions/abc")
    assert odd.status_code == 422 and "Dat adres klopt niet helemaal" in odd.text


def test_a_refusal_reads_english_in_logs_and_its_reader_s_language_on_a_page() -> None:
    error = ClaimLost("fiona")
    assert str(error) == "fiona has claimed this question."  # the CLI, Telegram, the logs
    assert error.message.text(translations("nl")) == "fiona heeft deze vraag al opgepakt."
    assert str(ClaimLost(None)) == "Someone else has claimed this question."
    # a parameter that is a text itself is translated with its sentence
    nested = msg(
        "Unknown area(s): %(missing)s (%(hint)s). Create an area with its postcodes in the "
        "console under Admin, Roles and areas; leave --areas out for all areas.",
        missing="noord",
        hint=msg("there are no areas yet"),
    )
    assert str(Refused(nested)).startswith("Unknown area(s): noord (there are no areas yet).")
    assert nested.text(translations("nl")).startswith(
        "Onbekend(e) gebied(en): noord (er zijn nog geen gebieden)."
    )


def _refusal_classes() -> set[str]:
    """The names of every `Refused` subclass the services define (imported here, so all are known)."""
    import bot.service.answer_checks
    import bot.service.library_admin
    import bot.service.linking
    import bot.service.reply_window
    import bot.service.routing_admin
    import bot.service.users  # noqa: F401

    names, todo = set(), [Refused]
    while todo:
        for sub in todo.pop().__subclasses__():
            names.add(sub.__name__)
            todo.append(sub)
    return names


def test_every_refusal_is_raised_with_a_text_the_dutch_catalogue_translates() -> None:
    """A service that rewords a refusal (or raises one with a plain string) without the catalogue
    following fails here: each refusal's texts are `msg("...")` literals with a Dutch translation."""
    with po_path("nl").open("rb") as fp:
        catalog = read_po(fp, locale="nl")
    classes = _refusal_classes()
    assert {"QueueError", "NotAllowed", "LibraryError", "RoutingError", "UserError"} <= classes
    seen, problems = 0, []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            call = node.exc if isinstance(node, ast.Raise) else None
            if not isinstance(call, ast.Call):
                continue
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if name not in classes or name == "ClaimLost":  # ClaimLost words itself (checked below)
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            argument = call.args[0] if call.args else None
            if isinstance(argument, ast.Attribute) and argument.attr == "message":
                continue  # passes another refusal's text on
            texts = [
                inner.args[0].value
                for inner in ast.walk(argument or call)
                if isinstance(inner, ast.Call)
                and getattr(inner.func, "id", "") == "msg"
                and inner.args
                and isinstance(inner.args[0], ast.Constant)
            ]
            if not texts:
                problems.append(f'{where}: {name} raised without a msg("...")')
            for text in texts:
                seen += 1
                entry = catalog.get(text)
                if entry is None or not entry.string:
                    problems.append(f"{where}: no Dutch for {text!r} (run make messages, then translate)")
    for text in (ClaimLost("x").message.msgid, ClaimLost(None).message.msgid):
        entry = catalog.get(text)
        if entry is None or not entry.string:
            problems.append(f"ClaimLost: no Dutch for {text!r}")
    assert seen > 50, "found too few refusals: is the scan still right?"
    assert not problems, "\n".join(problems)


def test_a_dutch_professional_reads_the_reply_preview_refusal_in_dutch(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "ilse", roles=POLICE)
    _set_language(services, "ilse", "nl")
    qid = make_question(services, POLICE, "Wie kan ik bellen over overlast?", language="nl")
    token = login(app_client, "ilse")
    preview = app_client.post(
        f"/questions/{qid}/preview", data={"text": "Bel {emergency_numbr}", "csrf_token": token}
    )
    assert "Onbekend invulveld {emergency_numbr}" in preview.text, preview.text


# Refusals a Dutch professional or admin meets, through the console: in Dutch, as the service words them.


def test_a_dutch_professional_reads_queue_refusals_in_dutch(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "fiona", roles=POLICE, display_name="Fiona")
    make_user(services, "ilse", roles=POLICE)
    make_user(services, "bas", roles="fire_prevention_officer")
    _set_language(services, "ilse", "nl")
    _set_language(services, "bas", "nl")
    qid = make_question(services, POLICE, "Wie kan ik bellen over overlast?", language="nl")
    token = login(app_client, "fiona")
    assert app_client.post(f"/questions/{qid}/claim", data={"csrf_token": token}).status_code == 200

    token = switch_to(app_client, "ilse")
    lost = app_client.post(f"/questions/{qid}/reply", data={"text": "Bel de wijkagent.", "csrf_token": token})
    assert lost.status_code == 409 and "fiona heeft deze vraag al opgepakt." in lost.text, lost.text
    note = app_client.post(f"/questions/{qid}/note", data={"text": "  ", "csrf_token": token})
    assert note.status_code == 400 and "De notitie is leeg." in note.text
    missing = app_client.get("/questions/987654", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "Vraag 987654 bestaat niet." in missing.text
    # the API's JSON keeps the English sentence
    as_json = app_client.get("/questions/987654", headers={"Accept": "application/json"})
    assert as_json.json() == {"detail": "Question 987654 does not exist."}

    switch_to(app_client, "bas")
    other = app_client.get(f"/questions/{qid}", headers={"Accept": "text/html"})
    assert other.status_code == 403
    assert f"Vraag {qid} is niet voor jouw rollen of gebieden." in other.text, other.text


def test_a_dutch_admin_reads_library_and_team_refusals_in_dutch(services, app_client) -> None:  # type: ignore[no-untyped-def]
    make_user(services, "admin", admin=True)
    _set_language(services, "admin", "nl")
    token = login(app_client, "admin")
    intent = app_client.post(
        "/admin/intents", data={"name": "wat-is-dit?", "mode": "answer", "csrf_token": token}
    )
    assert intent.status_code == 400 and "Naam van de intent: alleen letters, cijfers en _." in intent.text
    area = app_client.post("/admin/areas", data={"slug": "noord", "name": " ", "csrf_token": token})
    assert area.status_code == 400 and "Een gebied heeft een naam nodig." in area.text
    # users.create refuses, the team service passes the refusal on: still Dutch
    user = app_client.post("/admin/team", data={"username": "X", "csrf_token": token})
    assert user.status_code == 400 and "Gebruikersnaam: 2 tot 80 tekens" in user.text, user.text
