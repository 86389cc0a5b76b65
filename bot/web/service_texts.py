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
        # The library and the team (bot.service.library_admin, answer_checks, routing_admin, users)
        (r"the answer is empty", msg("The answer is empty.")),
        (r"the example is empty", msg("The example is empty.")),
        (
            r"unknown placeholder \{(?P<name>\w+)\}: citizens would read it as it is\. "
            r"Use one of (?P<names>.+)",
            msg("Unknown placeholder {%(name)s}: citizens would read it as it is. Use one of %(names)s."),
        ),
        (
            r"version (?P<version>\d+) drops a required line: \u201c(?P<line>.+)\u201d\. Put it back, or "
            r"approve with the override if citizens really should no longer read it",
            msg(
                "Version %(version)s drops a required line: \u201c%(line)s\u201d. Put it back, or approve "
                "with the override if citizens really should no longer read it."
            ),
        ),
        (r"only drafts can be discarded", msg("Only drafts can be discarded.")),
        (r"this suggestion was already handled", msg("This suggestion was already handled.")),
        (
            r"reply to the question first, then suggest the reply",
            msg("Reply to the question first, then suggest the reply."),
        ),
        (
            r"intent '(?P<intent>\w+)' routes to a person; set its mode to answer first",
            msg("Intent '%(intent)s' routes to a person; set its mode to answer first."),
        ),
        (r"intent '(?P<intent>\w+)' already exists", msg("Intent '%(intent)s' already exists.")),
        (
            r"intent name: letters, digits and _ only",
            msg("Intent name: letters, digits and _ only."),
        ),
        (r"choose at least one question", msg("Choose at least one question.")),
        (
            r"choose or write the line the answer must keep",
            msg("Choose or write the line the answer must keep."),
        ),
        (
            r"nothing approved in this language yet: write a version first",
            msg("Nothing approved in this language yet: write a version first."),
        ),
        (
            r"a role needs an English and a Dutch display name",
            msg("A role needs an English and a Dutch display name."),
        ),
        (
            r"response-time promise: between 0 and 336 hours",
            msg("Response-time promise: between 0 and 336 hours."),
        ),
        (r"an area needs a name", msg("An area needs a name.")),
        (r"unknown role or area", msg("Unknown role or area.")),
        (
            r"you cannot remove your own admin rights or deactivate yourself",
            msg("You cannot remove your own admin rights or deactivate yourself."),
        ),
        (
            r"the local password of (?P<name>.+) stays on: no organisation account is linked, "
            r"so they could not sign in at all",
            msg(
                "The local password of %(name)s stays on: no organisation account is linked to their "
                "account, so they could not sign in at all."
            ),
        ),
        (
            r"password: at least (?P<chars>\d+) characters",
            msg("Password: at least %(chars)s characters."),
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
