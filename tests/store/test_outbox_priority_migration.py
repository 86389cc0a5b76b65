"""Migration 0700_outbox_priority: emergency items written before it still go out first."""

import json

from sqlalchemy import text

from bot.store.db import make_engine, migrate


def test_emergency_items_are_backfilled_with_the_first_priority(db_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    migrate(engine, "0500_curation")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO citizens (id, channel, external_id, pending, unreachable, created_at,"
                " last_seen_at)"
                " VALUES (1, 'telegram', '42', 'none', false, '2026-01-01', '2026-01-01')"
            )
        )
        for item_id, kind in ((1, "answer"), (2, "emergency"), (3, "feedback")):
            conn.execute(
                text(
                    "INSERT INTO messages (id, citizen_id, direction, channel, text, kind, processed,"
                    " created_at)"
                    " VALUES (:i, 1, 'out', 'telegram', 'x', :k, true, '2026-01-01')"
                ),
                {"i": item_id, "k": kind},
            )
            conn.execute(
                text(
                    "INSERT INTO outbox (id, message_id, channel, recipient, payload, status, attempts,"
                    " next_attempt_at, created_at)"
                    " VALUES (:i, :i, 'telegram', '42', :p, 'pending', 0, '2026-01-01', '2026-01-01')"
                ),
                {"i": item_id, "p": json.dumps({"text": "x", "kind": kind, "buttons": []})},
            )
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, priority FROM outbox ORDER BY priority, id")).all()
    assert [tuple(r) for r in rows] == [(2, 0), (1, 1), (3, 1)]
    engine.dispose()
