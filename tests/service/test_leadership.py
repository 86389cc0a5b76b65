"""Exactly one holder across processes (a PostgreSQL advisory lock), and a takeover within
seconds when the holder is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.service.leadership import Leadership, lock_key

pytestmark = pytest.mark.postgres

WORKER = """
import asyncio, os, sys, time
from bot.service.leadership import Leadership

async def job():
    while True:
        with open(sys.argv[2], "a") as out:
            out.write(f"{os.getpid()} {time.time()}\\n")
        await asyncio.sleep(0.1)

asyncio.run(Leadership(sys.argv[1], "test-poller", retry_seconds=0.5, check_seconds=0.5).run(job))
"""


def beats(path: Path) -> list[tuple[int, float]]:
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return [(int(row[0]), float(row[1])) for row in rows if len(row) == 2]  # a line being written: not yet


def wait_for(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_one_holder_and_a_takeover_after_sigkill(tmp_path, pg_url) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "beats.txt"
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, pg_url, str(out)], env=env, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    try:
        wait_for(lambda: len(beats(out)) >= 5, 60)
        time.sleep(3)  # both running: only one may beat
        holders = {pid for pid, _ in beats(out)}
        assert len(holders) == 1, f"two holders at once: {holders}"
        (leader,) = holders
        os.kill(leader, signal.SIGKILL)
        killed_at = time.time()
        wait_for(lambda: any(pid != leader for pid, _ in beats(out)), 15)
        first = min(at for pid, at in beats(out) if pid != leader)
        takeover = first - killed_at
        assert takeover < 10, f"takeover took {takeover:.1f} s"
        assert max(at for pid, at in beats(out) if pid == leader) <= killed_at + 0.05
        print(f"takeover after SIGKILL: {takeover:.2f} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


def test_sqlite_runs_the_job_without_a_lock() -> None:
    import asyncio

    ran: list[bool] = []

    async def job() -> None:
        ran.append(True)

    leadership = Leadership("sqlite:///nowhere.db", "x")
    asyncio.run(leadership.run(job))
    assert ran == [True] and not leadership.shared


def test_lock_keys_are_stable_and_distinct() -> None:
    assert lock_key("telegram-poller") == lock_key("telegram-poller")
    assert lock_key("telegram-poller") != lock_key("x-poller")
    assert -(2**63) <= lock_key("x-poller") < 2**63
