"""Throughput of `cpc-rules audit` on the shared DECP sample (bench/README.md, section "Audit").

    PYTHONPATH=src python bench/audit.py [DATA…] [--jobs 1 2] [--reps 1]

Run from the repository root. DATA defaults to ../shared/data/decp (every file: v1 and v2 JSON
Lines, the flat and the tabular CSV). For each number of processes it runs the whole audit
(read, map, de-duplicate, decide, patterns, responsible purchasing; no report written) and prints
wall-clock time, CPU time (this process and its children), records read per second and
records decided (not duplicates, not out of coverage) per second. The machine is shared: compare
CPU time between runs, wall time only within one run. Nothing in CI runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from cpc_rules.api import default_rulebook
from cpc_rules.audit import run_audit


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", nargs="*", default=[str(ROOT.parent / "shared" / "data" / "decp")])
    ap.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--reps", type=int, default=1)
    args = ap.parse_args()
    rb = default_rulebook()
    rb.decide({}, "2024-01-01")  # compiled and warm before timing
    rows = []
    for jobs in args.jobs:
        for _ in range(args.reps):
            c0, t0 = _cpu(), time.perf_counter()
            s = run_audit(args.data, rulebook=rb, jobs=jobs)
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            v = s["verdicts"]
            decided = v["conforme"] + v["a_justifier"] + v["non_autorise"] + v["indetermine"]
            rows.append(
                {
                    "processus": jobs,
                    "enregistrements": s["enregistrements"],
                    "décidés": decided,
                    "secondes_horloge": round(wall, 1),
                    "secondes_cpu": round(cpu, 1),
                    "enregistrements_par_seconde": round(s["enregistrements"] / wall),
                    "décidés_par_seconde": round(decided / wall),
                    "étapes": s["mesures"],
                }
            )
            print(
                f"jobs={jobs}: {s['enregistrements']} enregistrements ({decided} décidés) en {wall:.1f} s d'horloge, {cpu:.1f} s CPU — "
                f"{s['enregistrements'] / wall:.0f} enregistrements/s, {decided / wall:.0f} décidés/s",
                flush=True,
            )
    print(
        json.dumps(
            {"machine": {"python": platform.python_version(), "cpu": os.cpu_count(), "charge_1min": os.getloadavg()[0]}, "mesures": rows},
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
