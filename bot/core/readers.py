"""How the bot reads a citizen's short answers: yes or no, a postcode, a language, "skip", "stop",
and commands typed as text ("/area 1012 AB"), in English and Dutch.

Each reader answers None when the text is not such an answer: the conversation then treats it as a
new question, so nobody gets stuck in a prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.core.library import Area
from bot.core.types import Language


class YesNo(StrEnum):
    YES = "yes"
    NO = "no"


_YES = re.compile(
    r"^(y|yes|yeah|yep|yup|yes please|yes pls|sure|ok|okay|please|it did|helped|it helped|"
    r"thanks it did|that helped|ja|jawel|jazeker|ja graag|graag|ja hoor|zeker|klopt|prima|top|"
    r"ja dank je|ja bedankt|ja dankjewel|ja hoor dank je|ja zeker|👍)[\s!.]*$",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(n|no|nope|nah|not really|no thanks|no thank you|it did not|it didn't|didn't help|"
    r"not at all|no it didn't|nee|neen|nee hoor|nee dank je|nee bedankt|niet echt|helaas niet|"
    r"nee helaas|niet geholpen|nee niet echt|👎)[\s!.]*$",
    re.IGNORECASE,
)


def read_yes_no(text: str) -> YesNo | None:
    cleaned = text.strip()
    if _YES.match(cleaned):
        return YesNo.YES
    if _NO.match(cleaned):
        return YesNo.NO
    return None


_SKIP = re.compile(
    r"^(skip|skip it|skip this|skip that|pass|rather not|i'd rather not|i would rather not|"
    r"don't want to|not now|no thanks|n/?a|-|overslaan|sla over|sla maar over|sla dit over|"
    r"liever niet|geen|nvt|n\.v\.t\.?|wil ik niet|niet nu|nee dank je|nee bedankt)[\s!.]*$",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"^(stop|stop it|stop please|please stop|cancel|never ?mind|forget it|quit|exit|"
    r"stoppen|stop maar|hou op|houd op|annuleer|annuleren|laat maar|laat maar zitten)[\s!.]*$",
    re.IGNORECASE,
)


class Closing(StrEnum):
    """A citizen closing a prompt without answering it."""

    SKIP = "skip"
    STOP = "stop"


def read_closing(text: str) -> Closing | None:
    """ "skip"/"overslaan" or "stop"/"laat maar": the citizen does not want to answer."""
    cleaned = text.strip()
    if _STOP.match(cleaned):
        return Closing.STOP
    if _SKIP.match(cleaned):
        return Closing.SKIP
    return None


_BARE = re.compile(
    r"^(skip|overslaan|sla over|stop|stoppen|cancel|annuleer|annuleren)[\s!.]*$", re.IGNORECASE
)


_BARE_YES_NO = re.compile(r"^(y|yes|yeah|yep|yup|n|no|nope|nah|ja|jawel|nee|neen|👍|👎)[\s!.]*$",
                          re.IGNORECASE)


def is_bare_yes_no(text: str) -> bool:
    """A lone "yes" or "nee" with nothing asked: an answer to a question no longer open (a
    double tap, a late reply), never a question for a person."""
    return bool(_BARE_YES_NO.match(text.strip()))


def is_bare_closing(text: str) -> bool:
    """ "skip" or "stop" on its own: with no prompt open it still wants an answer, where
    "no thanks" or "laat maar" is just talk."""
    return bool(_BARE.match(text.strip()))


_POSTCODE = re.compile(r"\b([1-9][0-9]{3})\s?([a-zA-Z]{2})?\b")


def read_area(text: str, areas: Sequence[Area]) -> tuple[str, Area | None] | None:
    """The postcode or neighbourhood a citizen typed, with the matching area if we have one.

    Returns (label to remember, area) or None when the text does not look like a place.
    """
    cleaned = text.strip()
    if len(cleaned) > 60:
        return None
    match = _POSTCODE.search(cleaned)
    if match:
        number = int(match.group(1))
        label = (match.group(1) + (" " + match.group(2).upper() if match.group(2) else "")).strip()
        return label, next((a for a in areas if a.contains(number)), None)
    lowered = cleaned.lower()
    for area in areas:
        if area.name.lower() in lowered or area.slug.lower() == lowered:
            return area.name, area
    return None


_LANGUAGES = {
    Language.EN: ("en", "eng", "english", "engels", "in english", "in het engels", "🇬🇧", "🇺🇸"),
    Language.NL: ("nl", "ned", "dutch", "nederlands", "in dutch", "in het nederlands", "vlaams", "🇳🇱", "🇧🇪"),
}


def read_language(text: str) -> Language | None:
    """ "nl", "Nederlands", "English" ... as a language choice."""
    cleaned = text.strip().strip(".!").lower()
    for language, names in _LANGUAGES.items():
        if cleaned in names:
            return language
    return None


class CommandName(StrEnum):
    START = "start"
    HELP = "help"
    LANGUAGE = "language"
    AREA = "area"
    FORGET = "forget"
    STOP = "stop"
    UNKNOWN = "unknown"


_ALIASES = {
    "start": CommandName.START,
    "help": CommandName.HELP,
    "hulp": CommandName.HELP,
    "language": CommandName.LANGUAGE,
    "lang": CommandName.LANGUAGE,
    "taal": CommandName.LANGUAGE,
    "area": CommandName.AREA,
    "wijk": CommandName.AREA,
    "buurt": CommandName.AREA,
    "postcode": CommandName.AREA,
    "forget": CommandName.FORGET,
    "vergeet": CommandName.FORGET,
    "wis": CommandName.FORGET,
    "stop": CommandName.STOP,
    "cancel": CommandName.STOP,
}
_COMMAND = re.compile(r"^/([a-zA-Z_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Command:
    name: CommandName
    arg: str = ""


def read_command(text: str) -> Command | None:
    """A command typed as text, on any channel: "/area 1012 AB", "/language@OurBot nl", "/help".
    A slash that starts anything else ("/ help", "1/2") is not a command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name = _ALIASES.get(match.group(1).lower(), CommandName.UNKNOWN)
    return Command(name, (match.group(2) or "").strip())
