"""cpc-rules against the reference decision (SPEC.md of the shared anchors, ../shared/bench-anchors/), in one run.

    PYTHONPATH=src python bench/reference.py            # the full run (figures of bench/README.md)
    PYTHONPATH=src python bench/reference.py --quick    # a smaller, faster run

Run from the repository root. The reference is the "procedure choice" decision of the
shared benchmark anchors: its hand-written Python function (`impl_plain.py`), the same
recording the fired rules (`decide_traced`), and its NumPy version (`impl_numpy.py`),
read where the anchors are published (bench/reference/anchors.py). cpc-rules decides it from `bench/reference/procedure.cpc`.

1. Agreement, before any timing: the 19 golden cases of SPEC.md, N generated situations
   (seeded generator of SPEC.md section 7) and the same N moved 0.01 € under a threshold
   that applies to them, with the public API (`Rulebook.decide`) and the batch path
   (`Rulebook.decide_many`), and as typed NumPy columns (`batch.decide_columns`); allowed
   procedures, publicity and (for `decide`) fired rules must be equal.
   A disagreement stops the run.
2. Timings, interleaved, in CPU time of the process (time.process_time; the machine is shared,
   so wall time would measure the other jobs too): every round times each variant once on the same situations, and
   the ratio to the reference is taken within the round; the report gives the median of
   the per-round ratios (the machine is shared and noisy: ratios, not microseconds).
3. Peak memory of the batch paths (tracemalloc); with a wheel of this checkout built and installed
   under a temporary folder (as a user has it: the shipped IR and generated code, bytecode written
   by pip), and from the checkout: loads of the bundled rulebook in fresh interpreters, cold (empty
   user caches) and warm (filled), and `cpc-rules decide` as a whole process beside a plain Python
   script deciding with impl_plain.

Nothing in CI runs this file (tests/test_reference_bench.py checks the agreement part).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REF = ROOT / "bench" / "reference"
sys.path.insert(0, str(REF))
try:  # installed, or PYTHONPATH=src; else the checkout's src/
    import cpc_rules  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

import adapter  # noqa: E402  (puts the shared anchors on sys.path: bench/reference/anchors.py)
import anchors  # noqa: E402
import common  # noqa: E402
import impl_numpy  # noqa: E402
import impl_plain  # noqa: E402

from cpc_rules.api import load_rulebook  # noqa: E402
from cpc_rules.batch import PERMISSIONS, decide_columns  # noqa: E402


# ---------------------------------------------------------------------- agreement
def check_agreement(rb: Any, n: int, seed: int) -> dict[str, Any]:
    """Golden cases, n generated situations and the same n under a threshold: decide and decide_many vs impl_plain."""
    report: dict[str, Any] = {}
    bad = []
    for args, expected in adapter.golden_cases():
        got = adapter.outputs(rb.decide(adapter.situation(*args[:5]), at=args[5]))
        if got != expected or tuple(adapter.reference(args)) != expected:
            bad.append((args, got, expected))
    report["golden"] = (len(adapter.golden_cases()), len(bad))
    if bad:
        raise SystemExit(f"golden cases disagree: {bad[:3]}")
    decider = rb.decider(adapter.FOCUS)
    bad = [(args, expected) for args, expected in adapter.golden_cases() if adapter.outputs_decider(decider(adapter.situation(*args[:5]), args[5]))[:2] != expected[:2]]
    if bad:
        raise SystemExit(f"golden cases disagree (Rulebook.decider): {bad[:3]}")
    report["golden (decider)"] = (len(adapter.golden_cases()), 0)
    cols = common.generate(n, seed)
    for label, c in (("generated", cols), ("0.01 € under a threshold", adapter.under_thresholds(cols))):
        tuples = common.to_python(c)
        t0 = time.perf_counter()
        n_bad = 0
        for s in tuples:
            d = rb.decide(adapter.situation(*s[:5]), at=s[5])
            got = adapter.outputs(d)
            if got != tuple(adapter.reference(s)) or adapter.read_enumerations(d) != tuple(got[:1]) + ([got[1]],):
                n_bad += 1
                if n_bad < 4:
                    print("  disagreement:", s, got, adapter.reference(s))
        report[label] = (len(tuples), n_bad, time.perf_counter() - t0)
        if n_bad:
            raise SystemExit(f"{label}: {n_bad} disagreements with impl_plain")
        n_bad = 0
        for s in tuples:
            got = adapter.outputs_decider(decider(adapter.situation(*s[:5]), s[5]))
            if got[:2] != tuple(adapter.reference(s))[:2]:
                n_bad += 1
                if n_bad < 4:
                    print("  decider disagreement:", s, got, adapter.reference(s))
        report[label + " (decider)"] = (len(tuples), n_bad)
        if n_bad:
            raise SystemExit(f"{label}: Rulebook.decider disagrees on {n_bad} situations")
        n_bad = _check_columns(rb, c, tuples)
        report[label + " (decide_columns)"] = (len(tuples), n_bad)
        if n_bad:
            raise SystemExit(f"{label}: decide_columns disagrees on {n_bad} situations")
        if hasattr(rb, "decide_many"):
            n_bad = _check_many(rb, c, tuples)
            report[label + " (decide_many)"] = (len(tuples), n_bad)
            if n_bad:
                raise SystemExit(f"{label}: decide_many disagrees on {n_bad} situations")
    return report


def _check_many(rb: Any, cols: dict[str, Any], tuples: list[tuple[Any, ...]]) -> int:
    results = rb.decide_many(_batch(cols), focus=adapter.FOCUS_ALL)
    n_bad = 0
    for s, r in zip(tuples, results, strict=True):
        if adapter.outputs_light(r)[:2] != tuple(adapter.reference(s))[:2]:  # allowed, publicity (a batch has no trace)
            n_bad += 1
            if n_bad < 4:
                print("  decide_many disagreement:", s, adapter.outputs_light(r), adapter.reference(s))
    return n_bad


def _check_columns(rb: Any, cols: dict[str, Any], tuples: list[tuple[Any, ...]]) -> int:
    """batch.decide_columns (typed NumPy columns in, no per-row Python) vs impl_plain."""
    res = decide_columns(rb, *adapter.columns(cols), focus=adapter.FOCUS)
    allowed = {p: (res.permission("procédure", p) == PERMISSIONS.index("allowed")).tolist() for p in adapter.PROCEDURES}
    owed = {p: (res.obligation("publicité", p) == 1).tolist() for p in adapter.PUBLICITIES}
    n_bad = int(res.fallback.sum())
    for i, s in enumerate(tuples):
        got = ([p for p in adapter.PROCEDURES if allowed[p][i]], [p for p in adapter.PUBLICITIES if owed[p][i]])
        ref = impl_plain.decide(*s)
        if got != (ref[0], [ref[1]]):
            n_bad += 1
            if n_bad < 4:
                print("  decide_columns disagreement:", s, got, ref)
    return n_bad


def _batch(cols: dict[str, Any]) -> list[tuple[dict[str, Any], dt.date]]:
    return [(adapter.situation(*s[:5]), s[5]) for s in common.to_python(cols)]


# ---------------------------------------------------------------------- timing
CLOCK = time.process_time  # CPU time of this process: the machine is shared, wall time measures the others too


def per_call(fn: Any, items: list[Any]) -> float:
    """CPU seconds per item of fn over items (one pass, GC off as timeit does)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        t0 = CLOCK()
        fn(items)
        return (CLOCK() - t0) / len(items)
    finally:
        if gc_was:
            gc.enable()


