"""Citations come from rules that apply: in force at the date, and of the buyer's regime (Livre Ier or III).

A rule not in force is no reason a procedure is refused (`why_not`); the articles a question
« compte pour » are those of rules still open for this buyer; a presumption cites the articles
of the rules that rest on it in this decision, not those of a book set aside.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from situation_strategies import decision_dates, facts_for

from cpc_rules.api import default_rulebook
from cpc_rules.engine.runtime import EvaluationError

RB = default_rulebook()
CK = RB.checked


def _in_force(rule_name: str, at: dt.date | str) -> bool:
    r = next(x for x in CK.rules if x.name == rule_name)
    when = dt.date.fromisoformat(at) if isinstance(at, str) else at
    return CK.articles[r.article].version_at(when) is not None


# ---------------------------------------------------------------- why_not: rules in force only


def test_why_not_leaves_out_the_rules_not_in_force() -> None:
    """In 2019 the temporary dispenses of 2020-2022 (décret n° 2020-893…) were not in force: not why a direct award is refused."""
    d = RB.decide({"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "30000"}, at="2019-06-01")
    c = next(c for c in d.to_json()["conclusions"] if c["member"] == "sans_publicité_ni_mise_en_concurrence")
    assert c["permission"] == "not_allowed"
    cited = [w["rule"] for w in c["why_not"]]
    assert cited and all(_in_force(r, "2019-06-01") for r in cited), cited
    assert not {"dispense_travaux_70000", "dispense_travaux_100000", "denrées_alimentaires_100000"} & set(cited)  # from 2020, 2022
    # the rules in force that refused it are all still there (the text report says the same ones)
    s = d.status("procédure", "sans_publicité_ni_mise_en_concurrence")
    assert s is not None
    assert cited == [CK.rules[r].name for r in s.refused if _in_force(CK.rules[r].name, "2019-06-01")]


def test_a_member_refused_only_by_rules_not_in_force_has_no_why_not() -> None:
    """L2113-13-1 (reservation to prisons' workshops) came later: in 2019 nothing in force permits it, and no reason is invented."""
    d = RB.decide({"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "30000"}, at="2019-06-01")
    c = next(c for c in d.to_json()["conclusions"] if c["member"] == "réservation_pénitentiaire")
    assert c["permission"] == "not_allowed"
    assert "why_not" not in c


@given(facts_for(CK), decision_dates())
def test_every_why_not_rule_is_in_force(facts: dict[str, Any], at: dt.date) -> None:
    try:
        doc = RB.decide(facts, at=at).to_json()
    except EvaluationError as e:
        assert e.diagnostic.code in ("E401", "E402", "E403")
        return
    for c in doc.get("conclusions", []):
        for w in c.get("why_not", []):
            assert _in_force(w["rule"], at), (c["member"], w, at)


@pytest.mark.parametrize("at", ["2019-06-01", "2022-01-01", "2026-09-01"])
def test_the_text_report_and_the_json_refuse_with_the_same_rules(at: str) -> None:
    d = RB.decide({"type_acheteur": "commune", "nature": "travaux", "valeur_estimée_besoin": "60000"}, at=at)
    report = d.explain(detail=True)
    for c in d.to_json()["conclusions"]:
        for w in c.get("why_not", []):
            assert f"condition non remplie ({w['article']}" in report, (c["member"], w)
