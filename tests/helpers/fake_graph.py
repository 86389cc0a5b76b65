"""A local fake of the WhatsApp Cloud API's send endpoint, and signed webhook posts.

An HTTP server on 127.0.0.1 (random port, a thread) taking POST /<version>/<phone id>/messages
like Meta does: it checks the bearer token, records the body and answers a wamid. Failures can be
queued (status, Graph error body, headers). Point WHATSAPP_GRAPH_URL at `fake.url`.

`webhook_*` build the posts Meta sends (text, button reply, media, location, status), and
`sign` their X-Hub-Signature-256.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

PHONE_ID = "106540352242922"
TOKEN = "EAAG-fake-access-token"
APP_SECRET = "fake-app-secret-0123456789"
VERIFY_TOKEN = "verify-me-please"


class FakeGraph:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []  # bodies accepted, in order
        self.requests: list[dict[str, Any]] = []  # every body posted, refused ones too
        self._failures: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._ids = count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGraph:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(
        self, status: int, code: int, message: str = "", headers: dict[str, str] | None = None, times: int = 1
    ) -> None:
        """The next `times` sends are refused with this Graph error."""
        body = {
            "error": {
                "message": message or f"error {code}",
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": "AbCdEf",
            }
        }
        with self._lock:
            self._failures += [(status, body, headers or {})] * times

    def texts(self, to: str) -> list[str]:
        """What `to` received: texts, interactive bodies, template parameters."""
        return [text_of(body) for body in self.sent if body.get("to") == to]

    def last_id(self) -> str:
        return f"wamid.fake{next(self._ids) - 1}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith(f"/{PHONE_ID}/messages"):
                    return self._answer(404, {"error": {"message": "Unknown path", "code": 100}})
                with fake._lock:
                    fake.requests.append(body)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._answer(
                        401,
                        {
                            "error": {
                                "message": "Invalid OAuth access token.",
                                "type": "OAuthException",
                                "code": 190,
                            }
                        },
                    )
                with fake._lock:
                    failure = fake._failures.pop(0) if fake._failures else None
                    if failure is None:
                        wamid = f"wamid.fake{next(fake._ids)}"
                        fake.sent.append({**body, "_id": wamid, "_at": time.monotonic()})
                if failure is not None:
                    return self._answer(*failure)
                return self._answer(
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                        "messages": [{"id": wamid}],
                    },
                )

            def _answer(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def text_of(body: dict[str, Any]) -> str:
    kind = body.get("type")
    if kind == "text":
        return str(body["text"]["body"])
    if kind == "interactive":
        return str(body["interactive"]["body"]["text"])
    if kind == "template":
        return str(body["template"]["components"][0]["parameters"][0]["text"])
    return ""


def buttons_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    if body.get("type") != "interactive":
        return []
    return [(b["reply"]["title"], b["reply"]["id"]) for b in body["interactive"]["action"]["buttons"]]


# -- webhook posts ----------------------------------------------------------------------------------

_wamids = count(1000)


def sign(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}


def post(
    *,
    messages: list[dict[str, Any]] = (),
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    phone_id: str = PHONE_ID,
) -> bytes:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "31201234567", "phone_number_id": phone_id},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "A citizen"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return json.dumps(payload).encode()


def message(
    sender: str, kind: str, content: dict[str, Any], wamid: str | None = None, at: int | None = None
) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid or f"wamid.in{next(_wamids)}",
        "timestamp": str(at if at is not None else int(time.time())),
        "type": kind,
        kind: content,
    }


def text(sender: str, body: str, **kw: Any) -> dict[str, Any]:
    return message(sender, "text", {"body": body}, **kw)


def button_reply(sender: str, data: str, title: str = "Yes", **kw: Any) -> dict[str, Any]:
    return message(
        sender, "interactive", {"type": "button_reply", "button_reply": {"id": data, "title": title}}, **kw
    )


def status(
    wamid: str, state: str, recipient: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if errors:
        item["errors"] = errors
    return item
