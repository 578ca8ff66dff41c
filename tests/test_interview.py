"""The interview (src/cpc_rules/interview.py) on the bundled rulebook.

Three properties, checked by deciding (brute force), not by reading the ranking's code:
* relevance: every question asked is about a fact for which two admissible values give
  different focused conclusions, the answers so far being what they are, or every value
  settles a conclusion the fact's being unknown leaves open (a question marked `joint_with`
  is decisive with the first of those facts: checked over the pairs);
* completeness: once every question asked is answered, no focused conclusion is undetermined
  (except those a `non encodé` rule declares outside the rulebook, which no answer settles);
* replay: the saved situation decides exactly as the interview concluded.

The admissible values here are the test's own: every member, both booleans, for
amounts every money literal and every parameter value of the rulebook, at any date, ±0.01 €,
and for a list of lots: none, one lot at each of those amounts, and two unequal lots (a list
whose total cannot cross a threshold would miss what the lots decide, as an amount would).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from cpc_rules import default_rulebook, ir
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.interview import BadAnswer, Interview, Question, focus_tiers, next_questions, parse_answer, undetermined
from cpc_rules.situation import read_situation_file

RB = default_rulebook()
C = RB.checked
FACTS = {f.name: f for f in C.facts}
CENT = Decimal("0.01")
FOCI = [("procédure", "publicité"), ("procédure",), ("publicité",), None]


def _money_points(kind: str) -> list[str]:
    found: set[Decimal] = {Decimal(0)}
    for n in C.nodes:
        if isinstance(n, ir.Const) and n.type.kind == kind and isinstance(n.value, Decimal):
            found.add(n.value)
    for p in C.params:
        if p.type.kind == kind:
            for s in p.steps:
                found.update(s.value.values() if isinstance(s.value, dict) else [s.value])
    return [str(x) for v in sorted(found) for x in (v - CENT, v, v + CENT) if x >= 0]


MONEY = _money_points("money")
PERCENT = _money_points("percent")


def values_of(name: str, at: dt.date) -> list[Any]:
    t = FACTS[name].type
    if t.kind == "bool":
        return [True, False]
    if t.kind == "enum":
        return list(C.enums[t.name].members)
    if t.kind == "money":
        return MONEY
    if t.kind == "percent":
        return PERCENT
    if t.kind == "int":
        return [0, 1, 35, 36, 37, 120]
    if t.kind == "date":
        return [(at + dt.timedelta(days=k)).isoformat() for k in (-3000, -400, 0, 400, 3000)] + ["2021-07-10", "2021-07-11", "2022-12-31", "2023-01-01", "2025-12-31", "2026-01-01"]
    if t.kind == "list":
        # none; one lot at each amount point (the total then crosses every threshold, as an amount does); two unequal lots
        one = [[{"valeur": m, "petit_lot": False}] for m in MONEY]
        return [[], *one, [{"valeur": "10000", "petit_lot": True}, {"valeur": "990000", "petit_lot": False}], [{"valeur": "300000", "petit_lot": True}]]
    raise AssertionError(t)


def outcome(situation: dict[str, Any], at: dt.date, focus: Any) -> tuple[Any, ...]:
    enums = {e for t in focus_tiers(RB, focus) for e in t}
    d = RB.decide(situation, at, **STRICT)
    a = d.activations
    return tuple((s.enum, s.member, s.permission, s.obligation, any(a[r] is True for r in s.unencoded)) for s in d.statuses if s.enum in enums)


STRICT: dict[str, Any] = {"presumptions": False} if "presumptions" in RB.decide.__code__.co_varnames else {}


def _differ(situations: Any, at: dt.date, focus: Any) -> bool:
    """Two of these admissible situations give different focused conclusions (stops at the first difference)."""
    first = None
    for s in situations:
        try:
            o = outcome(s, at, focus)
        except EvaluationError as e:  # a value the answers so far rule out (E402) is not an admissible value
            if e.diagnostic.code != "E402" or first is None:
                raise
            continue
        if first is None:
            first = o
        elif o != first:
            return True
    return False


def relevant(q: Question, situation: dict[str, Any], at: dt.date, focus: Any) -> bool:
    for f in q.facts:
        if f in situation:
            return False
        # the situation itself comes first: a value that settles what the unknown leaves open is a difference too
        if q.joint_with:
            g = q.joint_with[0]
            ok = _differ(itertools.chain([situation], ({**situation, f: v, g: w} for v in values_of(f, at) for w in values_of(g, at))), at, focus)
        else:
            ok = _differ(itertools.chain([situation], ({**situation, f: v} for v in values_of(f, at))), at, focus)
        if not ok:
            return False
    return True


# ---------------------------------------------------------------- starts

DATES = st.dates(min_value=dt.date(2019, 4, 1), max_value=dt.date(2027, 12, 31))
AMOUNTS = st.one_of(st.sampled_from(MONEY), st.decimals(min_value=0, max_value=10**7, places=2).map(str))


@st.composite
def starts(draw: st.DrawFn) -> dict[str, Any]:
    """What a buyer knows first (each fact possibly missing), sometimes with one more fact."""
    s: dict[str, Any] = {}
    if draw(st.booleans()) or draw(st.booleans()):  # who buys: as the buyer says it, or the category
        if draw(st.booleans()):
            s["type_acheteur"] = draw(st.sampled_from(C.enums["qualité_acheteur"].members))
        else:
            s["acheteur"] = draw(st.sampled_from(C.enums["catégorie_acheteur"].members))
    if draw(st.booleans()) or draw(st.booleans()):
        s["nature"] = draw(st.sampled_from(C.enums["nature_achat"].members))
    if draw(st.booleans()) or draw(st.booleans()):
        s["valeur_estimée_besoin"] = draw(AMOUNTS)
    return s


def answer_from(data: Any, q: Question, at: dt.date) -> dict[str, Any] | None:
    """A buyer's answer, drawn: a value for each fact asked, sometimes « je ne sais pas »."""
    if q.kind == "checklist":
        picked = data.draw(st.sets(st.sampled_from(q.facts), max_size=2))
        return {f: f in picked for f in q.facts}
    if q.choices:  # the choices offered (a member the answers so far contradict is not)
        return {q.fact: data.draw(st.sampled_from([c.value for c in q.choices]))}
    return {q.fact: data.draw(st.sampled_from(values_of(q.fact, at)))}


