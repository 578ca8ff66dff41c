"""The cheap ways of reading a decision agree with the full ones (issue 11, one decision cheap).

On generated rulebooks (those of test_columns.py: exceptions, definitions, dated
parameters and tables, articles in and out of force, lists) and generated situations
(unknown facts, values around the thresholds, dates out of the coverage):

- `Decision.permission` / `.obligation` (read straight from the activations by functions
  compiled per member, engine/compile.py `compile_reader`) equal
  `Decision.status(…).permission` / `.obligation` (the full Status) on every member;
  `Decision.permissions(enum)` / `.obligations(enum)` (one generated dict per enumeration,
  `compile_enum_reader`) equal those reads member by member, and on random mixes of rules
  and activations the enumeration reader equals the member readers;
- the typing of a fact (`values.coercer`, fast paths for values already typed) gives
  exactly what `values.coerce` gives, value or error;
- the generated function for situations whose facts are all known (`run_known`: no
  unknown-value guard, two-valued logic) gives the same activations, definition values
  and errors as the general one, and `Program.run` picks it exactly when every fact is known;
- the date placed by bisection among the rulebook's boundaries (`Program.at_covered`)
  fixes the same parameters and rules in force as resolving that very date (`Program.at`);
- `Program.prepare` (typing, presumptions and "every fact known" in one pass) gives what
  `facts_vector`, `presume` and `all_known` give, or the same errors;
- the traced function for known facts (`run_known_traced`) records the same value for every
  node as the general traced one, so the same trace tree;
- `decide`, which builds its Decision from a per-rulebook class holding what decisions share,
  gives the decision the constructor gives (JSON with the trace, reads, what-if), with and without focus.
"""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal
from typing import Any

from helpers import rulebook, with_rules
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pytest import raises as pytest_raises
from test_columns import AMOUNTS, DATES, FACT_VALUES, rulebooks, situations

from cpc_rules import ir, values
from cpc_rules.decision import compute_status
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.compile import compile_enum_reader, compile_reader
from cpc_rules.engine.evaluate import NOT_EVALUATED, AtDate
from cpc_rules.engine.runtime import EvaluationError, Unknown


def _load(text: str) -> Any:
    try:
        return rulebook(text, "fast")
    except CpcError:
        assume(False)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(st.tuples(situations(), DATES), min_size=1, max_size=12), st.booleans())
def test_direct_reads_equal_the_full_status(text: str, items: list[tuple[dict[str, Any], dt.date]], presume: bool) -> None:
    rb = _load(text)
    for situation, date in items:
        try:
            d = rb.decide(situation, date, presumptions=presume)
        except (CpcError, EvaluationError):
            continue
        for item in rb.program.items:
            s = d.status(item.enum, item.member)
            assert d.permission(item.enum, item.member) == (s.permission if s else None), (item, situation, date)
            assert d.obligation(item.enum, item.member) == (s.obligation if s else None), (item, situation, date)
            if s is not None:
                # read again once the Status is cached: the same answer
                assert d.permission(item.enum, item.member) == s.permission
                st_ = compute_status(item, d.activations, s.label)
                perm, obl = item.readers()  # compiled from the member's rules (engine/compile.py)
                assert (perm(d.activations), obl(d.activations)) == (st_.permission, st_.obligation)
        focused = rb.decide(situation, date, presumptions=presume, focus="proc") if not d.out_of_period else None
        if focused is not None:
            for item in rb.program.items:
                assert focused.permission(item.enum, item.member) == d.permission(item.enum, item.member)
        assert d.permission("proc", "absent") is None and d.obligation("absent", "p0") is None
        # a whole enumeration in one call: every member concluded on, as read one by one
        for dec in (d, focused) if focused is not None else (d,):
            for enum in {it.enum for it in rb.program.items}:
                members = [it.member for it in rb.program.items if it.enum == enum]
                one_by_one = {m: dec.permission(enum, m) for m in members}, {m: dec.obligation(enum, m) for m in members}
                whole = dec.permissions(enum), dec.obligations(enum)
                if dec.out_of_period or not dec.in_focus(enum):
                    assert whole == (None, None)
                else:
                    assert whole == one_by_one and list(whole[0]) == members
        assert d.permissions("absent") is None and d.obligations("absent") is None


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(DATES, min_size=1, max_size=30))
def test_dates_placed_among_the_boundaries_fix_what_the_date_fixes(text: str, dates: list[dt.date]) -> None:
    rb = _load(text)
    prog = rb.program
    for d in dates + [b - dt.timedelta(days=1) for b in prog._bounds] + list(prog._bounds):
        got = prog.at_covered(d)
        if not prog.in_coverage(d):
            assert got is None
            continue
        assert isinstance(got, AtDate)
        assert got == prog.at(d), d
        assert prog.at_covered(d) is got  # seen before: the same object


