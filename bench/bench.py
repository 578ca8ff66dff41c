"""Speed benchmark of cpc-rules on the sample rulebook (tests/sample/sample.cpc).

    python bench/bench.py [--n 100000] [--reps 5] [--seed 2026] [--quick]

Run from the repository root, with the package installed or PYTHONPATH=src.
It measures:

  * load time: parse + check + compile of the sample, and of the bundled rulebook
    in a fresh interpreter (so Lark's parser construction is counted), cold and warm;
  * decision throughput on N random situations (seeded, exact Decimals, some facts
    missing), median over several repetitions, for
      (a) a hand-written Python function computing the same decision (every rule's
          outcome and every definition, Kleene logic, same dated parameters),
      (b) the engine core `Program.run(facts_vector, at_date, trace=False)`, with the
          facts vector precomputed, then with `facts_vector(situation)` included,
      (c) the public API `rb.decide(situation, at)` without trace,
      (d) the same with the trace: a traced run and the whole trace tree built
          (`rb.decide(situation, at, trace=True).trace`);
  * agreement of (a) with the engine (activation of every rule, value of every
    definition, errors) on a sample of the situations.

Nothing in CI runs this file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:  # installed, or PYTHONPATH=src; else the checkout's src/
    import cpc_rules  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from cpc_rules.api import load_rulebook
from cpc_rules.engine.runtime import EvaluationError, Unknown

SAMPLE = ROOT / "tests" / "sample" / "sample.cpc"
D = Decimal
H = D(100)
ZERO = D(0)

# ====================================================================== (a) by hand
# The sample rulebook written directly in Python. An unknown value is None; `and`,
# `or`, `non` follow Kleene's three-valued logic like the engine.


def _steps(*steps: tuple[str, Any]) -> list[tuple[dt.date, Any]]:
    return [(dt.date.fromisoformat(s), v) for s, v in steps]


def _sf(f_etat: str, f_coll: str, f_res: str, trav: str) -> dict[tuple[str, str], Decimal]:
    t: dict[tuple[str, str], Decimal] = {}
    for ach, v in (("état", f_etat), ("collectivité", f_coll), ("entité_réseau", f_res)):
        t[ach, "fournitures"] = t[ach, "services"] = D(v)
        t[ach, "travaux"] = D(trav)
    return t


PARAMS: dict[str, list[tuple[dt.date, Any]]] = {
    "sf": _steps(
        ("2020-01-01", _sf("139000", "214000", "428000", "5350000")),
        ("2022-01-01", _sf("140000", "215000", "431000", "5382000")),
        ("2024-01-01", _sf("143000", "221000", "443000", "5538000")),
        ("2026-01-01", _sf("140000", "216000", "432000", "5404000")),
    ),
    "sdisp": _steps(("2020-01-01", D(40000)), ("2023-01-01", D(40000)), ("2025-10-01", D(60000))),
    "strav": _steps(("2020-01-01", D(40000)), ("2020-07-01", D(70000)), ("2023-01-01", D(100000)), ("2025-01-01", D(40000))),
    "sboamp": _steps(
        ("2020-01-01", {"travaux": D(90000), "fournitures": D(90000), "services": D(90000)}),
        ("2024-01-01", {"travaux": D(100000), "fournitures": D(90000), "services": D(90000)}),
    ),
    "sprofil": _steps(("2020-01-01", D(90000)), ("2024-01-01", D(40000))),
    "tbase": _steps(("2020-01-01", D(5)), ("2022-04-01", D(10))),
    "tpme": _steps(("2020-01-01", D(10)), ("2022-04-01", D(20)), ("2025-01-01", D(30))),
    "savance": _steps(("2020-01-01", D(50000)), ("2023-01-01", D(30000))),
    "plafav": _steps(("2020-01-01", D(2000000)), ("2024-07-01", D("2500000.50"))),
    "plafret": _steps(("2020-01-01", D(5)), ("2025-01-01", D(3))),
    "ppl": _steps(("2020-01-01", D(20)), ("2023-01-01", D("25.5"))),
    "spl": _steps(
        ("2020-01-01", {"travaux": D(1000000), "fournitures": D(80000), "services": D(80000)}),
        ("2024-01-01", {"travaux": D(1000000), "fournitures": D(80000), "services": D(100000)}),
    ),
    "dmax": _steps(("2020-01-01", 96), ("2024-01-01", 120)),
    "dce": _steps(("2020-01-01", dt.date(2026, 8, 22))),
    "pst": _steps(("2020-01-01", D(50)), ("2026-01-01", D(40))),
}
COVER_START, COVER_END = dt.date(2020, 1, 1), dt.date(2027, 1, 1)
VERY_LARGE_FROM = dt.date(2024, 1, 1)
D2027, D2020 = dt.date(2027, 1, 1), dt.date(2020, 1, 1)
_param_cache: dict[dt.date, dict[str, Any]] = {}


def params_at(at: dt.date) -> dict[str, Any]:
    p = _param_cache.get(at)
    if p is None:
        p = {}
        for name, steps in PARAMS.items():
            value = None
            for start, v in steps:
                if start <= at:
                    value = v
            p[name] = value
        _param_cache[at] = p
    return p


class HandError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def AND(*xs: Any) -> Any:
    unknown = False
    for x in xs:
        if x is False:
            return False
        if x is None:
            unknown = True
    return None if unknown else True


def OR(*xs: Any) -> Any:
    unknown = False
    for x in xs:
        if x is True:
            return True
        if x is None:
            unknown = True
    return None if unknown else False


def NOT(x: Any) -> Any:
    return None if x is None else not x


def lt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a < b


def le(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a <= b


def gt(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a > b


def ge(a: Any, b: Any) -> Any:
    return None if a is None or b is None else a >= b


def eq(a: Any, b: Any) -> Any:
    return None if a is None else a == b


def beaten(target: Any, exception: Any) -> Any:
    """`target` after an exception to it: cancelled if the exception applies, unknown if it may."""
    if target is False or exception is False:
        return target
    if exception is True:
        return False
    return None


def hand_decide(s: dict[str, Any], at: dt.date) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """Every rule's activation (True/False/None) and every definition's value (None: unknown).

    None for a date outside the coverage; raises HandError("E402"/"E403").
    """
    if not (COVER_START <= at < COVER_END):
        return None
    P = params_at(at)
    g = s.get
    ach, nat, vb, lots, urg = g("acheteur"), g("nature"), g("valeur_besoin"), g("lots"), g("urgence")
    pme, inn, inf, dur, part = g("pme"), g("innovant"), g("infructueux"), g("durée_mois"), g("part_sous_traitance")
    dnot, avd = g("date_notification"), g("avance_demandée")

    # L2111-1: value of the need, lots
    if lots is None:
        r_par_lots = r_declaree = vt = nb = nbr = mpl = None
    else:
        nb = len(lots)
        nbr = sum(1 for lot in lots if lot["réservé"])
        spl = P["spl"]
        mpl = sum((lot["valeur"] for lot in lots if lot["valeur"] < spl[lot["nature_lot"]]), ZERO)
        r_par_lots = nb > 0
        if r_par_lots:
            r_declaree = False
            vt = None if vb is None else max(vb, sum((lot["valeur"] for lot in lots), ZERO))
        else:
            r_declaree, vt = True, vb
    if nb is None:
        mml = None
    elif nb > 0:
        mml = None if vt is None else vt / nb
    else:
        mml = vt
    # R2111-2: thresholds
    sa = None if ach is None or nat is None else P["sf"][ach, nat]
    marge = None if sa is None or vt is None else sa - vt
    dep = None if marge is None else -marge
    ratio = None if vt is None or sa is None else vt / sa * H
    r_dep = gt(dep, ZERO)
    r_proche = AND(ge(ratio, 90), lt(ratio, 100))
    # R2122-8, R2122-1
    sdisp = P["sdisp"]
    r_disp = lt(vt, sdisp)
    r_disp_trav = AND(eq(nat, "travaux"), lt(vt, P["strav"]))
    r_bonnes = lt(vt, sdisp)
    r_urg = eq(urg, "impérieuse")
    r_infr = AND(inf, ge(vt, sa))
    # R2123-1
    r_mapa = lt(vt, sa)
    r_mapa_lots = AND(gt(nb, 1), le(mpl, None if vt is None else vt * P["ppl"] / H))
    r_mapa_int = AND(eq(urg, "simple"), lt(marge, ZERO))
    # R2124-2, -3, -5
    r_ao_imp = AND(eq(urg, "impérieuse"), lt(vt, sdisp), NOT(eq(ach, "état")))
    r_nego_inn = OR(inn, inf)
    r_nego_res = eq(ach, "entité_réseau")
    r_nego_etat = AND(eq(ach, "état"), NOT(inn), NOT(inf))
    r_dia_inn = AND(inn, ge(ratio, 50))
    r_dia_res = AND(eq(ach, "entité_réseau"), inn)
    r_dia_trav = beaten(AND(eq(nat, "travaux"), lt(vt, sa)), r_dia_res)
    # R2131-12, R2131-16: publicity
    sb = None if nat is None else P["sboamp"][nat]
    r_levee = eq(urg, "impérieuse")
    r_libre = lt(vt, sb)
    r_boamp_obl = beaten(AND(ge(vt, sb), lt(vt, sa)), r_levee)
    r_profil = ge(vt, P["sprofil"])
    r_joue_obl = beaten(ge(vt, sa), r_levee)
    r_joue_aut = None if vt is None or sa is None else min(vt, sa) > ZERO
    # R2191-3: advance
    r_av_due = AND(gt(vt, P["savance"]), gt(dur, 2))
    tp, tb = P["tpme"], P["tbase"]
    taux = tp if pme is True else tb if pme is False else (tp if tp == tb else None)
    mav = None if vt is None or taux is None else vt * taux / H
    avp = None if mav is None else min(mav, P["plafav"])
    r_av_exc = gt(avd, avp)
    if avd is None or vt is None:
        r_av_bes = None
    else:
        if not vt:
            raise HandError("E403")
        r_av_bes = avd / vt * H > 60
    # R2191-32: guarantee
    r_ret = ge(dur, 3)
    r_ret_pme = AND(pme, lt(vt, D(90000)))
    rmax = None if vt is None else vt * P["plafret"] / H
    # L2112-2: social and environmental clauses
    r_soc_obl = gt(nbr, 0)
    r_env_obl = AND(ge(dnot, P["dce"]), ge(vt, sa))
    if lots is None:
        tous = existe = None
    else:
        existe = any(lot["réservé"] for lot in lots)
        if not lots:
            tous = True
        elif nat is None:
            tous = None
        else:
            tous = all(lot["nature_lot"] == nat for lot in lots)
    r_homog = AND(tous, existe)
    # R2112-13: price revision
    r_rev_due = AND(gt(dur, 3), None if nat is None else nat in ("travaux", "fournitures"))
    r_rev_exc = le(dur, 1)
    # R2193-1: subcontracting
    r_st_due = gt(part, ZERO)
    r_st_alerte = gt(part, P["pst"])
    r_st_tot = AND(ge(part, H), None if dur is None else (dur - 1) * 2 > 0)
    # R2112-4: duration
    if dur is None:
        r_court = r_moy = r_long = tranche = None
    else:
        r_court = dur <= 12
        r_moy = dur > 12 and dur <= 48
        r_long = dur > 48 and dur <= P["dmax"]
        tranche = 1 if r_court else 2 if r_moy else 3 if r_long else None  # no rule defines it, none reads it: no value, no E401
    r_date = OR(ge(dnot, D2027), lt(dnot, D2020))
    # Loi fictive n° 2024-6, art. 12 (in force from 2024)
    r_very_large = AND(ge(vt, D(10000000)), NOT(inn)) if at >= VERY_LARGE_FROM else False

    if r_st_due is True and r_st_tot is True:
        raise HandError("E402")
    if r_rev_due is True and r_rev_exc is True:
        raise HandError("E402")  # cannot happen (durée > 3 and durée <= 1), kept for completeness

    T = True
    acts = (
        r_declaree, r_par_lots, T, T, T, T, T, T, T, T, r_dep, r_proche,
        r_disp, r_disp_trav, r_bonnes, r_urg, r_infr, r_mapa, r_mapa_lots, r_mapa_int,
        T, r_ao_imp, r_nego_inn, r_nego_res, r_nego_etat, r_dia_inn, r_dia_trav, r_dia_res,
        r_libre, T, r_boamp_obl, r_profil, T, r_joue_obl, r_joue_aut, r_levee,
        r_av_due, T, T, T, T, r_av_exc, r_av_bes, r_ret, r_ret_pme, T,
        T, r_soc_obl, T, r_env_obl, r_homog, T, r_rev_due, r_rev_exc,
        r_st_due, r_st_alerte, r_st_tot, r_court, r_moy, r_long, r_date, r_very_large,
    )  # fmt: skip
    defs = (vt, sa, marge, dep, ratio, nb, nbr, mpl, mml, taux, mav, avp, rmax, tranche)
    return acts, defs


# ====================================================================== situations

ENUMS = {
    "acheteur": ("état", "collectivité", "entité_réseau"),
    "nature": ("travaux", "fournitures", "services"),
    "urgence": ("aucune", "aucune", "aucune", "simple", "impérieuse"),
}
EDGES = [D(v) for v in ("40000", "60000", "70000", "90000", "100000", "139000", "140000", "143000", "214000", "215000", "216000", "221000", "431000", "443000", "5404000", "5538000")]


def _money(rnd: random.Random, lo: float, hi: float) -> Decimal:
    cents = int(round(10 ** rnd.uniform(lo, hi) * 100))
    return D(cents).scaleb(-2)


def _date(rnd: random.Random, start: dt.date, days: int) -> dt.date:
    return start + dt.timedelta(days=rnd.randrange(days))


def situations(n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    """N (situation, date) pairs; about 8 % of each fact missing, 1 % of dates outside the coverage."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        s: dict[str, Any] = {}
        for name, choices in ENUMS.items():
            s[name] = rnd.choice(choices)
        s["valeur_besoin"] = rnd.choice(EDGES) if rnd.random() < 0.1 else _money(rnd, 3, 7.3)
        k = rnd.random()
        if k < 0.45:
            s["lots"] = []
        else:
            s["lots"] = [
                {"valeur": _money(rnd, 3, 6.5), "nature_lot": rnd.choice(ENUMS["nature"]) if rnd.random() < 0.3 else s["nature"], "réservé": rnd.random() < 0.15}
                for _ in range(rnd.randint(1, 6))
            ]
        for b, p in (("pme", 0.4), ("innovant", 0.15), ("infructueux", 0.1)):
            s[b] = rnd.random() < p
        s["durée_mois"] = rnd.randint(97, 130) if rnd.random() < 0.01 else rnd.randint(1, 60)
        s["part_sous_traitance"] = D(100) if rnd.random() < 0.01 else D(rnd.randint(0, 9999)).scaleb(-2) if rnd.random() < 0.6 else ZERO
        s["date_notification"] = _date(rnd, dt.date(2019, 6, 1), 8 * 365)
        s["avance_demandée"] = (s["valeur_besoin"] * D(rnd.randint(0, 80)) / H).quantize(D("0.01"))
        for name in list(s):
            if rnd.random() < 0.08:
                del s[name]
        at = _date(rnd, dt.date(2019, 10, 1), 365) if rnd.random() < 0.005 else _date(rnd, dt.date(2026, 10, 1), 180) if rnd.random() < 0.02 else _date(rnd, COVER_START, 2557)
        out.append((s, at))
    return out


