"""Migration 0400_provenance: what was written before it loses the citizens' words it held."""

import json

from sqlalchemy import text

from bot.store.db import make_engine, migrate

WORDS = "my neighbour Quokka Jansen at Kerkstraat 12 keeps shouting"


def test_old_audit_entries_and_reasons_lose_the_text_and_old_examples_find_their_message(db_url) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    migrate(engine, "0004")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO intents (name, mode) VALUES ('noise_nuisance', 'route')"))
        conn.execute(
            text(
                "INSERT INTO citizens (id, channel, external_id, pending, unreachable, created_at, last_seen_at)"
                " VALUES (1, 'api', 'anna', 'none', false, '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messages (id, citizen_id, direction, channel, text, kind, processed, created_at)"
                " VALUES (7, 1, 'in', 'api', :t, 'text', true, '2026-01-01')"
            ),
            {"t": WORDS},
        )
        conn.execute(
            text(
                "INSERT INTO training_examples (intent, language, text, created_at)"
                " VALUES ('noise_nuisance', 'en', :t, '2026-01-01')"
            ),
            {"t": WORDS},
        )
        conn.execute(
            text(
                "INSERT INTO audit_log (actor, action, target, detail, created_at)"
                " VALUES ('ada', 'example.add', 'intent:noise_nuisance', :d, '2026-01-01')"
            ),
            {"d": json.dumps({"text": WORDS, "language": "en"})},
        )
        reasons = ["danger violence 'quokka jansen at kerkstraat 12 keeps shouting' (past, but now)"]
        conn.execute(
            text(
                "INSERT INTO decisions (message_id, engine, model_version, action, confidence, language,"
                " ranking, threshold, ambiguity_threshold, reasons, created_at)"
                " VALUES (7, 'sklearn', 'v', 'emergency', 1.0, 'en', '[]', 0.5, 0.1, :r, '2026-01-01')"
            ),
            {"r": json.dumps(reasons)},
        )
    migrate(engine)
    with engine.connect() as conn:
        detail = conn.execute(text("SELECT detail FROM audit_log")).scalar_one()
        stored = conn.execute(text("SELECT reasons FROM decisions")).scalar_one()
        source = conn.execute(text("SELECT source_message_id FROM training_examples")).scalar_one()
    detail = json.loads(detail) if isinstance(detail, str) else detail
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert detail == {"language": "en"}
    assert stored == ["danger violence (past, but now)"]
    assert source == 7  # erasing message 7 now removes the example too
    engine.dispose()