RULE_SETS = st.lists(st.integers(0, 7), max_size=3, unique=True).map(tuple)
ACTIVATION = st.sampled_from([True, False, Unknown(frozenset({"x"})), Unknown(frozenset({"y", "z"}))])


@given(st.lists(st.tuples(RULE_SETS, RULE_SETS, RULE_SETS, RULE_SETS), min_size=1, max_size=5), st.lists(st.tuples(*[ACTIVATION] * 8), min_size=1, max_size=20))
def test_the_enumeration_reader_equals_the_member_readers(members: list[tuple[Any, ...]], runs: list[tuple[Any, ...]]) -> None:
    """compile_enum_reader (one dict per enumeration) gives, member by member, what compile_reader's functions give,
    on every mix of applying, not applying and unknown rules (permits, prohibitions, obligations, `non encodé`)."""
    items = [(f"m{i}", *rules) for i, rules in enumerate(members)]
    permissions, obligations = compile_enum_reader(items)
    readers = [compile_reader(*rules) for rules in members]
    for a in runs:
        assert permissions(a) == {m: perm(a) for (m, *_), (perm, _) in zip(items, readers, strict=True)}
        assert obligations(a) == {m: obl(a) for (m, *_), (_, obl) in zip(items, readers, strict=True)}
    assert permissions(runs[0]) is not permissions(runs[0])  # a new dict each call: the caller may change it


# ---------------------------------------------------------------- typing the input

EDGES = [
    Decimal("0"), Decimal("-0"), Decimal("0E-10"), Decimal("0.00"), Decimal("-0.01"), Decimal("0.01"), Decimal("0.001"), Decimal("1.000"), Decimal("1.0010"),
    Decimal("1E+15"), Decimal("999999999999999.99"), Decimal("100"), Decimal("100.000001"), Decimal("99.9999995"), Decimal("1E-6"), Decimal("1E-7"),
    Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("Infinity"),
    -1, 0, 1, 100, 101, 10**15 - 1, 10**15, 2**70, True, False, None, 1.5, 0.0,
    "39 999,99 €", "12,5 %", "100", "0", "abc", "vrai", "faux", "oui", "c1", "p0", "2024-02-29", "2023-02-29", "-0", "1.001", "250,000", "",
    dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 12), [1], {"a": 1},
]
RAW = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(min_value=-1, max_value=10**16, places=3),
    st.integers(-5, 10**16),
    st.floats(allow_nan=False),
    st.sampled_from(EDGES),
    st.text(max_size=6), st.dates(), st.datetimes(),
)
TYPES = [ir.MONEY, ir.PERCENT, ir.INT, ir.BOOL, ir.DATE, ir.Type("enum", "cat")]


def _outcome(f: Any, raw: Any) -> Any:
    try:
        v = f(raw)
    except values.BadValue as e:
        return ("error", str(e), e.hint)
    return ("ok", type(v), repr(v) if isinstance(v, Decimal) else v)  # repr: the same digits and exponent, not only an equal value


ENUMS = {"cat": types.SimpleNamespace(members=("c0", "c1", "c2"))}


def _same_typing(t: ir.Type, raw: Any) -> None:
    fast = values.coercer(t, ENUMS, {}, "x")
    expected = _outcome(lambda r: values.coerce(r, t, ENUMS, {}, "x"), raw)
    assert _outcome(fast, raw) == expected, (t, raw)
    assert _outcome(fast, raw) == expected, (t, raw)  # twice: a text read again comes from the memo


