"""Recognise an emergency happening now, in English and Dutch, independently of the classifier.

The classifier learns the `emergency` intent from examples; these rules are the safety net for the
phrasings it has never seen. A missed emergency costs far more than a false alarm, so the rules
look for danger signals anywhere in a message, however long, and only stand one down when it is
framed as hypothetical, past or informational ("what should I do if...", "how do I prevent...",
"last week", a film) close to it (`FRAME_REACH`, in the same sentence) and nothing in that
sentence says "now". Every danger phrase counts: one that no framing reaches is an emergency.

The signals are data (`responses/emergency.yml`), read at the edge and handed in as an
`EmergencyRules` value built by `EmergencyRules.from_data`: three groups of phrase families,

    danger    what is seen, heard or smelt when life or health is at risk now; a family may
              require `with:` another signal anywhere in the message (a CO alarm with symptoms)
    now       "right now", "nu", "net", "still", "help!": it is happening, whatever the framing
    not_now   hypothetical, preventive, past, fiction, news: stands a danger down

each family a mapping of `en` and `nl` lists of regular expressions (case-insensitive), and an
optional `spelling` group: how a word is also written ("mijn: [mn, m'n]", "fire: [fier]"), read as
that word before matching, so the patterns need not spell out every typo and chat abbreviation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

GROUPS = ("danger", "now", "not_now")
SPELLING = "spelling"
LANGUAGES = ("en", "nl")
_FAMILY_KEYS = {*LANGUAGES, "with"}

# A sentence ends at . ! ? or a line break; run-on messages are one sentence.
_SENTENCE_END = re.compile(r"(?:[.!?]+|\n)(?=\s|$)")
# How far (characters, either side) a framing such as "last year" reaches from a danger phrase: a
# run-on message about the parking "always" being bad, with "the van is on fire" 80 words on,
# is an emergency.
FRAME_REACH = 100
_WORD_END = re.compile(r"\W")
_EMPTY_PROBES = ("", "zq", "zq zq.")  # a pattern that matches nothing in these can match anything
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'"})
_BLANKS = re.compile(r"[^\S\n]+")  # runs of spaces and tabs, not line breaks
_STRETCHED = re.compile(r"([^\W\d])\1{2,}")  # "fiiiire", "helppp": a letter three times or more
_ESCAPES = re.compile(r"\\.")
_UPPER = re.compile(r"[A-Z]")


class EmergencyRulesError(ValueError):
    """Rules that cannot be used: `entry` names where, e.g. ("danger", "fire", "en", 2)."""

    def __init__(self, entry: tuple[str | int, ...], message: str) -> None:
        self.entry = entry
        self.problem = message
        super().__init__(f"{self.where}: {message}" if entry else message)

    @property
    def where(self) -> str:
        out = ""
        for part in self.entry:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out


@dataclass(frozen=True, slots=True)
class Family:
    """One phrase family: its patterns in both languages as one expression."""

    group: str
    name: str
    pattern: re.Pattern[str]
    together_with: re.Pattern[str] | None = None  # must also occur somewhere in the message


@dataclass(frozen=True, slots=True)
class EmergencyRules:
    danger: tuple[Family, ...]
    now: tuple[Family, ...]
    not_now: tuple[Family, ...]
    spelling: Mapping[str, str] = field(default_factory=dict)  # variant (lower case) -> the word
    _variants: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_data(cls, data: Mapping[str, object]) -> EmergencyRules:
        """Compile the plain data of an emergency file (what is under `triage_emergency:`).
        Raises EmergencyRulesError naming the entry of any problem: nothing is silently left out."""
        if not isinstance(data, Mapping):
            raise EmergencyRulesError((), "expected a mapping with danger, now and not_now")
        unknown = sorted(str(k) for k in data if k not in (*GROUPS, SPELLING))
        if unknown:
            expected = ", ".join((*GROUPS, SPELLING))
            raise EmergencyRulesError((unknown[0],), f"unknown group; expected one of {expected}")
        groups = {group: tuple(_families(group, data.get(group))) for group in GROUPS}
        spelling = _spelling(data.get(SPELLING))
        words = "|".join(map(re.escape, sorted(spelling, key=len, reverse=True)))  # longest first
        variants = re.compile(rf"\b({words})\b") if spelling else None  # on lower-case text
        return cls(groups["danger"], groups["now"], groups["not_now"], spelling, variants)

    def normal(self, text: str) -> str:
        """The text as the patterns read it: in lower case (the patterns are compiled for it, so
        no case-insensitive matching is needed: twice as fast), typographic apostrophes as "'",
        runs of blanks as one space, stretched letters as one ("HELPPP"), and spelling variants
        as their word."""
        text = _STRETCHED.sub(r"\1", _BLANKS.sub(" ", text.lower().translate(_APOSTROPHES)))
        if self._variants is None:
            return text
        return self._variants.sub(lambda m: self.spelling[m.group(0)], text)

    @property
    def size(self) -> int:
        return sum(len(g) for g in (self.danger, self.now, self.not_now))


def _families(group: str, value: object) -> Iterator[Family]:
    if not isinstance(value, Mapping) or not value:
        raise EmergencyRulesError((group,), "must be a mapping of phrase families, and not empty")
    for name, spec in value.items():
        where: tuple[str | int, ...] = (group, str(name))
        if not isinstance(spec, Mapping):
            raise EmergencyRulesError(where, "a family maps en and nl to lists of patterns")
        unknown = sorted(str(k) for k in spec if k not in _FAMILY_KEYS)
        if unknown:
            keys = ", ".join(sorted(_FAMILY_KEYS))
            raise EmergencyRulesError((*where, unknown[0]), f"unknown key; expected {keys}")
        together = spec.get("with")
        if together is not None and group != "danger":
            raise EmergencyRulesError((*where, "with"), "only danger families can require another signal")
        yield Family(
            group,
            str(name),
            _compile(where, spec),
            _compile((*where, "with"), together) if together is not None else None,
        )


def _spelling(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise EmergencyRulesError((SPELLING,), "must map a word to the list of ways it is also written")
    out: dict[str, str] = {}
    for word, variants in value.items():
        if not isinstance(variants, list):
            raise EmergencyRulesError((SPELLING, str(word)), "must be a list of words")
        for i, variant in enumerate(variants):
            if not isinstance(variant, str) or not re.fullmatch(r"[\w'-]+", variant):
                raise EmergencyRulesError(
                    (SPELLING, str(word), i), f"a variant must be one word, not {variant!r}"
                )
            out[variant.lower()] = str(word)
    return out


def _compile(where: tuple[str | int, ...], spec: object) -> re.Pattern[str]:
    if not isinstance(spec, Mapping):
        raise EmergencyRulesError(where, "expected a mapping of en and nl to lists of patterns")
    parts: list[str] = []
    for language in LANGUAGES:
        patterns = spec.get(language) or []
        if not isinstance(patterns, list):
            raise EmergencyRulesError((*where, language), "must be a list of patterns")
        for i, pattern in enumerate(patterns):
            at = (*where, language, i)
            if not isinstance(pattern, str) or not pattern.strip():
                raise EmergencyRulesError(at, f"a pattern must be a non-empty text, not {pattern!r}")
            try:
                compiled = re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise EmergencyRulesError(at, f"not a valid regular expression ({exc}): {pattern}") from exc
            if any(m is not None and not m.group(0) for m in map(compiled.search, _EMPTY_PROBES)):
                raise EmergencyRulesError(at, f"can match an empty text, so it matches anything: {pattern}")
            parts.append(f"(?:{pattern})")
    if not parts:
        raise EmergencyRulesError(where, "has no patterns in en or nl")
    joined = "|".join(parts)
    # The text is matched in lower case (`EmergencyRules.normal`): a pattern with no upper-case
    # letter of its own (escapes such as \S aside) needs no case-insensitive matching.
    return re.compile(joined, re.IGNORECASE if _UPPER.search(_ESCAPES.sub("", joined)) else 0)


@dataclass(frozen=True, slots=True)
class EmergencySignal:
    is_emergency: bool
    danger: str | None  # the phrase that matched (citizen's words: never stored)
    reason: str  # the rule that decided (family and framing names only): stored with the decision


def detect_emergency(text: str, rules: EmergencyRules) -> EmergencySignal:
    """Decide from the wording alone whether the message describes an emergency happening now:
    a danger signal in a sentence that is not framed as hypothetical or past, or that says "now"."""
    text = rules.normal(text)
    stood_down: EmergencySignal | None = None
    for sentence in _sentences(text):
        for family in rules.danger:
            if family.together_with and not family.together_with.search(text):
                continue
            for match in family.pattern.finditer(sentence):
                phrase = match.group(0).strip()
                frame = _first(rules.not_now, sentence, *_reach(sentence, match))
                # The reason names the rule, never the citizen's words: it is stored with the
                # decision, and a pattern such as "accident .{0,80} trapped" spans their text.
                if frame is None:
                    return EmergencySignal(True, phrase, f"danger {family.name}")
                now = _first(rules.now, sentence)
                if now is not None:
                    reason = f"danger {family.name} ({frame.name}, but {now.name})"
                    return EmergencySignal(True, phrase, reason)
                stood_down = stood_down or EmergencySignal(
                    False, phrase, f"danger {family.name} stood down: {frame.name}"
                )
    return stood_down or EmergencySignal(False, None, "no danger signal")


def is_hypothetical(text: str, rules: EmergencyRules) -> bool:
    """True for framings like "what should I do if..." with no sign anywhere that it is happening
    now: the classifier's emergency intent is then a question about one, for a person."""
    text = rules.normal(text)
    return _first(rules.not_now, text) is not None and _first(rules.now, text) is None


def _first(families: tuple[Family, ...], text: str, start: int = 0, end: int | None = None) -> Family | None:
    """The first family with a match in text[start:end] (words cut at `start` are not matched)."""
    end = len(text) if end is None else end
    return next((f for f in families if f.pattern.search(text, start, end)), None)


def _reach(sentence: str, match: re.Match[str]) -> tuple[int, int]:
    """Where a framing must be to stand `match` down: FRAME_REACH either side, whole words."""
    start = max(0, match.start() - FRAME_REACH)
    word_end = _WORD_END.search(sentence, min(len(sentence), match.end() + FRAME_REACH))
    return start, word_end.start() if word_end else len(sentence)


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s.strip()]
