"""A citizen's conversation with the bot: the prompt it has open, and every transition, here only.

Like h11's `_state.py`, this module holds every state and transition of the conversation and knows
nothing about storage or channels. The service loads the citizen's `Conversation`, calls `step`
with what came in (a text or a button press) and applies the `Step`'s effects; channels only
translate their platform's objects into `Text` and `Press` and the replies back out.

A prompt is a question the bot asked and waits for: "Did this help?" (feedback), "Shall I pass it
on?" (handoff), "Your postcode?" (area), "Which language?" (language), "Delete all your data?"
(forget). Each has a reference (`ref`): the citizen's answered message, the question the postcode
is for, or the message that asked for the prompt. Buttons carry `<kind>:<ref>:<choice>`, so a
press counts only for the prompt open now, for this citizen, and once: the transition closes it.

    prompt    input                                   effects                        next
    --------  --------------------------------------  -----------------------------  ---------
    any       an emergency signal in the text         classify                       (decision)
    any       /start, /help, an unknown /command      say welcome / help             unchanged
    any       /language nl|en                         set language, say so           unchanged
    any       /language (none or unknown)             say "which language?"          language
    area      /area <place>                           set area (+ question), say so  none
    any       /area <place>                           set area, say so               unchanged
    any       /area (none or unreadable)              say how to use /area           unchanged
    any       /forget                                 say "delete everything?"       forget
    any       /stop, "stop"                           say closed (or nothing open)   none
    none      "skip" or "stop" on its own             say nothing is open            none
    none      a lone "yes" or "nee"                   say nothing was asked          none
    none      any other text                          classify                       (decision)
    feedback  yes (typed, or fb:<ref>:yes)            record feedback, say thanks    none
    feedback  no  (typed, or fb:<ref>:no)             record feedback, offer person  handoff
    handoff   yes (typed, or ho:<ref>:yes)            open a question for <ref>      (hand-off)
    handoff   no, skip                                say declined                   none
    area      a postcode or neighbourhood             set area on the question       none
    area      skip, no (or ar:<ref>:skip)             say skipped                    none
    area      a lone yes                              say how to answer              area
    language  en / nl (or lg:<ref>:en|nl)             set language, say so           none
    language  yes                                     ask again                      language
    forget    yes (or fg:<ref>:yes)                   erase, say erased              none
    forget    no, skip (or fg:<ref>:no)               say kept                       none
    feedback, handoff, language: skip                 say closed                     none
    any       other text                              the prompt lapses; classify    (decision)
    any       a press for another prompt or twice     refused; nothing changes       unchanged

After a classified message, `after_decision` opens the next prompt: feedback after a library
answer, area after a route to an area-bound role whose area is unknown, none otherwise; after a
hand-off, `after_handoff` does the same for the question it opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.emergency import detect_emergency
from bot.core.library import Area, Library
from bot.core.readers import (
    Command,
    CommandName,
    YesNo,
    is_bare_closing,
    is_bare_yes_no,
    read_area,
    read_closing,
    read_command,
    read_language,
    read_yes_no,
)
from bot.core.types import Action, Decision, Language, ReplyKind


class Prompt(StrEnum):
    NONE = "none"
    FEEDBACK = "feedback"  # "Did this help?" after a library answer; ref: the answered message
    HANDOFF = "handoff"  # "Shall I pass it on?" after "no"; ref: the answered message
    AREA = "area"  # "Your postcode?" after a route to an area-bound role; ref: the question
    LANGUAGE = "language"  # "Which language?" after /language; ref: the /language message
    FORGET = "forget"  # "Delete all your data?" after /forget; ref: the /forget message


class ButtonKind(StrEnum):
    """The first part of a button's data: which prompt it answers."""

    FEEDBACK = "fb"
    HANDOFF = "ho"
    AREA = "ar"
    LANGUAGE = "lg"
    FORGET = "fg"


