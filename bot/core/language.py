"""Detect whether a short citizen message is English or Dutch.

A general language identifier is overkill here: we choose between two languages, and short,
misspelled messages ("rookmelder piept", "smoke alarm chirping") are decided well by counting
frequent function words and a few telling letter patterns of each language.
"""

from __future__ import annotations

import re

from bot.core.types import Language


def _split(words: str) -> list[str]:
    return words.split()


_WORD = re.compile(r"[a-zà-ÿ']+")

_NL_WORDS = frozenset(
    _split("""
    de het een en van ik je jij u uw mijn is niet wat hoe waar wie waarom wanneer kan kun kunt
    moet mag wil zijn er op in met voor naar bij dat die dit deze ook al nog maar of als dan
    heb hebt heeft ben bent wordt worden word gaat ga doen doe zit staat ligt graag alsjeblieft
    alstublieft bedankt dank dankje dankjewel hoi hallo goedemorgen goedemiddag goedenavond
    doei ja nee geen iets niets iemand niemand buren buurman buurvrouw huis straat wijk
    gemeente politie brandweer vuurwerk rookmelder melder piept piepen fiets inbraak overlast
    vergunning hulp help alstublief zo heel erg veel weet weten zeg zeggen mn m'n zn z'n t 't
    onze ons hun hen jullie wij we ze zij hij zich over uit tot na om te aan door tegen zonder
    """)
)

_EN_WORDS = frozenset(
    _split("""
    the a an and of i you your my is not what how where who why when can could should must may
    will would be are there on in with for to at that this these those also still but or if
    then have has had am was were do does did go going get got sit stands lies please thanks
    thank thx hello hi hey morning evening bye yes no none something nothing someone nobody
    neighbour neighbor neighbours house street area council police fire fireworks alarm smoke
    beeping bike burglary noise permit help so very much know say our us their them we they
    he she it its about out until after around by through against without i'm it's don't
    can't what's
    """)
)

_NL_PATTERNS = re.compile(r"(ij|oe|aa|uu|sch|cht|eeu|ieu)")


def detect_language(text: str, hint: Language | None = None) -> Language:
    """Return the message's language; the hint (channel or citizen setting) breaks ties."""
    return guess_language(text) or hint or Language.EN


def guess_language(text: str) -> Language | None:
    """The message's language, or None when its words do not tell ("ok", "1053 KL")."""
    words = _WORD.findall(text.lower())
    nl: float = sum(1 for w in words if w in _NL_WORDS)
    en: float = sum(1 for w in words if w in _EN_WORDS)
    if nl == en:
        # Letter patterns as a weak tie-breaker, e.g. "rookmelder piept" has no function words.
        nl += 0.5 * sum(1 for w in words if _NL_PATTERNS.search(w) and w not in _EN_WORDS)
        en += 0.5 * sum(1 for w in words if w.endswith(("ing", "tion", "th", "ed")))
    if nl > en:
        return Language.NL
    if en > nl:
        return Language.EN
    return None


def parse_language(value: str | None) -> Language | None:
    """Map a free-form language code ("nl-BE", "EN", "dutch") onto a supported language."""
    if not value:
        return None
    code = value.strip().lower()
    if code.startswith(("nl", "dutch", "nederlands", "vl")):
        return Language.NL
    if code.startswith(("en", "english", "engels")):
        return Language.EN
    return None
