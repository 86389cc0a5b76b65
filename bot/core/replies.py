"""Turn a Decision into the messages a citizen receives, in their language, from library texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.calendar import Calendar, Promise
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

    def values(self, language: Language = Language.EN) -> dict[str, object]:
        """The placeholders' values. A municipality value the organisation has not set reads as
        a plain phrase in the text's language ("de website van je gemeente"), never as another
        organisation's number or an English phrase in a Dutch answer."""
        unset = UNSET_MUNICIPALITY[language]
        return {
            "emergency_number": self.emergency_number,
            "non_emergency_number": self.non_emergency_number or self.emergency_number,
            "municipality_url": self.municipality_url or unset["municipality_url"],
            "municipality_phone": self.municipality_phone or unset["municipality_phone"],
            "retention_days": self.retention_days,
        }

    def configured(self) -> dict[str, object]:
        """Only the values the organisation set: a sent reply's words become placeholders again
        (`bot.core.library.unfill`) only where they are a setting, never a stand-in phrase
        such as "your municipality"."""
        given: dict[str, object] = {
            "emergency_number": self.emergency_number,
            "non_emergency_number": self.non_emergency_number,
            "municipality_url": self.municipality_url,
            "municipality_phone": self.municipality_phone,
            "retention_days": self.retention_days,
        }
        return {name: value for name, value in given.items() if value != ""}


# What the answers say for MUNICIPALITY_URL and MUNICIPALITY_PHONE while they are not set
# ("via {municipality_url} or call {municipality_phone}").
UNSET_MUNICIPALITY = {
    Language.EN: {
        "municipality_url": "your municipality's website",
        "municipality_phone": "your municipality",
    },
    Language.NL: {"municipality_url": "de website van je gemeente", "municipality_phone": "je gemeente"},
}


# The organisation's values every text may use; a text's own context may add more ({role_name}).
ORGANISATION_PLACEHOLDERS = frozenset(Contacts().values())


def buttons(choices: tuple[Choice, ...], library: Library, language: Language) -> tuple[Button, ...]:
    return tuple(Button(library.text(c.label_key, language), c.press.data) for c in choices)


def say(said: Say, library: Library, language: Language, contacts: Contacts) -> Reply:
    """A text of the conversation (bot.core.conversation.Say) as the citizen receives it."""
    text = library.text(said.key, language, **{**contacts.values(language), **said.values})
    return Reply(text, buttons=buttons(said.choices, library, language), kind=said.kind)


@dataclass(frozen=True, slots=True)
class Expected:
    """What a routed reply promises, phrased: a duration for an always-staffed role ("8 hours"),
    the moment for a role with office hours ("Monday 12:00"), and, out of hours, when the team
    reads messages again."""

    response_time: str
    due: str | None = None
    opens: str | None = None


def expected(calendar: Calendar, made: Promise, now: datetime, hours: float, language: Language) -> Expected:
    """The promise `made` at `now` as the citizen reads it, in the role's time zone."""
    duration = phrase_hours(hours, language)
    if calendar.always:
        return Expected(duration)
    local_now = now.astimezone(calendar.tz)
    due = phrase_moment(made.due.astimezone(calendar.tz), local_now, language)
    opens = made.opens and phrase_moment(made.opens.astimezone(calendar.tz), local_now, language)
    return Expected(duration, due, opens or None)


def render(
    decision: Decision,
    library: Library,
    contacts: Contacts,
    response_time: str | Expected,
    message_id: int | None = None,
    question_id: int | None = None,
    for_admins: bool = False,
) -> list[Reply]:
    """The replies for one decision about the citizen's message `message_id` (the "Did this
    help?" buttons refer to it) that opened `question_id`, if any. `response_time` is already
    phrased ("24 hours"), or the whole promise of a role with office hours. `for_admins`: nobody
    is on duty on the role's whole escalation path, so the citizen is told "our team" (the
    admins answer) rather than a role nobody holds."""
    lang = decision.language
    values = {**contacts.values(lang), "question_id": question_id or ""}
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
    role_name = library.text("utter_our_team", lang) if for_admins else library.role(decision.role).name(lang)
    promised = response_time if isinstance(response_time, Expected) else Expected(response_time)
    values |= {"role_name": role_name, "response_time": promised.response_time}
    values |= {"due": promised.due or "", "opens": promised.opens or ""}
    key = "utter_routed"
    if promised.opens:  # out of hours: when the team reads again, and 112 for an emergency
        key = "utter_routed_outside_hours"
    elif promised.due:
        key = "utter_routed_by"
    replies = [Reply(library.text(key, lang, **values), kind=ReplyKind.ACK)]
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
    """24 -> "24 hours" / "24 uur"; 72 -> "3 days" / "3 dagen"; 0.5 -> "30 minutes"; 8.5 ->
    "8.5 hours" / "8,5 uur". A time left (95.8996) is rounded to the half hour first."""
    nl = language is Language.NL
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return f"{minutes} {'minuten' if nl else 'minutes'}"
    hours = round(hours * 2) / 2
    if hours >= 48 and hours % 24 == 0:
        days = int(hours // 24)
        return f"{days} {'dagen' if nl else 'days'}"
    number = f"{int(hours)}" if hours.is_integer() else f"{hours:.1f}"
    if nl:
        number = number.replace(".", ",")
    unit = "uur" if nl else ("hour" if hours == 1 else "hours")
    return f"{number} {unit}"


_WEEKDAYS = {
    Language.EN: ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    Language.NL: ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}
_MONTHS = {
    Language.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    Language.NL: (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
}
_NEAR = {Language.EN: ("today", "tomorrow"), Language.NL: ("vandaag", "morgen")}


def phrase_moment(moment: datetime, now: datetime, language: Language) -> str:
    """A moment as a citizen reads it, both in the same local zone: "today 16:30", "tomorrow
    09:30", "Monday 12:00" within the week, "Monday 14 December 12:00" beyond it (Dutch:
    "vandaag", "morgen", "maandag 12:00", "maandag 14 december 12:00")."""
    clock = moment.strftime("%H:%M")
    days = (moment.date() - now.date()).days
    if days in (0, 1):
        return f"{_NEAR[language][days]} {clock}"
    weekday = _WEEKDAYS[language][moment.weekday()]
    if days < 7:
        return f"{weekday} {clock}"
    return f"{weekday} {moment.day} {_MONTHS[language][moment.month - 1]} {clock}"