_PROMPT_OF = {
    ButtonKind.FEEDBACK: Prompt.FEEDBACK,
    ButtonKind.HANDOFF: Prompt.HANDOFF,
    ButtonKind.AREA: Prompt.AREA,
    ButtonKind.LANGUAGE: Prompt.LANGUAGE,
    ButtonKind.FORGET: Prompt.FORGET,
}
_CHOICES = {
    ButtonKind.FEEDBACK: ("yes", "no"),
    ButtonKind.HANDOFF: ("yes", "no"),
    ButtonKind.AREA: ("skip",),
    ButtonKind.LANGUAGE: ("en", "nl"),
    ButtonKind.FORGET: ("yes", "no"),
}


@dataclass(frozen=True, slots=True)
class Conversation:
    """The state: the prompt open now and what it refers to."""

    prompt: Prompt = Prompt.NONE
    ref: int | None = None

    @property
    def open(self) -> bool:
        return self.prompt is not Prompt.NONE and self.ref is not None


CLOSED = Conversation()


# -- inputs ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    """A message the citizen typed (stored as `message_id`)."""

    text: str
    message_id: int


@dataclass(frozen=True, slots=True)
class Press:
    """A button pressed: `<kind>:<ref>:<choice>`, as the channel got it back."""

    kind: ButtonKind
    ref: int
    choice: str

    @property
    def data(self) -> str:
        return f"{self.kind.value}:{self.ref}:{self.choice}"


MAX_REF = 2**31 - 1  # ids are 32-bit columns


def read_press(data: str) -> Press | None:
    """Button data as a `Press`, or None when it is not one of ours (or forged out of range)."""
    parts = data.split(":")
    if len(parts) != 3:
        return None
    try:
        kind = ButtonKind(parts[0])
        ref = int(parts[1])
    except ValueError:
        return None
    if not 0 < ref <= MAX_REF or parts[2] not in _CHOICES[kind]:
        return None
    return Press(kind, ref, parts[2])


# -- effects --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """A button the reply offers: its label is the library text `label_key`."""

    label_key: str
    press: Press


@dataclass(frozen=True, slots=True)
class Say:
    """Send the citizen the library text `key` (in the conversation's language)."""

    key: str
    choices: tuple[Choice, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)
    kind: ReplyKind = ReplyKind.NOTICE


@dataclass(frozen=True, slots=True)
class RecordFeedback:
    message_id: int
    helpful: bool


@dataclass(frozen=True, slots=True)
class HandOff:
    """Open a question for the answered message `message_id`; then `after_handoff`."""

    message_id: int


@dataclass(frozen=True, slots=True)
class SetArea:
    label: str
    area: str | None  # the area's slug when the place is one of ours
    question_id: int | None = None  # the question the postcode was asked for


@dataclass(frozen=True, slots=True)
class SetLanguage:
    language: Language


@dataclass(frozen=True, slots=True)
class Erase:
    """Delete everything about the citizen (the right to erasure)."""


@dataclass(frozen=True, slots=True)
class Classify:
    """The text is a new question: run the triage policy, then `after_decision`."""


Effect = Say | RecordFeedback | HandOff | SetArea | SetLanguage | Erase | Classify


@dataclass(frozen=True, slots=True)
class Step:
    state: Conversation
    effects: tuple[Effect, ...] = ()
    note: str = ""  # why, for the decision record ("feedback no", "command /area")
    refused: bool = False  # a press that does not count (stale, someone else's, twice)

    @property
    def classify(self) -> bool:
        return any(isinstance(e, Classify) for e in self.effects)

    @property
    def language(self) -> Language | None:
        """A language the step chose: the replies are in it."""
        return next((e.language for e in self.effects if isinstance(e, SetLanguage)), None)


# -- transitions ----------------------------------------------------------------------------------


def step(state: Conversation, event: Text | Press, library: Library) -> Step:
    """The next state and the effects of `event` in `state`; `library` gives the areas a
    postcode may name and the emergency rules. Pure."""
    if isinstance(event, Press):
        return _press(state, event)
    return _text(state, event, library)


