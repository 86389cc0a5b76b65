"""The Rasa engine: the same `Engine` contract, answered by a Rasa 3 server over HTTP.

The service never imports Rasa (it lives in `.venv-rasa`, Python 3.10). It parses through
`POST /model/parse`, swaps models with `PUT /model`, and trains with the `rasa` command. With the
FallbackClassifier in the pipeline Rasa may put `nlu_fallback` on top; we drop it so the policy
sees the real ranking and applies the same threshold (read from the same config.yml) itself.

When the server cannot be reached `parse` raises `EngineUnavailable`: the intake keeps the message
and retries it later.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import PROJECT_ROOT, Settings
from bot.core.types import IntentScore, Language, Parse
from bot.nlu.engine import EngineUnavailable

log = logging.getLogger(__name__)

ENGINE_NAME = "rasa"
MODEL_SUFFIX = ".tar.gz"  # a trained model is <version>.tar.gz
FALLBACK_INTENT = "nlu_fallback"
VERSION_TTL_SECONDS = 30.0


class RasaSettings(BaseSettings):
    """RASA_URL (an external server; empty: a managed one on loopback), RASA_TOKEN, RASA_PORT..."""

    model_config = SettingsConfigDict(env_file=".env", env_prefix="RASA_", extra="ignore")

    url: str = ""
    token: str = ""  # empty: a random token per managed server
    venv: Path = PROJECT_ROOT / ".venv-rasa"
    port: int = 5005
    models_dir: Path | None = None  # default: <TRIAGE_DATA_DIR>/rasa-models
    timeout: float = 15.0  # seconds per parse request
    start_timeout: float = 240.0  # seconds for a managed server to load its model

    @property
    def managed(self) -> bool:
        return not self.url

    @property
    def base_url(self) -> str:
        return (self.url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def rasa_bin(self) -> Path:
        return self.venv / "bin" / "rasa"

    @property
    def python_bin(self) -> Path:
        return self.venv / "bin" / "python"

    def models_path(self, settings: Settings) -> Path:
        return self.models_dir or settings.data_dir / "rasa-models"

    def require_venv(self) -> None:
        if not self.rasa_bin.exists():
            raise RasaNotInstalled(
                f"Rasa is not installed: {self.rasa_bin} is missing. Run `make rasa` to create "
                f"{self.venv} (Python 3.10, rasa==3.6.21), or set RASA_VENV."
            )


class RasaNotInstalled(RuntimeError):
    """`.venv-rasa` is missing: `make rasa` creates it."""


def rasa_env(settings: Settings | None = None) -> dict[str, str]:
    """Environment for Rasa subprocesses: quiet, no telemetry, the cache in the data dir."""
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    if settings is not None:
        env["RASA_CACHE_DIRECTORY"] = str((settings.data_dir / "rasa-cache").resolve())
    return env


def parse_from_rasa(body: dict[str, Any], model_version: str) -> Parse:
    """Rasa's parse result as our `Parse`: the ranking without `nlu_fallback`, best first."""
    ranking = [
        IntentScore(str(r["name"]), float(r["confidence"]))
        for r in body.get("intent_ranking") or []
        if r.get("name") and r["name"] != FALLBACK_INTENT
    ]
    intent = body.get("intent") or {}
    if not ranking and intent.get("name") and intent["name"] != FALLBACK_INTENT:
        ranking = [IntentScore(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    ranking.sort(key=lambda s: s.confidence, reverse=True)
    return Parse(ranking=tuple(ranking), engine=ENGINE_NAME, model_version=model_version)


def model_version_of(model_file: str | None) -> str:
    name = Path(model_file or "").name
    return name.removesuffix(MODEL_SUFFIX) or "-"


class RasaEngine:
    """A client of one Rasa server (`rasa run --enable-api`); thread-safe."""

    name = ENGINE_NAME

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
        managed: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.managed = managed
        self._client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self._version = "-"
        self._version_checked = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, rasa: RasaSettings | None = None) -> RasaEngine:
        rasa = rasa or RasaSettings()
        token = rasa.token or secrets.token_urlsafe(24)
        return cls(rasa.base_url, token, rasa.timeout, managed=rasa.managed)

    # -- the Engine contract ------------------------------------------------------------------

    @property
    def version(self) -> str:
        if time.monotonic() - self._version_checked > VERSION_TTL_SECONDS:
            self.refresh_version()
        return self._version

    @version.setter
    def version(self, value: str) -> None:  # the Engine protocol declares a plain attribute
        self._version = value
        self._version_checked = time.monotonic()

    def parse(self, text: str, language: Language | None = None) -> Parse:
        body = self._request("POST", "/model/parse", json={"text": text})
        return parse_from_rasa(body, self.version)

    def parse_many(self, texts: Sequence[str]) -> list[Parse]:
        return [self.parse(t) for t in texts]

    # -- the server ---------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """The loaded model (`model_file`, `model_id`); raises EngineUnavailable without one."""
        return self._request("GET", "/status")  # type: ignore[no-any-return]

    def refresh_version(self) -> str:
        with contextlib.suppress(EngineUnavailable):
            self._version = model_version_of(self.status().get("model_file"))
        self._version_checked = time.monotonic()
        return self._version

    def ready(self) -> bool:
        try:
            self.status()
        except EngineUnavailable:
            return False
        return True

    def load_model(self, model_file: Path) -> str:
        """Swap the server's model (`PUT /model`); conversations continue on the new one."""
        self._request("PUT", "/model", json={"model_file": str(Path(model_file).resolve())}, timeout=120.0)
        return self.refresh_version()

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, json: Any = None, timeout: float | None = None) -> Any:
        try:
            response = self._client.request(
                method,
                path,
                params={"token": self.token},
                json=json,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"Rasa at {self.base_url} unreachable: {exc!r}") from exc
        if response.status_code == 409 or response.status_code >= 500:
            raise EngineUnavailable(f"Rasa {path}: {response.status_code} {response.text[:200]}")
        if response.status_code in (401, 403):
            raise EngineUnavailable(f"Rasa {path}: not authorised (check RASA_TOKEN)")
        response.raise_for_status()
        return response.json() if response.content else None


# -- a running server -----------------------------------------------------------------------------


def swap_on_server(model: Path, rasa: RasaSettings | None = None, engine: RasaEngine | None = None) -> bool:
    """Load `model` on a running server when there is one (known token); False when none runs."""
    rasa = rasa or RasaSettings()
    if engine is None:
        if not rasa.token:
            return False
        engine = RasaEngine(rasa.base_url, rasa.token, rasa.timeout)
    try:
        engine.load_model(model)
    except EngineUnavailable:
        return False
    return True
