"""Turn a Decision into the messages a citizen receives, in their language, from library texts."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.conversation import Choice, Say, area_choices, feedback_choices
from bot.core.library import Library, fill
from bot.core.types import Action, Button, Decision, Language, Reply, ReplyKind

SMALLTALK_KEYS = {
    "greet": "utter_greet",
    "thanks": "utter_thanks",
    "goodbye": "utter_goodbye",
    "bot_challenge": "utter_bot_challenge",
}


@dataclass(frozen=True, slots=True)
class Contacts:
    """Organisation-specific values that fill the answers' placeholders (never invented)."""

    emergency_number: str = "112"
    non_emergency_number: str = ""
    municipality_url: str = ""
    municipality_phone: str = ""
    retention_days: int = 90

    def values(self) -> dict[str, object]:
        return {
            "emergency_number": self.emergency_number,
            "non_emergency_number": self.non_emergency_number or self.emergency_number,
            "municipality_url": self.municipality_url,
            "municipality_phone": self.municipality_phone,
            "retention_days": self.retention_days,
        }


# The organisation's values every text may use; a text's own context may add more ({role_name}).
ORGANISATION_PLACEHOLDERS = frozenset(Contacts().values())


def buttons(choices: tuple[Choice, ...], library: Library, language: Language) -> tuple[Button, ...]:
    return tuple(Button(library.text(c.label_key, language), c.press.data) for c in choices)


def say(said: Say, library: Library, language: Language, contacts: Contacts) -> Reply:
    """A text of the conversation (bot.core.conversation.Say) as the citizen receives it."""
    text = library.text(said.key, language, **{**contacts.values(), **said.values})
    return Reply(text, buttons=buttons(said.choices, library, language), kind=said.kind)


def render(
    decision: Decision,
    library: Library,
    contacts: Contacts,
    response_time: str,
    message_id: int | None = None,
    question_id: int | None = None,
) -> list[Reply]:
    """The replies for one decision about the citizen's message `message_id` (the "Did this
    help?" buttons refer to it) that opened `question_id`, if any. `response_time` is already
    phrased ("24 hours")."""
    lang = decision.language
    values = {**contacts.values(), "question_id": question_id or ""}
    if decision.action is Action.EMERGENCY:
        return [Reply(library.text("utter_emergency", lang, **values), kind=ReplyKind.EMERGENCY)]
    if decision.action is Action.SMALLTALK:
        key = SMALLTALK_KEYS.get(decision.intent or "", "utter_greet")
        return [Reply(library.text(key, lang, **values), kind=ReplyKind.SMALLTALK)]
    if decision.action is Action.ANSWER and decision.answer_intent:
        answer = fill(library.answer(decision.answer_intent, lang) or "", values)
        prompt = library.text("utter_feedback_prompt", lang, **values)
        choices = feedback_choices(message_id) if message_id is not None else ()
        return [
            Reply(answer, kind=ReplyKind.ANSWER),
            Reply(prompt, buttons=buttons(choices, library, lang), kind=ReplyKind.FEEDBACK),
        ]
    role_name = library.role(decision.role).name(lang)
    values |= {"role_name": role_name, "response_time": response_time}
    replies = [Reply(library.text("utter_routed", lang, **values), kind=ReplyKind.ACK)]
    if decision.ask_area:
        skip = area_choices(question_id) if question_id is not None else ()
        replies.append(
            Reply(
                library.text("utter_ask_area", lang, **values),
                buttons=buttons(skip, library, lang),
                kind=ReplyKind.ASK_AREA,
            )
        )
    return replies


def phrase_hours(hours: float, language: Language) -> str:
    """24 -> "24 hours" / "24 uur"; 72 -> "3 days" / "3 dagen"; 0.5 -> "30 minutes"."""
    nl = language is Language.NL
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return f"{minutes} {'minuten' if nl else 'minutes'}"
    if hours >= 48 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} {'dagen' if nl else 'days'}"
    whole = int(hours) if float(hours).is_integer() else hours
    unit = "uur" if nl else ("hour" if whole == 1 else "hours")
    return f"{whole} {unit}"
