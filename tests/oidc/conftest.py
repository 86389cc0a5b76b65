"""A real OpenID provider on loopback (tests/oidc/provider.mjs, the npm package oidc-provider run
with the machine's Node.js) and the real app under uvicorn configured to sign in with it.

Node.js or the package missing fails the tests (never skips): `make test` installs the package
(`npm ci` in tests/oidc), `.ci/run` installs Node.js.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import Services
from tests.conftest import make_services
from tests.web.conftest import browser  # noqa: F401  (the Chromium fixture)

HERE = Path(__file__).parent
CLIENT_ID = "triage-console"
CLIENT_SECRET = "test-client-secret-0123456789"
FIRE = "fire_prevention_officer"
COMMUNITY = "community_police_officer"
PASSWORD = "provider password 1"

# The provider's accounts: login -> sub and claims (roles as an Entra ID app-role claim would be).
ACCOUNTS = {
    "alice": {
        "sub": "sub-alice-7f3a",
        "claims": {
            "name": "Alice de Vries",
            "preferred_username": "alice@politie.example",
            "email": "alice@politie.example",
            "roles": ["Brandpreventie", "Unknown-Group"],
            "areas": ["centrum"],
        },
    },
    "bob": {
        "sub": "sub-bob-19c2",
        "claims": {
            "name": "Bob Jansen",
            "preferred_username": "bob@gemeente.example",
            "email": "bob@gemeente.example",
            "roles": ["triage-admin"],
        },
    },
    "carol": {
        "sub": "sub-carol-55e1",
        "claims": {
            "name": "Carol Bakker",
            "preferred_username": "carol@politie.example",
            "email": "carol@politie.example",
        },
    },
    "dave": {
        "sub": "sub-dave-0b77",
        "claims": {"name": "Dave Smit", "preferred_username": "dave@politie.example", "roles": [COMMUNITY]},
    },
    "erin": {
        "sub": "sub-erin-a1d0",
        "claims": {"name": "Erin Visser", "preferred_username": "erin@politie.example", "roles": [FIRE]},
    },
    "frank": {
        "sub": "sub-frank-3c9d",
        "claims": {
            "name": "Frank de Boer",
            "preferred_username": "frank@politie.example",
            "roles": [COMMUNITY],
        },
    },
    # Her roles claim never holds the admin value: it must not take the role from the last admin.
    "grace": {
        "sub": "sub-grace-4e12",
        "claims": {"name": "Grace Peters", "preferred_username": "grace@politie.example", "roles": [FIRE]},
    },
    # Links his organisation account to his existing local account "kees" (tests/oidc/test_sso_link.py).
    "henk": {
        "sub": "sub-henk-8d31",
        "claims": {"name": "Henk (org)", "preferred_username": "henk@politie.example", "roles": [COMMUNITY]},
    },
    # Henk's organisation account after a move to another tenant: a new `sub` (test_sso_unlink.py).
    "henk-new": {
        "sub": "sub-henk-new-2b90",
        "claims": {"name": "Henk (new org)", "preferred_username": "henk.nieuw@politie.example"},
    },
    # Same e-mail and preferred username as a local account: must never be linked to it.
    "mallory": {
        "sub": "sub-mallory-66aa",
        "claims": {
            "name": "Mallory",
            "preferred_username": "admin",
            "email": "admin@triage.example",
            "roles": [FIRE],
        },
    },
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class OpenIDProvider:
    issuer: str
    process: subprocess.Popen[str]


@dataclass
class SSOServer:
    url: str
    services: Services
    provider: OpenIDProvider


def _start_provider(callbacks: list[str], logouts: list[str]) -> OpenIDProvider:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js is required for the SSO tests (a real OpenID provider) and is missing: "
            "apt-get install -y nodejs npm"
        )
    if not (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
        pytest.fail(
            "the npm package oidc-provider is not installed in tests/oidc: "
            "run `make test`, or `cd tests/oidc && npm ci`"
        )
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(callbacks),
        "OIDC_POST_LOGOUT_URIS": ",".join(logouts),
        "OIDC_ACCOUNTS": json.dumps({k: {**v, "password": PASSWORD} for k, v in ACCOUNTS.items()}),
        "NODE_ENV": "test",
    }
    process = subprocess.Popen(
        [node, str(HERE / "provider.mjs")],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith("ISSUER ") or process.poll() is not None:
            break
    if not line.startswith("ISSUER "):
        process.kill()
        err = process.stderr.read() if process.stderr else ""
        pytest.fail(f"the OpenID provider did not start: {line!r} {err[-2000:]}")
    # Keep reading its output so a full pipe never blocks it.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    return OpenIDProvider(line.split()[1], process)


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    """The app's ports, known before the provider starts (it lists the callbacks it accepts)."""
    return {"claims": free_port(), "plain": free_port()}


@pytest.fixture(scope="module")
def provider(ports) -> Iterator[OpenIDProvider]:  # type: ignore[no-untyped-def]
    bases = [f"http://127.0.0.1:{p}" for p in ports.values()]
    started = _start_provider([f"{b}/login/oidc/callback" for b in bases], [f"{b}/login" for b in bases])
    yield started
    started.process.terminate()
    started.process.wait(10)


def _serve(
    tmp: Path, port: int, provider: OpenIDProvider, trained_engine, **settings: object
) -> Iterator[SSOServer]:  # type: ignore[no-untyped-def]
    import uvicorn

    from bot.web.api import create_app

    services = make_services(
        tmp,
        f"sqlite:///{tmp / 'sso.db'}",
        trained_engine,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_name="Politie Test",
        **settings,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start")
        time.sleep(0.05)
    yield SSOServer(f"http://127.0.0.1:{port}", services, provider)
    server.should_exit = True
    thread.join(10)
    services.db.dispose()


@pytest.fixture(scope="module")
def sso_claims(tmp_path_factory, ports, provider, trained_engine) -> Iterator[SSOServer]:  # type: ignore[no-untyped-def]
    """The app taking roles, areas and admin rights from the claims at every login."""
    yield from _serve(
        tmp_path_factory.mktemp("sso-claims"),
        ports["claims"],
        provider,
        trained_engine,
        oidc_roles_claim="roles",
        oidc_areas_claim="areas",
        oidc_role_map={"Brandpreventie": FIRE},
        oidc_admin_value="triage-admin",
    )


@pytest.fixture(scope="module")
def sso_plain(tmp_path_factory, ports, provider, trained_engine) -> Iterator[SSOServer]:  # type: ignore[no-untyped-def]
    """The app without a roles claim: an admin gives SSO users their roles."""
    yield from _serve(tmp_path_factory.mktemp("sso-plain"), ports["plain"], provider, trained_engine)