# ====================================================================== timing


def median_time(fn: Any, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


_LOAD_SCRIPT = """
import statistics, sys, time
t0 = time.perf_counter()
from cpc_rules.api import load_rulebook
t1 = time.perf_counter()
load_rulebook(sys.argv[1], tests=False)  # as `cpc-rules decide` does: test files are for check/test
t2 = time.perf_counter()
warm = []
for _ in range(5):
    t = time.perf_counter()
    load_rulebook(sys.argv[1], tests=False)
    warm.append(time.perf_counter() - t)
print(t1 - t0, t2 - t1, statistics.median(warm))
"""


def load_in_subprocess(path: Path, cold: bool, cache_dir: str) -> tuple[float, float, float]:
    """(import time, first load, median warm load) in a fresh interpreter.

    Two disk caches speed up a load: Lark's built parser (in the temporary
    directory) and the parsed files (syntax/cache.py, `CPC_RULES_CACHE`). `cold`
    gives the child empty ones, as on a fresh machine; otherwise it uses
    `cache_dir`, filled by an earlier run, as on every later run.
    """
    import tempfile

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH", ""), str(ROOT / "src")) if p)
    with tempfile.TemporaryDirectory() as tmp:
        if cold:
            env["TMPDIR"] = tmp
            env["CPC_RULES_CACHE"] = str(Path(tmp) / "parsed")
        else:
            env["CPC_RULES_CACHE"] = cache_dir
        out = subprocess.run([sys.executable, "-c", _LOAD_SCRIPT, str(path)], capture_output=True, text=True, env=env, check=True)
    imp, first, warm = (float(x) for x in out.stdout.split())
    return imp, first, warm


def _median3(path: Path, cold: bool, cache_dir: str) -> tuple[float, ...]:
    if not cold:
        load_in_subprocess(path, cold, cache_dir)  # fill the caches
    runs = [load_in_subprocess(path, cold, cache_dir) for _ in range(3)]
    return tuple(statistics.median(r[i] for r in runs) for i in range(3))


def tri(x: Any) -> Any:
    return None if x.__class__ is Unknown else x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="number of situations (default 100 000)")
    ap.add_argument("--quick", action="store_true", help="5 000 situations, 3 repetitions")
    ap.add_argument("--reps", type=int, default=5, help="repetitions, the median is reported (default 5)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--verify", type=int, default=20_000, help="situations checked for agreement (default 20 000)")
    args = ap.parse_args()
    n, reps = (5_000, 3) if args.quick else (args.n, args.reps)

    print(f"cpc-rules bench — Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPU(s)")

    # ---------------------------------------------------------------- load
    from cpc_rules import resources

    bundled = resources.bundled_rulebook_path()
    rb = load_rulebook(SAMPLE)
    ck = rb.checked
    print(f"\nsample: {len(ck.articles)} articles, {len(ck.rules)} rules, {len(ck.definitions)} definitions, {len(ck.params)} parameters, {len(ck.facts)} facts, {len(ck.tests)} tests")
    print("load = parse + check + compile (without test files, as `decide`), in a fresh interpreter (median of 3 interpreters):")
    print(f"  {'rulebook':<10} {'disk caches':<12} {'import':>9} {'1st load':>9} {'warm load':>10}   (ms; warm = median of 5 more loads in the same process)")
    import tempfile

    with tempfile.TemporaryDirectory() as cache_dir:
        for label, path in (("bundled", bundled), ("sample", SAMPLE)):
            for cold in (True, False):
                imp, first, warm = _median3(path, cold, cache_dir)
                print(f"  {label:<10} {'none (cold)' if cold else 'filled':<12} {imp * 1000:>9.1f} {first * 1000:>9.1f} {warm * 1000:>10.1f}")

    # ---------------------------------------------------------------- situations
    t0 = time.perf_counter()
    cases = situations(n, args.seed)
    print(f"\n{n} situations generated in {time.perf_counter() - t0:.1f} s (seed {args.seed})")
    prog = rb.program
    in_cov = [(s, at) for s, at in cases if prog.in_coverage(at)]
    core = [(prog.facts_vector(s), prog.at(at)) for s, at in in_cov]
    core_raw = [(s, prog.at(at)) for s, at in in_cov]

    # ---------------------------------------------------------------- agreement
    names = [r.name for r in ck.rules]
    checked = errors = 0
    for s, at in cases[: args.verify]:
        try:
            expected: Any = hand_decide(s, at)
        except HandError as e:
            expected = e.code
        try:
            d = rb.decide(s, at)
            got: Any = None if d.out_of_period else (tuple(tri(x) for x in d.activations), tuple(tri(x) for x in d.definition_values))
        except EvaluationError as e:
            got = e.diagnostic.code
        if expected != got:
            if isinstance(expected, tuple) and isinstance(got, tuple):
                diff = [f"{names[i]}: hand {x!r} engine {y!r}" for i, (x, y) in enumerate(zip(expected[0], got[0], strict=True)) if x != y]
                diff += [f"def {ck.definitions[i].name}: hand {x!r} engine {y!r}" for i, (x, y) in enumerate(zip(expected[1], got[1], strict=True)) if x != y]
            else:
                diff = [f"hand {expected!r} engine {got!r}"]
            raise SystemExit(f"DISAGREEMENT at {at} for {s}:\n  " + "\n  ".join(diff))
        checked += 1
        errors += isinstance(got, str)
    print(f"agreement: hand-written == engine on {checked} situations ({len(ck.rules)} activations + {len(ck.definitions)} definitions each; {errors} expected E40x errors)")

    # ---------------------------------------------------------------- throughput
    run = prog.run
    facts_vector = prog.facts_vector

    def a_hand() -> None:
        for s, at in cases:
            try:
                hand_decide(s, at)
            except HandError:
                pass

    def b_core() -> None:
        for fv, atd in core:
            try:
                run(fv, atd, False)
            except EvaluationError:
                pass

    def b_core_fv() -> None:
        for s, atd in core_raw:
            try:
                run(facts_vector(s), atd, False)
            except EvaluationError:
                pass

    def c_decide() -> None:
        decide = rb.decide
        for s, at in cases:
            try:
                decide(s, at)
            except EvaluationError:
                pass

    def d_trace() -> None:
        decide = rb.decide
        for s, at in cases:
            try:
                decide(s, at, trace=True).trace  # noqa: B018 - the trace tree is built on access
            except EvaluationError:
                pass

    m = len(cases)
    results = [
        ("(a) hand-written Python", m, a_hand),
        ("(b) Program.run, facts vector precomputed", len(core), b_core),
        ("(b') Program.run + facts_vector(situation)", len(core_raw), b_core_fv),
        ("(c) rb.decide(situation, at)", m, c_decide),
        ("(d) rb.decide(situation, at, trace=True).trace", m, d_trace),
    ]
    print(f"\nthroughput, median of {reps} repetitions ({m} situations; (b) on the {len(core)} inside the coverage):")
    print(f"  {'variant':<45} {'decisions/s':>12} {'µs/decision':>12} {'× (a)':>8}")
    base = None
    for label, count, fn in results:
        r = reps if fn is not d_trace else max(1, min(reps, 3))
        t = median_time(fn, r)
        us = t / count * 1e6
        if base is None:
            base = us
        print(f"  {label:<45} {count / t:>12,.0f} {us:>12.2f} {us / base:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
