"""Channels that let us write freely only for a while after the citizen's last message.

WhatsApp's customer-service window: a free-form message may go out only within 24 hours of the
citizen's last message (or button press); later only an approved template message may. A channel
with such a window registers a `ReplyWindow` in `Services.reply_windows` when it starts; the one
way a professional answers (`bot.service.professional.answer_in`) asks `check` first, so a reply
that cannot arrive is refused at once, with the citizen's other options, instead of failing in
the outbox later. The console shows `state` on each question of such a channel.

The window runs from `Citizen.last_seen_at`: set when a message of theirs is decided or a button of
theirs counts, a moment after the channel received it, never before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.i18n import Msg, msg
from bot.core.types import Language, ReplyKind
from bot.service.queue import QueueError
from bot.store import models as m


class OutsideReplyWindow(QueueError):
    """A reply the channel would refuse: its window has closed and no template can carry it."""


@dataclass(frozen=True, slots=True)
class ReplyWindow:
    label: str  # the channel as professionals know it: "WhatsApp"
    hours: float = 24.0
    templates: Mapping[str, str] = field(default_factory=dict)  # language -> approved template name
    template_max_chars: int = 900  # the template's body holds the reply as one parameter

    def template(self, language: Language | str) -> str | None:
        return self.templates.get(str(language)) or None


@dataclass(frozen=True, slots=True)
class WindowState:
    """A citizen's window on a channel, as the console shows it."""

    label: str
    ends_at: datetime
    open: bool
    template: str | None  # what a later reply goes out as; None: it cannot go out


def state_of(
    windows: Mapping[str, ReplyWindow],
    citizen: m.Citizen,
    language: Language | str,
    now: datetime | None = None,
) -> WindowState | None:
    """The citizen's window, or None on a channel without one."""
    window = windows.get(citizen.channel)
    if window is None:
        return None
    now = now or datetime.now(UTC)
    ends = citizen.last_seen_at + timedelta(hours=window.hours)
    return WindowState(window.label, ends, now < ends, window.template(language))


def check(
    windows: Mapping[str, ReplyWindow],
    citizen: m.Citizen,
    language: Language | str,
    text: str,
    kind: ReplyKind = ReplyKind.PROFESSIONAL,
    now: datetime | None = None,
) -> WindowState | None:
    """Raise `OutsideReplyWindow` when a professional's `text` cannot reach the citizen: the
    window has closed and there is no template for the language (or the text is too long for
    it). The message names the citizen's other options."""
    state = state_of(windows, citizen, language, now)
    if state is None or state.open:
        return state
    window = windows[citizen.channel]
    closed = state.ends_at.strftime("%d %b %Y %H:%M UTC")
    if kind is not ReplyKind.PROFESSIONAL or state.template is None:
        raise OutsideReplyWindow(
            msg(
                "This reply cannot be delivered on %(channel)s after %(hours)s h: the citizen last wrote "
                "more than %(hours)s hours ago (the window closed %(closed)s) and no %(channel)s template "
                "is configured for this language. Other options: %(options)s.",
                channel=window.label,
                hours=f"{window.hours:g}",
                closed=closed,
                options=_options(citizen, window),
            )
        )
    if len(text) > window.template_max_chars:
        raise OutsideReplyWindow(
            msg(
                "The citizen last wrote more than %(hours)s hours ago, so %(channel)s only takes this "
                "reply as the template '%(template)s', which holds at most %(max)s characters (%(now)s "
                "now). Shorten the reply, or: %(options)s.",
                hours=f"{window.hours:g}",
                channel=window.label,
                template=state.template,
                max=window.template_max_chars,
                now=len(text),
                options=_options(citizen, window),
            )
        )
    return state


def _options(citizen: m.Citizen, window: ReplyWindow) -> Msg:
    number = citizen.external_id if citizen.external_id.isdigit() else None
    hours = f"{window.hours:g}"
    if number:
        return msg(
            "call them on +%(number)s, add a note and close the question, or wait: when the citizen "
            "writes again, %(channel)s lets you reply for another %(hours)s hours",
            number=number,
            channel=window.label,
            hours=hours,
        )
    return msg(
        "add a note and close the question, or wait: when the citizen writes again, %(channel)s "
        "lets you reply for another %(hours)s hours",
        channel=window.label,
        hours=hours,
    )
