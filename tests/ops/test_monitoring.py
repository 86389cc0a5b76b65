"""The shipped alert rules and Grafana dashboard: valid for Prometheus (checked by promtool from
Debian's `prometheus` package, which .ci/run installs; a missing promtool fails, never skips), and
naming only metrics that /metrics really serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from bot.config import PROJECT_ROOT
from bot.web import plugins
from bot.web.api import create_app

OPS = PROJECT_ROOT / "ops"
ALERTS = OPS / "prometheus" / "alerts.yml"
ALERT_TESTS = OPS / "prometheus" / "alerts_test.yml"
DASHBOARD = OPS / "grafana" / "triage-dashboard.json"
NAME = re.compile(r"\btriage_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "summary": ("_count", "_sum", "_created"),
}


def promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        pytest.fail("promtool is missing: `apt-get install -y prometheus` (.ci/run does)")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, cwd=OPS / "prometheus"
    )


def alert_expressions() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


@pytest.fixture(scope="module")
def served_names(tmp_path_factory, sqlite_template, trained_engine) -> set[str]:  # type: ignore[no-untyped-def]
    """Every sample name /metrics can serve: each family's name with its type's suffixes."""
    import shutil as sh

    from tests.conftest import make_services

    tmp = tmp_path_factory.mktemp("metrics")
    sh.copyfile(sqlite_template, tmp / "triage.db")
    services = make_services(tmp, f"sqlite:///{tmp / 'triage.db'}", trained_engine, imported=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plugins, "PARTS", ["bot.web.metrics_part"])
        with TestClient(create_app(services), client=("127.0.0.1", 40000)) as client:
            text = client.get("/metrics").text
    services.db.dispose()
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return {n for n in names if n.startswith("triage_")}


def test_the_alert_rules_pass_promtool_check() -> None:
    result = run("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_alerts_fire_when_they_should() -> None:
    """promtool's rule unit tests: an emergency waiting 8 minutes pages, a silent poller too."""
    result = run("test", "rules", str(ALERT_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dashboard_queries_are_valid_promql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    exprs = dashboard_expressions()
    assert len(exprs) >= 10
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [{"record": f"dashboard:query{i}", "expr": expr} for i, expr in enumerate(exprs)],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = run("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_and_dashboard_name_only_served_metrics(served_names) -> None:  # type: ignore[no-untyped-def]
    assert {
        "triage_messages_total",
        "triage_decision_seconds_bucket",
        "triage_questions_overdue",
        "triage_outbox_backlog",
        "triage_emergencies_unclaimed",
    } <= served_names
    used = {name for expr in alert_expressions() + dashboard_expressions() for name in NAME.findall(expr)}
    assert used, "no triage_ metric named in the rules or the dashboard"
    assert used - served_names == set()


def test_the_dashboard_shows_every_family(served_names) -> None:  # type: ignore[no-untyped-def]
    """A metric added to /metrics without a panel is a metric nobody watches."""
    shown = {name for expr in dashboard_expressions() for name in NAME.findall(expr)}
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", n) for n in served_names}
    missing = {f for f in families if not any(s == f or s.startswith(f + "_") for s in shown)}
    assert missing == set()
