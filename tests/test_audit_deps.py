"""`make audit` (.ci/audit_deps.py) never reports a pass when it checked nothing."""

from __future__ import annotations

import importlib.util
import urllib.request

import pytest

from bot.config import PROJECT_ROOT


@pytest.fixture
def audit():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("audit_deps", PROJECT_ROOT / ".ci" / "audit_deps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _offline(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OSError("network is unreachable")


def test_offline_it_says_it_checked_nothing_and_fails(audit, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(audit, "pip_audit", lambda: None)
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert audit.main() == 2
    out = capsys.readouterr().out
    assert "NOT CHECKED: could not audit any of the" in out
    assert "No known vulnerabilities" not in out and "known vulnerabilities: 0" not in out


def test_a_pip_audit_report_of_nothing_is_not_a_pass(audit, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    class Run:
        stdout = '{"dependencies": [], "fixes": []}'
        stderr = "No known vulnerabilities found"
        returncode = 0

    monkeypatch.setattr(audit.subprocess, "run", lambda *a, **k: Run())
    assert audit.pip_audit() is None
    assert "audited no package at all" in capsys.readouterr().out
