"""The columnar backend (engine/columns.py) and the batch API (batch.py) agree with the scalar path.

Generated rulebooks (typed expressions over every kind of fact, dated parameters and
tables, articles going in and out of force, exceptions, definitions that can be missing
or in conflict, divisions, lists) and generated situations (unknown facts, values on and
around the thresholds, text and float amounts, bad values, dates out of the coverage):
every rule's activation computed by the columns equals Program.run's on every row the
columns decide, and decide_many's answer equals decide's on every situation.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from helpers import rulebook
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from cpc_rules import batch as batch_mod
from cpc_rules import record
from cpc_rules.api import default_rulebook
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.columns import ColumnProgram
from cpc_rules.engine.runtime import EvaluationError, Unknown

HEAD = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu

énumération proc "P" { p0, p1, p2 }
énumération cat "C" { c0, c1, c2 }
structure lot "Lot" { valeur : montant }

fait b1 : booléen
fait b2 : booléen
  présumé faux "à déclarer" (A0)
fait m1 : montant
fait m2 : montant
fait e : cat
  présumé c2 "par défaut" (A0)
fait k : entier
fait j : date
fait pc : pourcentage
fait lots : liste de lot

définition dm : montant
définition db : booléen

paramètre s : montant
  depuis 2020-01-01 : 100 €
    source "t"
  depuis 2022-01-01 jusqu'au 2030-01-01 exclu : 250,50 €
    source "t"

paramètre t : montant selon cat
  depuis 2020-01-01 jusqu'au 2030-01-01 exclu :
    c0 : 10 €
    c1 | c2 : 1 000 €
    source "t"
"""

MONEY_LEAVES = ["m1", "m2", "s", "t[e]", "0 €", "10 €", "100 €", "250,50 €", "1 000 €"]


def money(depth: int, defs: bool) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(MONEY_LEAVES + (["dm"] if defs else []))
    if depth == 0:
        return leaves
    sub = money(depth - 1, defs)
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["+", "-"]), sub).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        sub.map(lambda a: f"({a} * k)"),
        sub.map(lambda a: f"({a} * pc)"),
        sub.map(lambda a: f"({a} / k)"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(lambda x: f"{x[0]}({x[1]}, {x[2]})"),
        st.tuples(boolean(depth - 1, defs), sub, sub).map(lambda x: f"(si {x[0]} alors {x[1]} sinon {x[2]})"),
        st.just("somme(l.valeur pour chaque l dans lots)"),
    )


def boolean(depth: int, defs: bool) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(["b1", "b2", "vrai", "faux", "(e = c1)", "(e dans {c0, c2})", "(k > 3)", "(j < 2023-01-01)", "(pc >= 50 %)"] + (["db"] if defs else []))
    if depth == 0:
        return leaves
    sub = boolean(depth - 1, defs)
    m = money(depth - 1, defs)
    return st.one_of(
        leaves,
        st.tuples(m, st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), m).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        sub.map(lambda a: f"non {a}"),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: "(" + " et ".join(xs) + ")"),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: "(" + " ou ".join(xs) + ")"),
        st.just("existe(l dans lots : l.valeur > 10 €)"),
    )


@st.composite
def rulebooks(draw: st.DrawFn) -> str:
    arts: list[list[str]] = [[], []]
    # definitions: dm from facts and parameters only, db may read dm. dm_a is unconditional and
    # always in force: a define rule in force that reads a definition with no value at all is a
    # fault of the scalar path (a TypeError, reported), not what this property is about
    arts[0].append(f"  règle dm_a :\n    définit dm = {draw(money(2, False))}")
    if draw(st.booleans()):
        arts[draw(st.integers(0, 1))].append(f"  règle dm_b exception à dm_a :\n    définit dm = {draw(money(1, False))}\n    si {draw(boolean(1, False))}")
    arts[draw(st.integers(0, 1))].append(f"  règle db_a :\n    définit db = {draw(boolean(2, False).map(lambda x: x.replace('b2', 'dm > 100 €')))}")
    names: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["autorise", "autorise", "interdit", "oblige"]))
        member = draw(st.sampled_from(["p0", "p1", "p2"]))
        exc = draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []
        head = f"  règle r{i}" + (f" exception à {', '.join(exc)}" if exc else "") + " :"
        body = f"    {kind} proc {member}"
        c = draw(st.none() | boolean(2, True))
        arts[draw(st.integers(0, 1))].append(head + "\n" + body + (f"\n    si {c}" if c else ""))
        names.append(f"r{i}")
    text = HEAD
    periods = ["depuis 2020-01-01", "depuis 2021-06-01 jusqu'au 2024-01-01 exclu"]
    for a, (rules, period) in enumerate(zip(arts, periods, strict=True)):
        if rules:
            text += f'\narticle A{a} "Article"\n  version {period}\n    source "t"\n\n' + "\n\n".join(rules) + "\n"
    return text


