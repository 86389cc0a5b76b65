"""Recognise an emergency happening now, in English and Dutch, independently of the classifier.

The classifier learns the `emergency` intent from examples; these rules are the safety net for the
phrasings it has never seen. A missed emergency costs far more than a false alarm, so the rules
look for danger signals and only stand down when the message is clearly hypothetical or about the
past ("what should I do if...", "how do I prevent...", "last week") with nothing saying "now".
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# Signals that on their own describe danger to life or property.
_DANGER = _rx(
    # fire and smoke
    r"\b(is|are|'s|staat|staan)\s+(on\s+fire|in\s+(de\s+)?(brand|fik|fikkie))",
    r"\bthere'?s?\s+(is\s+)?(a\s+)?fire\b",
    r"\b(fire|flames?)\s+(in|at|on)\s+(my|the|our|a)\b",
    r"\bbrand\s+(in|bij|op)\s+(mijn|de|het|ons|onze|een)\b",
    r"\b(smoke|rook)\s+(is\s+)?(coming|everywhere|komt|overal|uit)\b",
    r"\b(full\s+of|vol)\s+(smoke|rook)\b",
    r"\bi\s+(can\s+)?(see|smell)\s+(smoke|flames|fire)\b",
    r"\bik\s+(zie|ruik)\s+(rook|vlammen|vuur|brand)\b",
    r"\bvlammen\b",
    r"\bflames\b",
    r"^\s*(fire|brand)\s*!",
    r"\b(help|hulp)\b.{0,20}\b(fire|brand)\b",
    r"\b(fire|brand)\b.{0,20}\b(help|hulp)\b",
    # gas and carbon monoxide
    r"\b(smell|smells|smelling)\s+(of\s+)?gas\b",
    r"\bgas\s*(smell|leak|lucht|lek)\b",
    r"\bgaslucht\b|\bgaslek\b",
    r"\bruik\s+(\w+\s+)?gas\b|\bruikt\s+naar\s+gas\b",
    r"\b(co|carbon\s+monoxide|koolmonoxide)[\w\s,'-]{0,60}(dizzy|headache|nause|sick|vomit|faint|"
    r"duizelig|hoofdpijn|misselijk|ziek|flauw|overgeven)",
    r"\b(dizzy|headache|nause|sick|faint|duizelig|hoofdpijn|misselijk|flauw)[\w\s,-]{0,40}"
    r"(co|carbon\s+monoxide|koolmonoxide)\b",
    # medical
    r"\bnot\s+breathing\b|\bisn'?t\s+breathing\b|\bstopped\s+breathing\b|\bcan'?t\s+breathe\b",
    r"\bademt\s+niet\b|\bgeen\s+adem\b|\bkrijgt\s+geen\s+lucht\b|\bstikt\b",
    r"\bunconscious\b|\bunresponsive\b|\bpassed\s+out\b|\bcollapsed\b|\bnot\s+waking\s+up\b",
    r"\bbewusteloos\b|\bbuiten\s+bewustzijn\b|\bin\s+elkaar\s+gezakt\b|\bniet\s+(meer\s+)?wakker\b|"
    r"\bonwel\b|\breageert\s+niet\b",
    r"\bheart\s+attack\b|\bhartaanval\b|\bhartstilstand\b|\breanim",
    r"\bbleeding\s+(badly|a\s+lot|heavily)\b|\bbloedt\s+(heel\s+)?(erg|hevig|veel)\b",
    r"\bdrowning\b|\bverdrinkt\b|\bverdrinken\b|\bin\s+het\s+water\s+gevallen\b",
    r"\boverdose\b|\boverdosis\b",
    # violence and threat
    r"\b(breaking|broken)\s+in(to)?\b.{0,40}\b(now|right\s+now|still|currently|as\s+we\s+speak)\b",
    r"\b(someone|somebody|people|men|a\s+man|guys?)\s+(is|are)\s+(breaking|trying\s+to\s+break)\s+in",
    r"\bbreaking\s+into\s+(my|our|the)\b",
    r"\bwordt\s+(nu\s+)?ingebroken\b|\bbreekt\s+in\b|\bbreken\s+in\b|\bprobeert?\s+in\s+te\s+breken\b",
    r"\b(is|zijn)\s+(nog\s+)?(binnen|in\s+(mijn|ons|het)\s+huis)\b",
    r"\bintruder\b|\binbreker\s+(in|binnen)\b",
    r"\b(knife|gun|pistol|weapon|machete)\b",
    r"\b(mes|pistool|vuurwapen|wapen)\b.{0,30}\b(bedreigt|dreigt|zwaait|steekt|richt|heeft)\b",
    r"\b(bedreigt|dreigt|zwaait|steekt|richt)\b.{0,30}\b(mes|pistool|vuurwapen|wapen)\b",
    r"\b(stabbed|shot|shooting|gunshots?)\b",
    r"\b(gestoken|neergestoken|beschoten|schiet|schieten|schoten)\b",
    r"\b(being|getting)\s+(attacked|beaten|assaulted|followed|robbed)\b",
    r"\b(attacking|beating|hitting|threatening|kicking)\s+(me|him|her|us|someone|a\s+\w+)\b",
    r"\b(word|wordt|worden)\s+(aangevallen|geslagen|bedreigd|beroofd|achtervolgd|mishandeld)\b",
    r"\b(slaat|schopt|bedreigt|mishandelt)\s+(me|mij|hem|haar|ons|iemand)\b",
    r"\b(fight|fighting|vechtpartij|vechten|knokpartij)\b.{0,40}\b(now|right\s+now|outside|"
    r"nu|buiten|voor\s+de\s+deur)\b",
    r"\b(kidnap|ontvoer)",
    r"\bwants?\s+to\s+(kill|hurt)\b|\bwil\s+(me|mij|zichzelf)\s+(vermoorden|doden|iets\s+aandoen)\b",
    r"\b(kill|hurt)\s+(myself|himself|herself)\b|\bzelfmoord\b|\bsuicide\b",
    # accidents
    r"\b(serious|bad|terrible|car|traffic)\s+(accident|crash)\b.{0,60}\b(injur|hurt|bleed|trapped|"
    r"stuck|not\s+moving|now|just)\b",
    r"\b(injur|hurt|bleed|trapped|not\s+moving)\w*\b.{0,60}\b(accident|crash)\b",
    r"\b(ernstig|zwaar)\s+(ongeluk|ongeval)\b|\b(ongeluk|ongeval|aanrijding)\b.{0,60}\b(gewond|bloedt|"
    r"bekneld|vast|beweegt\s+niet|net|nu)\b",
    r"\b(hit\s+by\s+a\s+car|aangereden)\b",
)

# "Now" signals override a hypothetical reading: "what do I do, the kitchen is on fire right now".
_NOW = _rx(
    r"\bright\s+now\b|\bat\s+the\s+moment\b|\bas\s+we\s+speak\b|\bcurrently\b|\bhappening\b",
    r"\bnow\b(?!\s+(that|and\s+then))",
    r"\b(op\s+dit\s+moment|nu|nou|meteen|snel|gebeurt)\b",
    r"\b(help|hulp|sos)\b\s*[!]*",
    r"!!",
    r"\b(please\s+hurry|come\s+quick|kom\s+snel|schiet\s+op)\b",
)

# Hypothetical, preventive, past or third-person-informational framings.
_NOT_NOW = _rx(
    r"\bwhat\s+(should|do|must|can)\s+(i|we|you|one)\s+do\s+(if|when|in\s+case)\b",
    r"\bwhat\s+to\s+do\s+(if|when|in\s+case)\b",
    r"\bhow\s+(do|can|should|to)\s+(i|we|you)?\s*(prevent|avoid|protect|recognise|recognize|know|"
    r"tell|make|plan|prepare|escape|get\s+out)\b",
    r"\bin\s+case\s+of\b|\bif\s+there\s+(is|was|were|'s)\b|\bif\s+(a|my|the)\s+\w+\s+(catches|"
    r"is|was)\b|\bsuppose\b|\bwhat\s+if\b",
    r"\b(tips?|advice|advise|plan|checklist|prevention|prevent)\b",
    r"\bwat\s+(moet|kan|doe)\s+(ik|je|we|jij)\s+(doen\s+)?(als|bij|wanneer|in\s+geval)\b",
    r"\bwat\s+te\s+doen\s+(als|bij)\b|\bin\s+geval\s+van\b|\bstel\s+dat\b|\bals\s+er\s+(ooit\s+)?"
    r"(brand|een)\b",
    r"\bhoe\s+(kan|moet|voorkom|herken|bescherm|maak)\w*\b|\bvoorkomen\b|\b(tips?|advies|vluchtplan|"
    r"preventie)\b",
    r"\b(last|yesterday|ago|earlier\s+this|previous)\b|\b(gisteren|vorige|afgelopen|geleden|"
    r"vannacht\s+is)\b",
    r"\b(was|were|got)\s+(burgled|robbed|broken\s+into|stolen)\b|\b(is|werd|zijn)\s+ingebroken\b",
    r"\bwhen\s+(should|do|can)\s+(i|you|we)\s+call\b|\bwanneer\s+(moet|mag|kan|bel)\b",
    r"\b(fireworks?|vuurwerk)\b.{0,30}\b(allowed|rules|mag|regels|toegestaan|verboden)\b",
    r"\b(detector|melder|alarm)\b.{0,40}\b(battery|batterij|test|install|ophangen|plaatsen|"
    r"beeping|chirp|piept|piepen|kopen|buy)\b",
    r"\bfire\s+(drill|safety|inspection|escape|extinguisher)\b|\bbrand(veiligheid|oefening|blusser|"
    r"preventie)\b",
    r"\b(movie|film|game|book|boek|series|serie|nieuws|news)\b",
)


@dataclass(frozen=True, slots=True)
class EmergencySignal:
    is_emergency: bool
    danger: str | None  # the phrase that matched
    reason: str


def detect_emergency(text: str) -> EmergencySignal:
    """Decide from the wording alone whether the message describes an emergency happening now."""
    danger = _DANGER.search(text)
    if danger is None:
        return EmergencySignal(False, None, "no danger signal")
    phrase = danger.group(0).strip()
    if _NOT_NOW.search(text) and not _NOW.search(text):
        return EmergencySignal(False, phrase, f"danger signal '{phrase}' in a hypothetical/past framing")
    return EmergencySignal(True, phrase, f"danger signal '{phrase}'")


def is_hypothetical(text: str) -> bool:
    """True for framings like "what should I do if..." with no sign that it is happening now."""
    return bool(_NOT_NOW.search(text)) and not _NOW.search(text)
