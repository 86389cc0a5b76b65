"""Known-vulnerable dependencies: fails when an installed package has a published advisory.

pip-audit's PyPI service asks https://pypi.org/pypi/NAME/VERSION/json, which this workplace's PyPI
access does not serve (404 for every package: pip-audit then "skips" them all and still exits 0,
a pass that checked nothing). This script runs pip-audit first and trusts it only when it audited
every package; otherwise it falls back to https://pypi.org/pypi/NAME/json, whose `vulnerabilities`
list is authoritative for the latest release: an installed package that is the latest release is
audited that way; one that is older cannot be, and is listed as unaudited (never counted as a pass).
Exit 1 on any known vulnerability; 2 when it could not check a single package (no network, no
service: said in so many words, never "no known vulnerabilities"); 0 otherwise, with the
audited/unaudited counts printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

BIN = Path(sys.executable).parent


def pip_audit() -> dict | None:
    """pip-audit's JSON report when it could audit every dependency, else None."""
    try:
        run = subprocess.run([str(BIN / "pip-audit"), "-l", "-s", "pypi", "-f", "json",
                              "--progress-spinner", "off", "--timeout", "20"],
                             capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"pip-audit did not run: {exc}")
        return None
    try:
        report = json.loads(run.stdout)
    except ValueError:
        print(f"pip-audit gave no report (exit {run.returncode}): {run.stderr.strip()[-300:]}")
        return None
    if not report.get("dependencies"):
        print("pip-audit audited no package at all; using the project JSON instead")
        return None
    skipped = [d for d in report["dependencies"] if "skip_reason" in d]
    if skipped:
        print(f"pip-audit could not audit {len(skipped)} of {len(report['dependencies'])} packages "
              f"(first: {skipped[0]['skip_reason']}); using the project JSON instead")
        return None
    return report


def latest_release_check() -> tuple[list[str], list[str], list[str]]:
    audited, unaudited, vulnerable = [], [], []
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"].lower()):
        name, version = dist.metadata["Name"], dist.version
        if name.lower() == "triage-bot":
            continue
        try:
            with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as resp:
                data = json.load(resp)
        except Exception as exc:  # noqa: BLE001 - report, never pass silently
            unaudited.append(f"{name} {version} (PyPI: {type(exc).__name__})")
            continue
        latest = data["info"]["version"]
        if version != latest:
            unaudited.append(f"{name} {version} (latest {latest})")
            continue
        audited.append(f"{name} {version}")
        for vuln in data.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                vulnerable.append(f"{name} {version}: {vuln['id']} {vuln.get('aliases', [])} "
                                  f"fixed in {vuln.get('fixed_in')}")
    return audited, unaudited, vulnerable


def main() -> int:
    report = pip_audit()
    if report is not None:
        found = [f"{d['name']} {d['version']}: {v['id']}" for d in report["dependencies"]
                 for v in d.get("vulns", [])]
        audited = len(report["dependencies"])
        print(f"pip-audit: {audited} packages audited, {len(found)} known vulnerabilities")
        print("\n".join(found))
        return 1 if found else 0
    audited, unaudited, vulnerable = latest_release_check()
    if not audited:
        print(f"NOT CHECKED: could not audit any of the {len(unaudited)} installed packages, so this "
              "says nothing about known vulnerabilities.")
        for line in unaudited[:10]:
            print(f"  unaudited  {line}")
        return 2
    print(f"audited (latest release, PyPI advisories): {len(audited)}; known vulnerabilities: "
          f"{len(vulnerable)}; not auditable here (older than the latest release): {len(unaudited)}")
    for line in vulnerable:
        print(f"  VULNERABLE {line}")
    for line in unaudited:
        print(f"  unaudited  {line}")
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