def single_variants(rb: Any) -> dict[str, Any]:
    """One decision at a time; each takes the list of reference tuples."""
    prog = rb.program
    plain, traced = impl_plain.decide, impl_plain.decide_traced
    situation, outputs = adapter.situation, adapter.outputs
    proc_status = adapter.read_conclusions
    full_status = adapter.read_statuses

    def ref_plain(items: list[Any]) -> None:
        for s in items:
            plain(*s)

    def ref_traced(items: list[Any]) -> None:
        for s in items:
            traced(*s)

    def api(items: list[Any]) -> None:
        decide = rb.decide
        for s in items:
            proc_status(decide(situation(s[0], s[1], s[2], s[3], s[4]), s[5]))

    by_enum = adapter.read_enumerations

    def api_enum(items: list[Any]) -> None:
        decide = rb.decide
        for s in items:
            by_enum(decide(situation(s[0], s[1], s[2], s[3], s[4]), s[5]))

    built: list[Any] = []

    def api_built(items: list[Any]) -> None:
        decide = rb.decide
        for sit, at in built:
            proc_status(decide(sit, at))

    def api_status(items: list[Any]) -> None:
        decide = rb.decide
        for s in items:
            full_status(decide(situation(s[0], s[1], s[2], s[3], s[4]), s[5]))

    def api_fired(items: list[Any]) -> None:
        decide = rb.decide
        for s in items:
            outputs(decide(situation(s[0], s[1], s[2], s[3], s[4]), s[5], trace=True))

    def api_tree(items: list[Any]) -> None:
        decide = rb.decide
        for s in items:
            d = decide(situation(s[0], s[1], s[2], s[3], s[4]), s[5], trace=True)
            proc_status(d)
            d.trace  # noqa: B018 - the tree is built on first read

    decider = rb.decider(adapter.FOCUS)

    def dec(items: list[Any]) -> None:
        for s in items:
            a = decider(situation(s[0], s[1], s[2], s[3], s[4]), s[5])
            a[0][0], a[1][2]  # noqa: B018 - read as adapter.read_decider does, without a call: allowed procedures, publicity owed

    def dec_built(items: list[Any]) -> None:
        for sit, at in built:
            a = decider(sit, at)
            a[0][0], a[1][2]  # noqa: B018

    prepared: list[Any] = []

    def run_alone(items: list[Any]) -> None:
        run = prog.run
        for facts, at in prepared:
            run(facts, at)

    def prepare(items: list[Any]) -> None:
        prepared[:] = [(prog.facts_vector(situation(*s[:5])), prog.at(s[5])) for s in items]
        built[:] = [(situation(*s[:5]), s[5]) for s in items]

    def typing(items: list[Any]) -> None:
        fv = prog.facts_vector
        for s in items:
            fv(situation(s[0], s[1], s[2], s[3], s[4]))

    return {
        "ref": ref_plain,
        "ref_traced": ref_traced,
        "api": api,
        "api_built": api_built,
        "api_enum": api_enum,
        "api_status": api_status,
        "api_fired": api_fired,
        "api_tree": api_tree,
        "decider": dec,
        "decider_built": dec_built,
        "run": run_alone,
        "typing": typing,
        "_prepare": prepare,
    }


