"""The refusals the service layer words (in English, for logs, the CLI and Telegram) as the console
shows them: each known one matched here and translated like any console text.

`render` passes a page's `flash`, `error` and `message` through `known`; a refusal not listed
stays as the service wrote it.
"""

from __future__ import annotations

import re

from bot.web.i18n import Msg, msg

# (the service's wording as a pattern, the console's text with the pattern's groups as params)
KNOWN: tuple[tuple[re.Pattern[str], Msg], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"question (?P<id>\d+) does not exist", msg("Question %(id)s does not exist.")),
        (
            r"question (?P<id>\d+) is not for your roles or areas",
            msg("Question %(id)s is not for your roles or areas."),
        ),
        (
            r"only an admin can take over a colleague's question",
            msg("Only an admin can take over a colleague's question."),
        ),
        (
            r"question (?P<id>\d+) is not claimed by a colleague: nothing to take over",
            msg("Question %(id)s is not claimed by a colleague: there is nothing to take over."),
        ),
        (
            r"say why you take it over: the claimant reads it",
            msg("Say why you take it over: the claimant reads it."),
        ),
        (
            r"question (?P<id>\d+) changed hands meanwhile: reload and try again",
            msg("Question %(id)s changed hands meanwhile: reload the page and try again."),
        ),
        (r"(?P<name>.+) has claimed this question", msg("%(name)s has claimed this question.")),
        (r"the reply is empty", msg("The reply is empty.")),
        (r"the question is closed", msg("The question is closed.")),
        (r"the note is empty", msg("The note is empty.")),
        (
            r"unknown placeholder \{(?P<name>\w+)\}: the citizen would read it as it is",
            msg("Unknown placeholder {%(name)s}: the citizen would read it as it is."),
        ),
    )
)


def known(text: str) -> Msg | str:
    """The console's text for a refusal the service worded, or `text` itself when not listed."""
    for pattern, message in KNOWN:
        found = pattern.fullmatch(text.strip())
        if found:
            return Msg(message.msgid, found.groupdict())
    return text