AMOUNTS = st.one_of(
    st.sampled_from(["0", "9.99", "10", "10.01", "99.99", "100", "100.01", "250.49", "250.5", "250.51", "999.99", "1000", "1000.01"]).map(Decimal),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
)
RAW_AMOUNTS = st.one_of(
    AMOUNTS,
    AMOUNTS.map(float),
    st.integers(0, 5000),
    AMOUNTS.map(lambda d: str(d).replace(".", ",")),  # text: the slow path
    st.sampled_from([-1, "abc", 1e16, True, Decimal("1.001")]),  # bad values: errors per item (NaN: values.py raises, being fixed by the input work)
)
DATES = st.one_of(
    st.sampled_from([dt.date(2019, 12, 31), dt.date(2020, 1, 1), dt.date(2021, 5, 31), dt.date(2021, 6, 1), dt.date(2021, 12, 31), dt.date(2022, 1, 1), dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2029, 12, 31), dt.date(2030, 1, 1)]),
    st.dates(dt.date(2019, 6, 1), dt.date(2030, 6, 1)),
)
FACT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "b1": st.booleans(),
    "b2": st.booleans(),
    "m1": RAW_AMOUNTS,
    "m2": RAW_AMOUNTS,
    "e": st.sampled_from(["c0", "c1", "c2"]),
    "k": st.integers(-3, 12),
    "j": st.dates(dt.date(2021, 6, 1), dt.date(2024, 6, 1)),
    "pc": st.sampled_from([Decimal("0"), Decimal("50"), Decimal("12.5"), Decimal("100")]),
    "lots": st.lists(st.fixed_dictionaries({"valeur": AMOUNTS}), max_size=2),
}


@st.composite
def situations(draw: st.DrawFn) -> dict[str, Any]:
    out = {}
    for name, strategy in FACT_VALUES.items():
        r = draw(st.integers(0, 9))
        if r < 6:
            out[name] = draw(strategy)
        elif r == 6:
            out[name] = None
    return out


@st.composite
def uniform_batches(draw: st.DrawFn) -> list[tuple[dict[str, Any], dt.date]]:
    """Situations of one to three kinds, each kind giving the same facts, as a program builds them (an audit's
    adapter): the batch reads them a column at a time (columns._layout, _layouts); values may still be None,
    bad or of mixed forms, and a fact may be given by one kind and not by another."""
    names = st.lists(st.sampled_from(sorted(FACT_VALUES)), min_size=0, max_size=len(FACT_VALUES), unique=True)
    kinds = draw(st.lists(names, min_size=1, max_size=3))
    uniform = {name: draw(st.booleans()) for name in FACT_VALUES}  # a column of one form (the whole-column readers) or mixed
    rows = []
    for _ in range(draw(st.integers(1, 25))):
        s = {}
        for name in draw(st.sampled_from(kinds)):
            if uniform[name]:
                s[name] = draw(UNIFORM_VALUES[name])
            else:
                s[name] = draw(st.none() | FACT_VALUES[name])
        rows.append((s, draw(DATES)))
    return rows


