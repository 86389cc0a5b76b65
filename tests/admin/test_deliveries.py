"""Replies in doubt (`/admin/deliveries`, `bot.service.deliveries`): an admin sees the replies the
outbox could not deliver for sure and settles each once: send again, or confirm an `unknown` one
arrived. On SQLite and PostgreSQL."""

import time

from sqlalchemy import select

from bot.core.types import Channel, InboundMessage
from bot.store import models as m
from tests.web.conftest import csrf_of, login, make_user

HOSTILE = "<script>alert(1)</script> is your smoke alarm beeping?"


def _reply_item(services, status: str, text: str = "Did this help?") -> int:  # type: ignore[no-untyped-def]
    result = services.triage.handle(InboundMessage(Channel.API, "c-doubt", "my smoke alarm keeps beeping"))
    with services.sessions.begin() as s:
        item = s.scalars(select(m.OutboxItem).where(m.OutboxItem.message_id == result.reply_ids[0])).one()
        item.status, item.last_error, item.attempts = status, "dispatcher stopped mid-send; not resent", 1
        item.payload = {**item.payload, "text": text}
        return item.id


def _item(services, item_id: int) -> m.OutboxItem:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return s.get(m.OutboxItem, item_id)


def _delivered(services, item_id: int) -> m.OutboxItem:  # type: ignore[no-untyped-def]
    """The item once the app's dispatcher has had up to 10 s to send it."""
    deadline = time.monotonic() + 10
    while _item(services, item_id).status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    return _item(services, item_id)


def _audit(services) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with services.sessions() as s:
        return [(a.action, a.target) for a in s.scalars(select(m.AuditLog).where(
            m.AuditLog.action.like("outbox.%")).order_by(m.AuditLog.id))]


def test_an_unknown_reply_is_listed_escaped_and_sent_again_once(services, app_client) -> None:  # type: ignore[no-untyped-def]
    item_id = _reply_item(services, "unknown", HOSTILE)
    make_user(services, "ada", admin=True)
    login(app_client, "ada")
    page = app_client.get("/admin/deliveries")
    assert page.status_code == 200 and f'id="delivery-{item_id}"' in page.text
    assert "may have arrived" in page.text and "<script>alert(1)" not in page.text
    assert "&lt;script&gt;" in page.text
    done = app_client.post(f"/admin/deliveries/{item_id}/resend",
                           data={"csrf_token": csrf_of(page.text)}, follow_redirects=True)
    assert "Queued to be sent again." in done.text and f'id="delivery-{item_id}"' not in done.text
    # the app's dispatcher, woken by the press, delivers it once (an API citizen reads it in-app)
    item = _delivered(services, item_id)
    assert (item.status, item.attempts) == ("sent", 1)
    again = app_client.post(f"/admin/deliveries/{item_id}/resend",
                            data={"csrf_token": csrf_of(done.text)})
    assert again.status_code == 409 and "not waiting to be settled" in again.text
    assert _item(services, item_id).status == "sent"
    assert _audit(services) == [("outbox.resend", f"outbox:{item_id}")]


def test_confirming_an_unknown_reply_records_it_sent_and_never_sends_it(services, app_client) -> None:  # type: ignore[no-untyped-def]
    unknown = _reply_item(services, "unknown")
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    r = app_client.post(f"/admin/deliveries/{unknown}/confirm", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/admin/deliveries?done=confirmed"
    item = _item(services, unknown)
    assert item.status == "sent" and item.sent_at is not None and "ada" in item.last_error
    assert _audit(services) == [("outbox.confirm", f"outbox:{unknown}")]
    assert "Nothing in doubt" in app_client.get("/admin/deliveries").text


def test_a_failed_reply_can_be_sent_again_but_not_confirmed(services, app_client) -> None:  # type: ignore[no-untyped-def]
    failed = _reply_item(services, "failed")
    make_user(services, "ada", admin=True)
    csrf = login(app_client, "ada")
    page = app_client.get("/admin/deliveries")
    assert "not delivered" in page.text and f'id="confirm-{failed}"' not in page.text
    r = app_client.post(f"/admin/deliveries/{failed}/confirm", data={"csrf_token": csrf})
    assert r.status_code == 409 and _item(services, failed).status == "failed"
    r = app_client.post(f"/admin/deliveries/{failed}/resend", data={"csrf_token": csrf},
                        follow_redirects=False)
    assert r.status_code == 303 and _delivered(services, failed).status == "sent"


def test_professionals_cannot_settle_deliveries(services, app_client) -> None:  # type: ignore[no-untyped-def]
    item_id = _reply_item(services, "unknown")
    make_user(services, "piet", roles="community_police_officer")
    csrf = login(app_client, "piet")
    assert app_client.get("/admin/deliveries").status_code == 403
    r = app_client.post(f"/admin/deliveries/{item_id}/resend", data={"csrf_token": csrf})
    assert r.status_code == 403 and _item(services, item_id).status == "unknown"
