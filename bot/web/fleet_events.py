"""Console live events across instances: PostgreSQL LISTEN/NOTIFY.

Several instances (or `--workers N`) on one PostgreSQL each hear only the questions they handle
themselves. This relay sends every local question event with `NOTIFY` on one channel and listens
on that channel, handing the other instances' events to the local `Broadcaster`. It is the triage
service's `Fleet`:

- `within`: the intake's new questions are NOTIFYed in the transaction that opens them (one
  statement per batch, on the connection that is there anyway). PostgreSQL delivers them at its
  commit, and not at all if it rolls back. At 200 messages a second a NOTIFY round trip of the
  relay's own on the event loop took CPU time the intake needed;
- `publish`: the rest (a claim, a reply, an escalation) are gathered for `GATHER_SECONDS` and sent
  in one round trip from the event loop;

- the payload is the event name, the question id and the sending process's origin id, never a
  citizen's text (NOTIFY payloads reach every listening session and PostgreSQL's logs);
- an instance drops its own notifications by their prefix, undecoded (its Broadcaster already had
  them from the triage service);
- remote events go to the Broadcaster only, not to `services.triage.listeners`: a Telegram push
  to a professional is sent by the instance that handled the question, once;
- the listening connection is checked every `check_seconds` (libpq keepalives notice a silent
  server) and opened again with backoff when it drops. Events NOTIFYed while it was down are not
  heard, so once it listens again the Broadcaster ends its streams: every browser reconnects and
  re-fetches what it shows (bot/web/static/desk.js).

On SQLite (one instance) there is no relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session

from bot.service.leadership import CLIENT_KEEPALIVES

log = logging.getLogger(__name__)

CHANNEL = "triage_events"
APPLICATION_NAME = "triage-live-events"  # in pg_stat_activity
GATHER_SECONDS = 0.05  # events wait at most this long to go out together
BATCH = 200  # notifications per round trip


def conninfo(db_url: str) -> str:
    """A libpq URI for a SQLAlchemy URL (`postgresql+psycopg://...` -> `postgresql://...`)."""
    return make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)


_NOTIFY_ALL = text(f"SELECT pg_notify('{CHANNEL}', p) FROM unnest(CAST(:payloads AS text[])) AS p")


def encode(origin: str, event: str, question_id: int) -> str:
    return json.dumps({"o": origin, "e": event, "q": question_id}, separators=(",", ":"))


def own_prefix(origin: str) -> str:
    """How every payload `encode` makes for `origin` begins."""
    return encode(origin, "", 0).split(',"e"', 1)[0]


def decode(payload: str) -> tuple[str, str, int] | None:
    """(origin, event, question id), or None for a payload this version does not understand."""
    try:
        data = json.loads(payload)
        return str(data["o"]), str(data["e"]), int(data["q"])
    except (ValueError, KeyError, TypeError):
        return None


class PgEventRelay:
    def __init__(
        self,
        db_url: str,
        deliver: Callable[[str, int], None],
        resumed: Callable[[], None] = lambda: None,
        check_seconds: float = 5.0,
        check_timeout: float = 5.0,
        max_backoff: float = 10.0,
    ) -> None:
        self.origin = uuid.uuid4().hex
        self._own = own_prefix(self.origin)
        self._conninfo = make_conninfo(
            conninfo(db_url), application_name=APPLICATION_NAME, **CLIENT_KEEPALIVES
        )
        self._deliver = deliver
        self._resumed = resumed
        self.check_seconds = check_seconds
        self.check_timeout = check_timeout
        self.max_backoff = max_backoff
        self.listening = asyncio.Event()  # set while the LISTEN connection is up
        self.connects = 0  # LISTEN connections opened (more than one: it reconnected)
        self._outgoing: asyncio.Queue[tuple[str, int]] = asyncio.Queue(maxsize=10_000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- the local side ---------------------------------------------------------------------------

    def within(self, session: Session, events: Sequence[tuple[str, int]]) -> None:
        """NOTIFY `events` as part of `session`'s transaction: sent at its commit (any thread)."""
        if events:
            payloads = [encode(self.origin, event, qid) for event, qid in events]
            session.execute(_NOTIFY_ALL, {"payloads": payloads})

    def publish(self, event: str, question_id: int) -> None:
        """An event outside a transaction: called from any thread, never blocks."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._enqueue, (event, question_id))

    def _enqueue(self, item: tuple[str, int]) -> None:
        try:
            self._outgoing.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("live events: the database is not taking notifications; dropping one")

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._send())]

    async def stop(self) -> None:
        self._loop = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _listen(self) -> None:
        backoff = 0.5
        while True:
            try:
                async with await self._connect() as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connects += 1
                    self.listening.set()
                    backoff = 0.5
                    log.info("live events: listening on PostgreSQL (%s)", CHANNEL)
                    if self.connects > 1:
                        self._resumed()  # events sent meanwhile were missed: the pages catch up
                    while True:
                        async for note in conn.notifies(timeout=self.check_seconds):
                            self._receive(note.payload)
                        await asyncio.wait_for(conn.execute("SELECT 1"), self.check_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database went away: try again
                self.listening.clear()
                log.warning(
                    "live events: listening connection lost (%s); again in %.1f s",
                    type(exc).__name__,
                    backoff,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def _receive(self, payload: str) -> None:
        if payload.startswith(self._own):
            return  # our own: the Broadcaster heard it from the triage service already
        decoded = decode(payload)
        if decoded is None:
            return
        origin, event, question_id = decoded
        if origin == self.origin:
            return
        self._deliver(event, question_id)

    async def _send(self) -> None:
        backoff = 0.5
        conn: psycopg.AsyncConnection[Any] | None = None
        batch: list[tuple[str, int]] = []
        try:
            while True:
                if not batch:
                    batch.append(await self._outgoing.get())
                    # Gather what follows within GATHER_SECONDS: one NOTIFY round trip for a
                    # burst, not one per question (200 a second under load took the event
                    # loop's time from the intake's HTTP).
                    await asyncio.sleep(GATHER_SECONDS)
                    while len(batch) < BATCH and not self._outgoing.empty():
                        batch.append(self._outgoing.get_nowait())
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect()
                    payloads = [encode(self.origin, event, qid) for event, qid in batch]
                    await conn.execute(
                        "SELECT pg_notify(%s, p) FROM unnest(%s::text[]) AS p", (CHANNEL, payloads)
                    )
                    batch = []
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - keep the batch, reconnect, send again
                    log.warning(
                        "live events: cannot notify (%s); again in %.1f s", type(exc).__name__, backoff
                    )
                    if conn is not None:
                        with contextlib.suppress(Exception):
                            await conn.close()
                    conn = None
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.max_backoff)
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
