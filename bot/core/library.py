"""The answer library as the policy sees it: intents with their mode and role, approved answers,
the bot's own texts, roles and areas, and the emergency rules. Built by the storage layer;
immutable here.

`emergency` has no default on purpose: the rules come from `responses/emergency.yml`, which the
core never reads, and a library built without them would miss every emergency its classifier
misses. Whoever builds a Library (the service's `Knowledge`, the dry run, a test) must hand them
in, and mypy says so where one forgets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from bot.core.emergency import EmergencyRules
from bot.core.types import IntentSpec, Language, Mode, Role


@dataclass(frozen=True, slots=True)
class Area:
    slug: str
    name: str
    postcode_ranges: tuple[tuple[int, int], ...] = ()  # inclusive ranges of 4-digit postcodes

    def contains(self, postcode: int) -> bool:
        return any(lo <= postcode <= hi for lo, hi in self.postcode_ranges)


@dataclass(frozen=True)
class Library:
    intents: Mapping[str, IntentSpec]
    roles: Mapping[str, Role]
    default_role: str
    answers: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (intent, lang) approved
    texts: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (utter_key, lang)
    areas: tuple[Area, ...] = ()
    emergency: EmergencyRules = field(kw_only=True)

    @cached_property
    def owners(self) -> Mapping[str, str]:
        """Intent -> the role that owns it, for the intents a role answers or takes (not smalltalk
        or emergencies)."""
        return {name: spec.role for name, spec in self.intents.items()
                if spec.role and spec.mode in (Mode.ANSWER, Mode.ROUTE)}

    def spec(self, intent: str | None) -> IntentSpec | None:
        return self.intents.get(intent) if intent else None

    def mode(self, intent: str | None) -> Mode | None:
        spec = self.spec(intent)
        return spec.mode if spec else None

    def role(self, slug: str | None) -> Role:
        return (
            self.roles.get(slug or "")
            or self.roles.get(self.default_role)
            or Role(slug=self.default_role, names={})
        )

    def answer(self, intent: str, language: Language) -> str | None:
        return self.answers.get((intent, language.value))

    def text(self, key: str, language: Language, **values: object) -> str:
        """A system text in the language (English as fallback) with its placeholders filled."""
        template = self.texts.get((key, language.value)) or self.texts.get((key, "en")) or key
        return fill(template, values)


_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_BRACED = re.compile(r"\{([^{}\n]{1,40})\}")  # anything a writer may have meant as a placeholder


def unknown_placeholders(text: str, known: Iterable[str]) -> list[str]:
    """The "{...}" in `text` that would reach a citizen unfilled: misspelt, or not one of `known`
    ("{emergency_numbr}", "{ municipality_url }")."""
    allowed = set(known)
    return [name for name in _BRACED.findall(text) if name not in allowed]


def fill(template: str, values: Mapping[str, object]) -> str:
    """Fill {name} placeholders; unknown ones stay visible rather than raising mid-conversation."""
    return _PLACEHOLDER.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), template
    )


def unfill(text: str, values: Mapping[str, object]) -> str:
    """The reverse of `fill` for a text written with the values in it (a professional's sent
    reply): each value, as a whole word, becomes its placeholder again, so a library answer made
    from it follows the settings ("112" -> "{emergency_number}"). Numbers that are not phone
    numbers (a retention period) are left alone; the first name wins for a shared value."""
    names: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, str) and len(value.strip()) >= 3:
            names.setdefault(value.strip(), name)
    for value in sorted(names, key=len, reverse=True):
        text = re.sub(rf"(?<![\w/.]){re.escape(value)}(?![\w/])", "{" + names[value] + "}", text)
    return text
