"""Citizens: the one get-or-create, and the conversation state kept on the citizen's row.

Repositories take a session and never commit: the caller frames the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.core.conversation import Conversation, Prompt
from bot.store import models as m

Key = tuple[str, str]  # (channel, the channel's id of the citizen)


def find(session: Session, channel: str, sender: str) -> m.Citizen | None:
    return session.scalars(
        select(m.Citizen).where(m.Citizen.channel == channel, m.Citizen.external_id == sender)
    ).first()


def get_or_create(session: Session, channel: str, sender: str) -> m.Citizen:
    """The citizen, created when new. Safe against another process creating the same citizen at
    the same moment: the insert runs in a savepoint and the loser reads the winner's row."""
    citizen = find(session, channel, sender)
    if citizen is not None:
        return citizen
    citizen = m.Citizen(channel=channel, external_id=sender)
    session.add(citizen)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        citizen = session.scalars(
            select(m.Citizen).where(m.Citizen.channel == channel, m.Citizen.external_id == sender)
        ).one()
    return citizen


def get_or_create_many(session: Session, keys: Iterable[Key]) -> dict[Key, m.Citizen]:
    """`get_or_create` for a batch, in two statements. A citizen created at the same moment by
    another process fails the transaction (IntegrityError): the caller then goes one by one."""
    wanted = set(keys)
    found: dict[Key, m.Citizen] = {}
    for channel in {c for c, _ in wanted}:
        senders = [sender for c, sender in wanted if c == channel]
        for citizen in session.scalars(
            select(m.Citizen).where(m.Citizen.channel == channel, m.Citizen.external_id.in_(senders))
        ):
            found[(citizen.channel, citizen.external_id)] = citizen
    new = [m.Citizen(channel=channel, external_id=sender) for channel, sender in wanted - found.keys()]
    session.add_all(new)
    session.flush()
    found.update({(c.channel, c.external_id): c for c in new})
    return found


def conversation(citizen: m.Citizen) -> Conversation:
    try:
        prompt = Prompt(citizen.pending or Prompt.NONE.value)
    except ValueError:  # a prompt this version no longer knows: nothing open
        return Conversation()
    if prompt is Prompt.NONE or citizen.pending_ref is None:
        return Conversation()
    return Conversation(prompt, citizen.pending_ref)


def set_conversation(citizen: m.Citizen, state: Conversation) -> None:
    """Open (or close) a prompt. For closing the prompt a citizen answered use `move`."""
    ref = state.ref if state.open else None
    if citizen.pending != state.prompt.value or citizen.pending_ref != ref:
        citizen.pending, citizen.pending_ref = state.prompt.value, ref


def move(session: Session, citizen: m.Citizen, old: Conversation, new: Conversation) -> bool:
    """Go from `old` to `new` only if the citizen is still in `old` (a conditional update): of two
    answers to one prompt (a double tap, two workers), exactly one moves it. False: someone else did."""
    if old == new:
        return True
    ref = citizen.pending_ref
    done = session.execute(
        update(m.Citizen)
        .where(
            m.Citizen.id == citizen.id,
            m.Citizen.pending == (citizen.pending or Prompt.NONE.value),
            m.Citizen.pending_ref.is_(None) if ref is None else m.Citizen.pending_ref == ref,
        )
        .values(pending=new.prompt.value, pending_ref=new.ref if new.open else None)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(citizen)
        return False
    # The row says so already: keep the object in step without a second UPDATE at the flush.
    set_committed_value(citizen, "pending", new.prompt.value)
    set_committed_value(citizen, "pending_ref", new.ref if new.open else None)
    return True


def by_ids(session: Session, ids: Iterable[int]) -> dict[int, m.Citizen]:
    return {c.id: c for c in session.scalars(select(m.Citizen).where(m.Citizen.id.in_(set(ids))))}
