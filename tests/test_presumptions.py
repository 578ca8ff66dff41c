"""Presumptions (`présumé …` on a fact): syntax, checks, evaluation, and their properties on the bundled rulebook."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from helpers import rulebook, with_rules
from hypothesis import assume, given
from hypothesis import strategies as st

from cpc_rules import default_rulebook
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError, Unknown
from cpc_rules.syntax import ast
from cpc_rules.syntax.format import format_text
from cpc_rules.syntax.parse import parse_text
from cpc_rules.testing import run_tests

DECLS = """
fait urgence : booléen "Urgence impérieuse"
  présumé faux "circonstance que l'acheteur établit" (R1)
fait valeur : montant "Valeur estimée"
fait procédure : proc "Procédure retenue"
  presumed mapa "the ordinary case" (R1, "Texte hors code")
"""
RULES = """
  règle urgente "Urgence : négociation" :
    autorise proc négo
    si urgence

  règle mapa_sous_seuil "MAPA sous le seuil" :
    autorise proc mapa
    si valeur < 100 000 €

  règle ao_toujours "AO" :
    autorise proc ao

  règle avis_mapa "Avis" :
    oblige proc mapa
    si procédure = mapa et valeur >= 90 000 €
"""
EXTRA_ARTICLE = """
article "Texte hors code" "Un texte"
  version depuis 2020-01-01
    source "Loi test"
"""


def small():  # type: ignore[no-untyped-def]
    return with_rules(DECLS, RULES + EXTRA_ARTICLE)


def test_parse_and_format_round_trip() -> None:
    text = 'fait u : booléen "U"\n  présumé faux "raison" (R2122-1, "Loi n° 1, art. 2")\n\ntest "t" :\n  date 2024-01-01 avec présomptions\n  attendu {\n    hors période\n  }\n'
    m = parse_text(text)
    fact, case = m.items
    assert isinstance(fact, ast.FactDecl) and fact.presumption is not None
    assert fact.presumption.reason == "raison" and fact.presumption.articles == ("R2122-1", "Loi n° 1, art. 2")
    assert isinstance(case, ast.TestCase) and case.presumptions
    assert format_text(text) == text
    english = 'fact u : booléen presumed true "why" (R1)\ntest "t" : date 2024-01-01 with presumptions expect { hors période }'
    assert format_text(english).startswith('fait u : booléen\n  présumé vrai "why" (R1)')


@pytest.mark.parametrize(
    ("clause", "code", "words"),
    [
        ('présumé 3 € "r" (R1)', "E301", "présomption de `urgence`"),
        ('présumé faux "r" (R9)', "E201", "R9"),
    ],
)
def test_presumption_checked(clause: str, code: str, words: str) -> None:
    with pytest.raises(CpcError) as e:
        with_rules(f'fait urgence : booléen "U"\n  {clause}\n', "  règle r :\n    autorise proc mapa\n    si urgence\n")
    assert [d.code for d in e.value.diagnostics] == [code]
    assert words in e.value.diagnostics[0].message
    assert e.value.diagnostics[0].span is not None


def test_presumed_member_checked() -> None:
    with pytest.raises(CpcError) as e:
        with_rules('fait p : proc "P"\n  présumé mapp "r" (R1)\n', "  règle r :\n    autorise proc mapa\n    si p = ao\n")
    assert e.value.diagnostics[0].code == "E203"
    assert "mapa" in (e.value.diagnostics[0].hint or "")


def test_presumption_fills_only_what_is_not_given() -> None:
    rb = small()
    d = rb.decide({"valeur": "95000"}, at="2024-01-01")
    assert d.mode == "presumptions"
    assert d.status("proc", "négo").permission == "not_allowed"  # type: ignore[union-attr]
    assert d.status("proc", "mapa").obligation == "mandatory"  # type: ignore[union-attr]
    assert [p.fact for p in d.presumptions] == ["urgence", "procédure"]
    assert d.presumed_for(d.status("proc", "négo")) == ("urgence",)  # type: ignore[arg-type]
    assert d.presumed_for(d.status("proc", "ao")) == ()  # type: ignore[arg-type]
    given_ = rb.decide({"valeur": "95000", "urgence": True, "procédure": "ao"}, at="2024-01-01")
    assert given_.presumptions == () and given_.applied == ()
    assert given_.status("proc", "négo").permission == "allowed"  # type: ignore[union-attr]
    assert given_.status("proc", "mapa").obligation == "not_mandatory"  # type: ignore[union-attr]
    strict = rb.decide({"valeur": "95000"}, at="2024-01-01", presumptions=False)
    assert strict.mode == "strict" and strict.presumptions == ()
    assert strict.status("proc", "négo").permission == "undetermined"  # type: ignore[union-attr]
    assert strict.missing == ("procédure", "urgence")


def test_presumptions_visible_in_json_and_trace() -> None:
    rb = small()
    j = rb.decide({"valeur": "95000"}, at="2024-01-01", trace=True).to_json(trace=True)
    assert j["mode"] == "presumptions"
    assert j["presumptions"][0] == {
        "fact": "urgence",
        "label": "Urgence impérieuse",
        "value": False,
        "display": "faux",
        "reason": "circonstance que l'acheteur établit",
        "articles": ["R1"],
    }
    négo = next(c for c in j["conclusions"] if c["member"] == "négo")
    assert négo["presumed"] == ["urgence"]
    condition = j["trace"]["rules"]["urgente"]["condition"]
    assert condition["fact"] == "urgence" and condition["presumed"] is True
    assert j["trace"]["presumed_facts"] == ["procédure", "urgence"]
    given_ = rb.decide({"valeur": "95000", "urgence": False}, at="2024-01-01").to_json(trace=True)
    assert "presumed" not in given_["trace"]["rules"]["urgente"]["condition"]
    assert "trace" not in rb.decide({"valeur": "95000"}, at="2024-01-01").to_json()


def test_test_cases_are_strict_unless_they_opt_in() -> None:
    cases = """
