"""The answer library in the database: import from / export to Rasa files, and the policy's view.

Functions take a session and never commit: the caller frames the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.core.calendar import lenient
from bot.core.emergency import EmergencyRules
from bot.core.language import detect_language
from bot.core.library import Area as AreaValue
from bot.core.library import Library
from bot.core.types import IntentSpec, Mode
from bot.core.types import Role as RoleValue
from bot.nlu.rasa_format import Example, IntentData, LibraryFiles, RoleData
from bot.store import models as m


def replace_library(session: Session, lib: LibraryFiles, actor: str = "import") -> dict[str, int]:
    """Replace the whole library with `lib`. Questions, messages and users are untouched."""
    default_role = lib.default_role
    roles = dict(lib.roles)
    if default_role not in roles:
        roles[default_role] = RoleData(default_role, default_role.replace("_", " "), default_role)
    session.execute(delete(m.TrainingExample))
    session.execute(delete(m.Answer))
    session.execute(delete(m.Intent))
    existing_roles = {r.slug: r for r in session.scalars(select(m.Role))}
    for slug, data in roles.items():
        row = existing_roles.get(slug) or m.Role(slug=slug)
        row.name_en, row.name_nl = data.name_en, data.name_nl
        row.area_bound, row.response_hours = data.area_bound, data.response_hours
        row.escalates_to = data.escalates_to if data.escalates_to in roles else None
        row.staffed_hours, row.time_zone = data.office_hours, data.time_zone
        row.closed_days = ",".join(data.closed_days) or None
        session.add(row)
    session.flush()
    for intent in lib.intents.values():
        role = intent.role if intent.role in roles else None
        session.add(m.Intent(name=intent.name, mode=intent.mode.value, role=role, extra=intent.extra))
    session.flush()
    seen: set[tuple[str, str, str]] = set()
    count = 0
    for ex in lib.examples:
        language = ex.language or detect_language(ex.text).value
        identity = (ex.intent, language, ex.text)
        if identity in seen:
            continue
        seen.add(identity)
        session.add(
            m.TrainingExample(intent=ex.intent, language=language, text=ex.text, source_file=ex.source_file)
        )
        count += 1
    now = datetime.now(UTC)
    answers = 0
    for key, texts in lib.responses.items():
        for language, text in texts.items():
            session.add(
                m.Answer(
                    key=key,
                    language=language,
                    version=1,
                    text=text,
                    status="approved",
                    author=actor,
                    approved_by=actor,
                    approved_at=now,
                    source_file=lib.response_files.get(key),
                )
            )
            answers += 1
    set_state(session, "library.default_role", default_role)
    set_state(session, "library.domain_extra", _json(lib.domain_extra))
    bump_library_version(session)
    return {"intents": len(lib.intents), "examples": count, "responses": answers, "roles": len(roles)}


def export_library(session: Session) -> LibraryFiles:
    lib = LibraryFiles()
    lib.default_role = get_state(session, "library.default_role") or "public_order_officer"
    lib.domain_extra = _unjson(get_state(session, "library.domain_extra")) or {}
    for r in session.scalars(select(m.Role).order_by(m.Role.slug)):
        lib.roles[r.slug] = RoleData(
            r.slug,
            r.name_en,
            r.name_nl,
            r.area_bound,
            r.response_hours,
            r.escalates_to,
            r.staffed_hours,
            r.time_zone,
            tuple(d for d in (r.closed_days or "").split(",") if d),
        )
    for i in session.scalars(select(m.Intent)):
        lib.intents[i.name] = IntentData(i.name, Mode(i.mode), i.role, i.extra)
    for ex in session.scalars(select(m.TrainingExample).order_by(m.TrainingExample.id)):
        lib.examples.append(Example(ex.intent, ex.language, ex.text, ex.source_file))
    for a in approved_answers(session):
        lib.responses.setdefault(a.key, {})[a.language] = a.text
        if a.source_file:
            lib.response_files[a.key] = a.source_file
    return lib


def approved_answers(session: Session) -> list[m.Answer]:
    """The latest approved version of every (key, language)."""
    latest = (
        select(m.Answer.key, m.Answer.language, func.max(m.Answer.version).label("version"))
        .where(m.Answer.status == "approved")
        .group_by(m.Answer.key, m.Answer.language)
        .subquery()
    )
    stmt = (
        select(m.Answer)
        .join(
            latest,
            (m.Answer.key == latest.c.key)
            & (m.Answer.language == latest.c.language)
            & (m.Answer.version == latest.c.version),
        )
        .order_by(m.Answer.key, m.Answer.language)
    )
    return list(session.scalars(stmt))


def load_library(
    session: Session,
    emergency: EmergencyRules,
    default_role: str | None = None,
    fallback_texts: dict[tuple[str, str], str] | None = None,
) -> Library:
    """The policy's immutable view of the library (approved answers only), with the emergency
    rules the caller read; `fallback_texts` fill in system texts the imported library lacks."""
    roles = {r.slug: role_value(r) for r in session.scalars(select(m.Role))}
    intents = {i.name: IntentSpec(i.name, Mode(i.mode), i.role) for i in session.scalars(select(m.Intent))}
    answers: dict[tuple[str, str], str] = {}
    texts: dict[tuple[str, str], str] = dict(fallback_texts or {})
    for a in approved_answers(session):
        texts[(a.key, a.language)] = a.text
        intent = a.key.removeprefix("utter_")
        spec = intents.get(intent)
        if spec is not None and spec.mode is Mode.ANSWER:
            answers[(intent, a.language)] = a.text
    areas = tuple(
        AreaValue(a.slug, a.name, parse_ranges(a.postcode_ranges))
        for a in session.scalars(select(m.Area).order_by(m.Area.slug))
    )
    role = default_role or get_state(session, "library.default_role") or "public_order_officer"
    return Library(
        intents=intents,
        roles=roles,
        default_role=role,
        answers=answers,
        texts=texts,
        areas=areas,
        emergency=emergency,
    )


def role_value(r: m.Role) -> RoleValue:
    """A role row as the core sees it, its calendar parsed once (the library is cached per
    version, so a message never parses office hours)."""
    return RoleValue(
        r.slug,
        {"en": r.name_en, "nl": r.name_nl},
        r.area_bound,
        r.response_hours,
        r.escalates_to,
        lenient(r.staffed_hours, r.time_zone, r.closed_days),
    )


def training_data(session: Session) -> tuple[list[str], list[str]]:
    rows = session.execute(
        select(m.TrainingExample.text, m.TrainingExample.intent).order_by(m.TrainingExample.id)
    ).all()
    return [r[0] for r in rows], [r[1] for r in rows]


def parse_ranges(spec: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.append((int(lo), int(hi or lo)))
    return tuple(out)


def get_state(session: Session, key: str) -> str | None:
    row = session.get(m.ChannelState, key)
    return row.value if row else None


def set_state(session: Session, key: str, value: str) -> None:
    row = session.get(m.ChannelState, key)
    if row is None:
        session.add(m.ChannelState(key=key, value=value, updated_at=datetime.now(UTC)))
    else:
        row.value, row.updated_at = value, datetime.now(UTC)


def library_version(session: Session) -> int:
    return int(get_state(session, "library.version") or 0)


def bump_library_version(session: Session) -> None:
    set_state(session, "library.version", str(library_version(session) + 1))


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def _unjson(value: str | None) -> dict | None:  # type: ignore[type-arg]
    import json

    return json.loads(value) if value else None
