"""One intake thread per process: request handlers hand it messages, it decides them in batches.

Why: with a thread per request, concurrent requests fight over SQLite's single write lock (whose
busy handler sleeps, which made the p99 latency seconds) and each pays the engine's and the
database's fixed cost per call. Here whatever arrived while the previous batch was being decided
forms the next batch (`TriageService.handle_many`): no added wait when the service is quiet, and
under load one engine call and two transactions serve up to `max_batch` messages.

Nothing is lost on a crash: each message is stored (committed) before it is decided, and a message
stored but not decided is picked up at start-up (`TriageService.process_pending`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from concurrent.futures import Future, InvalidStateError

from bot.core.types import InboundMessage
from bot.service.triage import IntakeResult, TriageService

log = logging.getLogger(__name__)

_STOP = object()


class IntakeQueue:
    def __init__(self, triage: TriageService, max_batch: int = 32) -> None:
        self.triage = triage
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, inbound: InboundMessage) -> Future[IntakeResult]:
        future: Future[IntakeResult] = Future()
        self._ensure_thread()
        self._queue.put((inbound, future))
        return future

    async def handle(self, inbound: InboundMessage) -> IntakeResult:
        """`TriageService.handle`, for async code: stored, decided, replies in the outbox."""
        return await asyncio.wrap_future(self.submit(inbound))

    def stop(self, timeout: float = 10.0) -> None:
        """Finish what was submitted, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout)

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._decide(batch)  # type: ignore[arg-type]
            if stop:
                return

    def _decide(self, batch: list[tuple[InboundMessage, Future[IntakeResult]]]) -> None:
        """Decide every submitted message, also one whose caller went away (a client that hung up
        after sending still gets its reply in the outbox)."""
        try:
            results: list[IntakeResult | BaseException] = list(
                self.triage.handle_many([inbound for inbound, _ in batch]))
        except BaseException as exc:  # storing failed: every caller hears it (and may retry)
            log.exception("intake batch of %d failed", len(batch))
            results = [exc] * len(batch)  # type: ignore[list-item]
        for (_, future), result in zip(batch, results, strict=True):
            with contextlib.suppress(InvalidStateError):  # the caller cancelled
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
