"""A service's refusal as an HTTP error: English in the API's JSON, the page's language on the
console's error page (`console_part.error_page` shows `message`)."""

from __future__ import annotations

from fastapi import HTTPException

from bot.core.i18n import Msg, Refused


class RefusedHTTP(HTTPException):
    """`detail` is the refusal in English (`str(refused)`); `message` the text the page translates."""

    def __init__(self, status_code: int, refused: Refused) -> None:
        super().__init__(status_code, str(refused))
        self.message: Msg = refused.message
