"""The load generator of bench/service.py, run as its own process so it does not share the
server's CPU accounting: POSTs messages to the intake API on 127.0.0.1, bounded in count and time.

    python -m bench.load_client URL TOKEN COUNT CONCURRENCY SECONDS  -> one JSON line on stdout
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from bench.clinc150 import load as load_clinc
from bench.common import percentile


async def main(url: str, token: str, count: int, concurrency: int, seconds: float) -> None:
    data = load_clinc()
    texts = [t for t, _ in data["test"] + data["oos_test"]]
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:
        async def worker(w: int) -> None:
            nonlocal sent, errors
            while sent < count and time.perf_counter() < deadline:
                i = sent
                sent += 1
                body = {"channel": "api", "sender": f"bench-{w}-{i % 50}", "text": texts[i % len(texts)],
                        "external_id": f"m{i}-{time.time_ns()}"}
                start = time.perf_counter()
                try:
                    response = await client.post("/api/v1/messages", json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - start) * 1000)
                errors += not ok

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - start
    print(json.dumps({"messages": len(latencies), "errors": errors, "seconds": elapsed,
                      "per_s": len(latencies) / elapsed, "p50_ms": percentile(latencies, 50),
                      "p99_ms": percentile(latencies, 99), "concurrency": concurrency}))


if __name__ == "__main__":
    url, token, count, concurrency, seconds = sys.argv[1:6]
    asyncio.run(main(url, token, int(count), int(concurrency), float(seconds)))
