"""The X channel against the real tweepy Client, its HTTP answered at the transport (`responses`).

Bodies follow the X API v2 shapes: GET /2/dm_events returns {"data": [...events newest first],
"meta": {"result_count", "next_token"?}}; POST /2/dm_conversations/with/:id/messages returns
{"data": {"dm_conversation_id", "dm_event_id"}}.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import responses
from responses import matchers

from bot.channels.x.client import XConnection, connect
from bot.channels.x.health import ChannelHealth
from bot.channels.x.settings import XSettings

API = "https://api.twitter.com"
DM_EVENTS = f"{API}/2/dm_events"
ME = f"{API}/2/users/me"
OWN_ID = "9000000001"
CITIZEN = "1234567890"
OTHER_CITIZEN = "1234567891"


def dm_send_url(participant: str) -> str:
    return f"{API}/2/dm_conversations/with/{participant}/messages"


def event(event_id: int, text: str, sender: str = CITIZEN, *, to: str = OWN_ID,
          created_at: str = "2026-03-01T10:00:00.000Z") -> dict[str, Any]:
    low, high = sorted((sender, to), key=int)
    return {"id": str(event_id), "event_type": "MessageCreate", "text": text, "sender_id": sender,
            "dm_conversation_id": f"{low}-{high}", "created_at": created_at}


def page(events: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(events)}
    if events:
        meta["newest_id"], meta["oldest_id"] = events[0]["id"], events[-1]["id"]
    if next_token:
        meta["next_token"] = next_token
    return {"data": events, "meta": meta} if events else {"meta": meta}


def add_page(mock: responses.RequestsMock, body: dict[str, Any], token: str | None = None,
             **kwargs: Any) -> responses.BaseResponse:
    params = {"pagination_token": token} if token else {}
    match = [matchers.query_param_matcher(params, strict_match=False)]
    if token is None:
        match.append(_no_token)
    return mock.add(responses.GET, DM_EVENTS, json=body, match=match, **kwargs)


def _no_token(request: Any) -> tuple[bool, str]:
    ok = "pagination_token=" not in (request.url or "")
    return ok, "" if ok else "has a pagination_token"


def add_me(mock: responses.RequestsMock, status: int = 200) -> None:
    body = {"data": {"id": OWN_ID, "name": "Team Veiligheid", "username": "veilig_test"}}
    if status != 200:
        body = {"title": "Unauthorized", "type": "about:blank", "status": status,
                "detail": "Unauthorized"}
    mock.add(responses.GET, ME, json=body, status=status)


def oauth1_settings(**overrides: Any) -> XSettings:
    values: dict[str, Any] = {"api_key": "ck", "api_secret": "cs", "access_token": f"{OWN_ID}-at",
                              "access_token_secret": "ats"} | overrides
    return XSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def conn() -> Iterator[XConnection]:
    connection = connect(oauth1_settings())
    yield connection
    connection.close()


@pytest.fixture
def board() -> dict[str, str]:
    return {}


@pytest.fixture
def health(board: dict[str, str]) -> ChannelHealth:
    return ChannelHealth(board)