test "strict" :
  date 2024-01-01
  faits {
    valeur = 95 000 €
  }
  attendu {
    indéterminé proc négo
    manquant urgence
  }

test "présumé" :
  date 2024-01-01 avec présomptions
  faits {
    valeur = 95 000 €
  }
  attendu {
    non autorisé proc négo
    obligatoire proc mapa
  }
"""
    from helpers import ARTICLE, HEADER

    rb = rulebook(HEADER + DECLS + ARTICLE + RULES + EXTRA_ARTICLE + cases)
    results = run_tests(rb)
    assert [r.failures for r in results] == [(), ()]


# ---------------------------------------------------------------- properties on the bundled rulebook

RB = default_rulebook()
C = RB.checked
PRESUMABLE = [f for f in C.facts if f.presumed is not None]
AMOUNTS = sorted({Decimal(0), Decimal("39999.99"), Decimal(40000), Decimal("89999.99"), Decimal(90000), Decimal("215999.99"), Decimal(216000), Decimal(5404000), Decimal(10**7)})


def _enum(name: str) -> list[str]:
    return list(C.enums[name].members)


def _fact_type(name: str) -> Any:
    return next(f.type for f in C.facts if f.name == name)


situations = st.fixed_dictionaries(
    {
        "acheteur": st.sampled_from(_enum(_fact_type("acheteur").name)),
        "nature": st.sampled_from(_enum(_fact_type("nature").name)),
        "valeur_estimée_besoin": st.sampled_from(AMOUNTS) | st.decimals(min_value=0, max_value=10**7, places=2),
    },
    optional={f.name: st.booleans() for f in PRESUMABLE if f.type.kind == "bool"},
)
dates = st.dates(min_value=C.coverage.start, max_value=C.coverage.end - __import__("datetime").timedelta(days=1)) if C.coverage and C.coverage.end else st.just("2026-03-01")


def _decide(situation: dict[str, Any], at: Any, presumptions: bool) -> Any:
    try:
        return RB.decide(situation, at=at, presumptions=presumptions)
    except EvaluationError as e:
        assert e.diagnostic.code == "E402"
        return None


def _view(d: Any) -> Any:
    return (
        {(s.enum, s.member): (s.permission, s.obligation, s.grounds, s.pending, s.refused, s.missing) for s in d.statuses},
        tuple(None if isinstance(v, Unknown) else v for v in d.definition_values),
        d.information,
        d.missing,
    )


@given(situations, dates)
def test_presumptions_equal_strict_decision_on_completed_situation(situation: dict[str, Any], at: Any) -> None:
    d = _decide(situation, at, True)
    assume(d is not None)
    completed = {**situation, **{p.fact: p.value for p in d.applied}}
    strict = _decide(completed, at, False)
    assert strict is not None
    assert _view(d) == _view(strict)
    assert strict.presumptions == () and strict.mode == "strict"
    # every presumption listed was applied, and rests on a rule of the rulebook
    assert {p.fact for p in d.presumptions} <= {p.fact for p in d.applied}
    for p in d.presumptions:
        assert p.fact not in situation and p.articles and p.reason


@given(situations, dates)
def test_presumptions_off_never_makes_a_conclusion_certain(situation: dict[str, Any], at: Any) -> None:
    d = _decide(situation, at, True)
    strict = _decide(situation, at, False)
    assume(d is not None and strict is not None)
    for s in d.statuses:
        st_ = strict.status(s.enum, s.member)
        if s.undetermined:
            assert st_.undetermined, (s, st_)
        if not st_.undetermined:  # strictly settled: every completion, presumed or not, agrees
            assert (st_.permission, st_.obligation) == (s.permission, s.obligation)
            assert d.presumed_for(s) == ()
        elif not s.undetermined:  # settled only thanks to presumptions: it says which
            assert d.presumed_for(s), s


@given(situations, dates)
def test_a_given_fact_is_never_overridden(situation: dict[str, Any], at: Any) -> None:
    d = _decide(situation, at, True)
    assume(d is not None)
    facts = {f.name: d.facts[f.index] for f in C.facts}
    for name, value in situation.items():
        assert facts[name] == value or facts[name] == Decimal(str(value))
        assert d.presumption(name) is None


def test_the_rulebook_doc_names_every_presumption() -> None:
    """docs/rulebook/ccp.md lists the presumptions a buyer's answer rests on: a new one must be listed there."""
    from conftest import ROOT

    doc = (ROOT / "docs" / "rulebook" / "ccp.md").read_text(encoding="utf-8")
    presumed = [f.name for f in default_rulebook().checked.facts if f.presumed is not None]
    assert f"({len(presumed)} faits" in doc
    assert [name for name in presumed if f"`{name}`" not in doc] == []
