"""A local fake of the Telegram Bot API, for driving the real python-telegram-bot against it.

An HTTP server on 127.0.0.1 (random port, a thread) implementing getMe, getUpdates (long polling
with offset confirmation, like Telegram), sendMessage, editMessageText, answerCallbackQuery,
leaveChat, setWebhook and deleteWebhook. Every call is recorded; failures (429 with retry_after,
403, 409, 5xx) can be queued per method. Point the library at it with `base_url=f"{fake.url}/bot"`.

What the real Bot API does and this fake models too:
- a text over 4,096 characters (or an empty one) is refused with 400;
- a callback query can be answered once, within its time: later (or after `expire_queries()`)
  `answerCallbackQuery` fails with 400 "query is too old and response timeout expired or query
  id is invalid";
- `allowed_updates` given to getUpdates or setWebhook is remembered, and updates of other types
  are never delivered;
- update ids may restart lower (after a week without updates): `push(..., update_id=7)`, and an
  offset above it confirms (drops) it, as Telegram does.

Two pollers: getUpdates answers 409 while a webhook is set, and a getUpdates arriving while
another waits ends the waiting one with 409 (counted in `poll_conflicts`); getWebhookInfo.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_ID = 7000001
TOKEN = f"{BOT_ID}:AAFakeTokenForTests_0123456789abcdefgh"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Triage",
    "username": "triage_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
STRING_PARAMS = {"text", "url", "secret_token", "callback_query_id", "parse_mode"}
MAX_TEXT = 4096
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query id is invalid"
QUERY_SECONDS = 15.0  # Telegram: answer a callback query within about 15 seconds
DEFAULT_ALLOWED = None  # None: every update type except chat_member and message_reaction*


class _Refused(Exception):
    """An API method's error answer (status and body), as Telegram sends it."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("description"))
        self.status, self.body = status, body


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class FakeTelegram:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._next_update = 500
        self._next_message = 1
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._failures: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        self._queries: dict[str, float] = {}  # open callback query id -> when it was made
        self.allowed_updates: list[str] | None = DEFAULT_ALLOWED
        self.left: list[int] = []  # chats the bot left
        self._cond = threading.Condition()
        self._polls = 0  # getUpdates requests so far; a newer one ends an older one still waiting
        self.poll_conflicts = 0  # getUpdates requests ended by another poller's (two pollers)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    token = TOKEN

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- what the tests do ---------------------------------------------------------------------

    def push(self, update: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        """Queue an update for getUpdates; returns it with its update_id."""
        with self._cond:
            if update_id is None:
                self._next_update += 1
                update_id = self._next_update
            full = {"update_id": update_id, **update}
            self._updates.append(full)
            self._cond.notify_all()
            return full

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        with self._cond:
            self._failures.setdefault(method, []).extend([(status, body)] * times)

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Delivered messages (sendMessage that succeeded), in order, optionally for one chat."""
        return [
            c.params
            for c in self.calls_to("sendMessage")
            if "_message_id" in c.params and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    def texts(self, chat_id: int) -> list[str]:
        return [p["text"] for p in self.sent(chat_id)]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        return self._messages[(chat_id, message_id)]

    def last_with_buttons(self, chat_id: int) -> dict[str, Any]:
        for params in reversed(self.sent(chat_id)):
            if params.get("reply_markup"):
                return self.message(chat_id, params["_message_id"])
        raise AssertionError(f"no message with buttons to {chat_id}")

    # -- update builders -----------------------------------------------------------------------

    @staticmethod
    def user(user_id: int, language: str | None = "en", name: str = "Sam") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
        if language:
            user["language_code"] = language
        return user

    def text(
        self,
        user_id: int,
        text: str,
        language: str | None = "en",
        reply_to: dict[str, Any] | None = None,
        chat: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        message = self._incoming(user_id, language, chat)
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"message": message}

    def location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        message = self._incoming(user_id, "en", None)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return {"message": message}

    def photo(self, user_id: int, language: str | None = "en", caption: str | None = None) -> dict[str, Any]:
        message = self._incoming(user_id, language, None)
        if caption is not None:
            message["caption"] = caption
        message["photo"] = [
            {
                "file_id": "AgAD",
                "file_unique_id": "u1",
                "width": 90,
                "height": 90,
                "file_size": 1000,
            }
        ]
        return {"message": message}

    def press(
        self, user_id: int, message: dict[str, Any], data: str | None, language: str | None = "en"
    ) -> dict[str, Any]:
        with self._cond:
            self._next_message += 1
            query_id = str(self._next_message * 7919)
            self._queries[query_id] = time.monotonic()
        query: dict[str, Any] = {
            "id": query_id,
            "from": self.user(user_id, language),
            "message": message,
            "chat_instance": f"ci{user_id}",
        }
        if data is not None:
            query["data"] = data
        return {"callback_query": query}

    def expire_queries(self) -> None:
        """Every open callback query is now too old to answer (as after a restart)."""
        with self._cond:
            self._queries.clear()

    def added_to_group(self, chat_id: int, by: int) -> dict[str, Any]:
        """A my_chat_member update: someone added the bot to a group."""
        return {
            "my_chat_member": {
                "chat": {"id": chat_id, "type": "group", "title": "Buurtgroep"},
                "from": self.user(by),
                "date": int(time.time()),
                "old_chat_member": {"user": BOT_USER, "status": "left"},
                "new_chat_member": {"user": BOT_USER, "status": "member"},
            }
        }

    def _incoming(self, user_id: int, language: str | None, chat: dict[str, Any] | None) -> dict[str, Any]:
        with self._cond:
            self._next_message += 1
            message_id = self._next_message
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat or {"id": user_id, "type": "private", "first_name": "Sam"},
            "from": self.user(user_id, language),
        }

    # -- the server ----------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                method = self.path.rsplit("/", 1)[-1]
                prefix = f"/bot{TOKEN}/"
                if not self.path.startswith(prefix):
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                params = fake._params(self.headers.get("Content-Type", ""), raw)
                status, body = fake._call(method, params)
                self._reply(status, body)

            do_GET = do_POST  # noqa: N815

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up polling
                    pass

        return Handler

    @staticmethod
    def _params(content_type: str, raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        if "json" in content_type:
            return dict(json.loads(raw))
        params: dict[str, Any] = {}
        for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
            value = values[-1]
            if key in STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._cond:
            call = Call(method, params)
            self.calls.append(call)
            queued = self._failures.get(method)
            if queued:
                return queued.pop(0)
        if method == "getUpdates" and self.webhook is not None:  # as Telegram does
            return 409, {
                "ok": False,
                "error_code": 409,
                "description": "Conflict: can't use getUpdates "
                "method while webhook is active; use deleteWebhook to delete the webhook first",
            }
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        refused = self._call_checked(method, params)
        if refused is not None:
            return refused
        try:
            return 200, {"ok": True, "result": handler(params, call)}
        except _Refused as refusal:
            return refusal.status, refusal.body

    def _api_getMe(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        return BOT_USER

    def _api_deleteWebhook(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        self.webhook = None
        return True

    def _api_setWebhook(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        self.webhook = params
        if params.get("allowed_updates") is not None:
            self.allowed_updates = list(params["allowed_updates"])
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        url = (self.webhook or {}).get("url", "")
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _api_getUpdates(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        offset = params.get("offset")
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        with self._cond:
            if params.get("allowed_updates") is not None:  # remembered until changed
                self.allowed_updates = list(params["allowed_updates"])
            self._polls += 1
            mine = self._polls
            self._cond.notify_all()  # an older long poll still waiting is ended, as Telegram does
            while True:
                if self._polls != mine:  # two pollers: Telegram answers the older request 409
                    self.poll_conflicts += 1
                    raise _Refused(
                        409,
                        {
                            "ok": False,
                            "error_code": 409,
                            "description": (
                                "Conflict: terminated by other getUpdates request; make sure that only one "
                                "bot instance is running"
                            ),
                        },
                    )
                if offset is not None:  # confirmed: Telegram forgets them
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = [u for u in self._updates if self._allowed(u)]
                if self._updates or time.monotonic() >= deadline:
                    return self._updates[: int(params.get("limit") or 100)]
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))

    def _allowed(self, update: dict[str, Any]) -> bool:
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates is None or not self.allowed_updates:
            return kind not in ("chat_member", "message_reaction", "message_reaction_count")
        return kind in self.allowed_updates

    @staticmethod
    def _text_problem(text: str) -> str | None:
        if not text.strip():
            return "Bad Request: message text is empty"
        if len(text) > MAX_TEXT:
            return "Bad Request: message is too long"
        return None

    def _call_checked(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The 400s the real API answers before doing anything."""
        problem = None
        if method in ("sendMessage", "editMessageText"):
            problem = self._text_problem(str(params.get("text", "")))
        elif method == "answerCallbackQuery":
            with self._cond:
                made = self._queries.pop(str(params.get("callback_query_id")), None)
            if made is None or time.monotonic() - made > QUERY_SECONDS:
                problem = QUERY_TOO_OLD
        if problem is None:
            return None
        return 400, {"ok": False, "error_code": 400, "description": problem}

    def _api_leaveChat(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        self.left.append(int(params["chat_id"]))
        return True

    def _api_sendMessage(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        chat_id = int(params["chat_id"])
        with self._cond:
            self._next_message += 1
            message_id = self._next_message
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "from": BOT_USER,
            "chat": {"id": chat_id, "type": "private", "first_name": "Sam"},
            "text": params["text"],
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        params["_message_id"] = message_id
        self._messages[(chat_id, message_id)] = message
        return message

    def _api_editMessageText(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = dict(
            self._messages.get(key)
            or {
                "message_id": key[1],
                "date": int(time.time()),
                "from": BOT_USER,
                "chat": {"id": key[0], "type": "private", "first_name": "Sam"},
            }
        )
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._messages[key] = message
        return message

    def _api_answerCallbackQuery(self, params: dict[str, Any], call: Call) -> Any:  # noqa: N802
        return True