def offered_answers_fit(q: Question, situation: dict[str, Any], at: dt.date) -> bool:
    """Every answer offered (each choice; each checklist box alone, and none) is one the rulebook accepts with the
    answers so far: never a conflict (E402) such as « not a maître d'ouvrage of Livre IV » for a commune."""
    if q.kind == "checklist":
        offered = [{f: f == g for f in q.facts} for g in q.facts] + [{f: False for f in q.facts}]
    else:
        offered = [{q.fact: c.value} for c in q.choices]
    for answer in offered:
        try:
            RB.program.run(RB.program.facts_vector({**situation, **answer}), RB.program.at(at))
        except EvaluationError:
            return False
    return True


def interview_run(data: Any, start: dict[str, Any], at: dt.date, focus: Any, dont_know: bool) -> tuple[Interview, list[tuple[Question, dict[str, Any]]]]:
    """Run an interview to its end, checking relevance at each question; returns it and what was asked."""
    iv = Interview(RB, start, at, focus)
    asked = []
    for _ in range(40):
        q = iv.next()
        if q is None:
            return iv, asked
        assert relevant(q, iv.situation, at, focus), f"irrelevant question {q.facts} at {iv.situation}"
        assert offered_answers_fit(q, iv.situation, at), f"an answer offered for {q.facts} contradicts {iv.situation}"
        ans = None if dont_know and data.draw(st.integers(0, 4)) == 0 else answer_from(data, q, at)
        asked.append((q, dict(iv.situation)))
        iv.answer(q, ans)
    raise AssertionError("the interview did not end in 40 questions")


# ---------------------------------------------------------------- the three properties


@settings(max_examples=20)
@given(starts(), DATES, st.sampled_from(FOCI))
def test_relevance_every_ranked_question(start: dict[str, Any], at: dt.date, focus: Any) -> None:  # type: ignore[no-untyped-def]
    """Not only the first: every question of the ranked list is relevant."""
    for q in next_questions(RB, start, at, focus=focus):
        assert relevant(q, start, at, focus), q.facts


@settings(max_examples=20)
@given(st.data(), starts(), DATES, st.sampled_from(FOCI[:3]))
def test_completeness_and_relevance(data, start: dict[str, Any], at: dt.date, focus: Any) -> None:  # type: ignore[no-untyped-def]
    iv, _ = interview_run(data, start, at, focus, dont_know=False)
    assert undetermined(RB, iv.situation, at, focus) == []


