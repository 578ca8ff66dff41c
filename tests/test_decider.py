"""Focused decisions evaluate only what they need (issue 11): the dependency cone (engine/cone.py),
the cone-pruned `decide`, and the decider specialised to a focus (`Rulebook.decider`)."""

from __future__ import annotations

from helpers import rulebook

from cpc_rules.engine.cone import cone, reads

CONE_TEXT = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu

énumération proc "P" { p0, p1 }
énumération pub "Q" { q0, q1 }
énumération autre "A" { z0 }

fait b1 : booléen
fait b2 : booléen
fait m : montant

définition d1 : booléen
définition d2 : montant
définition d3 : booléen

article A0 "Article"
  version depuis 2020-01-01
    source "t"

  règle base :
    autorise proc p0
    si d1

  règle exc exception à base :
    interdit proc p0
    si b2

  règle def1 :
    définit d1 = m > d2

  règle def2 :
    définit d2 = 10 €

  règle def3 :
    définit d3 = b1

  règle pub0 :
    oblige pub q0
    si d3

  règle other :
    autorise autre z0
    si b1 et b2
"""


def test_the_cone_holds_the_rules_the_exceptions_and_the_definitions_read() -> None:
    rb = rulebook(CONE_TEXT, "cone").checked
    name = {r.name: r.index for r in rb.rules}
    got = {rb.rules[i].name for i in cone(rb, ["proc"])}
    assert got == {"base", "exc", "def1", "def2"}
    assert {rb.rules[i].name for i in cone(rb, ["pub"])} == {"pub0", "def3"}
    assert {rb.rules[i].name for i in cone(rb, ["proc", "pub", "autre"])} == set(name)
    assert cone(rb, []) == frozenset()
    facts, defs, params = reads(rb, cone(rb, ["proc"]))
    assert {rb.facts[i].name for i in facts} == {"b2", "m"}
    assert {rb.definitions[i].name for i in defs} == {"d1", "d2"}
    assert params == frozenset()


# ---------------------------------------------------------------- properties on generated rulebooks

import datetime as dt  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_columns import DATES, FACT_VALUES, HEAD, boolean, money  # noqa: E402


def conclusions(d: Any, enums: tuple[str, ...]) -> Any:
    """The answer a decider owes, from the decision's `Status`es (what `permission`, `obligation` and `undetermined`
    mean), not from `api.conclusions` (the enumeration readers its general path uses): the tests compare both."""
    if d.out_of_period:
        return None
    out = []
    for e in enums:
        sts = [s for s in d.statuses if s.enum == e]
        out.append(
            (
                tuple(s.member for s in sts if s.permission == "allowed"),
                tuple(s.member for s in sts if s.permission == "forbidden"),
                tuple(s.member for s in sts if s.obligation == "mandatory"),
                tuple(s.member for s in sts if s.undetermined),
            )
        )
    return tuple(out)

from cpc_rules.diagnostics import CpcError  # noqa: E402
from cpc_rules.engine.runtime import EvaluationError  # noqa: E402

ENUMS = {"proc": ["p0", "p1", "p2"], "pub": ["q0", "q1"], "aut": ["z0", "z1"]}
HEAD3 = HEAD.replace('énumération cat "C"', 'énumération pub "Q" { q0, q1 }\nénumération aut "Z" { z0, z1 }\nénumération cat "C"') + """
définition dz : montant

paramètre u : montant
  depuis 2020-01-01 : 50 €
    source "t"
  depuis 2023-03-15 jusqu'au 2026-01-01 exclu : 75,25 €
    source "t"
