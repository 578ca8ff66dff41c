"""The value classes (record.py) on the bundled rulebook's objects: import, construction, equality, hash, attributes, memory.

    python bench/records.py                    # this checkout (n = 7 fresh interpreters)
    python bench/records.py --ref main --n 7   # and, interleaved, git revision `main` (e.g. one with attrs)

Run from the repository root. Each tree (this checkout; with `--ref`, `git archive` of the revision)
is run from its sources (`PYTHONPATH=<tree>/src`, bytecode kept in a temporary folder, a user cache of
its own filled first). In each fresh interpreter: the CPU time of `import cpc_rules.api`, then, over
every syntax-tree and IR object of the bundled rulebook with its test cases (~67 000), the best of 7
passes of: building each again from its fields (`cls(*values)`, per object), comparing it with its
copy (per object, deep), hashing every hashable one and reading every field (whole pass), and the
objects' own size (`sys.getsizeof`, slots). Medians over the interpreters, variants interleaved; CPU
time (`time.process_time`): the machine is shared, compare within a run. Nothing in CI runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_MEASURE = """
import json, sys, time
C = time.process_time
t0 = C()
import cpc_rules.api
t_import = C() - t0
from cpc_rules import api, ir, resources
try:
    from cpc_rules.record import fields, has
except ImportError:  # a revision with attrs
    from attrs import fields, has
rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=True).checked
objs, seen, stack = [], set(), [rb, *rb.modules]
while stack:
    o = stack.pop()
    if isinstance(o, tuple | list | frozenset):
        stack.extend(o)
        continue
    if isinstance(o, dict):
        stack.extend(o.values())
        continue
    if id(o) in seen or not has(type(o)):
        continue
    seen.add(id(o))
    stack.extend(getattr(o, f.name) for f in fields(type(o)) if not (type(o) is ir.Rulebook and f.name == "modules"))
    if type(o) is not ir.Rulebook:
        objs.append(o)
plans = [(type(o), tuple(getattr(o, f.name) for f in fields(type(o)))) for o in objs]
names = [(o, [f.name for f in fields(type(o))]) for o in objs]
hashable = [o for o, vals in zip(objs, (p[1] for p in plans)) if not any(isinstance(v, dict) for v in vals)]
[cls(*vals) for cls, vals in plans]  # the first objects of each class (methods made on first use)
best = {"construct": 1e9, "eq": 1e9, "hash": 1e9, "getattr": 1e9}
for _ in range(7):
    t0 = C(); copies = [cls(*vals) for cls, vals in plans]; best["construct"] = min(best["construct"], C() - t0)
    t0 = C(); same = [a == b for a, b in zip(objs, copies)]; best["eq"] = min(best["eq"], C() - t0)
    t0 = C()
    for o in hashable:
        try:
            hash(o)
        except TypeError:  # a field holds a dict deeper down
            pass
    best["hash"] = min(best["hash"], C() - t0)
    t0 = C()
    for o, ns in names:
        for n in ns:
            getattr(o, n)
    best["getattr"] = min(best["getattr"], C() - t0)
assert all(same)
n = len(objs)
print(json.dumps({"import ms": t_import * 1e3, "construct ns/object": best["construct"] / n * 1e9, "eq ns/object": best["eq"] / n * 1e9,
                  "hash ms/pass": best["hash"] * 1e3, "read fields ms/pass": best["getattr"] * 1e3, "objects": n, "bytes": sum(sys.getsizeof(o) for o in objs)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=7, help="fresh interpreters per variant")
    ap.add_argument("--ref", default=None, help="also this git revision, interleaved")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cpc-records-") as tmp_name:
        tmp = Path(tmp_name)
        trees = {"this checkout": ROOT}
        if a.ref:
            out = tmp / "ref"
            out.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.ref], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
            trees[a.ref] = out
        envs = {}
        for i, (label, tree) in enumerate(trees.items()):
            cache = tmp / f"cache-{i}"
            cache.mkdir(mode=0o700)
            env = {**os.environ, "PYTHONPATH": str(tree / "src"), "PYTHONPYCACHEPREFIX": str(tmp / f"pyc-{i}"), "CPC_RULES_CACHE": str(cache)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            envs[label] = env
            subprocess.run([sys.executable, "-c", _MEASURE], env=env, check=True, capture_output=True, cwd=tmp)  # bytecode and cache written
        runs: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
        for _ in range(a.n):
            for label, env in envs.items():
                out = subprocess.run([sys.executable, "-c", _MEASURE], env=env, check=True, capture_output=True, text=True, cwd=tmp).stdout
                runs[label].append(json.loads(out))
    print(f"load average {os.getloadavg()[0]:.1f}; median of {a.n} fresh interpreters (min–max)")
    keys = list(next(iter(runs.values()))[0])
    print()
    print("| tree | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for label, rs in runs.items():
        cells = [f"{statistics.median(r[k] for r in rs):.0f} ({min(r[k] for r in rs):.0f}–{max(r[k] for r in rs):.0f})" for k in keys]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
