"""The batch path agrees with the one-at-a-time path on the bundled rulebook, over a million situations.

    PYTHONPATH=src python bench/columns_agreement.py                 # 1 000 000 situations
    PYTHONPATH=src python bench/columns_agreement.py --n 50000       # fewer
    PYTHONPATH=src python bench/columns_agreement.py --throughput 200000   # decisions/s only

Situations are generated from the rulebook's declarations (seeded): every fact given or
not (unknown), enumerations over their members, amounts on, 1 cent and 1 € around every
amount the rulebook holds (parameters and literals) or log-uniform, as Decimal, float, int
or text (and a few floats, refused); booleans, dates, percentages, lists of lots now and then, a few bad values; dates
across the coverage and on every parameter and article boundary, 1 day on each side.

On every row the columnar backend decides itself, every rule's activation (true, false,
unknown) must equal Program.run's, and the scalar path must not fail there (the statuses
are a function of the activations, checked by tests/test_columns.py); the other rows are
decided by `Rulebook.decide` itself. On 1 row in 20 (`--every`), the whole answer of
`Rulebook.decide_many` (statuses of every enumeration member, out of period, error codes)
is compared with `Rulebook.decide`'s. It also reports how many rows the columns decided themselves, and
the batch throughput on the procédure and publicité focus (see bench/README.md).
tests/test_columns.py runs a sample of this on every test run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import cpc_rules  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from cpc_rules import ir  # noqa: E402
from cpc_rules.api import Rulebook, default_rulebook  # noqa: E402


def _amounts(rb: ir.Rulebook) -> list[Decimal]:
    found: set[Decimal] = set()
    for p in rb.params:
        if p.type.kind != "money":
            continue
        for s in p.steps:
            vals = s.value.values() if isinstance(s.value, dict) else [s.value]
            found.update(Decimal(v) for v in vals)  # type: ignore[arg-type]
    for n in rb.nodes:
        if isinstance(n, ir.Const) and n.type.kind == "money":
            found.add(Decimal(n.value))  # type: ignore[arg-type]
    return sorted(found)


def _boundaries(rb: ir.Rulebook) -> list[dt.date]:
    days: set[dt.date] = set()
    periods = [s.period for p in rb.params for s in p.steps] + [v.period for a in rb.articles for v in a.versions]
    if rb.coverage is not None:
        periods.append(rb.coverage)
    for per in periods:
        for d in (per.start, per.end):
            if d is not None:
                days.update((d - dt.timedelta(days=1), d))
    return sorted(days)


class Generator:
    def __init__(self, rb: Rulebook, seed: int) -> None:
        self.rb = rb.checked
        self.r = random.Random(seed)
        self.amounts = _amounts(self.rb)
        self.boundaries = _boundaries(self.rb)
        cov = self.rb.coverage
        self.first = (cov.start if cov else dt.date(2019, 1, 1)) - dt.timedelta(days=30)
        self.last = (cov.end if cov and cov.end else dt.date(2028, 1, 1)) + dt.timedelta(days=30)
        # the facts most situations give (the four facts of a buyer's question); the others less often
        self.core = {"acheteur", "nature", "valeur_estimée_besoin"}

    def amount(self) -> Any:
        r = self.r
        if r.random() < 0.5 and self.amounts:
            v = r.choice(self.amounts) + r.choice((Decimal("-1"), Decimal("-0.01"), Decimal(0), Decimal("0.01"), Decimal(1)))
            v = max(v, Decimal(0))
        else:
            v = Decimal(round(10 ** r.uniform(2, 7.5), 2)).quantize(Decimal("0.01"))
        form = r.random()
        if form < 0.75:
            return v
        if form < 0.97:
            return int(v)
        if form < 0.995:
            return str(v).replace(".", ",")  # text, as a form posts it
        return float(v)  # refused by values.coerce (it may have been rounded): an error per item

    def value(self, t: ir.Type) -> Any:
        r = self.r
        k = t.kind
        if k == "bool":
            return r.random() < 0.5
        if k == "enum":
            return r.choice(self.rb.enums[t.name].members)  # type: ignore[index]
        if k == "money":
            return self.amount()
        if k == "percent":
            return Decimal(r.choice((0, 5, 12.5, 20, 50, 60, 100))).quantize(Decimal("0.01"))
        if k == "int":
            return r.randint(0, 30)
        if k == "date":
            return self.day()
        if k == "list":
            rec = self.rb.records[t.name]  # type: ignore[index]
            return [{name: self.value(ft) for name, ft, _ in rec.fields if r.random() < 0.9} for _ in range(r.randint(0, 3))]
        raise ValueError(k)  # pragma: no cover

    def day(self) -> dt.date:
        r = self.r
        if r.random() < 0.2:
            return r.choice(self.boundaries)
        return self.first + dt.timedelta(days=r.randint(0, (self.last - self.first).days))

    def situation(self) -> tuple[dict[str, Any], dt.date]:
        r = self.r
        s: dict[str, Any] = {}
        for f in self.rb.facts:
            p = 0.92 if f.name in self.core else (0.03 if f.type.kind == "list" else 0.45)
            if r.random() < p:
                s[f.name] = self.value(f.type)
        if r.random() < 0.002:  # a bad value now and then: an error per item, never a stop
            s[r.choice(self.rb.facts).name] = r.choice(("n'importe quoi", -5, 1e300, [1]))
        return s, self.day()


AUDIT_FACTS = ("urgence_impérieuse", "procédure_infructueuse", "opérateur_unique", "accord_cadre", "examen_d_un_lot", "services_sociaux_spécifiques", "achat_innovant", "acheteur_état_ou_collectivité", "avis_d_appel_à_la_concurrence")


def audit_like(rb: Rulebook, n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    """Situations as an audit of DECP records builds them: buyer, nature, amount (Decimal), declared procedure,
    the exceptions presumed absent, a date in the coverage. The throughput figures use these."""
    r = random.Random(seed)
    c = rb.checked
    buyers, natures, procs = (c.enums[e].members for e in ("catégorie_acheteur", "nature_achat", "procédure"))
    cov = c.coverage
    assert cov is not None and cov.end is not None
    span = (cov.end - cov.start).days
    out = []
    for _ in range(n):
        s: dict[str, Any] = {
            "acheteur": r.choice(buyers),
            "nature": r.choice(natures),
            "valeur_estimée_besoin": Decimal(round(10 ** r.uniform(3, 7), 2)).quantize(Decimal("0.01")),
            "procédure_retenue": r.choice(procs),
        }
        for name in AUDIT_FACTS:
            s[name] = r.random() < 0.05
        out.append((s, cov.start + dt.timedelta(days=r.randrange(span))))
    return out


def generate(rb: Rulebook, n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    g = Generator(rb, seed)
    return [g.situation() for _ in range(n)]


def _scalar(rb: Rulebook, s: dict[str, Any], d: dt.date, keys: set[tuple[str, str]] | None) -> Any:
    from cpc_rules.diagnostics import CpcError
    from cpc_rules.engine.runtime import EvaluationError

    try:
        dec = rb.decide(s, d)
    except CpcError as e:
        return ("error", sorted(x.code for x in e.diagnostics))
    except EvaluationError as e:
        return ("error", [e.diagnostic.code])
    if dec.out_of_period:
        return ("out",)
    return ("ok", {(x.enum, x.member): (x.permission, x.obligation) for x in dec.statuses if keys is None or (x.enum, x.member) in keys})


def _batch(a: Any) -> Any:
    if not a.ok:
        return ("error", sorted(x.code for x in a.diagnostics))
    if a.out_of_period:
        return ("out",)
    return ("ok", {k: tuple(c) for k, c in a.conclusions.items()})


def throughput(rb: Rulebook, n: int, rounds: int, seed: int) -> None:
    """decide_many on the procédure and publicité focus vs decide one at a time, audit-like situations, CPU time."""
    import statistics

    focus = ["procédure", "publicité"]
    items = audit_like(rb, n, seed)
    one = items[: max(1, n // 50)]
    clock = time.process_time
    rates: dict[str, list[float]] = {"decide_many": [], "decide_many, every conclusion": [], "decide one at a time": [], "decide_many jobs=2 (wall)": []}
    for _ in range(rounds):
        t0 = clock()
        rb.decide_many(items, focus=focus)
        rates["decide_many"].append(n / (clock() - t0))
        t0 = clock()
        rb.decide_many(items)
        rates["decide_many, every conclusion"].append(n / (clock() - t0))
        t0 = clock()
        for s, d in one:
            dec = rb.decide(s, d, focus=focus)
            for st in dec.statuses:
                st.permission  # noqa: B018 - read as a user would
        rates["decide one at a time"].append(len(one) / (clock() - t0))
        w0 = time.perf_counter()
        rb.decide_many(items, focus=focus, jobs=2)
        rates["decide_many jobs=2 (wall)"].append(n / (time.perf_counter() - w0))
    print(f"bundled rulebook, {n} audit-like situations, focus procédure + publicité, {rounds} rounds (CPU time unless said):")
    for k, v in rates.items():
        print(f"  {k}: median {statistics.median(v):,.0f}/s (min {min(v):,.0f}, max {max(v):,.0f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--throughput", type=int, metavar="N", help="only measure throughput on N audit-like situations")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--focus", default=None, help="comma-separated focus (default: every conclusion)")
    ap.add_argument("--every", type=int, default=20, help="compare the full answers with decide on 1 row in EVERY (activations: on every row)")
    a = ap.parse_args()
    rb = default_rulebook()
    if a.throughput:
        throughput(rb, a.throughput, a.rounds, a.seed)
        return
    from cpc_rules import batch

    focus = a.focus.split(",") if a.focus else None
    keys = set(batch.make_focus(rb, focus).keys) if focus else None
    g = Generator(rb, a.seed)
    done = bad = fell_back = 0
    t_batch = t_scalar = 0.0
    while done < a.n:
        m = min(a.chunk, a.n - done)
        items = [g.situation() for _ in range(m)]
        t0 = time.perf_counter()
        got = rb.decide_many(items, focus=focus)
        t1 = time.perf_counter()
        for k, ((s, d), ans) in enumerate(zip(items, got, strict=True)):
            if k % a.every == 0 and _batch(ans) != _scalar(rb, s, d, keys):
                bad += 1
                if bad <= 5:
                    print("DISAGREEMENT", d, s, _batch(ans), _scalar(rb, s, d, keys), flush=True)
        n_bad, n_fb = _check_activations(rb, items)
        bad += n_bad
        t2 = time.perf_counter()
        t_batch += t1 - t0
        t_scalar += t2 - t1
        fell_back += n_fb
        done += m
        print(f"{done} situations, {bad} disagreements, {fell_back} decided one at a time", flush=True)
    print(f"\n{done} situations of the bundled rulebook: {bad} disagreements between decide_many and decide; {fell_back} ({fell_back / done:.1%}) decided one at a time by the batch (a list given, an error, a text amount…)")
    raise SystemExit(1 if bad else 0)


def _check_activations(rb: Rulebook, items: list[tuple[dict[str, Any], dt.date]]) -> tuple[int, int]:
    """Every rule's activation, true / false / unknown, from the columns vs Program.run, on every row the
    columns decide (the statuses are a function of the activations); returns (disagreements, rows fallen back)."""
    import numpy as np

    from cpc_rules.batch import _column_program
    from cpc_rules.engine.columns import _arr

    cp = _column_program(rb)
    assert cp is not None
    prog = rb.program
    days = np.array([d.toordinal() for _, d in items], dtype=np.int64)
    b, _ = cp.ingest([s for s, _ in items], days, prog._fact_index, presume=True)
    acts = cp.run(b)
    n = b.n
    rules = sorted(acts)
    code = np.stack([np.where(_arr(True if acts[r].known is None else acts[r].known, n, bool), _arr(acts[r].val, n, bool).astype(np.int8), 2) for r in rules], axis=1).tolist()
    covered = [prog.in_coverage(d) for _, d in items]
    fb = b.fallback.tolist()
    bad = 0
    for row, (s, d) in enumerate(items):
        if fb[row] or not covered[row]:
            continue
        try:
            facts = prog.presume(prog.facts_vector(s))[0]
            a = prog.run(facts, prog.at(d))[0]
        except Exception as e:  # noqa: BLE001 - an error the columns did not see is a disagreement
            bad += 1
            print("DISAGREEMENT (error)", d, s, e, flush=True)
            continue
        scalar = [0 if a[r] is False else 1 if a[r] is True else 2 for r in rules]
        if scalar != code[row]:
            bad += 1
            if bad <= 5:
                print("DISAGREEMENT (activations)", d, s, flush=True)
    return bad, int(b.fallback.sum())


def _count_fallback(rb: Rulebook, items: list[tuple[dict[str, Any], dt.date]]) -> int:
    """Rows the columnar backend sends to the scalar path (slow input forms or exact-decision limits)."""
    import numpy as np

    from cpc_rules.batch import _column_program

    cp = _column_program(rb)
    if cp is None:
        return len(items)
    days = np.array([d.toordinal() for _, d in items], dtype=np.int64)
    b, _ = cp.ingest([s for s, _ in items], days, rb.program._fact_index)
    cp.run(b)
    return int(b.fallback.sum())


if __name__ == "__main__":
    main()