ODD_DECIMALS = st.sampled_from([Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity"), Decimal("-0"), Decimal("0"), Decimal("1E+20"), Decimal("1.001"), Decimal("99999999999999.99000000000000001")])
UNIFORM_VALUES: dict[str, st.SearchStrategy[Any]] = {**FACT_VALUES, "m1": AMOUNTS, "m2": AMOUNTS | ODD_DECIMALS, "k": st.integers(0, 12)}


def scalar_answer(rb: Any, situation: dict[str, Any], date: dt.date, presume: bool = True, focus: Any = None) -> Any:
    try:
        d = rb.decide(situation, date, presumptions=presume, focus=focus)  # focused: its dependency cone only (faults outside it not raised)
    except (CpcError, EvaluationError) as e:
        return ("error", sorted(x.code for x in getattr(e, "diagnostics", None) or [e.diagnostic]))
    if d.out_of_period:
        return ("out",)
    return ("ok", {(s.enum, s.member): (s.permission, s.obligation) for s in d.statuses})


def batch_answer(a: Any) -> Any:
    if not a.ok:
        return ("error", sorted(x.code for x in a.diagnostics))
    if a.out_of_period:
        return ("out",)
    return ("ok", {k: tuple(c) for k, c in a.conclusions.items()})


def check_agreement(rb: Any, items: list[tuple[dict[str, Any], dt.date]], focus: Any = None, presume: bool = True) -> None:
    got = batch_mod.decide_many(rb, items, focus=focus, presumptions=presume, columns=True)
    assert [a.index for a in got] == list(range(len(items)))
    for (s, d), a in zip(items, got, strict=True):
        expected = scalar_answer(rb, s, d, presume, focus)
        if expected[0] == "ok" and focus is not None:
            keys = set(batch_mod.make_focus(rb, focus).keys)
            expected = ("ok", {k: v for k, v in expected[1].items() if k in keys})
        assert batch_answer(a) == expected, (s, d)
        if expected[0] == "ok":  # the whole Status (grounds, pending, refused, missing): what an audit reads
            full = rb.decide(s, d, presumptions=presume, focus=focus)
            assert a.statuses == full.statuses, (s, d)
            # without its missing facts (nothing recomputed), the rest of each Status is the same
            assert a.statuses_of(missing=False) == tuple(record.evolve(x, missing=frozenset()) for x in full.statuses), (s, d)
            for st_ in full.statuses:
                for r in (*st_.grounds, *st_.pending):
                    assert a.activation(r) == (full.activations[r] if full.activations[r] in (True, False) else None)


def check_activations(rb: Any, items: list[tuple[dict[str, Any], dt.date]]) -> int:
    """Every rule's activation from the columns equals Program.run's on the rows the columns decide; returns that count."""
    prog = rb.program
    cp = ColumnProgram(prog.rb, lambda d: prog.at(d).needed)
    typed = []
    for s, d in items:
        try:
            typed.append((prog.presume(prog.facts_vector(s))[0], d))
        except CpcError:
            continue
    if not typed:
        return 0
    days = np.array([d.toordinal() for _, d in typed], dtype=np.int64)
    b = cp.columns([f for f, _ in typed], days)
    acts = cp.run(b)
    decided = 0
    for row, (facts, d) in enumerate(typed):
        if b.fallback[row] or not prog.in_coverage(d):
            continue
        a, _, _ = prog.run(facts, prog.at(d))
        decided += 1
        for r, col in acts.items():
            known = True if col.known is None else bool(col.known[row])
            value = bool(np.broadcast_to(col.val, (b.n,))[row])
            assert (a[r].__class__ is Unknown) == (not known), (rb.checked.rules[r].name, facts, d)
            if known:
                assert a[r] is value, (rb.checked.rules[r].name, facts, d)
    return decided


# 60 examples on an ordinary run (each builds a rulebook and decides its situations three ways); under
# HYPOTHESIS_PROFILE=medium or deep as many as the profile says; COLUMNS_EXAMPLES overrides both
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
_EXAMPLES = int(os.environ.get("COLUMNS_EXAMPLES") or (settings.get_profile(_PROFILE).max_examples if _PROFILE in ("medium", "deep") else 60))
COLUMN_PROPERTY = settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], phases=[Phase.explicit, Phase.reuse, Phase.generate])


@COLUMN_PROPERTY
@given(rulebooks(), st.lists(st.tuples(situations(), DATES), min_size=1, max_size=25))
def test_columns_equal_the_scalar_path_on_generated_rulebooks(text: str, items: list[tuple[dict[str, Any], dt.date]]) -> None:
    try:
        rb = rulebook(text, "columns")
    except CpcError:
        assume(False)
        return
    try:
        check_activations(rb, items)
        check_agreement(rb, items)
        check_agreement(rb, items, focus="proc", presume=False)
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- rulebook:\n{text}\n--- situations: {items}") from None


@COLUMN_PROPERTY
@given(rulebooks(), uniform_batches(), st.booleans())
def test_columns_equal_the_scalar_path_on_batches_of_the_same_facts(text: str, items: list[tuple[dict[str, Any], dt.date]], presume: bool) -> None:
    """The same property when every situation gives the same facts (read a column at a time, not value by value)."""
    try:
        rb = rulebook(text, "columns")
    except CpcError:
        assume(False)
        return
    try:
        check_agreement(rb, items, presume=presume)
    except AssertionError as e:
        raise AssertionError(f"{e}\n--- rulebook:\n{text}\n--- situations: {items}") from None