def is_live(state: Conversation, press: Press) -> bool:
    """Whether `press` would count now: its prompt is the open one."""
    return state.open and _PROMPT_OF[press.kind] is state.prompt and state.ref == press.ref


def _press(state: Conversation, press: Press) -> Step:
    if not is_live(state, press):
        return Step(state, refused=True, note=f"stale button {press.data}")
    answer = {"yes": YesNo.YES, "no": YesNo.NO}.get(press.choice)
    if press.kind is ButtonKind.AREA:
        return _close(Prompt.AREA)
    if press.kind is ButtonKind.LANGUAGE:
        return _set_language(Language(press.choice), CLOSED, "language button")
    assert answer is not None
    return _answer(state, answer)


def _text(state: Conversation, event: Text, library: Library) -> Step:
    command = read_command(event.text)
    if command is None and not state.open:
        if is_bare_closing(event.text):
            return Step(CLOSED, (Say("utter_nothing_open"),), note="nothing open")
        if is_bare_yes_no(event.text):
            return Step(CLOSED, (Say("utter_nothing_asked"),), note="yes or no, nothing asked")
        return Step(CLOSED, (Classify(),))
    if command is not None:
        read = _command(state, command, event.message_id, library.areas)
    else:
        read = _answer_text(state, event.text, library.areas)
    if not read.classify and detect_emergency(event.text, library.emergency).is_emergency:
        return Step(CLOSED, (Classify(),), note="emergency while prompting")  # never an answer
    return read


def _answer_text(state: Conversation, text: str, areas: tuple[Area, ...]) -> Step:
    if state.prompt is Prompt.AREA:
        found = read_area(text, areas)
        if found is not None:
            label, area = found
            return _set_area(label, area, state.ref, CLOSED)
        if read_closing(text) is not None or read_yes_no(text) is YesNo.NO:
            return _close(Prompt.AREA)
        if is_bare_yes_no(text):  # "yes" to "your postcode? you may skip": ask how
            again = Say("utter_area_again", choices=area_choices(state.ref or 0))
            return Step(state, (again,), note="area asked again")
        return Step(CLOSED, (Classify(),), note="area prompt lapsed")
    if state.prompt is Prompt.LANGUAGE:
        language = read_language(text)
        if language is not None:
            return _set_language(language, CLOSED, "language chosen")
        if read_yes_no(text) is YesNo.YES:
            return Step(state, (_ask_language(state.ref or 0),), note="language asked again")
    else:
        answer = read_yes_no(text)
        if answer is not None:
            return _answer(state, answer)
    closing = read_closing(text)
    if closing is not None:
        return _close(state.prompt)
    return Step(CLOSED, (Classify(),), note=f"{state.prompt.value} prompt lapsed")


def _answer(state: Conversation, answer: YesNo) -> Step:
    """Yes or no to the open feedback, hand-off or forget prompt."""
    assert state.ref is not None
    yes = answer is YesNo.YES
    if state.prompt is Prompt.FEEDBACK:
        if yes:
            return Step(
                CLOSED, (RecordFeedback(state.ref, True), Say("utter_feedback_thanks")), note="feedback yes"
            )
        offer = Say(
            "utter_offer_handoff",
            choices=_yes_no(ButtonKind.HANDOFF, state.ref, "utter_button_handoff"),
            kind=ReplyKind.FEEDBACK,
        )
        return Step(
            Conversation(Prompt.HANDOFF, state.ref),
            (RecordFeedback(state.ref, False), offer),
            note="feedback no",
        )
    if state.prompt is Prompt.HANDOFF:
        if yes:
            return Step(CLOSED, (HandOff(state.ref),), note="handoff yes")
        return Step(CLOSED, (Say("utter_handoff_declined"),), note="handoff no")
    if state.prompt is Prompt.FORGET:
        if yes:
            return Step(CLOSED, (Erase(), Say("utter_forgotten")), note="forget yes")
        return Step(CLOSED, (Say("utter_forget_kept"),), note="forget no")
    return Step(CLOSED, (Classify(),), note=f"{state.prompt.value} prompt lapsed")