def test_the_fast_typing_gives_what_coerce_gives_at_the_edges() -> None:
    for t in TYPES:
        for raw in EDGES:
            _same_typing(t, raw)


@given(st.sampled_from(TYPES), RAW)
def test_the_fast_typing_gives_what_coerce_gives(t: ir.Type, raw: Any) -> None:
    _same_typing(t, raw)


# ---------------------------------------------------------------- the generated code for known facts

KNOWN_VALUES = {**FACT_VALUES, "m1": AMOUNTS, "m2": AMOUNTS, "k": st.integers(0, 12)}


@st.composite
def known_situations(draw: st.DrawFn) -> dict[str, Any]:
    """Every fact given (a few left out now and then: then the general function decides, and must say so)."""
    out = {name: draw(s) for name, s in KNOWN_VALUES.items()}
    for name in draw(st.lists(st.sampled_from(sorted(out)), max_size=2)):
        out.pop(name, None)
    if out.get("lots") and draw(st.integers(0, 4)) == 0:
        out["lots"] = [*out["lots"], {}]  # a lot without its value: a record field unknown
    return out


def _outcome_of_run(fn: Any, facts: list[Any], at: AtDate) -> Any:
    try:
        a, d = fn(facts, at.params, at.active, at.needed)
    except EvaluationError as e:
        return ("error", e.diagnostic.code, e.diagnostic.message)
    return ("ok", a, d)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(st.tuples(known_situations(), DATES), min_size=1, max_size=12), st.booleans())
def test_the_known_facts_function_equals_the_general_one(text: str, items: list[tuple[dict[str, Any], dt.date]], presume: bool) -> None:
    rb = _load(text)
    prog = rb.program
    for situation, date in items:
        at = prog.at_covered(date)
        if at is None:
            continue
        facts = prog.facts_vector(situation)
        if presume:
            facts = prog.presume(facts)[0]
        known = all(not isinstance(x, Unknown) for x in facts) and all(not isinstance(v, Unknown) for lot in (facts[-1] if not isinstance(facts[-1], Unknown) else ()) for v in lot)
        assert prog.all_known(facts) is known
        general = _outcome_of_run(prog.compiled.run, facts, at)
        if known:
            got = _outcome_of_run(prog.compiled.run_known, facts, at)
            assert got == general, (situation, date, text)
            if got[0] == "ok":  # the same objects: True and False, not truthy values
                assert all(x is y for x, y in zip(got[1], general[1], strict=True))
        # and the public path: decide equals what the general function gives
        try:
            d = rb.decide(situation, date, presumptions=presume)
        except EvaluationError as e:
            if general[0] == "ok":  # a rule obliges and another forbids the same member (Program.run checks it after the run)
                a = general[1]
                assert e.diagnostic.code == "E402" and any(a[o] is True and a[f] is True for it in prog.items for o in it.obliges for f in it.forbids)
            else:
                assert general[:2] == ("error", e.diagnostic.code)
            continue
        assert general[0] == "ok" and d.activations == general[1] and d.definition_values == general[2]


def test_the_known_facts_function_reports_the_faults_the_general_one_reports() -> None:
    # two rules define `d` without an exception between them (E402 when they disagree); the third
    # divides by k: with k = 0 the division by zero (E403) comes first, as FA.pick sees every value
    rb = with_rules(
        "fait m : montant\nfait k : entier\nfait b : booléen\ndéfinition d : montant\n",
        "  règle d1 :\n    définit d = m\n\n  règle d2 :\n    définit d = m + 1 €\n    si b\n\n"
        "  règle d3 :\n    définit d = m / k\n\n  règle uses :\n    autorise proc mapa\n    si d > 0 €\n",
    )
    prog = rb.program
    at = prog.at(dt.date(2024, 1, 1))
    for facts_in, code in (({"m": 5, "k": 0, "b": True}, "E403"), ({"m": 5, "k": 1, "b": True}, "E402"), ({"m": 5, "k": 0, "b": False}, "E403"), ({"m": 5, "k": 1, "b": False}, None)):
        facts = prog.facts_vector(facts_in)
        general = _outcome_of_run(prog.compiled.run, facts, at)
        known = _outcome_of_run(prog.compiled.run_known, facts, at)
        assert known == general, facts_in
        assert (known[1] if known[0] == "error" else None) == code, (facts_in, known)


