"""A Rasa server run by us: `rasa run --enable-api` on loopback with an auth token.

`start()` spawns it and waits until it answers `/status` with its model loaded; `ensure_running()`
restarts it when it has died; `stop()` terminates it. Its output goes to `rasa-server.log` in the
data directory.
"""

from __future__ import annotations

import logging
import subprocess
import time
from pathlib import Path
from typing import IO

from bot.config import Settings
from bot.nlu.rasa_engine import RasaEngine, RasaSettings, rasa_env

log = logging.getLogger(__name__)


class RasaServerError(RuntimeError):
    """The server exited or did not become ready in time; the message holds its last output."""


class ManagedRasaServer:
    def __init__(self, rasa: RasaSettings, settings: Settings, engine: RasaEngine, model: Path,
                 port: int | None = None, extra_args: list[str] | None = None,
                 log_file: Path | None = None) -> None:
        rasa.require_venv()
        self.rasa = rasa
        self.settings = settings
        self.engine = engine
        self.model = model
        self.port = port or rasa.port
        self.extra_args = extra_args or []
        self.log_file = log_file or settings.data_dir / "rasa-server.log"
        self.restarts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self) -> list[str]:
        return [str(self.rasa.rasa_bin), "run", "--enable-api", "--auth-token", self.engine.token,
                "--interface", "127.0.0.1", "--port", str(self.port),
                "--model", str(self.model.resolve()), *self.extra_args]

    def start(self, timeout: float | None = None) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        log.info("starting Rasa on 127.0.0.1:%s with %s", self.port, self.model.name)
        self._proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=rasa_env(self.settings),
                                      cwd=self.settings.data_dir)
        self.wait_ready(timeout or self.rasa.start_timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RasaServerError(f"Rasa exited ({self.returncode}):\n{self.log_tail()}")
            if self.engine.ready():
                self.engine.refresh_version()
                log.info("Rasa is ready (model %s)", self.engine.version)
                return
            time.sleep(0.5)
        raise RasaServerError(f"Rasa was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def ensure_running(self) -> bool:
        """Restart the server if it died; True when it was restarted."""
        if self.alive():
            return False
        log.warning("Rasa exited (%s); restarting", self.returncode)
        self._close_log()
        self.restarts += 1
        self.start()
        return True

    def swap(self, model: Path) -> None:
        """Load another model on the running server; a restart loads it too."""
        self.engine.load_model(model)
        self.model = model

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_log()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