def rounds(rb: Any, n_single: int, n_batch: int, n_rounds: int, seed: int) -> dict[str, list[float]]:
    singles = common.to_python(common.generate(n_single, seed + 1))
    v = single_variants(rb)
    v["_prepare"](singles)
    bcols = common.generate(n_batch, seed + 2)
    btuples = common.to_python(bcols)
    bitems = _batch(bcols)
    out: dict[str, list[float]] = {}

    def add(key: str, x: float) -> None:
        out.setdefault(key, []).append(x)

    for r in range(n_rounds):
        t = {k: per_call(f, singles) for k, f in v.items() if not k.startswith("_")}
        for k in ("api", "api_built", "api_enum", "api_status", "decider", "decider_built", "run", "typing"):
            add(k + "/ref", t[k] / t["ref"])
        add("api_fired/ref_traced", t["api_fired"] / t["ref_traced"])
        add("api_tree/ref_traced", t["api_tree"] / t["ref_traced"])
        for k, x in t.items():
            add("us:" + k, x * 1e6)
        # batch: decisions per second
        tb = {}
        tb["ref_loop"] = per_call(lambda items: impl_plain.run_batch(items), btuples)
        tb["numpy"] = per_call(lambda items: impl_numpy.decide(bcols, trace=True), btuples)
        one = btuples[: max(1, n_batch // 20)]
        tb["one_at_a_time"] = per_call(v["api"], one)
        if hasattr(rb, "decide_many"):
            tb["decide_many"] = per_call(lambda items: rb.decide_many(items, focus=adapter.FOCUS), bitems)
            tb["decide_many_read"] = per_call(lambda items: [adapter.outputs_light(x) for x in rb.decide_many(items, focus=adapter.FOCUS_ALL)], bitems)
            tb["decide_columns"] = per_call(lambda items: decide_columns(rb, *adapter.columns(bcols), focus=adapter.FOCUS), btuples)
        for k, x in tb.items():
            add("per_s:" + k, 1.0 / x)
        print(
            f"  round {r + 1}/{n_rounds}: api ×{out['api/ref'][-1]:.1f}, decider ×{out['decider/ref'][-1]:.1f} (built ×{out['decider_built/ref'][-1]:.1f}), "
            f"run ×{out['run/ref'][-1]:.1f}, trace tree ×{out['api_tree/ref_traced'][-1]:.1f}",
            flush=True,
        )
    return out


def breakdown(rb: Any, n: int, seed: int, repeats: int = 7) -> dict[str, float]:
    """Where one decision's time goes: CPU µs per decision of each stage alone, best of `repeats` (interleaved)."""
    items = common.to_python(common.generate(n, seed + 4))
    prog = rb.program
    sits = [(adapter.situation(*s[:5]), s[5]) for s in items]
    prepared = [prog.prepare(s, True) for s, _ in sits]
    ats = [prog.at_covered(d) for _, d in sits]
    runs = list(zip([p[1] for p in prepared], ats, [p[3] for p in prepared], strict=True))
    decisions = [rb.decide(s, d) for s, d in sits]
    decider = rb.decider(adapter.FOCUS)
    plain, situation = impl_plain.decide, adapter.situation
    stages = {
        "impl_plain.decide": lambda: [plain(*s) for s in items],
        "situation dict (harness: float → Decimal)": lambda: [situation(s[0], s[1], s[2], s[3], s[4]) for s in items],
        "typing and presumptions (Program.prepare)": lambda: [prog.prepare(s, True) for s, _ in sits],
        "date placed (Program.at_covered)": lambda: [prog.at_covered(d) for _, d in sits],
        "generated run (Program.run_prepared)": lambda: [prog.run_prepared(f, a, k, False) for f, a, k in runs],
        "Rulebook.decide, whole": lambda: [rb.decide(s, d) for s, d in sits],
        "Rulebook.decider(focus), whole (its answer read)": lambda: [adapter.read_decider(decider(s, d)) for s, d in sits],
        "8 reads (Decision.permission, .obligation)": lambda: [adapter.read_conclusions(x) for x in decisions],
        "2 reads (Decision.permissions, .obligations)": lambda: [adapter.read_enumerations(x) for x in decisions],
    }
    best = {k: float("inf") for k in stages}
    for _ in range(repeats):
        for k, fn in stages.items():
            best[k] = min(best[k], per_call(lambda _items, fn=fn: fn(), items))
    return {k: v * 1e6 for k, v in best.items()}


def memory(rb: Any, n: int, seed: int) -> dict[str, float]:
    """Peak traced memory (MiB) of deciding n situations in batch, beside the NumPy anchor."""
    cols = common.generate(n, seed + 3)
    out = {}
    for label, fn in (
        ("numpy", lambda: impl_numpy.decide(cols, trace=True)),
        ("ref_loop", lambda: impl_plain.run_batch(common.to_python(cols))),
        ("decide_many", (lambda: rb.decide_many(_batch(cols), focus=adapter.FOCUS)) if hasattr(rb, "decide_many") else None),
        ("decide_columns", lambda: decide_columns(rb, *adapter.columns(cols), focus=adapter.FOCUS)),
    ):
        if fn is None:
            continue
        gc.collect()
        tracemalloc.start()
        res = fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del res
        out[label] = peak / 2**20
    return out


# ---------------------------------------------------------------------- processes
_LOAD = """
import statistics, sys, time
C = time.process_time
t0 = C()
from cpc_rules.api import load_rulebook
from cpc_rules import resources
t1 = C()
load_rulebook(resources.bundled_rulebook_path(), tests=False)
t2 = C()
warm = []
for _ in range(5):
    t = C()
    load_rulebook(resources.bundled_rulebook_path(), tests=False)
    warm.append(C() - t)
print(t1 - t0, t2 - t1, statistics.median(warm))
"""

_PLAIN_SCRIPT = """
import datetime, json, sys
sys.path.insert(0, sys.argv[1])
import impl_plain
s = json.load(open(sys.argv[2]))
allowed, publicity = impl_plain.decide(s["acheteur"], s["nature"], float(s["valeur"]), s["innovant"], s["urgent"], datetime.date.fromisoformat(s["date"]))
print(json.dumps({"allowed": allowed, "publicity": publicity}))
"""


_PYCACHE: str | None = None  # where the children keep their bytecode (set by main)


def _env(tmp: str | None, site: str | None = None) -> dict[str, str]:
    """The children's environment: the checkout's sources (or `site`, where a built wheel was installed); empty caches in `tmp`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (site or str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    if _PYCACHE is not None:  # as installed: pip writes the bytecode, a process does not compile the sources again
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    if tmp is not None:  # empty caches, as on a machine that never ran cpc-rules
        env["TMPDIR"] = tmp
        env["CPC_RULES_CACHE"] = str(Path(tmp) / "parsed")
        env["XDG_CACHE_HOME"] = str(Path(tmp) / "xdg")
    return env


def _installed_wheel(where: str) -> str | None:
    """Build the wheel (with the bundled rulebook's IR, hatch_build.py) and install it into `where`; None if pip cannot."""
    wheels, site = Path(where) / "wheel", Path(where) / "site"
    try:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)], capture_output=True, check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), *map(str, wheels.glob("*.whl"))], capture_output=True, check=True)
    except subprocess.CalledProcessError as e:
        print("wheel not built:", e.stderr.decode(errors="replace")[-500:], file=sys.stderr)
        return None
    return str(site)


