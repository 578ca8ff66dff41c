"""Fuzzing the situation reader (issue 8 point 7, situation half).

Documents generated from the bundled rulebook's facts (what `cpc-rules schema` describes)
and hostile forms (raw number tokens, duplicate keys, YAML 1.1 scalars, odd keys, deep
nesting, surrogates): reading and deciding either gives a decision or a located E4xx
diagnostic with a short message; never another exception.

The normal suite runs a few dozen examples per property; the long run is on demand:

    HYPOTHESIS_PROFILE=deep python -m pytest tests/test_fuzz_situations.py
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from situation_strategies import HOSTILE_SCALARS, decision_dates, facts_for, json_documents, yaml_documents

from cpc_rules.api import default_rulebook
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.situation import read_situation, situation_from_value

RB = default_rulebook()
FACT_NAMES = [f.name for f in RB.checked.facts]
LONG = os.environ.get("HYPOTHESIS_PROFILE") in ("deep", "medium")


# a message quotes at most an excerpt of the value, beside the rulebook's own words (an enumeration's members)
MESSAGE_BOUND = 400 + max(len(", ".join(e.members)) for e in RB.checked.enums.values())


def fuzz(examples: int = 40) -> settings:
    """A few dozen examples in the normal suite; the profile's count (10 000 for "deep") on demand."""
    return settings(deadline=None) if LONG else settings(max_examples=examples, deadline=None)


def outcome(read: Any) -> str:
    """'decided', or the code of the diagnostic; any other exception fails the test."""
    try:
        s = read()
        RB.decide(s.facts, at=s.date or "2026-03-01")
    except CpcError as e:
        assert e.diagnostics, "a CpcError without a diagnostic"
        for d in e.diagnostics:
            assert d.code[:2] == "E4", d
            assert len(d.message) <= MESSAGE_BOUND, d.message[:200]  # a short excerpt, never the whole value
            d.message.encode("utf-8")  # printable: no lone surrogate reaches a terminal
        return e.diagnostics[0].code
    except EvaluationError as e:  # two ways to know a value disagree (E402): a decision-time diagnostic
        assert e.diagnostic.code in ("E401", "E402", "E403"), e.diagnostic
        return e.diagnostic.code
    return "decided"


@fuzz()
@given(facts_for(RB.checked), decision_dates())
def test_valid_situations_are_decided(facts: dict[str, Any], at: Any) -> None:
    """What the schema describes, written as JSON: read exactly and decided (or a conflict between facts)."""
    text = json.dumps({"date": at.isoformat(), "faits": facts}, ensure_ascii=False, default=str)
    assert outcome(lambda: read_situation(text, "s.json")) in ("decided", "E402")


@fuzz()
@given(json_documents(FACT_NAMES))
def test_hostile_json(text: str) -> None:
    outcome(lambda: read_situation(text, "s.json"))


@fuzz()
@given(yaml_documents(FACT_NAMES))
def test_hostile_yaml(text: str) -> None:
    outcome(lambda: read_situation(text, "s.yaml"))


@fuzz()
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    outcome(lambda: read_situation(text, "s.json"))
    outcome(lambda: read_situation(text, "s.yaml"))


@fuzz()
@given(st.dictionaries(st.one_of(st.sampled_from(FACT_NAMES), st.text(max_size=5), st.integers(), st.none()), HOSTILE_SCALARS | st.lists(st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), HOSTILE_SCALARS, max_size=3), max_size=2), max_size=5))
def test_hostile_python_values(facts: dict[Any, Any]) -> None:
    """Decoded values handed to the API (situation_from_value, then decide), keys and values of any kind."""
    outcome(lambda: situation_from_value({"date": "2026-03-01", "faits": facts}))
    try:
        RB.decide(facts, at="2026-03-01")
    except CpcError as e:
        assert all(d.code[:2] == "E4" for d in e.diagnostics)
    except EvaluationError as e:
        assert e.diagnostic.code in ("E401", "E402", "E403")


@fuzz()
@given(st.sampled_from(["valeur_estimée_besoin", "proportion_travailleurs_protégés", "durée_marché_ess_mois"]), st.one_of(st.decimals(), st.floats(), st.integers(min_value=-(10**40), max_value=10**40)))
def test_numbers_of_any_magnitude(fact: str, raw: Decimal | float) -> None:
    """NaN, infinities, signalling NaN, huge and tiny exponents: a value or E411, never decimal.InvalidOperation."""
    try:
        RB.program.facts_vector({fact: raw})
    except CpcError as e:
        assert [d.code for d in e.diagnostics] == ["E411"]


@fuzz(8)
@given(json_documents(FACT_NAMES), st.sampled_from(["text", "json"]))
def test_cli_never_exits_3(text: str, fmt: str) -> None:
    r = CliRunner().invoke(main, ["decide", "-", "--at", "2026-03-01", "--format", fmt], input=text, catch_exceptions=False)
    assert r.exit_code in (0, 1), r.output[:500]
    assert "erreur interne" not in r.output
