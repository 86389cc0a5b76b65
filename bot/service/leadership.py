"""One holder across the fleet: a PostgreSQL advisory lock, held on a connection of its own.

Several instances on one PostgreSQL each start the Telegram and X pollers, but only the instance
holding the poller's lock runs it; the others try again every `retry_seconds`. The lock is a
session lock (`pg_try_advisory_lock`): it lives exactly as long as the holder's connection, so
when the holder dies (SIGKILL, a crash, the host gone) PostgreSQL ends its session and another
instance takes over within a few seconds:

- a process that dies: its socket closes at once, and the next try elsewhere wins (about
  `retry_seconds`);
- a host that vanishes: the session is kept alive by TCP keepalives set on both ends (about 9 s
  without an answer ends it);
- a holder that loses the database: its check (`SELECT 1` every `check_seconds`, at most
  `check_timeout` long) fails and it stops the job before anyone else can take the lock.

On SQLite (one instance by definition) the job simply runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# libpq's client-side keepalives (a silent server is noticed), and the server's for this session
# (a silent holder's session ends, releasing the lock).
CLIENT_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "connect_timeout": 5,
}
SERVER_KEEPALIVES = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 2",
)


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (pg advisory locks take a bigint)."""
    digest = hashlib.sha256(f"triage:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    def __init__(
        self,
        db_url: str,
        name: str,
        retry_seconds: float = 2.0,
        check_seconds: float = 2.0,
        check_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.key = lock_key(name)
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.check_timeout = check_timeout
        self.shared = not db_url.startswith("sqlite")  # SQLite: one instance, nothing to share
        self.leading = False
        self._engine = (
            create_engine(
                db_url, poolclass=NullPool, isolation_level="AUTOCOMMIT", connect_args=CLIENT_KEEPALIVES
            )
            if self.shared
            else None
        )

    async def run(
        self, job: Callable[[], Awaitable[None]], on_standby: Callable[[], None] = lambda: None
    ) -> None:
        """Run `job` whenever this instance holds the lock; until `job` returns by itself.
        `on_standby` is called when another instance holds it (for the channel's health)."""
        if not self.shared:
            await job()
            return
        announced = False
        try:
            while True:
                conn = await asyncio.to_thread(self._try_acquire)
                if conn is None:
                    if not announced:
                        log.info("%s: another instance leads; this one stands by", self.name)
                        on_standby()
                        announced = True
                    await asyncio.sleep(self.retry_seconds)
                    continue
                announced = False
                if await self._lead(conn, job):
                    return
        finally:
            if self._engine is not None:
                self._engine.dispose()

    async def _lead(self, conn: Connection, job: Callable[[], Awaitable[None]]) -> bool:
        """Run the job while the lock is held; True when the job ended by itself."""
        log.info("%s: this instance leads", self.name)
        self.leading = True
        task = asyncio.ensure_future(job())
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=self.check_seconds)
                if done:
                    if task.exception() is not None:
                        log.error("%s failed; trying again", self.name, exc_info=task.exception())
                        await asyncio.sleep(self.retry_seconds)
                        return False
                    return True
                if not await self._holds(conn):
                    log.error("%s: lost the database connection, so the lock; stopping", self.name)
                    return False
        finally:
            self.leading = False
            task.cancel()
            try:  # let the job finish its step; a second cancel (the app stopping) cuts the wait
                await asyncio.gather(task, return_exceptions=True)
            finally:
                self._release(conn)  # not awaited: released even when cancelled again

    def _try_acquire(self) -> Connection | None:
        assert self._engine is not None
        try:
            conn = self._engine.connect()
        except Exception as exc:  # the database is down: try again later
            log.warning("%s: cannot reach the database (%s)", self.name, type(exc).__name__)
            return None
        try:
            for statement in SERVER_KEEPALIVES:
                conn.exec_driver_sql(statement)
            if conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}):
                return conn
        except Exception:
            log.warning("%s: could not try the lock", self.name, exc_info=True)
        conn.close()
        return None

    async def _holds(self, conn: Connection) -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(conn.scalar, text("SELECT 1")), self.check_timeout)
            return True
        except Exception:
            return False

    @staticmethod
    def _release(conn: Connection) -> None:
        try:
            conn.close()  # the session ends, and its lock with it
        except Exception:
            log.debug("closing a lost connection failed", exc_info=True)
