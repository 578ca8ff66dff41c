"""Pathological but valid rulebooks: does loading (parse + check + compile) grow linearly? (issue 8 point 3)

    PYTHONPATH=src python bench/pathological.py            # every family, sizes 1/8 … 1 of the largest
    PYTHONPATH=src python bench/pathological.py --quick    # smaller sizes (a few seconds each)
    PYTHONPATH=src python bench/pathological.py --family elseif --sizes 125,250,500,1000

Families: a `si … alors … sinon si …` chain (levels), independent rules (rules), one
parameter table keyed by two enumerations (rows), an `exception à` chain (rules). Each size is
loaded in a fresh interpreter with the parse cache off: the figures are wall time of the load
and of one decision, and the peak resident memory of the process (ru_maxrss). Linear growth
shows as a constant time per unit (the last column) when the size doubles.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAD = 'couverture depuis 2019-04-01\nfait m : montant "m"\n'
ARTICLE = 'article R1 "a"\n  version depuis 2019-04-01 source "s"\n'


def elseif(n: int) -> str:
    chain = " ".join(f"si m >= {i * 1000} € alors {i} €\n      sinon" for i in range(n, 0, -1)) + " 0 €"
    return HEAD + 'définition d : montant "d"\n' + ARTICLE + f"  règle r : définit d = {chain}\n"


def rules(n: int) -> str:
    """n rules: n/2 definitions, each given by two rules with complementary conditions (conflict checks)."""
    half = n // 2
    defs = "".join(f'définition d{i} : montant "d{i}"\n' for i in range(half))
    body = "".join(f"  règle r{i} : définit d{i} = m + {i} € si m > {i % 97} €\n  règle z{i} : définit d{i} = 0 € si m <= {i % 97} €\n" for i in range(half))
    return HEAD + defs + ARTICLE + body


def rows(n: int) -> str:
    a = max(1, int(n**0.5))
    b = max(1, n // a)
    enum_a = "énumération ka \"a\" { " + ", ".join(f'a{i} "a{i}"' for i in range(a)) + " }\n"
    enum_b = "énumération kb \"b\" { " + ", ".join(f'b{i} "b{i}"' for i in range(b)) + " }\n"
    table = "".join(f"    a{i}, b{j} : {i * b + j} €\n" for i in range(a) for j in range(b))
    return (
        HEAD + enum_a + enum_b + 'fait fa : ka "fa"\nfait fb : kb "fb"\ndéfinition d : montant "d"\n'
        'paramètre p : montant "p" selon ka, kb\n  depuis 2019-04-01 :\n' + table + '    source "s"\n'
        + ARTICLE + "  règle r : définit d = p[fa, fb] + m\n"
    )


def exceptions(n: int) -> str:
    chain = "".join(f"  règle e{i} exception à e{i - 1} : définit d = {i} € si m > {i} €\n" for i in range(1, n))
    return HEAD + 'définition d : montant "d"\n' + ARTICLE + "  règle e0 : définit d = 0 €\n" + chain


FAMILIES = {
    "elseif": (elseif, "levels", 1000, {"m": "2500"}),
    "rules": (rules, "rules", 10_000, {"m": "50"}),
    "rows": (rows, "rows", 100_000, {"m": "1", "fa": "a1", "fb": "b2"}),
    "exceptions": (exceptions, "rules", 5_000, {"m": "2500"}),
}

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from cpc_rules import load_rulebook
from cpc_rules.syntax import parse
parse.parser()  # the parser's tables are built once per machine: not part of a rulebook's load
t1 = time.perf_counter()
rb = load_rulebook(sys.argv[1])
t2 = time.perf_counter()
d = rb.decide(json.loads(sys.argv[2]), at="2024-01-01")
t3 = time.perf_counter()
print(json.dumps({"load": t2 - t1, "decide": t3 - t2, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(text: str, facts: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.cpc"
        path.write_text(text, encoding="utf-8")
        env = {**os.environ, "CPC_RULES_CACHE": "off"}
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), json.dumps(facts)], env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
        return json.loads(out.stdout)  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", choices=sorted(FAMILIES), action="append")
    ap.add_argument("--sizes", help="comma-separated sizes (default: largest/8, /4, /2, largest)")
    ap.add_argument("--quick", action="store_true", help="sizes largest/64 … largest/8")
    args = ap.parse_args()
    print("| family | size | unit | load (s) | decide (ms) | peak RSS (MB) | load µs per unit |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for name in args.family or FAMILIES:
        make, unit, largest, facts = FAMILIES[name]
        if args.sizes:
            sizes = [int(s) for s in args.sizes.split(",")]
        else:
            div = (64, 32, 16, 8) if args.quick else (8, 4, 2, 1)
            sizes = [largest // d for d in div]
        for n in sizes:
            r = measure(make(n), facts)
            print(f"| {name} | {n} | {unit} | {r['load']:.2f} | {r['decide'] * 1000:.2f} | {r['rss_mb']:.0f} | {r['load'] / n * 1e6:.0f} |", flush=True)


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"\n(total {time.perf_counter() - t:.0f} s, Python {sys.version.split()[0]})")
