"""The load generator of bench/service.py (and of tests/reliability/test_load.py), run as its own
process so it does not share the server's CPU: POSTs messages to the intake API, bounded in count
and time. Two ways to load:

- closed loop (`closed_loop`): CONCURRENCY clients, each sending its next message when the last
  one is answered: the most the service does with that many callers;
- open loop (`open_loop`): one message every 1/RATE s whatever the answers do, as citizens send
  them; latency counts from the moment a message was due, so a stalled server cannot hide its
  queue (no coordinated omission).

Requests go through `Http`, a minimal HTTP/1.1 keep-alive client on asyncio streams: httpx
spent about 4 ms of CPU a request here, so at 250 messages/s the load generator took a whole core
and measured itself. `Http` takes about a tenth of that.

    python -m bench.load_client URL TOKEN COUNT CONCURRENCY SECONDS [RATE]  -> one JSON line
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

MAX_IN_FLIGHT = 256
CONNECTIONS = 32


class HttpError(Exception):
    """The connection broke or the answer was not HTTP."""


class Http:
    """POST JSON over a pool of kept-alive HTTP/1.1 connections to one host (127.0.0.1 here)."""

    def __init__(self, url: str, headers: dict[str, str], connections: int = CONNECTIONS) -> None:
        split = urlsplit(url)
        self.host, self.port = split.hostname or "127.0.0.1", split.port or 80
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.free: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = (
            asyncio.Queue())
        for _ in range(connections):
            self.free.put_nowait(None)  # opened on first use

    async def post(self, path: str, payload: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n{self.extra}\r\n").encode()
        conn = await self.free.get()
        try:
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            reader, writer = conn
            writer.write(head + body)
            status_line = await reader.readline()
            if not status_line:
                raise HttpError("connection closed")
            status = int(status_line.split()[1])
            length, close = 0, False
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
                elif name == b"transfer-encoding":  # the intake API always sends a length
                    raise HttpError("chunked answers are not supported")
            answer = await reader.readexactly(length)
            if close:
                writer.close()
                conn = None
            return status, answer
        except (HttpError, OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            if conn is not None:  # its state is unknown: open a fresh one next time
                conn[1].close()
            conn = None
            if isinstance(exc, HttpError):
                raise
            raise HttpError(repr(exc)) from exc
        finally:
            self.free.put_nowait(conn)

    async def close(self) -> None:
        while not self.free.empty():
            conn = self.free.get_nowait()
            if conn is not None:
                conn[1].close()


def _percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0

    return {"p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": pct(1.0)}


async def open_loop(url: str, token: str, texts: Sequence[str], rate: float, seconds: float,
                    body: Callable[[int, str], dict[str, Any]] | None = None) -> dict[str, Any]:
    """`rate` messages a second for `seconds` (at most MAX_IN_FLIGHT unanswered at once; a
    message waiting for a slot is late, and its lateness counts in its latency). A connection
    closed under a request is retried with the same external id (the intake is idempotent)."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    retried: Counter[str] = Counter()
    gate = asyncio.Semaphore(MAX_IN_FLIGHT)
    make = body or (lambda i, text: {"channel": "api", "sender": f"load-c{i % 500}", "text": text,
                                     "external_id": f"load-{i}-{time.time_ns()}"})
    client = Http(url, {"Authorization": f"Bearer {token}"})
    try:

        async def one(i: int, due: float) -> None:
            payload = make(i, texts[i % len(texts)])
            async with gate:
                for attempt in range(3):  # a connection closed under us: the same id again
                    try:
                        status, _ = await client.post("/api/v1/messages", payload)
                        break
                    except HttpError:
                        retried["HttpError"] += 1
                        if attempt == 2:
                            errors["HttpError"] += 1
                            return
                latencies.append(time.perf_counter() - due)
                if status != 200:
                    errors[f"http {status}"] += 1

        start = time.perf_counter()
        tasks = []
        for i in range(total):  # the schedule does not wait for answers
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        sent_in = time.perf_counter() - start
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    return {"mode": "open loop", "rate_asked": rate, "seconds": seconds, "requests": total,
            "answered": len(latencies), "errors": dict(errors), "transport_retries": dict(retried),
            "offered_rate": round(total / sent_in, 1), "per_s": round(len(latencies) / elapsed, 1),
            **_percentiles(latencies)}


async def closed_loop(url: str, token: str, texts: Sequence[str], count: int, concurrency: int,
                      seconds: float) -> dict[str, Any]:
    """`concurrency` clients, each waiting for its answer before sending the next message."""
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds
    client = Http(url, {"Authorization": f"Bearer {token}"}, connections=concurrency)
    try:
        async def worker(w: int) -> None:
            nonlocal sent, errors
            while sent < count and time.perf_counter() < deadline:
                i = sent
                sent += 1
                body = {"channel": "api", "sender": f"bench-{w}-{i % 50}", "text": texts[i % len(texts)],
                        "external_id": f"m{i}-{time.time_ns()}"}
                start = time.perf_counter()
                try:
                    status, _ = await client.post("/api/v1/messages", body)
                    ok = status == 200
                except HttpError:
                    ok = False
                latencies.append(time.perf_counter() - start)
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    return {"mode": "closed loop", "messages": len(latencies), "errors": errors, "seconds": elapsed,
            "per_s": len(latencies) / elapsed, "concurrency": concurrency, **_percentiles(latencies)}


def main(argv: list[str]) -> None:
    from bench.clinc150 import load as load_clinc

    url, token, count, concurrency, seconds = argv[:5]
    rate = float(argv[5]) if len(argv) > 5 else 0.0
    data = load_clinc()
    texts = [t for t, _ in data["test"] + data["oos_test"]]
    if rate > 0:
        report = asyncio.run(open_loop(url, token, texts, rate, float(seconds)))
    else:
        report = asyncio.run(closed_loop(url, token, texts, int(count), int(concurrency),
                                         float(seconds)))
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
