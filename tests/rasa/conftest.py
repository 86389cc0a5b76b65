"""Integration fixtures against real Rasa: a trained model, a Rasa server, the action server and our
service on random loopback ports. One of each per test session (per xdist worker); the trained
model is shared between workers through a lock file.

These tests never skip: without `.venv-rasa` they fail and say to run `make rasa`.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from bot.app import Services
from bot.config import PROJECT_ROOT, Settings
from bot.nlu.rasa_engine import RasaEngine, RasaSettings, rasa_env
from bot.nlu.rasa_format import read_library
from bot.nlu.rasa_server import ManagedRasaServer
from bot.nlu.rasa_training import TrainedRasa, train_project
from bot.web.api import create_app
from tests.conftest import make_services

API_TOKEN = "test-action-server-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None,
              log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            pytest.fail(f"{url}: the process exited ({proc.returncode}):\n{tail}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def rasa_settings() -> RasaSettings:
    rasa = RasaSettings(_env_file=None)  # type: ignore[call-arg]
    if not rasa.rasa_bin.exists():
        pytest.fail(f"{rasa.rasa_bin} is missing: run `make rasa` (Rasa 3.6.21 in .venv-rasa, "
                    "Python 3.10) before these tests; CI does.")
    return rasa


@pytest.fixture(scope="session")
def rasa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory shared by the xdist workers of this run."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    path = root / "rasa-shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def library():  # type: ignore[no-untyped-def]
    return read_library(PROJECT_ROOT / "nlu_data", PROJECT_ROOT / "responses")


@pytest.fixture(scope="session")
def full_model(rasa_settings: RasaSettings, rasa_dir: Path, library) -> Path:  # type: ignore[no-untyped-def]
    """`rasa train` (NLU and the rules) of the library, exported as our engine exports it."""
    target = rasa_dir / "full-test.tar.gz"  # the model version is its file name
    with (rasa_dir / "full.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            settings = Settings(triage_data_dir=rasa_dir / "data", _env_file=None)  # type: ignore[call-arg]
            settings.data_dir.mkdir(exist_ok=True)
            trained: TrainedRasa = train_project(library, settings, rasa_settings, full=True,
                                                 name="full-test")
            shutil.copyfile(trained.path, target)
    return target


@dataclass
class Stack:
    """Our service, the action server and the Rasa server, wired to each other."""

    services: Services
    service_url: str
    rasa: RasaEngine
    server: ManagedRasaServer
    actions_url: str


@pytest.fixture(scope="session")
def stack(rasa_settings: RasaSettings, full_model: Path, trained_engine,  # type: ignore[no-untyped-def]
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    services = make_services(tmp, f"sqlite:///{tmp / 'triage.db'}", trained_engine,
                             api_token=API_TOKEN)
    service_port, actions_port, rasa_port = free_port(), free_port(), free_port()

    server_config = uvicorn.Config(create_app(services), host="127.0.0.1", port=service_port,
                                   log_level="warning", lifespan="on")
    service = uvicorn.Server(server_config)
    thread = threading.Thread(target=service.run, name="triage-service", daemon=True)
    thread.start()
    service_url = f"http://127.0.0.1:{service_port}"

    actions_log = tmp / "actions.log"
    env = rasa_env(services.settings) | {"TRIAGE_API_URL": service_url,
                                         "TRIAGE_API_TOKEN": API_TOKEN}
    with actions_log.open("wb") as out:
        actions = subprocess.Popen(
            [str(rasa_settings.rasa_bin), "run", "actions", "--actions", "actions",
             "--port", str(actions_port)],
            cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    actions_url = f"http://127.0.0.1:{actions_port}"

    endpoints = tmp / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "{actions_url}/webhook"\n')
    engine = RasaEngine(f"http://127.0.0.1:{rasa_port}", "rasa-test-token", timeout=30)
    server = ManagedRasaServer(
        rasa_settings, services.settings, engine, full_model, port=rasa_port,
        extra_args=["--endpoints", str(endpoints),
                    "--credentials", str(PROJECT_ROOT / "credentials.yml")],
        log_file=tmp / "rasa-server.log")
    try:
        server.start()
        wait_http(f"{actions_url}/health", 120, actions, actions_log)
        wait_http(f"{service_url}/healthz", 60)
        yield Stack(services, service_url, engine, server, actions_url)
    finally:
        server.stop()
        actions.terminate()
        try:
            actions.wait(timeout=20)
        except subprocess.TimeoutExpired:
            actions.kill()
        service.should_exit = True
        thread.join(timeout=20)
        engine.close()
        services.db.dispose()
