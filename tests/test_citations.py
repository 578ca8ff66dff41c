"""Citations come from rules that apply: in force at the date, and of the buyer's regime (Livre Ier or III).

A rule not in force is no reason a procedure is refused (`why_not`); the articles a question
« compte pour » are those of rules still open for this buyer; a presumption cites the articles
of the rules that rest on it in this decision, not those of a book set aside.
"""

from __future__ import annotations

import datetime as dt
import re
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


# ---------------------------------------------------------------- the interview: « Compte pour » what this buyer's answer can decide

LIVRE_III = re.compile(r"^[LR]23")  # défense ou sécurité (30-defense.cpc)
LIVRE_IER_ROUTES = re.compile(r"^[LR]21(?:2[2-4]|3[1-2])")  # procédures et publicité du livre Ier (R2122-…, R2123-…, R2124-…, R2131-…)
CIVIL = ["commune", "département", "établissement_public_de_santé", "office_public_de_l_habitat", "sem", "collectivité_opérateur_de_réseau", "état_administration_centrale"]


@pytest.mark.parametrize("buyer", CIVIL)
@pytest.mark.parametrize("nature", ["travaux", "fournitures", "services"])
def test_a_civil_buyer_is_never_told_a_livre_iii_article(buyer: str, nature: str) -> None:
    """Livre III does not apply to this contract (régime_livre_ier sets its rules aside): no question counts for it."""
    situation = {"type_acheteur": buyer, "nature": nature, "marché_de_défense_ou_de_sécurité": False}
    questions = RB.questions(situation, "2026-05-01")
    assert questions
    cited = {a for q in questions for a in q.articles}
    assert not {a for a in cited if LIVRE_III.match(a)}, cited
    assert any(a.startswith(("R2122", "R2123", "R2124", "R2131")) for a in cited)  # the Livre Ier routes are cited


@pytest.mark.parametrize("nature", ["travaux", "fournitures", "services"])
def test_a_defence_contract_is_never_told_a_livre_ier_route(nature: str) -> None:
    """Livre III displaces the Livre Ier procedures and publicity (livre_iii_écarte_livre_ier): none is cited."""
    situation = {"type_acheteur": "état_administration_centrale", "nature": nature, "marché_de_défense_ou_de_sécurité": True}
    questions = RB.questions(situation, "2026-05-01", focus=["procédure", "publicité"])
    cited = {a for q in questions for a in q.articles}
    assert not {a for a in cited if LIVRE_IER_ROUTES.match(a)}, cited
    assert any(LIVRE_III.match(a) for a in cited), cited


def test_before_the_buyer_is_known_both_books_count() -> None:
    """Who buys is not known yet: the first answers may lead to either book, so both are cited."""
    cited = {a for q in RB.questions({"nature": "fournitures"}, "2026-05-01", focus=["procédure"]) for a in q.articles}
    assert any(LIVRE_III.match(a) for a in cited) and any(LIVRE_IER_ROUTES.match(a) for a in cited)


@pytest.mark.parametrize(
    "situation",
    [
        {"type_acheteur": "commune", "nature": "fournitures"},
        {"type_acheteur": "commune", "nature": "travaux", "valeur_estimée_besoin": "60000"},
        {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True, "nature": "services"},
        {"type_acheteur": "établissement_public_de_santé", "nature": "services", "procédure_retenue": "procédure_adaptée"},
    ],
)
def test_an_article_left_out_is_one_the_answer_cannot_change(situation: dict[str, Any]) -> None:
    """Decided, not guessed: a focused rule in force that reads the fact but whose article is not cited keeps the same
    activation whatever the answer (every admissible value tried), unless its article is cited for another rule."""
    from cpc_rules.interview import _fact_readers, admissible_values

    at = dt.date(2026, 5, 1)
    program = RB.program
    active = program.at(at).active
    focused = {it.enum for it in program.items}
    for q in RB.questions(situation, at):
        if q.kind == "checklist":
            continue
        f = next(x for x in CK.facts if x.name == q.fact)
        runs = [program.run(program.facts_vector({**situation, q.fact: v}), program.at(at))[0] for v in admissible_values(CK, f, at)]
        for r in _fact_readers(CK).get(f.index, ()):
            rule = CK.rules[r]
            if not active[r] or rule.enum not in focused or CK.articles[rule.article].ref in q.articles:
                continue
            seen = {a[r] if a[r] is True or a[r] is False else None for a in runs}
            unencoded = all(any(a[u] is True for u in it.unencoded) for it in program.items if r in (*it.permits, *it.forbids, *it.obliges) for a in runs)
            assert len(seen) == 1 or unencoded, (q.fact, rule.name, seen)


