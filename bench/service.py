"""The service path: `triage serve` as a subprocess, loaded over HTTP from a second process.

Intake messages per second and p50/p99 latency (intake API -> decision -> database -> outbox) on
SQLite and PostgreSQL with one and two worker processes, three ways: one client at a time (the
latency of one message), 16 clients in a closed loop (the most it does), and an open loop at 300
messages/s for 30 s (the latency at issue 7's target rate, counted from when each was due); claim
latency on PostgreSQL with 100,000 open questions; peak memory (VmHWM) and start-up time of
`triage serve` and of a Rasa server with a model of our library.

    .venv/bin/python -m bench.service     (BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432)
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import RASA, ROOT, loadavg, percentile, table, write_result

PG = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PG_DB = "bench_issue7"
BIN = Path(sys.executable).parent
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "40"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
RATE = float(os.environ.get("BENCH_RATE", "300"))  # the open-loop row: issue 7's target rate
RATE_SECONDS = float(os.environ.get("BENCH_RATE_SECONDS", "30"))
OPEN_QUESTIONS = 100_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_pg_database(name: str) -> str:
    import psycopg

    base = PG.replace("+psycopg", "")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def env_for(data_dir: Path, database_url: str, token: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TRIAGE_DATA_DIR": str(data_dir), "DATABASE_URL": database_url, "API_TOKEN": token,
                "ENGINE": "sklearn", "PYTHONUNBUFFERED": "1"})
    for key in ("TELEGRAM_BOT_TOKEN", "X_BEARER_TOKEN"):
        env.pop(key, None)
    return env


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a process and its children (the uvicorn workers), summed."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def load(url: str, token: str, count: int, concurrency: int, rate: float = 0.0,
         seconds: float = SECONDS) -> dict[str, Any]:
    """Closed loop with `concurrency` clients, or open loop at `rate` messages/s."""
    out = subprocess.run([sys.executable, "-m", "bench.load_client", url, token, str(count),
                          str(concurrency), str(seconds), str(rate)], cwd=ROOT,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def outbox_drained(url: str, timeout: float = 60) -> float | None:
    """Seconds until no outbox item is pending (the dispatcher has sent every reply)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        outbox = httpx.get(f"{url}/healthz", timeout=5).json().get("outbox", {})
        if not any(n for status, n in outbox.items() if status not in ("sent", "failed", "dead")):
            return time.perf_counter() - start
        time.sleep(0.2)
    return None


