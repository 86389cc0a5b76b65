"""Short follow-ups the bot asked for: "Did this help?", "Shall I pass it on?", "Your postcode?".

A citizen's next message is read as the answer to the pending question only when it looks like
one; anything else is treated as a new question, so nobody gets stuck in a prompt.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

from bot.core.library import Area


class Pending(StrEnum):
    NONE = "none"
    FEEDBACK = "feedback"  # after a library answer
    HANDOFF = "handoff"  # after "no, that did not help"
    AREA = "area"  # after routing to an area-bound role
    FORGET = "forget"  # after /forget, awaiting confirmation


class YesNo(StrEnum):
    YES = "yes"
    NO = "no"


_YES = re.compile(
    r"^(y|yes|yeah|yep|yup|sure|ok|okay|please|yes please|it did|helped|it helped|thanks it did|"
    r"ja|jawel|jazeker|ja graag|graag|ja hoor|zeker|klopt|prima|top|ja dank je|ja bedankt|"
    r"ja dankjewel|👍)[\s!.]*$",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(n|no|nope|nah|not really|no thanks|no thank you|it did not|it didn't|didn't help|"
    r"nee|neen|nee hoor|nee dank je|nee bedankt|niet echt|helaas niet|nee helaas|"
    r"niet geholpen|👎)[\s!.]*$",
    re.IGNORECASE,
)


def read_yes_no(text: str) -> YesNo | None:
    cleaned = text.strip()
    if _YES.match(cleaned):
        return YesNo.YES
    if _NO.match(cleaned):
        return YesNo.NO
    return None


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
