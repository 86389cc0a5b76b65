"""Turn a Decision into the messages a citizen receives, in their language, from library texts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.library import Library, fill
from bot.core.types import Action, Button, Decision, Language, Reply

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


def feedback_buttons(language: Language, token: str, library: Library) -> tuple[Button, ...]:
    yes, no = ("Ja", "Nee") if language is Language.NL else ("Yes", "No")
    return (Button(f"👍 {yes}", f"fb:{token}:yes"), Button(f"👎 {no}", f"fb:{token}:no"))


def handoff_buttons(language: Language, token: str) -> tuple[Button, ...]:
    if language is Language.NL:
        return (Button("Ja, graag", f"ho:{token}:yes"), Button("Nee, bedankt", f"ho:{token}:no"))
    return (Button("Yes, please", f"ho:{token}:yes"), Button("No, thanks", f"ho:{token}:no"))


def render(
    decision: Decision,
    library: Library,
    contacts: Contacts,
    response_time: str,
    feedback_token: str = "",
    extra: Mapping[str, object] | None = None,
) -> list[Reply]:
    """The replies for one decision. `response_time` is already phrased ("24 hours")."""
    lang = decision.language
    values = {**contacts.values(), **(extra or {})}
    if decision.action is Action.EMERGENCY:
        return [Reply(library.text("utter_emergency", lang, **values), kind="emergency")]
    if decision.action is Action.SMALLTALK:
        key = SMALLTALK_KEYS.get(decision.intent or "", "utter_greet")
        return [Reply(library.text(key, lang, **values), kind="smalltalk")]
    if decision.action is Action.ANSWER and decision.answer_intent:
        answer = fill(library.answer(decision.answer_intent, lang) or "", values)
        prompt = library.text("utter_feedback_prompt", lang, **values)
        return [
            Reply(answer, kind="answer"),
            Reply(prompt, buttons=feedback_buttons(lang, feedback_token, library), kind="feedback"),
        ]
    role_name = library.role(decision.role).name(lang)
    values |= {"role_name": role_name, "response_time": response_time}
    replies = [Reply(library.text("utter_routed", lang, **values), kind="ack")]
    if decision.ask_area:
        replies.append(Reply(library.text("utter_ask_area", lang, **values), kind="ask_area"))
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