def test_the_generated_rulebooks_are_mostly_decided_by_the_columns() -> None:
    """A guard on the property above: it would prove little if every row fell back to the scalar path."""
    text = HEAD + """
article A0 "Article"
  version depuis 2020-01-01
    source "t"

  règle dm_a :
    définit dm = m1 + t[e]

  règle db_a :
    définit db = dm > 100 € et b1

  règle r0 :
    autorise proc p0
    si db ou (e dans {c0, c2} et m2 < s)

  règle r1 exception à r0 :
    interdit proc p0
    si non b2
"""
    rb = rulebook(text, "columns_guard")
    items = [({"m1": Decimal(m), "m2": int(Decimal(m)), "e": e, "b1": b, "b2": b2}, dt.date(2021, 1, 1) + dt.timedelta(days=100 * i)) for i, (m, e, b, b2) in enumerate([("1", "c0", True, None), ("95", "c1", False, True), ("250.5", "c2", None, False), ("1000", None, True, True)] * 5)]
    assert check_activations(rb, items) == len(items)
    check_agreement(rb, items)


def bundled_situations(n: int, seed: int) -> list[tuple[dict[str, Any], dt.date]]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from columns_agreement import generate

    return generate(default_rulebook(), n, seed)


@pytest.mark.parametrize("seed", [1, 2])
def test_bundled_rulebook_sample(seed: int) -> None:
    """bench/columns_agreement.py runs this on a million situations; the suite on a sample."""
    rb = default_rulebook()
    items = bundled_situations(400, seed)
    assert check_activations(rb, items) > 100
    check_agreement(rb, items)
    check_agreement(rb, items, focus=["procédure", "publicité"])


def test_bundled_rulebook_audit_like_batches() -> None:
    """Situations as an audit builds them (the same facts in every one: the whole-column reading), with and without presumptions."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from columns_agreement import audit_like

    rb = default_rulebook()
    items = audit_like(rb, 300, 11)
    check_agreement(rb, items, focus=["procédure", "publicité"])
    check_agreement(rb, items[:100], presume=False)


def test_situations_of_as_many_facts_but_other_ones_are_read_fact_by_fact() -> None:
    """The column-at-a-time reading needs the same facts in every situation: the same number of other facts,
    a dict subclass, a mapping or an undeclared fact take the value-by-value reading, with the same answers."""
    from collections import OrderedDict
    from types import MappingProxyType

    rb = default_rulebook()
    a = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures"}
    b = {"acheteur": "autre_pouvoir_adjudicateur", "valeur_estimée_besoin": Decimal("39999.99")}
    day = dt.date(2024, 5, 1)
    for batch in (
        [(a, day), (b, day)] * 20,
        [(OrderedDict(a), day)] * 40,
        [(MappingProxyType(b), day)] * 40,
        [({**a, "pas_un_fait": 1}, day)] * 40,
        [({"nature": "travaux"}, day)] * 40,  # one fact: the single-column form
    ):
        check_agreement(rb, batch)


def test_errors_are_returned_per_item_never_raised() -> None:
    rb = default_rulebook()
    items: list[Any] = [
        ({"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": 50000}, "2024-05-01"),
        ({"acheteur": "martien"}, "2024-05-01"),
        ({"valeur_estimée_besoin": -3}, "2024-05-01"),
        ({"fait_inexistant": 1}, "2024-05-01"),
        ({"nature": "travaux"}, "pas une date"),
        ({"nature": "travaux"}, "2010-01-01"),
        "pas une paire",
    ]
    got = rb.decide_many(items)
    assert [a.ok for a in got] == [True, False, False, False, False, True, False]
    assert got[1].diagnostics[0].code == "E412"
    assert got[3].diagnostics[0].code == "E410"
    assert got[4].diagnostics[0].code == "E413"
    assert got[5].out_of_period
    assert got[0].permission("procédure", "procédure_adaptée") == "allowed"
    full = got[0].decision()
    assert full.status("procédure", "procédure_adaptée").permission == "allowed"


def test_an_amount_of_more_than_28_digits_is_refused_as_decide_refuses_it() -> None:
    """Decimal's default context rounded 99999999999999.99000000000000001 to whole cents: the batch decided it, decide refuses it."""
    rb = default_rulebook()
    s = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": Decimal("99999999999999.99000000000000001")}
    with pytest.raises(CpcError) as e:
        rb.decide(s, "2024-05-01")
    got = rb.decide_many([s] * batch_mod.MIN_COLUMNS, "2024-05-01", focus="procédure")
    assert all(not a.ok and [d.code for d in a.diagnostics] == [d.code for d in e.value.diagnostics] for a in got)


