"""Property tests (Hypothesis). Profiles: "ci" by default, HYPOTHESIS_PROFILE=deep for 10 000 examples.

(a) the formatter round-trips generated syntax trees; (b) the parser fails only with
CpcError; (c) three-valued soundness: a conclusion reached with unknown facts holds
whatever they turn out to be (or the completed situation is a conflict, E402: rules
without priority must agree, so a value known one way stands unless another way contradicts it); (d) a decision replayed from its trace's facts gives the
same statuses; (e) deciding is deterministic.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import strategies as S
from conftest import GOLDEN
from hypothesis import assume, given
from hypothesis import strategies as st

from cpc_rules import load_rulebook
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError, Unknown
from cpc_rules.syntax import format as fmt
from cpc_rules.syntax.parse import parse_text

# ---------------------------------------------------------------- (a) formatter round trip


@given(S.modules)
def test_format_round_trip(m) -> None:  # type: ignore[no-untyped-def]
    text = fmt.module(m)
    again = parse_text(text, m.path)
    assert again.items == m.items, text
    assert fmt.module(again) == text  # idempotent


@given(S.exprs)
def test_expression_round_trip(e) -> None:  # type: ignore[no-untyped-def]
    text = fmt.expr(e)
    m = parse_text(f"article R1 règle r : autorise proc a si {text}")
    assert m.items[0].rules[0].condition == e, text  # type: ignore[union-attr]


# ---------------------------------------------------------------- (b) the parser fails cleanly

_VALID = (GOLDEN / "rulebooks" / "props.cpc").read_text(encoding="utf-8")
_TOKENS = st.sampled_from(
    ["règle", "si", "alors", "sinon", "et", "ou", "non", "(", ")", "{", "}", "[", "]", ":", ",", "=", "<", "«", "'", '"', "€", "%",
     "2019-02-30", "2024-01-01", "25 000 €", "jusqu'au", "exclu", "depuis", "article", "R2122-8", "test", "\n", " ", "#", "\\", "é"]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = _VALID
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 40)))
        text = text[:i] + draw(st.one_of(st.just(""), _TOKENS, st.text(max_size=5))) + text[j:]
    return text


@given(st.one_of(st.text(max_size=200), mutated(), S.modules.map(fmt.module).flatmap(lambda t: st.integers(0, len(t)).map(lambda n: t[:n]))))
def test_parser_raises_only_cpc_errors(text: str) -> None:
    try:
        parse_text(text, "fuzz.cpc")
    except CpcError as e:
        assert e.diagnostics
        for d in e.diagnostics:
            assert d.code.startswith("E1")
            assert d.span is not None and d.span.file == "fuzz.cpc"


# ---------------------------------------------------------------- the fixed rulebook for (c), (d), (e)

RB = load_rulebook(GOLDEN / "rulebooks" / "props.cpc")

money = st.decimals(min_value=0, max_value=6_000_000, places=2, allow_nan=False, allow_infinity=False).map(abs)
# amounts near the thresholds of the rulebook matter most
money = st.one_of(money, st.sampled_from([0, Decimal("39999.99"), 40000, Decimal("89999.99"), 90000, Decimal("99999.99"), 100000, Decimal("199999.99"), 200000, 220000, 1000000, 5000000]))
lots = st.lists(st.fixed_dictionaries({}, optional={"montant_lot": money, "réservé": st.booleans()}), max_size=3)

FACTS: dict[str, st.SearchStrategy[Any]] = {
    "nature": st.sampled_from(["travaux", "fournitures", "services"]),
    "valeur": money,
    "montant_lot_max": money,
    "urgence": st.booleans(),
    "défense": st.booleans(),
    "innovant": st.booleans(),
    "nb_offres": st.integers(0, 5),
    "lots": lots,
}
full_situations = st.fixed_dictionaries(FACTS)
partial_situations = st.fixed_dictionaries({}, optional=FACTS)
decision_dates = st.sampled_from(["2020-01-01", "2023-12-31", "2024-01-01", "2029-12-31"])


def decide(situation: dict[str, Any], at: str):  # type: ignore[no-untyped-def]
    """The decision, or None for a conflict (E402): `référence` is known two ways that must agree."""
    try:
        return RB.decide(situation, at=at)
    except EvaluationError as e:
        assert e.diagnostic.code == "E402", e.diagnostic
        return None


def statuses(d) -> dict[tuple[str, str], tuple[str | None, str | None]]:  # type: ignore[no-untyped-def]
    return {(s.enum, s.member): (s.permission, s.obligation) for s in d.statuses}


@given(st.data(), full_situations, decision_dates)
def test_three_valued_soundness(data, full: dict[str, Any], at: str) -> None:  # type: ignore[no-untyped-def]
    hidden = data.draw(st.sets(st.sampled_from(sorted(FACTS))), label="hidden")
    partial = {k: v for k, v in full.items() if k not in hidden}
    d = decide(partial, at)
    assume(d is not None)
    known = statuses(d)
    defs = {df.name: d.value(df.name) for df in RB.checked.definitions}
    assert set(d.missing) <= hidden | {m for m in d.missing if m.startswith("lots[")}
    completions = [full] + [
        {**partial, **data.draw(st.fixed_dictionaries({k: FACTS[k] for k in hidden}), label="completion")} for _ in range(2)
    ]
    for completion in completions:
        c = decide(completion, at)
        if c is None:  # the completion contradicts a value known one way: a conflict, not another answer
            continue
        got = statuses(c)
        for key, (perm, obl) in known.items():
            if perm not in (None, "undetermined"):
                assert got[key][0] == perm, (key, partial, completion)
            if obl not in (None, "undetermined"):
                assert got[key][1] == obl, (key, partial, completion)
        for name, v in defs.items():
            if not isinstance(v, Unknown):
                assert c.value(name) == v, (name, partial, completion)


def test_not_allowed_with_pending_prohibition() -> None:
    # found by test_three_valued_soundness: no permission applies and a prohibition is pending → undetermined, not `not_allowed`
    base = {"nature": "travaux", "valeur": 1000000, "montant_lot_max": 0, "urgence": False, "nb_offres": 1, "lots": []}
    partial = RB.decide({**base, "défense": False}, at="2020-01-01").status("proc", "négo")
    full = RB.decide({**base, "défense": False, "innovant": True}, at="2020-01-01").status("proc", "négo")
    assert full is not None and full.permission == "forbidden"
    assert partial is not None and partial.permission in ("undetermined", "forbidden")


@given(st.data(), full_situations, decision_dates)
def test_no_missing_fact_means_no_undetermined(data, full: dict[str, Any], at: str) -> None:  # type: ignore[no-untyped-def]
    # every record field given too: then nothing can be undetermined
    full = {**full, "lots": [{"montant_lot": 1000, "réservé": False, **lot} for lot in full["lots"]]}
    d = decide(full, at)
    assume(d is not None)
    assert d.missing == ()
    for perm, obl in statuses(d).values():
        assert perm != "undetermined" and obl != "undetermined"


# ---------------------------------------------------------------- (d) trace replay


@given(partial_situations, decision_dates)
def test_trace_replay(situation: dict[str, Any], at: str) -> None:
    d = decide(situation, at)
    assume(d is not None)
    facts = d.trace["facts"]
    assert set(facts) <= set(situation)
    again = RB.decide(facts, at=at)
    assert statuses(again) == statuses(d)
    assert again.missing == d.missing


# ---------------------------------------------------------------- (e) determinism


@given(partial_situations, decision_dates)
def test_determinism(situation: dict[str, Any], at: str) -> None:
    d = decide(situation, at)
    again = decide(dict(reversed(list(situation.items()))), at)
    if d is None or again is None:
        assert d is again  # a conflict, both times
        return
    assert json.dumps(d.to_json(), ensure_ascii=False, sort_keys=True) == json.dumps(again.to_json(), ensure_ascii=False, sort_keys=True)
    assert d.explain(full=True) == again.explain(full=True)