@settings(max_examples=8)
@given(st.data(), starts(), DATES)
def test_completeness_and_relevance_default_focus(data, start: dict[str, Any], at: dt.date) -> None:  # type: ignore[no-untyped-def]
    """Every enumeration, procedures first: longer interviews (obligations, levers, criteria)."""
    iv, _ = interview_run(data, start, at, None, dont_know=False)
    assert undetermined(RB, iv.situation, at) == []


@settings(max_examples=12)
@given(data=st.data(), start=starts(), at=DATES, focus=st.sampled_from(FOCI[:3]))
def test_replay_saved_situation(data, start: dict[str, Any], at: dt.date, focus: Any) -> None:  # type: ignore[no-untyped-def]
    """With « je ne sais pas » answers too: the file written decides as the interview concluded."""
    iv, _ = interview_run(data, start, at, focus, dont_know=True)
    concluded = RB.decide(iv.situation, iv.at).to_json(trace=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.json"
        path.write_text(json.dumps(iv.situation_json(), ensure_ascii=False), encoding="utf-8")
        read = read_situation_file(str(path))
    assert RB.decide(read.facts, read.date).to_json(trace=False) == concluded


def test_completeness_from_nothing_default_focus() -> None:
    """The whole default focus, from an empty situation, answering the usual way (no exception applies)."""
    at = dt.date(2026, 5, 1)
    iv = Interview(RB, {}, at)
    usual = {"type_acheteur": "commune", "acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000", "procédure_retenue": "procédure_adaptée"}
    for _ in range(40):
        q = iv.next()
        if q is None:
            break
        if q.kind == "checklist":
            iv.answer(q, {f: False for f in q.facts})
        else:
            iv.answer(q, {q.fact: usual.get(q.fact, values_of(q.fact, at)[-1] if q.kind != "bool" else False)})
    else:
        raise AssertionError("did not end")
    assert undetermined(RB, iv.situation, at) == []


# ---------------------------------------------------------------- the questions themselves


def test_four_facts_first_question_is_the_checklist() -> None:
    """Who buys (as the buyer says it), what, how much: the rare exceptions first (the innovation partnership's own
    condition among them), then the procedure (publicity); the commune is État ou collectivité (R2131-12) by
    derivation, so neither the category nor that quality is asked."""
    s = {"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "150000"}
    qs = next_questions(RB, s, "2026-05-01", focus=["procédure", "publicité"])
    assert qs[0].kind == "checklist" and qs[0].rare
    assert {"urgence_impérieuse", "procédure_infructueuse", "opérateur_unique", "achat_innovant"} <= set(qs[0].facts)
    assert "R2122-1" in qs[0].articles
    assert [q.fact for q in qs[1:]] == ["procédure_retenue"]
    # the partnership's own condition (L2172-3, R2172-20), presumed absent, is one more box, not one more question
    assert "besoin_non_couvert_par_le_marché" in qs[0].facts
    # the given facts are never asked again, nor the facts derived from them
    assert not {"type_acheteur", "acheteur", "acheteur_état_ou_collectivité", "nature", "valeur_estimée_besoin"} & {f for q in qs for f in q.facts}


def test_choices_contradicting_the_answers_are_not_offered() -> None:
    """The category given (a central authority; a defence contract not said): who buys offers only the State's kinds
    and its national public bodies (for those, the category depends on the defence question), not a commune."""
    s = {"acheteur": "autorité_centrale", "nature": "fournitures", "valeur_estimée_besoin": "150000"}
    q = next(q for q in next_questions(RB, s, "2026-05-01", focus=["procédure", "publicité"]) if q.fact == "type_acheteur")
    assert [c.value for c in q.choices] == [
        "état_administration_centrale",
        "état_service_déconcentré",
        "établissement_public_national_listé",
        "établissement_public_national_administratif",
        "établissement_public_national_industriel_commercial",
    ]
    assert parse_answer(RB, q, "6") is None  # the last number is still « je ne sais pas »
    assert len(next_questions(RB, {}, "2026-05-01", focus=["procédure"])[0].choices) == 16  # nothing given: every kind


def test_joint_and_checklist_questions_offer_only_answers_that_fit() -> None:
    """« Not a maître d'ouvrage of Livre IV » said first: who buys, asked jointly with the defence question (alone it
    settles nothing), offers no commune nor State service (the rulebook makes them maîtres d'ouvrage: E402)."""
    s = {"maître_d_ouvrage_livre_iv": False}
    asked = []
    for focus in FOCI:  # publicity alone: the procedure is asked first (who buys changes nothing before it is known)
        for q in next_questions(RB, s, "2026-05-01", focus=focus):
            if q.fact == "type_acheteur":
                assert "commune" not in [c.value for c in q.choices] and len(q.choices) == 5
                assert offered_answers_fit(q, s, dt.date(2026, 5, 1))
                asked.append(q)
    assert len(asked) == 3
    assert asked[-1].joint_with == ()  # the last focus (every enumeration): asked alone
    q = next(q for q in next_questions(RB, s, "2026-05-01", focus=["procédure"]) if q.fact == "type_acheteur")
    assert q.joint_with == ("marché_de_défense_ou_de_sécurité",)


def test_the_buyer_is_asked_who_they_are() -> None:
    """`type_acheteur` (« Commune ») before the category it implies (`acheteur`), even when the category alone
    would settle more on average (a State buyer's category also needs the defence question)."""
    start = {"nature": "fournitures", "valeur_estimée_besoin": "150000"}
    facts = [q.fact for q in next_questions(RB, start, "2026-05-01", focus=["procédure", "publicité"])]
    assert facts[:2] == ["type_acheteur", "acheteur"]
    # from nothing: alone it changes nothing (only the defence category does), so it is asked with its partner
    first = next_questions(RB, {}, "2026-05-01", focus=["procédure", "publicité"])[0]
    assert first.fact == "type_acheteur" and first.joint_with == ("marché_de_défense_ou_de_sécurité",)
    # the category given: who buys before the derived quality of R2131-12
    cat = {"acheteur": "autre_pouvoir_adjudicateur", **start}
    facts = [q.fact for q in next_questions(RB, cat, "2026-05-01", focus=["publicité"])]
    assert facts.index("type_acheteur") < facts.index("acheteur_état_ou_collectivité")
    # the buyer does not know: the category alone is needed, and asked
    facts = [q.fact for q in next_questions(RB, start, "2026-05-01", focus=["procédure", "publicité"], skip={"type_acheteur"})]
    assert "type_acheteur" not in facts and facts[0] == "acheteur"
    # a State service, the defence question open: the category is asked last, if at all
    st_ = {"type_acheteur": "état_administration_centrale", **start}
    facts = [q.fact for q in next_questions(RB, st_, "2026-05-01", focus=["procédure", "publicité"])]
    assert "acheteur" not in facts[:-1]


def test_settled_situation_has_no_question() -> None:
    s = {
        "acheteur": "autre_pouvoir_adjudicateur",
        "nature": "fournitures",
        "valeur_estimée_besoin": "10000",
        "procédure_retenue": "sans_publicité_ni_mise_en_concurrence",
        "acheteur_état_ou_collectivité": True,
    }
    assert undetermined(RB, s, "2026-05-01", ["publicité"]) == []
    assert next_questions(RB, s, "2026-05-01", focus=["publicité"]) == []
    assert undetermined(RB, s, "2026-05-01", ["procédure"])  # the negotiation's motives are not given


def test_skipped_fact_is_not_asked_again() -> None:
    s = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000"}
    qs = next_questions(RB, s, "2026-05-01", focus=["publicité"], skip={"procédure_retenue"})
    assert "procédure_retenue" not in {f for q in qs for f in q.facts}


def test_joint_question_when_no_fact_alone_decides() -> None:
    """Procedures only, nothing known: the thresholds depend on the buyer and the nature; the nature alone settles
    nothing (with a category known, new routes such as maîtrise d'œuvre make it decisive alone)."""
    qs = next_questions(RB, {}, "2026-05-01", focus=["procédure"])
    nature = [q for q in qs if q.fact == "nature"]
    assert nature and nature[0].joint_with  # the witness partner is checked by the relevance property


def test_bad_focus_is_refused() -> None:
    with pytest.raises(CpcError) as e:
        focus_tiers(RB, ["procedure"])
    assert e.value.diagnostics[0].code == "E421"  # as `decide --focus` says it
    assert focus_tiers(RB, None)[:2] == (("procédure",), ("publicité",))
    assert focus_tiers(RB, "publicité,procédure") == (("publicité",), ("procédure",))


def test_question_json_shape() -> None:
    q = next_questions(RB, {"nature": "travaux"}, "2026-05-01")[0]
    j = q.to_json()
    assert set(j) >= {"fact", "facts", "kind", "label", "help", "articles", "choices", "accepted", "rare", "joint_with"}
    json.dumps(j)


# ---------------------------------------------------------------- answers as a buyer types them


def _q(fact: str) -> Question:
    iv = Interview(RB, {}, "2026-05-01")
    from cpc_rules.interview import _question

    return _question(RB, FACTS[fact], iv.at, focus_tiers(RB), (0.0,), rare=False)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("1 850 000", "1850000"), ("39 999,99 €", "39999.99"), ("40000", "40000"), ("215\u00a0999,99", "215999.99"), ("0", "0")],
)
def test_amounts_as_a_buyer_writes_them(typed: str, stored: str) -> None:
    assert parse_answer(RB, _q("valeur_estimée_besoin"), typed) == {"valeur_estimée_besoin": stored}


