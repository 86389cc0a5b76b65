"""`make bench`: every benchmark in one run, results in bench/results/*.json, tables printed and
written to bench/results/summary.md (copied into bench/README.md by hand, with the targets).

    .venv/bin/python -m bench.run_all [library clinc150 banking77 service]
"""

from __future__ import annotations

import importlib
import sys
import time

from bench.common import RESULTS, machine

ORDER = ["library", "policy", "clinc150", "banking77", "service", "fleet"]


def main(names: list[str]) -> None:
    start = time.perf_counter()
    info = machine()
    parts = [f"Run {info['date']} on {info['cores']} cores ({info['cpu']}), Python {info['python']}, "
             f"load average at the start {info['load_average']}."]
    for name in names or ORDER:
        module = importlib.import_module(f"bench.{name}")
        t = time.perf_counter()
        out = module.run()
        parts.append(module.markdown(out) + f"\n\n({name}: {time.perf_counter() - t:.0f} s)")
        print(parts[-1] + "\n", flush=True)
    parts.append(f"Total {time.perf_counter() - start:.0f} s; load average at the end "
                 f"{machine()['load_average']}.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text("\n\n".join(parts) + "\n")
    print(parts[-1])


if __name__ == "__main__":
    main(sys.argv[1:])