# ---------------------------------------------------------------- one pass: typing, presumptions, all known

def _outcome_of(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except CpcError as e:
        return ("error", [(x.code, x.message) for x in e.diagnostics])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(st.one_of(situations(), known_situations()), min_size=1, max_size=12), st.booleans())
def test_prepare_equals_typing_then_presuming(text: str, items: list[dict[str, Any]], presume: bool) -> None:
    """`Program.prepare` (what decide calls) gives what facts_vector, presume and all_known give, or the same errors."""
    prog = _load(text).program

    def separate(situation: dict[str, Any]) -> Any:
        given = prog.facts_vector(situation)
        facts, used = prog.presume(given) if presume else (given, ())
        return given, facts, used, prog.all_known(facts)

    for situation in items:
        expected = _outcome_of(lambda situation=situation: separate(situation))  # type: ignore[misc]
        got = _outcome_of(lambda situation=situation: prog.prepare(situation, presume))  # type: ignore[misc]
        assert got == expected, situation
        if got[0] == "ok":
            given, facts, used, _ = got[1]
            assert all(type(x) is type(y) for x, y in zip(given + facts, expected[1][0] + expected[1][1], strict=True))
            if not used:  # nothing presumed: the facts decided on are the facts given (not copied)
                assert facts is given


def _same_value(x: Any, y: Any) -> bool:
    if x is NOT_EVALUATED or y is NOT_EVALUATED:
        return x is y
    return type(x) is type(y) and x == y


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(st.tuples(known_situations(), DATES), min_size=1, max_size=12), st.booleans())
def test_the_known_traced_function_records_what_the_traced_one_records(text: str, items: list[tuple[dict[str, Any], dt.date]], presume: bool) -> None:
    """`run_known_traced` (a traced decision whose facts are all known) records the same value for every node
    as the general `run_traced`: the same trace tree; the same activations, definitions and errors."""
    rb = _load(text)
    prog = rb.program
    for situation, date in items:
        at = prog.at_covered(date)
        if at is None:
            continue
        try:
            _, facts, _, known = prog.prepare(situation, presume)
        except CpcError:
            continue
        if not known:
            continue

        def traced(fn: Any, facts: list[Any] = facts, at: AtDate = at) -> Any:
            v = [NOT_EVALUATED] * len(rb.checked.nodes)
            try:
                a, d = fn(facts, at.params, at.active, at.needed, v)
            except EvaluationError as e:
                return ("error", e.diagnostic.code, e.diagnostic.message), v
            return ("ok", a, d), v

        (general, gv), (got, kv) = traced(prog.compiled.run_traced), traced(prog.compiled.run_known_traced)
        assert got == general, (situation, date)
        if got[0] == "ok":
            assert all(_same_value(x, y) for x, y in zip(kv, gv, strict=True)), [(i, x, y) for i, (x, y) in enumerate(zip(kv, gv, strict=True)) if not _same_value(x, y)]
            # and the public path: the trace tree of decide(trace=True) is the one the general traced run gives
            a = general[1]
            if any(a[o] is True and a[f] is True for it in prog.items for o in it.obliges for f in it.forbids):
                continue  # a rule obliges and another forbids the same member: decide raises E402 after the run
            d = rb.decide(situation, date, presumptions=presume, trace=True)
            assert d.trace == rb.trace_plan.build(at, a, gv, frozenset(p.fact for p in d.applied))