"""


@st.composite
def rulebooks3(draw: st.DrawFn) -> str:
    """Rules on three enumerations (permissions, prohibitions, obligations, `non encodé`), exceptions across them,
    definitions read by some (a definition may be missing or in conflict: faults inside or outside a cone), dated
    parameters, three articles with their own periods."""
    arts: list[list[str]] = [[], [], []]
    arts[0].append(f"  règle dm_a :\n    définit dm = {draw(money(1, False))}")
    if draw(st.booleans()):
        arts[draw(st.integers(0, 2))].append(f"  règle dm_b exception à dm_a :\n    définit dm = {draw(money(1, False))}\n    si {draw(boolean(1, False))}")
    arts[draw(st.integers(0, 2))].append(f"  règle db_a :\n    définit db = {draw(boolean(1, False).map(lambda x: x.replace('b2', 'dm > u')))}")
    # dz: sometimes no unconditional rule (E401 when needed), sometimes two that may disagree (E402)
    for j in range(draw(st.integers(0, 2))):
        c = draw(st.none() | boolean(1, False))
        arts[draw(st.integers(0, 2))].append(f"  règle dz_{j} :\n    définit dz = {draw(money(1, False))}" + (f"\n    si {c}" if c else ""))
    names: list[str] = []
    for i in range(draw(st.integers(1, 8))):
        enum = draw(st.sampled_from(sorted(ENUMS)))
        kind = draw(st.sampled_from(["autorise", "autorise", "interdit", "oblige", "non encodé"]))
        member = draw(st.sampled_from(ENUMS[enum]))
        exc = draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []
        head = f"  règle r{i}" + (f" exception à {', '.join(exc)}" if exc else "") + " :"
        body = f'    non encodé "raison" pour {enum}' if kind == "non encodé" else f"    {kind} {enum} {member}"
        c = draw(st.none() | boolean(2, True) | st.sampled_from(["dz > 10 €", "m1 < u", "m1 >= dz"]))
        arts[draw(st.integers(0, 2))].append(head + "\n" + body + (f"\n    si {c}" if c else ""))
        names.append(f"r{i}")
    text = HEAD3
    periods = ["depuis 2020-01-01", "depuis 2021-06-01 jusqu'au 2024-01-01 exclu", "depuis 2023-03-15"]
    for a, (rules, period) in enumerate(zip(arts, periods, strict=True)):
        if rules:
            text += f'\narticle A{a} "Article"\n  version {period}\n    source "t"\n\n' + "\n\n".join(rules) + "\n"
    return text


def _load3(text: str) -> Any:
    try:
        return rulebook(text, "decider")
    except CpcError:
        assume(False)


AMOUNTS3 = st.one_of(
    st.sampled_from(["0", "0.01", "9.99", "10", "10.01", "49.99", "50", "50.01", "75.24", "75.25", "75.26", "100", "250.5", "1000"]).map(Decimal),
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("10.001"), Decimal("75.250"), Decimal("75.2501"), Decimal("1E+15"), Decimal("-0.01"), Decimal("NaN"), Decimal("Infinity"), 75, "75,25", 75.25]),
)
VALUES3 = {**FACT_VALUES, "m1": AMOUNTS3, "m2": AMOUNTS3}
BOUNDARY_DATES = [dt.date(2020, 1, 1), dt.date(2021, 6, 1), dt.date(2022, 1, 1), dt.date(2023, 3, 15), dt.date(2024, 1, 1), dt.date(2026, 1, 1), dt.date(2030, 1, 1)]
DATES3 = st.one_of(
    DATES,
    st.sampled_from(BOUNDARY_DATES).flatmap(lambda d: st.sampled_from([d - dt.timedelta(days=1), d, d + dt.timedelta(days=1)])),
    st.sampled_from(["2024-05-01", dt.datetime(2024, 5, 1, 12)]),  # not a date: the general path
)


@st.composite
def situations3(draw: st.DrawFn) -> dict[str, Any]:
    """Often every fact given (the fast path), else some unknown (None or left out), now and then a name that is no fact."""
    full = draw(st.integers(0, 2)) > 0
    out: dict[str, Any] = {}
    for name, strategy in VALUES3.items():
        if name == "lots" and draw(st.integers(0, 3)) > 0:
            continue  # a list: the general path; left out mostly, so that the fast path runs
        r = draw(st.integers(0, 9))
        if full or r < 6:
            out[name] = draw(strategy)
        elif r == 6:
            out[name] = None
    if draw(st.integers(0, 30)) == 0:
        out["inconnu"] = 1
    return out


def _outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except CpcError as e:
        return ("error", [(x.code, x.message) for x in e.diagnostics])
    except EvaluationError as e:
        return ("fault", e.diagnostic.code, e.diagnostic.message)


FOCI = st.lists(st.sampled_from(sorted(ENUMS)), min_size=1, max_size=3, unique=True)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks3(), st.lists(st.tuples(situations3(), DATES3), min_size=1, max_size=10), FOCI, st.booleans())
def test_the_decider_and_the_focused_decide_equal_the_whole_decision(text: str, items: list[tuple[dict[str, Any], Any]], focus: list[str], presume: bool) -> None:
    """For every focus: the decider's answer is the focused `decide`'s (answers and errors alike), and the
    focused (cone-pruned) decision's conclusions are the unfocused decision's; where the unfocused one fails
    on a fault of the rulebook, the focused one answers (the fault lies outside its cone) or fails on a fault of
    its cone; a focused fault is always a fault of the whole rulebook."""
    rb = _load3(text)
    concluded = {it.enum for it in rb.program.items}
    focus = [e for e in focus if e in concluded]
    assume(focus)
    names = rb.focus(focus)
    decide = rb.decider(focus, presumptions=presume)
    cone_rules = rb.program.focused(names).rules
    for situation, date in items:
        whole = _outcome(lambda: rb.decide(situation, date, presumptions=presume))  # noqa: B023
        focused = _outcome(lambda: rb.decide(situation, date, presumptions=presume, focus=focus))  # noqa: B023
        fast = _outcome(lambda: decide(situation, date))  # noqa: B023
        assert fast == (_outcome(lambda: conclusions(focused[1], names)) if focused[0] == "ok" else focused), (situation, date)  # noqa: B023
        if whole[0] == "ok":
            assert focused[0] == "ok", (situation, date, focused)
            d, f = whole[1], focused[1]
            assert f.statuses == tuple(s for s in d.statuses if s.enum in names), (situation, date)
            assert d.out_of_period is f.out_of_period
            if not d.out_of_period:
                assert [f.activations[r] for r in sorted(cone_rules)] == [d.activations[r] for r in sorted(cone_rules)]
            assert f.presumptions == tuple(p for p in d.presumptions if p in f.presumptions)
            assert fast[1] == conclusions(d, names)
        elif whole[0] == "error":
            assert focused == whole  # the situation itself is wrong: the same errors, focused or not
        if focused[0] == "fault":  # a fault of the cone is one of the whole rulebook, which may meet another first (E403 outside the cone)
            assert whole[0] == "fault", (situation, date)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(rulebooks3(), FOCI)
def test_the_cone_is_closed(text: str, focus: list[str]) -> None:
    """Every rule a rule of the cone depends on is in the cone: its exceptions, the rules defining what it reads."""
    rb = _load3(text).checked
    c = cone(rb, focus)
    for i in c:
        assert set(rb.beaten_by[i]) <= c
        for d in reads(rb, [i])[1]:
            assert set(rb.definitions[d].rules) <= c
    concluding = {r.index for r in rb.rules if r.enum in focus or any(s.partition(".")[0] in focus for s in r.scope)}
    assert concluding <= c


# ---------------------------------------------------------------- the bundled rulebook

from situation_strategies import decision_dates, facts_for  # noqa: E402

from cpc_rules import default_rulebook  # noqa: E402
from cpc_rules.testing import situation_of  # noqa: E402

BUNDLED_FOCI = [("procédure",), ("publicité",), ("procédure", "publicité"), None]


def _typed_values(rb: Any, situation: dict[str, Any]) -> dict[str, Any]:
    """The situation with each value typed as the decider takes it inline (Decimal amounts, dates, booleans, members)."""
    prog = rb.program
    try:
        facts = prog.facts_vector(situation)
    except CpcError:
        return situation
    return {f.name: facts[f.index] for f in rb.checked.facts if f.name in situation and not isinstance(facts[f.index], type(prog.missing[0]))}


def _check_bundled(rb: Any, situation: dict[str, Any], date: Any, presume: bool) -> None:
    for focus in BUNDLED_FOCI:
        decide = rb.decider(focus, presumptions=presume)
        names = decide.focus
        for s in (situation, _typed_values(rb, situation)):
            whole = _outcome(lambda s=s: rb.decide(s, date, presumptions=presume))
            focused = _outcome(lambda s=s, focus=focus: rb.decide(s, date, presumptions=presume, focus=focus))
            fast = _outcome(lambda s=s, decide=decide: decide(s, date))
            assert fast == (("ok", conclusions(focused[1], names)) if focused[0] == "ok" else focused), (s, date, focus)
            if whole[0] == "ok":
                assert fast[1] == conclusions(whole[1], names), (s, date, focus)
                assert focused[1].statuses == tuple(x for x in whole[1].statuses if x.enum in names)
            else:
                assert focused == whole or whole[0] == "fault", (s, date, focus)


def test_the_decider_on_the_bundled_rulebook_test_cases() -> None:
    """Every test case of rulebooks/ccp: as given, and with its values already typed (the fast path)."""
    rb = default_rulebook()
    cases = default_rulebook(tests=True).checked.tests
    assert len(cases) > 50
    for case in cases:
        _check_bundled(rb, situation_of(case), case.date, case.presumptions)
        _check_bundled(rb, situation_of(case), case.date, not case.presumptions)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.data(), st.booleans())
def test_the_decider_on_the_bundled_rulebook_generated_situations(data: st.DataObject, presume: bool) -> None:
    rb = default_rulebook()
    situation = data.draw(facts_for(rb.checked))
    date = data.draw(st.one_of(decision_dates(), st.sampled_from(sorted(rb.program._bounds)).flatmap(lambda d: st.sampled_from([d - dt.timedelta(days=1), d, d + dt.timedelta(days=1)]))))
    _check_bundled(rb, situation, date, presume)


def test_the_architecture_example_of_the_decider_runs() -> None:
    """docs/architecture.md shows Rulebook.decider: its example runs and its assertions hold."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"## One focus, many decisions.*?```python\n(.*?)```", text, flags=re.DOTALL)
    assert block is not None
    scope: dict[str, Any] = {}
    exec(block.group(1), scope)  # noqa: S102 - our own documentation
    assert scope["full"].focus == ("procédure", "publicité")