@pytest.mark.parametrize("typed", ["abc", "-5", "12,345,678", "1e999999", "39 999,999"])
def test_bad_amounts_are_refused(typed: str) -> None:
    with pytest.raises(BadAnswer):
        parse_answer(RB, _q("valeur_estimée_besoin"), typed)


def test_choices_by_number() -> None:
    q = _q("nature")
    assert parse_answer(RB, q, "1") == {"nature": "travaux"}
    assert parse_answer(RB, q, "4") is None  # the last number: je ne sais pas
    assert parse_answer(RB, q, "?") is None
    assert parse_answer(RB, q, "services") == {"nature": "services"}
    with pytest.raises(BadAnswer, match="1 à 4"):
        parse_answer(RB, q, "5")
    b = _q("urgence_impérieuse")
    assert parse_answer(RB, b, "oui") == {"urgence_impérieuse": True}
    assert parse_answer(RB, b, "2") == {"urgence_impérieuse": False}


def test_checklist_answers() -> None:
    s = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000"}
    q = next_questions(RB, s, "2026-05-01", focus=["procédure"])[0]
    assert q.kind == "checklist"
    assert parse_answer(RB, q, "aucune") == {f: False for f in q.facts}
    picked = parse_answer(RB, q, "1 3")
    assert picked is not None and [f for f, v in picked.items() if v] == [q.facts[0], q.facts[2]]
    with pytest.raises(BadAnswer):
        parse_answer(RB, q, "99")