def test_focus_and_presumptions() -> None:
    rb = default_rulebook()
    s = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "30000"}
    [a] = rb.decide_many([s], "2024-05-01", focus="publicité")
    assert {k[0] for k in a.conclusions} == {"publicité"}
    assert a.permission("procédure", "procédure_adaptée") is None  # outside the focus
    assert a.decision().focus == ("publicité",)
    for presume in (True, False):
        [b] = rb.decide_many([s], "2024-05-01", presumptions=presume)
        assert batch_answer(b) == scalar_answer(rb, s, dt.date(2024, 5, 1), presume)
    above = {**s, "valeur_estimée_besoin": "100000"}  # above the dispense threshold: only an exception (presumed absent) allows it
    strict = rb.decide_many([above], "2024-05-01", presumptions=False)[0]
    presumed = rb.decide_many([above], "2024-05-01")[0]
    assert batch_answer(strict) == scalar_answer(rb, above, dt.date(2024, 5, 1), False)
    assert batch_answer(presumed) == scalar_answer(rb, above, dt.date(2024, 5, 1), True)
    assert batch_answer(strict) != batch_answer(presumed)  # the presumptions settle some conclusions
    with pytest.raises(CpcError) as e:
        rb.decide_many([s], "2024-05-01", focus="pas_une_énumération")
    with pytest.raises(CpcError) as same:
        rb.decide(s, "2024-05-01", focus="pas_une_énumération")  # the focus is checked as decide checks it
    assert e.value.diagnostics[0].code == same.value.diagnostics[0].code


def test_jobs_give_the_same_answers() -> None:
    rb = default_rulebook()
    items = bundled_situations(300, 3)
    one = [batch_answer(a) for a in rb.decide_many(items, focus="procédure")]
    two = [batch_answer(a) for a in rb.decide_many(items, focus="procédure", jobs=2)]
    assert one == two


def test_the_architecture_example_runs() -> None:
    """docs/architecture.md shows decide_many: its example runs and its assertions hold."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"## Batch: `decide_many`.*?```python\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # noqa: S102 - our own documentation
    assert scope["full"].status("procédure", "sans_publicité_ni_mise_en_concurrence").permission == "allowed"


def test_decide_columns_equals_decide_many() -> None:
    """Typed columns in (no per-row Python): the same codes as decide_many, unknown facts and bad values included."""
    rb = default_rulebook()
    c = rb.checked
    rng = np.random.default_rng(5)
    n = 600
    buyers, natures = c.enums["catégorie_acheteur"].members, c.enums["nature_achat"].members
    b = rng.integers(0, len(buyers), n)
    nat = rng.integers(0, len(natures), n)
    cents = rng.integers(0, 60_000_000, n) * rng.choice([1, 100], n)
    cents[:5] = [-1, 0, 1, 4_000_000, 3_999_999]  # a negative amount: not decided by the columns
    urgent = rng.random(n) < 0.2
    urgent_known = rng.random(n) < 0.7
    cov = c.coverage
    assert cov is not None and cov.end is not None
    days = rng.integers(cov.start.toordinal() - 10, cov.end.toordinal() + 10, n)
    res = batch_mod.decide_columns(
        rb, {"acheteur": b, "nature": nat, "valeur_estimée_besoin": cents, "urgence_impérieuse": (urgent, urgent_known)}, days, focus=["procédure", "publicité"]
    )
    assert res.fallback[0] and not res.fallback[1:5].any()
    items = []
    for i in range(n):
        s: dict[str, Any] = {"acheteur": buyers[b[i]], "nature": natures[nat[i]], "valeur_estimée_besoin": Decimal(int(cents[i])) / 100}
        if urgent_known[i]:
            s["urgence_impérieuse"] = bool(urgent[i])
        items.append((s, dt.date.fromordinal(int(days[i]))))
    many = batch_mod.decide_many(rb, items, focus=["procédure", "publicité"], columns=False)
    for i, a in enumerate(many):
        if res.fallback[i]:
            continue
        assert bool(res.covered[i]) == (a.ok and not a.out_of_period), items[i]
        if res.covered[i]:
            assert res.codes[i].tolist() == a._code_list(), items[i]


def test_a_rulebook_without_coverage() -> None:
    text = """énumération proc "P" { p0, p1 }