_CLOSED_KEYS = {
    Prompt.HANDOFF: "utter_handoff_declined",
    Prompt.AREA: "utter_area_skipped",
    Prompt.FORGET: "utter_forget_kept",
}


def _close(prompt: Prompt) -> Step:
    """The citizen skipped or stopped the prompt: close it and say so."""
    key = _CLOSED_KEYS.get(prompt, "utter_prompt_closed")
    return Step(CLOSED, (Say(key),), note=f"{prompt.value} prompt closed")


def _command(state: Conversation, command: Command, message_id: int, areas: tuple[Area, ...]) -> Step:
    note = f"command /{command.name.value}"
    if command.name is CommandName.START:
        return Step(state, (Say("utter_welcome"),), note=note)
    if command.name is CommandName.LANGUAGE:
        language = read_language(command.arg)
        if language is not None:
            return _set_language(language, state, note)
        return Step(Conversation(Prompt.LANGUAGE, message_id), (_ask_language(message_id),), note=note)
    if command.name is CommandName.AREA:
        found = read_area(command.arg, areas) if command.arg else None
        if found is None:
            key = "utter_area_unknown" if command.arg else "utter_area_usage"
            return Step(state, (Say(key),), note=note)
        label, area = found
        if state.prompt is Prompt.AREA:
            return _set_area(label, area, state.ref, CLOSED)
        return _set_area(label, area, None, state)
    if command.name is CommandName.FORGET:
        ask = Say(
            "utter_forget_confirm", choices=_yes_no(ButtonKind.FORGET, message_id, "utter_button_forget")
        )
        return Step(Conversation(Prompt.FORGET, message_id), (ask,), note=note)
    if command.name is CommandName.STOP:
        if state.open:
            return _close(state.prompt)
        return Step(CLOSED, (Say("utter_nothing_open"),), note=note)
    return Step(state, (Say("utter_help"),), note=note)  # /help and unknown commands


def _set_area(label: str, area: Area | None, question_id: int | None, then: Conversation) -> Step:
    return Step(
        then,
        (
            SetArea(label, area.slug if area else None, question_id),
            Say("utter_area_saved", values={"area": label}),
        ),
        note="area given",
    )


def _set_language(language: Language, then: Conversation, note: str) -> Step:
    return Step(then, (SetLanguage(language), Say("utter_language_set")), note=note)


def _ask_language(ref: int) -> Say:
    return Say(
        "utter_language_choose",
        choices=(
            Choice("utter_button_english", Press(ButtonKind.LANGUAGE, ref, "en")),
            Choice("utter_button_dutch", Press(ButtonKind.LANGUAGE, ref, "nl")),
        ),
    )


def _yes_no(kind: ButtonKind, ref: int, label_prefix: str) -> tuple[Choice, ...]:
    return (
        Choice(f"{label_prefix}_yes", Press(kind, ref, "yes")),
        Choice(f"{label_prefix}_no", Press(kind, ref, "no")),
    )


# -- after the triage policy ----------------------------------------------------------------------


def after_decision(decision: Decision, message_id: int, question_id: int | None) -> Conversation:
    """The prompt a decided message leaves open: feedback after a library answer, the area after a
    route that needs it, nothing otherwise."""
    if decision.action is Action.ANSWER:
        return Conversation(Prompt.FEEDBACK, message_id)
    if decision.action is Action.ROUTE and decision.ask_area and question_id is not None:
        return Conversation(Prompt.AREA, question_id)
    return CLOSED


def feedback_choices(message_id: int) -> tuple[Choice, ...]:
    """The "Did this help?" buttons under a library answer to `message_id`."""
    return _yes_no(ButtonKind.FEEDBACK, message_id, "utter_button_feedback")


def area_choices(question_id: int) -> tuple[Choice, ...]:
    """A "skip" button under "Your postcode?" for the question `question_id`."""
    return (Choice("utter_button_skip", Press(ButtonKind.AREA, question_id, "skip")),)