# ---------------------------------------------------------------- presumptions: cited with the articles of this buyer's regime

DEFENCE = {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True}


def _presumption_articles(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {p["fact"]: p["articles"] for p in doc["presumptions"]}


@pytest.mark.parametrize("nature", ["travaux", "fournitures", "services"])
@pytest.mark.parametrize("value", ["50000", "500000", "6000000"])
def test_a_defence_decision_cites_its_presumptions_with_livre_iii(nature: str, value: str) -> None:
    """Urgency, a single operator… are presumed absent; for a défense contract they decide L2322-1, not R2122-1 to -10."""
    d = RB.decide({**DEFENCE, "nature": nature, "valeur_estimée_besoin": value}, at="2026-05-01")
    doc = d.to_json()
    cited = _presumption_articles(doc)
    assert cited["urgence_impérieuse"] == ["L2322-1"]
    assert cited["opérateur_unique"] == ["L2322-1"]
    for c in doc["conclusions"]:
        for fact in c.get("presumed", []):
            assert not [a for a in cited[fact] if LIVRE_IER_ROUTES.match(a)], (c["member"], fact, cited[fact])
    line = next(x for x in d.verdict().splitlines() if x.startswith("Sous réserve de"))
    assert not re.search(r"[(, ][LR]21(?:2[2-4]|3[1-2])", line), line


def test_a_lot_examined_for_a_defence_contract_cites_r2322_14_and_r2323_1() -> None:
    d = RB.decide({**DEFENCE, "nature": "fournitures", "valeur_estimée_besoin": "60000"}, at="2026-05-01")
    assert _presumption_articles(d.to_json())["examen_d_un_lot"] == ["R2322-14", "R2323-1"]
    report = d.explain(detail=True)
    assert "  - La décision porte sur un lot d'un marché alloti (et non sur le marché entier) : faux (R2322-14, R2323-1) — " in report


def test_a_civil_decision_keeps_the_declared_articles() -> None:
    """Nothing is set aside for a commune: each presumption is cited with the articles its fact declares."""
    d = RB.decide({"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "60000"}, at="2026-05-01")
    declared = {f.name: list(f.presumed.articles) for f in CK.facts if f.presumed is not None}
    cited = _presumption_articles(d.to_json())
    assert cited and all(cited[f] == declared[f] for f in cited)
    assert cited["urgence_impérieuse"] == ["R2122-1"]


def _regime_clash(doc: dict[str, Any], defence: bool) -> list[tuple[str, str, list[str]]]:
    other = LIVRE_IER_ROUTES if defence else LIVRE_III
    cited = _presumption_articles(doc)
    return [(c["member"], f, cited[f]) for c in doc["conclusions"] for f in c.get("presumed", []) if any(other.match(a) for a in cited[f])]


@given(facts_for(CK), decision_dates())
def test_no_conclusion_rests_on_a_presumption_cited_from_the_other_book(facts: dict[str, Any], at: dt.date) -> None:
    for situation in (facts, {**facts, **DEFENCE, "acheteur": None}):
        try:
            d = RB.decide(situation, at=at)
        except EvaluationError as e:
            assert e.diagnostic.code in ("E401", "E402", "E403")
            continue
        if d.out_of_period:
            continue
        regime = d.value("régime_de_passation")
        if regime in ("livre_ier", "livre_iii"):
            assert _regime_clash(d.to_json(), regime == "livre_iii") == [], (situation, at)