fait m : montant
article A1 "Article"
  version depuis 2020-01-01
    source "t"

  règle r :
    autorise proc p0
    si m < 100 €
"""
    rb = rulebook(text, "columns_nocov")
    items = [({"m": Decimal(v)}, dt.date(2021, 1, 1)) for v in ("99.99", "100", "100.01")] + [({}, dt.date(2019, 1, 1))]
    check_agreement(rb, items)
    assert check_activations(rb, items[:3]) == 3


_DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=Decimal("-1"), max_value=Decimal("1e16"), places=2),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("1e16"), places=4),
    # more than 28 significant digits: Decimal's default context would round them to whole cents
    st.tuples(st.integers(0, 10**17), st.integers(1, 10**20), st.integers(15, 40)).map(lambda t: Decimal(t[0]).scaleb(-2) + Decimal(t[1]).scaleb(-t[2])),
    st.sampled_from([Decimal("0.01"), Decimal("-0"), Decimal("0E-10"), Decimal("0.001"), Decimal("1E+14"), Decimal("999999999999999.99"), Decimal("1E+15"), Decimal("1.000"), Decimal("1.0000000000000000000000000001")]),
    st.sampled_from([Decimal("99999999999999.99000000000000001"), Decimal("1234.5600000000000000000000000000000001"), Decimal("1" * 40 + ".00")]),
)


def _exact_cents(x: Decimal) -> int | None:
    """What the scalar path makes of an amount (values.coerce), in cents; None where it refuses it."""
    from cpc_rules.engine.columns import _EXACT
    from cpc_rules.ir import Type
    from cpc_rules.values import BadValue, coerce

    try:
        v = coerce(x, Type("money"), {}, {}, "m")
    except BadValue:
        return None
    return int(v.scaleb(2, _EXACT))


@settings(deadline=None)
@given(x=_DECIMALS)
def test_the_fast_reading_of_an_amount_is_the_exact_one(x: Decimal) -> None:
    """columns._cents takes the usual amount by a shorter path: the same answer as the full check (_decimal), and as
    values.coerce, on every Decimal (an amount of more than 28 digits was once rounded to whole cents and decided)."""
    from cpc_rules.engine.columns import _MAX_AMOUNT, _cents, _decimal

    assert _cents(x) == _decimal(x, 2, _MAX_AMOUNT) == _exact_cents(x)


_ACT = st.sampled_from([True, False, Unknown(frozenset({"x"}))])


@settings(deadline=None)
@given(data=st.data())
def test_the_status_table_is_compute_status(data: st.DataObject) -> None:
    """columns.status_matrix packs what a member's rules say into one byte per row and reads its codes from a table:
    on any activations of the rules of any member of the bundled rulebook, the codes of decision.compute_status."""
    from cpc_rules.decision import compute_status
    from cpc_rules.engine.columns import OBLIGATIONS, PERMISSIONS, Col, status_matrix

    rb = default_rulebook()
    items = data.draw(st.lists(st.sampled_from(rb.program.items), min_size=1, max_size=3))
    rules = sorted({r for i in items for r in (*i.permits, *i.forbids, *i.obliges, *i.unencoded, *batch_mod._below(i))})
    rows = data.draw(st.lists(st.fixed_dictionaries({r: _ACT for r in rules}), min_size=1, max_size=8))
    acts = {}
    for r in rules:
        known = np.array([not isinstance(row[r], Unknown) for row in rows])
        val = np.array([row[r] is True for row in rows])
        acts[r] = Col(None if known.all() and data.draw(st.booleans()) else known, val)
    m = status_matrix(items, acts, len(rows))
    for j, row in enumerate(rows):
        for k, item in enumerate(items):
            s = compute_status(item, row, item.member)  # type: ignore[arg-type]
            assert (PERMISSIONS[m[j, 2 * k]], OBLIGATIONS[m[j, 2 * k + 1]]) == (s.permission, s.obligation), (item, row)