def _decision_through_the_constructor(rb: Any, situation: dict[str, Any], date: dt.date, presume: bool, focus: Any) -> Any:
    """The decision as `decide` built it before its shared attributes became class attributes: every attribute
    set by Decision.__init__, then the hooks (the reference the fast construction is compared with)."""
    from cpc_rules import __version__
    from cpc_rules.api import Decision

    prog = rb.program
    given = prog.facts_vector(situation)
    facts, presumed = prog.presume(given) if presume else (given, ())
    at = prog.at_covered(date)
    names = rb.focus(focus)
    result = prog.run(facts, at, focused=prog.focused(names) if names is not None else None) if at is not None else None  # focused: its cone only
    d = Decision(
        rb.checked, date, facts, result, at, __version__, items=prog.items, reads=prog.reads, mode="presumptions" if presume else "strict", focus=rb.focus(focus), index=prog.item_index, readers=prog.readers
    )
    if at is not None:  # out of the coverage, decide set none of them: no presumption listed as applied
        d._engine, d._situation, d._given, d._presumed_idx, d._presume = rb, situation, given, presumed, presume
    return d


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks(), st.lists(st.tuples(st.one_of(situations(), known_situations()), DATES), min_size=1, max_size=8), st.booleans(), st.sampled_from([None, "proc"]))
def test_decide_gives_the_decision_the_constructor_gives(text: str, items: list[tuple[dict[str, Any], dt.date]], presume: bool, focus: Any) -> None:
    """`decide` builds its Decision from a per-rulebook class holding what decisions share: the same JSON
    (conclusions, presumptions relied on, missing facts, trace), the same reads, as through the constructor."""
    rb = _load(text)
    for situation, date in items:
        try:
            expected = _decision_through_the_constructor(rb, situation, date, presume, focus)
        except (CpcError, EvaluationError) as e:
            with pytest_raises(type(e)):
                rb.decide(situation, date, presumptions=presume, focus=focus)
            continue
        got = rb.decide(situation, date, presumptions=presume, focus=focus)
        assert isinstance(got, type(expected))
        assert got.to_json(trace=True) == expected.to_json(trace=True), (situation, date)
        assert (got.mode, got.focus, got.applied, got.presumptions, got.missing) == (expected.mode, expected.focus, expected.applied, expected.presumptions, expected.missing)
        for item in rb.program.items:
            assert got.permission(item.enum, item.member) == expected.permission(item.enum, item.member)
            assert got.obligation(item.enum, item.member) == expected.obligation(item.enum, item.member)
            assert got.status(item.enum, item.member) == expected.status(item.enum, item.member)
        if not got.out_of_period:  # the what-if decides again: the same decision, or the same fault (an E403 with b1 true…)

            def what_if(d: Any) -> Any:
                try:
                    return d.alternative({"b1": True}).to_json()
                except EvaluationError as e:
                    return e.diagnostic.code, e.diagnostic.message

            assert what_if(got) == what_if(expected)


def test_a_traced_decision_records_its_values_during_the_run(monkeypatch: Any) -> None:
    """`decide(trace=True)` records every node's value in its run (issue 11: the trace as values, the tree built
    when rendered): reading the tree runs nothing again, and it is the tree an untraced decision builds later
    (by a traced run on the same facts). The interval's versions and steps are those of the date."""
    from cpc_rules import default_rulebook

    rb = default_rulebook()
    facts = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": Decimal("215999.99")}
    for date in (dt.date(2026, 3, 1), dt.date(2019, 4, 1), dt.date(2026, 3, 2)):
        later = rb.decide(facts, date).trace
        d = rb.decide(facts, date, trace=True)

        def ran_again(self: Any) -> Any:
            raise AssertionError("the traced decision ran again to build its tree")

        with monkeypatch.context() as m:
            m.setattr(type(d), "_trace_values", ran_again)
            tree = d.trace
        assert tree == later
        at = rb.program.at(date)
        assert at.versions == tuple(a.version_at(date) for a in rb.checked.articles)
        for name, rule in tree["rules"].items():
            r = rb.checked.rules[[x.name for x in rb.checked.rules].index(name)]
            version = at.versions[r.article]
            assert rule["in_force"] is (version is not None)
            if version is not None:
                assert rule["version"]["source"] == version.source and rule["version"]["legiarti"] == version.legiarti