def loads(n: int, site: str | None) -> dict[str, tuple[float, float, float]]:
    """(import, first load, later loads) in CPU ms, median of n fresh interpreters, as installed from the wheel (`site`)
    and from the checkout: with empty user caches (cold: the first run on a machine) and filled ones (warm: every later
    process), rounds interleaved."""
    trees = ([("installed", site)] if site else []) + [("checkout", None)]
    for _, where in trees:  # bytecode and caches written once
        subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, env=_env(None, where), check=True)
    variants = [(f"{tree}, {'cold' if cold else 'warm'}", cold, where) for tree, where in trees for cold in (True, False)]
    runs: dict[str, list[list[float]]] = {label: [] for label, _, _ in variants}
    for _ in range(n):
        for label, cold, where in variants:
            with tempfile.TemporaryDirectory() as tmp:
                p = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True, env=_env(tmp if cold else None, where), check=True)
            runs[label].append([float(x) * 1000 for x in p.stdout.split()])
    return {label: tuple(statistics.median(r[i] for r in rs) for i in range(3)) for label, rs in runs.items()}  # type: ignore[misc]


def whole_process(n: int, site: str | None) -> dict[str, float]:
    """`cpc-rules decide … --format json` (reference and bundled rulebooks; installed from the wheel and from the checkout)
    beside a plain script deciding with impl_plain: CPU seconds of the child, median of n, interleaved."""
    with tempfile.TemporaryDirectory() as tmp:
        situation = {"acheteur": "collectivite", "nature": "travaux", "valeur": "99999", "innovant": False, "urgent": False, "date": "2024-12-31"}
        sit = Path(tmp) / "situation.json"
        sit.write_text(json.dumps({"date": situation["date"], "faits": {k: v for k, v in situation.items() if k != "date"}}))
        plain_sit = Path(tmp) / "plain.json"
        plain_sit.write_text(json.dumps(situation))
        script = Path(tmp) / "plain.py"
        script.write_text(_PLAIN_SCRIPT)
        cli = [sys.executable, "-m", "cpc_rules.cli", "decide", str(sit), "-r", str(adapter.RULEBOOK), "--format", "json"]
        cli_bundled = [sys.executable, "-m", "cpc_rules.cli", "decide", str(ROOT / "examples" / "fournitures-collectivite-2026.json"), "--format", "json"]
        plain = [sys.executable, str(script), str(anchors.ANCHORS), str(plain_sit)]  # impl_plain is read where the anchors are published
        variants = [("plain", plain, _env(None))]
        for tree, where in ([("installed", site)] if site else []) + [("checkout", None)]:
            variants += [(f"{tree}: reference", cli, _env(None, where)), (f"{tree}: bundled", cli_bundled, _env(None, where))]
        for _, cmd, env in variants:  # warm the disk caches once
            subprocess.run(cmd, capture_output=True, env=env, check=True)
        times: dict[str, list[float]] = {key: [] for key, _, _ in variants}
        for _ in range(n):
            for key, cmd, env in variants:
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run(cmd, capture_output=True, env=env, check=True)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                times[key].append((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))  # CPU time of the child
    return {k: statistics.median(v) for k, v in times.items()}


