"""`triage classify --jsonl`: the policy's decision for each line, writing nothing to the database.

Lines are read in batches so the model scores many texts per call (10,000 lines in a few seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO

from bot.app import Services, library_is_empty
from bot.core import text as textcheck
from bot.core.calendar import lenient
from bot.core.emergency import EmergencyRules
from bot.core.language import detect_language, parse_language
from bot.core.library import Library
from bot.core.policy import decide
from bot.core.replies import render
from bot.core.types import Action, IntentSpec, Language, Parse, Role
from bot.nlu.engine import SklearnEngine, train
from bot.nlu.rasa_format import LibraryFiles, read_library
from bot.service.models_registry import active_model
from bot.store.library_repo import load_library, training_data

BATCH = 512


def library_from_files(lib: LibraryFiles, emergency: EmergencyRules) -> Library:
    roles = {
        r.slug: Role(
            r.slug,
            {"en": r.name_en, "nl": r.name_nl},
            r.area_bound,
            r.response_hours,
            r.escalates_to,
            lenient(r.office_hours, r.time_zone, list(r.closed_days)),
        )
        for r in lib.roles.values()
    }
    intents = {i.name: IntentSpec(i.name, i.mode, i.role) for i in lib.intents.values()}
    texts = {(k, lang): t for k, by_lang in lib.responses.items() for lang, t in by_lang.items()}
    answers = {
        (k.removeprefix("utter_"), lang): t
        for (k, lang), t in texts.items()
        if k.removeprefix("utter_") in intents
    }
    return Library(intents, roles, lib.default_role, answers, texts, emergency=emergency)


def _load(services: Services) -> tuple[Library, SklearnEngine]:
    """The library and model in use, without writing: the files stand in for an empty database.
    The emergency rules are the service's own (settings.domain_dir/emergency.yml)."""
    emergency = services.triage.emergency
    if library_is_empty(services):
        files = read_library(services.settings.nlu_dir, services.settings.domain_dir)
        texts = [e.text for e in files.examples]
        labels = [e.intent for e in files.examples]
        return library_from_files(files, emergency), train(texts, labels).engine
    with services.sessions() as session:
        library = load_library(session, emergency)
        record = active_model(session)
        if record is not None:
            from pathlib import Path

            if Path(record.path).exists():
                return library, SklearnEngine.load(Path(record.path))
        texts, labels = training_data(session)
    return library, train(texts, labels).engine


def classify_stream(services: Services, lines: Iterable[str], sink: IO[str]) -> int:
    library, engine = _load(services)
    failures = 0
    batch: list[tuple[str, Language | None] | str] = []

    def flush() -> None:
        items = [b for b in batch if isinstance(b, tuple)]
        cleaned = [textcheck.classifiable(t, services.settings.max_message_chars) for t, _ in items]
        parses = iter(engine.parse_many([c or " " for c in cleaned]))
        clean_iter = iter(cleaned)
        for entry in batch:
            if isinstance(entry, str):
                sink.write(json.dumps({"error": entry}) + "\n")
                continue
            raw, language = entry
            parse = next(parses)
            text = next(clean_iter)
            sink.write(
                json.dumps(_decide(services, library, raw, text, language, parse), ensure_ascii=False) + "\n"
            )
        batch.clear()

    for line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
            lang = obj.get("language")
            language = parse_language(lang) if isinstance(lang, str) else None
            if lang is not None and language is None:
                raise ValueError(f"language must be en or nl, not {lang!r}")
            batch.append((obj["text"], language))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            failures += 1
            batch.append(str(exc))
        if len(batch) >= BATCH:
            flush()
    flush()
    sink.flush()
    return failures


def _decide(
    services: Services, library: Library, raw: str, text: str, language: Language | None, parse: Parse
) -> dict[str, object]:
    lang = language or detect_language(text)
    top = parse.top
    problem = textcheck.check(raw, library.emergency, services.settings.max_message_chars)
    if problem is not None:
        # Unusable text gets a short notice and no queue item, as in the service: smalltalk.
        key = textcheck.PROBLEM_TEXT_KEYS[problem]
        notice = library.text(key, lang, max_chars=services.settings.max_message_chars)
        return {
            "action": Action.SMALLTALK.value,
            "intent": None,
            "confidence": 0.0,
            "role": None,
            "language": lang.value,
            "reply": notice,
        }
    decision = decide(text, lang, parse, library, services.triage.thresholds)
    promised = services.triage.promise(library, decision.role)
    replies = render(decision, library, services.settings.contacts, promised.phrased(lang))
    return {
        "action": decision.action.value,
        "intent": top.name if top else None,
        "confidence": round(top.confidence, 4) if top else 0.0,
        "role": decision.role,
        "language": lang.value,
        "reply": "\n\n".join(r.text for r in replies),
    }
