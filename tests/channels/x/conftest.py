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
          created_at: str = "2026-03-01T10:00:00.000Z", **fields: Any) -> dict[str, Any]:
    """A MessageCreate event; `fields` adds others, e.g. attachments={"media_keys": [...]} or
    referenced_tweets=[{"id": ...}] (X API v2 dm_event.fields)."""
    low, high = sorted((sender, to), key=int)
    return {"id": str(event_id), "event_type": "MessageCreate", "text": text, "sender_id": sender,
            "dm_conversation_id": f"{low}-{high}", "created_at": created_at, **fields}


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


# X API v2 error bodies, as X documents them: RFC 7807 problems whose `type` is one of X's
# problem types (the OpenAPI spec's Problem discriminator), with that type's own fields. The
# `detail` texts of the recipient problems are illustrative; the classification reads the type,
# the resource fields and the v1.1 codes first.
CLIENT_FORBIDDEN = {
    "client_id": "27490123",
    "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and "
    "tokens from a Twitter developer App that is attached to a Project. You can create a project "
    "via the developer portal.",
    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
    "title": "Client Forbidden",
    "required_enrollment": "Appropriate Level of API Access",
    "reason": "client-not-enrolled",
    "type": "https://api.twitter.com/2/problems/client-forbidden",
}
UNSUPPORTED_AUTH = {
    "title": "Unsupported Authentication",
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
    "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
}
GENERIC_FORBIDDEN = {"title": "Forbidden", "type": "about:blank", "status": 403, "detail": "Forbidden"}
GENERIC_NOT_FOUND = {"title": "Not Found", "type": "about:blank", "status": 404, "detail": "Not Found"}


def recipient_refused(participant: str) -> dict[str, Any]:
    """403 not-authorized-for-resource (ResourceUnauthorizedProblem) about the participant."""
    return {
        "title": "Authorization Error",
        "detail": "You are not permitted to send a message to this user.",
        "type": "https://api.x.com/2/problems/not-authorized-for-resource",
        "status": 403,
        "parameter": "participant_id",
        "resource_id": participant,
        "resource_type": "user",
        "section": "data",
        "value": participant,
    }


def user_not_found(participant: str) -> dict[str, Any]:
    """404 resource-not-found (ResourceNotFoundProblem): the account is gone."""
    return {
        "title": "Not Found Error",
        "detail": f"Could not find user with participant_id: [{participant}].",
        "type": "https://api.x.com/2/problems/resource-not-found",
        "status": 404,
        "parameter": "participant_id",
        "resource_id": participant,
        "resource_type": "user",
        "value": participant,
    }