def test_list_answer() -> None:
    q = _q("lots")
    assert parse_answer(RB, q, "aucun") == {"lots": []}
    assert parse_answer(RB, q, "30 000 / oui ; 250 000 / non") == {"lots": [{"valeur": "30 000", "petit_lot": "oui"}, {"valeur": "250 000", "petit_lot": "non"}]}
    with pytest.raises(BadAnswer):
        parse_answer(RB, q, "30 000")


def test_going_back_forgets_the_answer() -> None:
    iv = Interview(RB, {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000"}, "2026-05-01", ["procédure"])
    q1 = iv.next()
    assert q1 is not None
    iv.answer(q1, None)
    assert set(q1.facts) <= set(iv.situation_json()["faits"])  # unknown facts saved as null
    assert iv.back() == q1
    assert iv.next() == q1 and iv.back() is None


# ---------------------------------------------------------------- the command (click runner; the terminal: test_ask_pty.py)


SITUATION = {"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "150000"}


def test_ask_json_lists_ranked_questions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "s.json"
    p.write_text(json.dumps(SITUATION), encoding="utf-8")
    r = CliRunner().invoke(main, ["ask", str(p), "--at", "2026-05-01", "--focus", "procédure,publicité", "--format", "json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["date"] == "2026-05-01"
    assert [q["fact"] for q in out["questions"]][1:] == ["procédure_retenue"]


def test_ask_usage_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, ["ask", "--at", "2026-05-01", "--focus", "procedure", "--format", "json"])
    assert r.exit_code == 1 and "E421" in r.output and "procédure" in r.output  # as `decide --focus`, with the hint
    r = CliRunner().invoke(main, ["ask", "--format", "json"])
    assert r.exit_code == 2 and "--at" in r.output
    r = CliRunner().invoke(main, ["ask", "--at", "2026-13-01", "--format", "json"])
    assert r.exit_code == 1 and "E413" in r.output
    r = CliRunner().invoke(main, ["ask", "-", "--at", "2026-05-01"], input="{}")
    assert r.exit_code == 2 and "entrée standard" in r.output  # the answers come from standard input
    r = CliRunner().invoke(main, ["ask", "-", "--at", "2026-05-01", "--format", "json"], input='{"nature": "travaux"}')
    assert r.exit_code == 0 and json.loads(r.output)["questions"]


def test_ask_whole_interview_saves_a_replayable_situation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p, out = tmp_path / "s.json", tmp_path / "out.json"
    p.write_text(json.dumps(SITUATION), encoding="utf-8")
    answers = "aucune\nxyz\n2\n2\n"  # checklist: none; a mistake; not a lot; MAPA (a commune: État ou collectivité, derived)
    r = CliRunner().invoke(main, ["ask", str(p), "--at", "2026-05-01", "--focus", "procédure,publicité", "--save", str(out)], input=answers)
    assert r.exit_code == 0, r.output
    assert "Réponse non comprise" in r.output and "Plus aucune question" in r.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["faits"]["procédure_retenue"] == "procédure_adaptée" and saved["faits"]["urgence_impérieuse"] is False
    replay = CliRunner().invoke(main, ["decide", str(out), "--focus", "procédure,publicité"])
    assert replay.exit_code == 0 and replay.output in r.output  # the verdict printed is the one `decide` gives
    assert "Procédure adaptée (MAPA)" in replay.output and "Avis au BOAMP ou dans un journal d'annonces légales" in replay.output


def test_ask_end_of_input_saves_what_was_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.json"
    r = CliRunner().invoke(main, ["ask", "--at", "2026-05-01", "--save", str(out)], input="6\n")  # who buys: 6. Commune
    assert r.exit_code == 1 and "Entretien interrompu" in r.output
    assert json.loads(out.read_text(encoding="utf-8")) == {"date": "2026-05-01", "faits": {"type_acheteur": "commune"}}


def test_ask_back_at_the_start_and_date_asked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = CliRunner().invoke(main, ["ask"], input="hier\n2026-05-01\n<\n?\n")
    assert "Date non comprise" in r.output and "Pas de question précédente" in r.output
    assert r.exit_code == 1
    saved = json.loads(r.output[r.output.index("{") :])
    assert saved["date"] == "2026-05-01" and list(saved["faits"].values()) == [None]


# ---------------------------------------------------------------- the documented sessions (docs/cli.md, README.md)


def _sessions(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    return re.findall(r"```sh\ncpc-rules (ask [^\n]+)\n```\n\n```text\n(.*?)```", text, flags=re.DOTALL)


SESSIONS = [(doc, cmd, transcript) for doc in ("docs/cli.md", "README.md") for cmd, transcript in _sessions(ROOT / doc)]


def test_docs_show_a_session() -> None:
    assert {doc for doc, _, _ in SESSIONS} == {"docs/cli.md", "README.md"}


@pytest.mark.parametrize(("doc", "command", "transcript"), SESSIONS, ids=[f"{d}: {c}" for d, c, _ in SESSIONS])
def test_documented_session_is_real(doc: str, command: str, transcript: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The answers typed in the transcript (after `> `) are fed to the command; every excerpt between `…` lines is
    found as is in what it prints, and the situation it saves replays with `decide`."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    typed = re.findall(r"^> (.*)$", transcript, flags=re.MULTILINE)
    result = CliRunner(echo_stdin=True).invoke(main, command.split(), input="".join(t + "\n" for t in typed))
    assert result.exit_code == 0, result.output
    for chunk in re.split(r"^…\n", transcript, flags=re.MULTILINE):
        assert chunk.strip("\n") in result.output, chunk
    saved = re.search(r"--save (\S+)", command)
    focus = re.findall(r"(--focus \S+)", command)
    if saved:
        replay = CliRunner().invoke(main, ["decide", saved.group(1), *" ".join(focus).split()])
        assert replay.exit_code == 0 and replay.output in result.output


def test_python_api_gives_the_same_questions() -> None:
    s = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000"}
    assert RB.questions(s, "2026-05-01", focus=["procédure"]) == next_questions(RB, s, "2026-05-01", focus=["procédure"])