def intake(label: str, database_url: str, workers: int, tmp: Path) -> dict[str, Any]:
    data_dir = tmp / label.replace(" ", "-")
    token = secrets.token_hex(8)
    env = env_for(data_dir, database_url, token)
    subprocess.run([str(BIN / "triage"), "init"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(BIN / "triage"), "serve", "--port", str(port), "--workers",
                             str(workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=(tmp / f"{label}.log").open("wb"))
    try:
        startup = wait_http(f"{url}/healthz", proc)
        single = load(url, token, 300, 1)  # one client at a time: the latency of one message
        loaded = load(url, token, MESSAGES, CONCURRENCY)
        steady = load(url, token, 0, 0, rate=RATE, seconds=RATE_SECONDS)
        drained = outbox_drained(url)
        memory = vm_hwm_mb(proc.pid)
    finally:
        stop(proc)
    print(f"service: {label}: {loaded['per_s']:.0f} msg/s", flush=True)
    return {"setup": label, "workers": workers, "startup_s": startup, "sequential": single,
            "concurrent": loaded, "open_loop": steady, "outbox_drained_s": drained, "peak_memory_mb": memory,
            "load_average": loadavg()}


def claim_latency(database_url: str) -> dict[str, Any]:
    """100,000 open questions inserted in bulk, then `queue.claim` timed on random ones."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, insert, select

    from bot.service.queue import Viewer, claim
    from bot.store import models as m
    from bot.store.db import make_engine, make_sessionmaker, migrate

    engine = make_engine(database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        citizen = m.Citizen(channel="api", external_id="bench")
        session.add(citizen)
        session.flush()
        citizen_id = citizen.id
    start = time.perf_counter()
    rows = [{"citizen_id": citizen_id, "channel": "api", "language": "en", "text": f"question {i}",
             "intent": "bench", "role": "police", "status": "open", "priority": i % 3,
             "emergency": i % 50 == 0, "due_at": now + timedelta(hours=i % 72), "created_at": now}
            for i in range(OPEN_QUESTIONS)]
    with sessions.begin() as session:
        for i in range(0, len(rows), 10_000):
            session.execute(insert(m.Question), rows[i:i + 10_000])
    insert_s = time.perf_counter() - start
    with sessions() as session:
        ids = list(session.scalars(select(m.Question.id)))
        assert session.scalar(select(func.count()).select_from(m.Question)) == OPEN_QUESTIONS
    viewer = Viewer("bench-admin", is_admin=True)
    samples = []
    for question_id in random.Random(7).sample(ids, 300):
        t = time.perf_counter()
        with sessions.begin() as session:
            assert claim(session, viewer, question_id).won
        samples.append((time.perf_counter() - t) * 1000)
    engine.dispose()
    return {"open_questions": OPEN_QUESTIONS, "bulk_insert_s": insert_s, "claims": len(samples),
            "p50_ms": percentile(samples, 50), "p99_ms": percentile(samples, 99),
            "load_average": loadavg()}


def rasa_server(tmp: Path) -> dict[str, Any]:
    """Peak memory and start-up of `rasa run --enable-api` with a model of our library."""
    from bench.rasa_bench import RasaBench
    from bot.nlu.rasa_engine import RasaSettings, rasa_env
    from bot.nlu.rasa_format import read_library

    lib = read_library(ROOT / "nlu_data", ROOT / "responses")
    bench = RasaBench()
    try:
        bench.train([e.text for e in lib.examples], [e.intent for e in lib.examples])
        model = next((bench.dir / "models").glob("*.tar.gz"))
        port = free_port()
        rasa = RasaSettings()
        proc = subprocess.Popen([str(rasa.rasa_bin), "run", "--enable-api", "--interface",
                                 "127.0.0.1", "--port", str(port), "--model", str(model)],
                                cwd=bench.dir, env=rasa_env(bench.settings),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            start = time.perf_counter()
            deadline = start + 300
            while time.perf_counter() < deadline:
                if proc.poll() is not None:
                    raise RuntimeError(f"rasa exited with {proc.returncode}")
                try:
                    status = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2)
                    if status.status_code == 200 and status.json().get("model_file"):
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            startup = time.perf_counter() - start
            samples = []
            for text in ["my smoke alarm keeps beeping", "rookmelder piept"] * 50:
                t = time.perf_counter()
                httpx.post(f"http://127.0.0.1:{port}/model/parse", json={"text": text}, timeout=10)
                samples.append((time.perf_counter() - t) * 1000)
            memory = vm_hwm_mb(proc.pid)
        finally:
            stop(proc)
    finally:
        bench.close()
    return {"startup_s": startup, "peak_memory_mb": memory, "parse_p50_ms": percentile(samples, 50),
            "parse_p99_ms": percentile(samples, 99), "load_average": loadavg()}


def run() -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as name:
        tmp = Path(name)
        for label, workers in (("SQLite, 1 worker", 1), ("SQLite, 2 workers", 2),
                               ("PostgreSQL, 1 worker", 1), ("PostgreSQL, 2 workers", 2)):
            url = (f"sqlite:///{tmp / label.replace(' ', '-').replace(',', '')}.db"
                   if label.startswith("SQLite") else fresh_pg_database(f"{PG_DB}_w{workers}"))
            try:
                rows.append(intake(label, url, workers, tmp))
            except Exception as exc:  # report and go on with the next setup
                rows.append({"setup": label, "workers": workers, "error": repr(exc)})
        print("service: claim latency with 100,000 open questions", flush=True)
        claims = claim_latency(fresh_pg_database(f"{PG_DB}_claim"))
        rasa = rasa_server(tmp) if RASA else None
    out = {"messages": MESSAGES, "concurrency": CONCURRENCY, "rate": RATE, "rows": rows,
           "claim": claims,
           "rasa_server": rasa}
    write_result("service", out)
    return out


def markdown(out: dict[str, Any]) -> str:
    rate = out.get("rate", RATE)
    body = []
    for r in out["rows"]:
        if "error" in r:
            body.append([r["setup"], r["error"], None, None, None, None, None, None, None, None])
            continue
        c, s, o = r["concurrent"], r["sequential"], r.get("open_loop") or {}
        body.append([r["setup"], c["per_s"], c["p50_ms"], c["p99_ms"], o.get("p50_ms"),
                     o.get("p99_ms"), s["p50_ms"], s["p99_ms"], r["peak_memory_mb"], r["startup_s"]])
    if out.get("rasa_server"):
        rs = out["rasa_server"]
        body.append(["Rasa server (our model), /model/parse only", None, None, None, None, None,
                     rs["parse_p50_ms"], rs["parse_p99_ms"], rs["peak_memory_mb"], rs["startup_s"]])
    c = out["claim"]
    return (table(["service path", f"msg/s ({out['concurrency']} clients)", "p50 ms", "p99 ms",
                   f"at {rate:.0f}/s: p50 ms", f"at {rate:.0f}/s: p99 ms", "1 client p50 ms",
                   "1 client p99 ms", "peak MB", "start-up s"], body)
            + f"\n\nClaim on PostgreSQL with {c['open_questions']:,} open questions: "
              f"p50 {c['p50_ms']:.1f} ms, p99 {c['p99_ms']:.1f} ms ({c['claims']} claims).")


if __name__ == "__main__":
    print(markdown(run()))
