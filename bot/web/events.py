"""Live updates for the console: question events fanned out to server-sent-event streams.

`services.triage.listeners` are called from worker threads (intake runs in `asyncio.to_thread`), so
the listener hops onto the event loop with `call_soon_threadsafe`. Each browser gets its own queue;
an event carries only its name and question id, and the page re-fetches its own
(permission-filtered) view, so no client learns about a question it may not see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from bot.app import Services

KEEPALIVE_SECONDS = 15.0


class Broadcaster:
    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[tuple[str, int] | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def attach(self, services: Services) -> None:
        self._loop = asyncio.get_running_loop()
        services.triage.listeners.append(self.listener)

    def detach(self, services: Services) -> None:
        with contextlib.suppress(ValueError):
            services.triage.listeners.remove(self.listener)

    def listener(self, event: str, question_id: int) -> None:
        """Called from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out((event, question_id))
        else:
            loop.call_soon_threadsafe(self._fan_out, (event, question_id))

    def _fan_out(self, item: tuple[str, int] | None) -> None:
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(item)

    def restart_streams(self) -> None:
        """End every stream (on the loop's thread): each browser reconnects and re-fetches its
        page, catching up on events this process may have missed (bot.web.fleet_events)."""
        self._fan_out(None)

    async def close(self) -> None:
        self._fan_out(None)

    async def stream(self, until: float | None = None) -> AsyncIterator[str]:
        """SSE text for one client, with keep-alive comments, until the server stops or the loop
        time `until` (the browser then reconnects and re-fetches what it shows)."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue(maxsize=100)
        self._queues.add(queue)
        try:
            yield "retry: 1000\n: connected\n\n"
            while True:
                wait = KEEPALIVE_SECONDS
                if until is not None:
                    wait = min(wait, until - loop.time())
                    if wait <= 0:
                        return
                try:
                    item = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    return
                event, question_id = item
                data = json.dumps({"event": event, "question_id": question_id})
                yield f"event: question\ndata: {data}\n\n"
        finally:
            self._queues.discard(queue)