def startup(n: int) -> tuple[dict[str, tuple[float, float, float]], dict[str, float]]:
    """Loads and whole processes, with a wheel of this checkout built and installed under a temporary folder."""
    with tempfile.TemporaryDirectory() as build:
        site = _installed_wheel(build)
        return loads(n, site), whole_process(n, site)


# ---------------------------------------------------------------------- main
def med(xs: list[float]) -> float:
    return statistics.median(xs)


def spread(xs: list[float]) -> str:
    return f"{med(xs):.2f} ({min(xs):.2f}–{max(xs):.2f})"


def _print_startup(ld: dict[str, tuple[float, float, float]], wp: dict[str, float], procs: int) -> None:
    print(f"Bundled rulebook (rulebooks/ccp) in a fresh interpreter, CPU ms, median of {procs} (cold: empty user caches; warm: filled):")
    print()
    print("| where, caches | import cpc_rules.api | first load | later loads in the process |")
    print("|---|---:|---:|---:|")
    for k, (imp, first, warm) in ld.items():
        print(f"| {k} | {imp:.0f} | {first:.0f} | {warm:.0f} |")
    print()
    print(f"Whole process `cpc-rules decide … --format json` (CPU time of the child, median of {procs}); the plain script: {wp['plain'] * 1000:.0f} ms")
    print()
    print("| where: rulebook | CPU ms | × plain script |")
    print("|---|---:|---:|")
    for k, v in wp.items():
        if k != "plain":
            print(f"| {k} | {v * 1000:.0f} | {v / wp['plain']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="generated situations checked for agreement (default 100 000)")
    ap.add_argument("--single", type=int, default=5_000, help="situations per round for one-at-a-time timings")
    ap.add_argument("--batch", type=int, default=200_000, help="situations per round for batch timings")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--procs", type=int, default=7, help="fresh interpreters for load and whole-process timings")
    ap.add_argument("--seed", type=int, default=common.DEFAULT_SEED)
    ap.add_argument("--quick", action="store_true", help="n=5 000, 1 000 per round, batch 50 000, 3 rounds, 3 processes")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--startup-only", action="store_true", help="only the loads and the whole processes (section 3, without memory)")
    ap.add_argument(
        "--no-bytecode",
        action="store_true",
        help="children compile the sources at every start (PYTHONDONTWRITEBYTECODE kept as set); by default they keep bytecode in a temporary folder, as an installed package does",
    )
    a = ap.parse_args()
    global _PYCACHE
    if not a.no_bytecode:
        _PYCACHE = tempfile.mkdtemp(prefix="cpc-bench-pycache-")
    if a.quick:
        a.n, a.single, a.batch, a.rounds, a.procs = 5_000, 1_000, 50_000, 3, 3

    print(f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f}")
    print("children: " + ("sources compiled at every start" if a.no_bytecode else "bytecode kept (as installed)"))
    if a.startup_only:
        ld, wp = startup(a.procs)
        _print_startup(ld, wp, a.procs)
        if a.json:
            a.json.write_text(json.dumps({"loads": ld, "process": wp}, indent=1, default=str))
        return
    rb = load_rulebook(adapter.RULEBOOK)
    print("agreement with impl_plain …", flush=True)
    agree = check_agreement(rb, a.n, a.seed)
    for k, vals in agree.items():
        print(f"  {k}: {vals[0]} situations, {vals[1]} disagreements")
    print("timings (interleaved rounds) …", flush=True)
    r = rounds(rb, a.single, a.batch, a.rounds, a.seed)
    print("breakdown …", flush=True)
    bd = breakdown(rb, a.single, a.seed)
    print("memory …", flush=True)
    mem = memory(rb, a.batch, a.seed)
    print("loads and whole processes …", flush=True)
    ld, wp = startup(a.procs)

    print()
    print(f"## Against the reference ({a.rounds} rounds, medians of per-round ratios, min–max in brackets)")
    print()
    print("| measure | × reference |")
    print("|---|---:|")
    print(f"| one decision, `Rulebook.decide` then reading allowed procedures and publicity (`Decision.permission`, `.obligation`), × `impl_plain.decide` | {spread(r['api/ref'])} |")
    print(f"| the same, the situation dicts built beforehand (no float → Decimal conversion by the harness), × `impl_plain.decide` | {spread(r['api_built/ref'])} |")
    print(f"| the same reading each enumeration in one call (`Decision.permissions`, `.obligations`: 2 reads), × `impl_plain.decide` | {spread(r['api_enum/ref'])} |")
    print(f"| the same reading the full conclusions (`Decision.status`: grounds, pending rules, missing facts), × `impl_plain.decide` | {spread(r['api_status/ref'])} |")
    print(f"| one decision, `Rulebook.decider(focus)` (the fast way: one generated function per focus) then reading allowed procedures and publicity from its answer, × `impl_plain.decide` | {spread(r['decider/ref'])} |")
    print(f"| the same, the situation dicts built beforehand (the engine's own cost), × `impl_plain.decide` | {spread(r['decider_built/ref'])} |")
    print(f"| one decision with its trace (`trace=True`: the run records the value of every node it reaches; the fired rules read from the activations), × `decide_traced` | {spread(r['api_fired/ref_traced'])} |")
    print(f"| the same, and the trace rendered as its tree (`Decision.trace`: the dicts of docs/trace-format.md), × `decide_traced` | {spread(r['api_tree/ref_traced'])} |")
    print(f"| `Program.run` alone (facts typed and date prepared beforehand), × `impl_plain.decide` | {spread(r['run/ref'])} |")
    print(f"| typing the input alone (`Program.facts_vector`), × `impl_plain.decide` | {spread(r['typing/ref'])} |")
    print()
    print("| µs per decision (medians) | " + " | ".join(k for k in r if k.startswith("us:")) + " |")
    print("| " + " | ".join(f"{med(v):.2f}" for k, v in r.items() if k.startswith("us:")) + " |")
    print()
    print(f"Batch, decisions per second, {a.batch} situations per round (one at a time: {max(1, a.batch // 20)}):")
    print()
    print("| path | decisions/s | × NumPy anchor |")
    print("|---|---:|---:|")
    for k in ("ref_loop", "numpy", "one_at_a_time", "decide_many", "decide_many_read", "decide_columns"):
        key = "per_s:" + k
        if key in r:
            ratios = [x / y for x, y in zip(r[key], r["per_s:numpy"], strict=True)]
            print(f"| {k} | {med(r[key]):,.0f} | {med(ratios):.3f} |")
    print()
    print(f"Where one decision's time goes, CPU µs per decision, best of 7 ({a.single} situations):")
    print()
    for k, v in bd.items():
        print(f"- {k}: {v:.2f}")
    print()
    print(f"Peak traced memory (tracemalloc) deciding {a.batch} situations, MiB: " + ", ".join(f"{k} {v:.1f}" for k, v in mem.items()))
    print()
    _print_startup(ld, wp, a.procs)
    if a.json:
        a.json.write_text(json.dumps({"agreement": agree, "rounds": r, "breakdown": bd, "memory": mem, "loads": ld, "process": wp}, indent=1, default=str))


if __name__ == "__main__":
    main()
