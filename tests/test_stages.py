"""Unit tests, one group per pipeline stage: parse, format, check, compile/evaluate, decision."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from helpers import with_rules
from hypothesis import given, settings
from hypothesis import strategies as st

from cpc_rules import default_rulebook
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError, Unknown
from cpc_rules.syntax import ast
from cpc_rules.syntax.format import comments, format_text
from cpc_rules.syntax.parse import parse_text


def _cond(text: str) -> ast.Expr:
    m = parse_text(f"article R1 règle r : autorise proc a si {text}")
    art = m.items[0]
    assert isinstance(art, ast.Article)
    cond = art.rules[0].condition
    assert cond is not None
    return cond


def _codes(exc: CpcError) -> list[str]:
    return [d.code for d in exc.diagnostics if d.severity == "error"]


# ---------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("25 000 €", "money", Decimal(25000)),
        ("39 999,99 €", "money", Decimal("39999.99")),
        ("5 548 000 €", "money", Decimal(5548000)),
        ("25000 EUR", "money", Decimal(25000)),
        ("49,99 %", "percent", Decimal("49.99")),
        ("20 %", "percent", Decimal(20)),
        ("2024-02-29", "date", dt.date(2024, 2, 29)),
        ("42", "int", 42),
        ("vrai", "bool", True),
        ("faux", "bool", False),
    ],
)
def test_parse_literals(text: str, kind: str, value: object) -> None:
    e = _cond(f"x = {text}")
    assert isinstance(e, ast.Compare)
    assert e.right == ast.Lit(kind, value)  # type: ignore[arg-type]


FRENCH = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu
énumération proc { a, b }
structure lot { montant_lot : montant }
fait x : montant
fait lots : liste de lot
définition d : booléen
paramètre seuil : montant
  depuis 2020-01-01 : 40 000 €
    source "s"
    à confirmer "c"
article R1 "t"
  version depuis 2020-01-01 légifrance LEGIARTI000037730620
    source "s"
  règle r1 exception à r2 :
    autorise proc a
    si non (x < seuil et vrai) ou somme(l.montant_lot pour chaque l dans lots si vrai) > 0 €
    note "n"
  règle r2 :
    interdit proc a, b
    si tous(l dans lots : l.montant_lot > 1 €) et existe(l dans lots : faux) et nombre(l dans lots) > 1
  règle r3 :
    définit d = si x dans {a} alors vrai sinon faux
test "t" :
  date 2024-01-01
  faits { x = 1 € }
  attendu { autorisé proc a  non autorisé proc b  valeur d = vrai  manquant x  hors période  erreur E401 }
"""

ENGLISH = """coverage from 2020-01-01 until 2030-01-01
enum proc { a, b }
record lot { montant_lot : montant }
fact x : montant
fact lots : list of lot
definition d : booléen
parameter seuil : montant
  from 2020-01-01 : 40 000 €
    source "s"
    to confirm "c"
article R1 "t"
  version from 2020-01-01 legifrance LEGIARTI000037730620
    source "s"
  rule r1 exception to r2 :
    permits proc a
    if not (x < seuil and true) or sum(l.montant_lot for each l in lots if true) > 0 €
    note "n"
  rule r2 :
    forbids proc a, b
    if all(l in lots : l.montant_lot > 1 €) and any(l in lots : false) and count(l in lots) > 1
  rule r3 :
    defines d = if x in {a} then true else false
test "t" :
  date 2024-01-01
  facts { x = 1 € }
  expect { allowed proc a  not allowed proc b  value d = true  missing x  out period  error E401 }
"""


def test_english_aliases_parse_to_the_same_ast() -> None:
    fr, en = parse_text(FRENCH, "a.cpc"), parse_text(ENGLISH, "a.cpc")
    assert fr.items == en.items
    assert len(fr.items) == 9


def test_precedence_and_binds_tighter_than_or() -> None:
    e = _cond("a ou b et c")
    assert isinstance(e, ast.BoolOp) and e.op == "or"
    assert isinstance(e.operands[1], ast.BoolOp) and e.operands[1].op == "and"


def test_keywords_are_usable_as_names() -> None:
    e = _cond("montant < date")
    assert e == ast.Compare("<", ast.Ref("montant"), ast.Ref("date"))


def test_spans_are_located() -> None:
    m = parse_text("fait x : montant\nfait y : booléen\n", "f.cpc")
    span = m.items[1].span
    assert span is not None and (span.file, span.line, span.col) == ("f.cpc", 2, 1)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("fait x montant", "E101"),
        ("fait x : «montant»", "E102"),
        ("fait x :", "E103"),
        ("couverture depuis 2019-02-30", "E104"),
        ("article R1 règle r : autorise", "E103"),
    ],
)
def test_syntax_errors_have_codes(text: str, code: str) -> None:
    with pytest.raises(CpcError) as e:
        parse_text(text)
    assert [d.code for d in e.value.diagnostics] == [code]
    assert e.value.diagnostics[0].span is not None


# ---------------------------------------------------------------- format


def test_fmt_is_idempotent_and_translates_to_french() -> None:
    once = format_text(ENGLISH)
    assert format_text(once) == once
    assert once == format_text(FRENCH)
    assert "autorise proc a" in once and "permits" not in once


def test_fmt_keeps_comments() -> None:
    text = "# en-tête\nfait x : montant  # après\n\n# avant l'article\narticle R1\n  version depuis 2020-01-01 source \"s\"\n  # avant la règle\n  règle r : autorise proc a\n"
    out = format_text(text)
    for c in ("# en-tête", "# après", "# avant l'article", "# avant la règle"):
        assert c in out
    assert format_text(out) == out
    assert parse_text(out).items == parse_text(text).items


def test_fmt_bundled_rulebook_round_trips() -> None:
    from cpc_rules import resources

    for f in sorted(resources.bundled_rulebook_path().glob("*.cpc")):
        text = f.read_text(encoding="utf-8")
        once = format_text(text, str(f))
        assert format_text(once, str(f)) == once
        assert parse_text(once).items == parse_text(text).items
        assert [c for _, c in comments(once)] == [c for _, c in comments(text)]


# ---------------------------------------------------------------- check


def test_bundled_rulebook_checks() -> None:
    rb = default_rulebook(tests=True)
    assert rb.checked.articles and rb.checked.rules
    assert not [w for w in rb.warnings if w.severity == "error"]


def test_check_collects_several_errors() -> None:
    with pytest.raises(CpcError) as e:
        with_rules("fait x : montant\n", "  règle r1 :\n    autorise proc mapaa\n    si y < 3 €\n  règle r2 :\n    autorise proc ao\n    si x < 3\n")
    assert sorted(set(_codes(e.value))) == ["E201", "E203", "E301"]


def test_check_did_you_mean_hint() -> None:
    with pytest.raises(CpcError) as e:
        with_rules("fait valeur : montant\n", "  règle r :\n    autorise proc mapa\n    si valuer < 3 €\n")
    d = next(d for d in e.value.diagnostics if d.code == "E201")
    assert d.hint is not None and "`valeur`" in d.hint


def test_check_warns_unused_fact() -> None:
    rb = with_rules("fait x : montant\nfait y : booléen\n", "  règle r :\n    autorise proc mapa\n    si y\n")
    assert [w.message for w in rb.warnings if w.code == "W313"] == ["le fait `x` n'est utilisé par aucune règle"]


# ---------------------------------------------------------------- compile / evaluate

KLEENE = with_rules(
    "fait p : booléen\nfait q : booléen\n",
    "  règle et_ :\n    autorise proc mapa\n    si p et q\n\n  règle ou_ :\n    autorise proc ao\n    si p ou q\n\n  règle non_ :\n    autorise proc négo\n    si non p\n",
)


@pytest.mark.parametrize(
    ("facts", "mapa", "ao", "négo"),
    [
        ({}, "undetermined", "undetermined", "undetermined"),
        ({"q": False}, "not_allowed", "undetermined", "undetermined"),  # unknown et faux = faux
        ({"q": True}, "undetermined", "allowed", "undetermined"),  # unknown ou vrai = vrai
        ({"p": False}, "not_allowed", "undetermined", "allowed"),
        ({"p": True, "q": True}, "allowed", "allowed", "not_allowed"),
        ({"p": False, "q": False}, "not_allowed", "not_allowed", "allowed"),
    ],
)
def test_kleene_logic(facts: dict[str, bool], mapa: str, ao: str, négo: str) -> None:
    d = KLEENE.decide(facts, at="2024-01-01")
    got = {s.member: s.permission for s in d.statuses}
    assert got == {"mapa": mapa, "ao": ao, "négo": négo}


def test_missing_lists_only_relevant_facts() -> None:
    d = KLEENE.decide({"q": False}, at="2024-01-01")
    assert d.missing == ("p",)
    assert d.status("proc", "ao").missing == frozenset({"p"})  # type: ignore[union-attr]


PROHIBITION = with_rules(
    "fait défense : booléen\n",
    "  règle ok :\n    autorise proc mapa\n\n  règle non :\n    interdit proc mapa\n    si défense\n",
)


@pytest.mark.parametrize(("défense", "status"), [(True, "forbidden"), (False, "allowed"), (None, "undetermined")])
def test_prohibition_beats_permission(défense: bool | None, status: str) -> None:
    facts = {} if défense is None else {"défense": défense}
    assert PROHIBITION.decide(facts, at="2024-01-01").status("proc", "mapa").permission == status  # type: ignore[union-attr]


EXCEPTIONS_TEXT = (
    "fait défense : booléen\nfait urgence : booléen\ndéfinition taux : pourcentage\n",
    (
        "  règle mapa_ok :\n    autorise proc mapa\n\n  règle défense_ok exception à mapa_ok :\n    interdit proc mapa\n    si défense\n\n"
        "  règle taux_normal :\n    définit taux = 20 %\n\n  règle taux_urgence exception à taux_normal :\n    définit taux = 10 %\n    si urgence\n"
    ),
)


def test_exception_beats_rule() -> None:
    rb = with_rules(*EXCEPTIONS_TEXT)
    d = rb.decide({"urgence": True, "défense": False}, at="2024-01-01")
    assert d.value("taux") == Decimal(10)
    assert rb.decide({"urgence": False}, at="2024-01-01").value("taux") == Decimal(20)
    assert isinstance(rb.decide({}, at="2024-01-01").value("taux"), Unknown)


def test_exception_checks_and_compiles() -> None:
    # the static part of exceptions works: no E309 static conflict between a rule and its exception
    rb = with_rules(*EXCEPTIONS_TEXT)
    assert [r.name for r in rb.checked.rules if r.exceptions] == ["défense_ok", "taux_urgence"]


AGG = with_rules(
    "structure lot { montant_lot : montant, réservé : booléen }\nfait lots : liste de lot\ndéfinition total : montant\ndéfinition n_réservés : entier\n",
    "  règle r_total :\n    définit total = somme(l.montant_lot pour chaque l dans lots)\n\n"
    "  règle r_n :\n    définit n_réservés = nombre(l dans lots si l.réservé)\n\n"
    "  règle r_tous :\n    autorise proc mapa\n    si tous(l dans lots : l.montant_lot < 100 €)\n\n"
    "  règle r_existe :\n    autorise proc ao\n    si existe(l dans lots : l.réservé)\n",
)


def test_aggregates_known() -> None:
    d = AGG.decide({"lots": [{"montant_lot": "10", "réservé": True}, {"montant_lot": "39,5", "réservé": False}]}, at="2024-01-01")
    assert d.value("total") == Decimal("49.5")
    assert d.value("n_réservés") == 1
    assert d.status("proc", "mapa").permission == "allowed"  # type: ignore[union-attr]
    assert d.status("proc", "ao").permission == "allowed"  # type: ignore[union-attr]


def test_aggregates_empty_list() -> None:
    d = AGG.decide({"lots": []}, at="2024-01-01")
    assert d.value("total") == 0
    assert d.value("n_réservés") == 0
    assert d.status("proc", "mapa").permission == "allowed"  # type: ignore[union-attr]  # tous(∅) = vrai
    assert d.status("proc", "ao").permission == "not_allowed"  # type: ignore[union-attr]  # existe(∅) = faux


def test_aggregates_with_missing_fields() -> None:
    d = AGG.decide({"lots": [{"montant_lot": "10"}, {"réservé": True}]}, at="2024-01-01")
    assert isinstance(d.value("total"), Unknown)
    assert "lots[2].montant_lot" in d.value("total").missing
    assert isinstance(d.value("n_réservés"), Unknown)  # the first lot may be reserved too
    assert d.status("proc", "mapa").permission == "undetermined"  # type: ignore[union-attr]
    assert d.status("proc", "ao").permission == "allowed"  # type: ignore[union-attr]  # one reserved lot settles existe


def test_aggregate_missing_field_settled_by_false() -> None:
    d = AGG.decide({"lots": [{"montant_lot": "1000"}, {"réservé": True}]}, at="2024-01-01")
    assert d.status("proc", "mapa").permission == "not_allowed"  # type: ignore[union-attr]  # one lot ≥ 100 € settles tous


RUNTIME = with_rules(
    "fait urgence : booléen\nfait défense : booléen\ndéfinition taux : pourcentage\n",
    "  règle a :\n    définit taux = 10 %\n    si urgence\n\n  règle b :\n    définit taux = 30 %\n    si défense\n\n  règle c :\n    définit taux = 10 %\n    si urgence et défense\n",
)


def test_runtime_conflict_E402() -> None:
    with pytest.raises(EvaluationError) as e:
        RUNTIME.decide({"urgence": True, "défense": True}, at="2024-01-01")
    assert e.value.diagnostic.code == "E402"


def test_runtime_no_rule_E401_only_when_read() -> None:
    # nothing in force reads `taux`: no value, no error
    assert RUNTIME.decide({"urgence": False, "défense": False}, at="2024-01-01").value("taux") is None
    reader = with_rules(
        "fait urgence : booléen\ndéfinition taux : pourcentage\n",
        "  règle a :\n    définit taux = 10 %\n    si urgence\n\n  règle b :\n    autorise proc mapa\n    si taux > 5 %\n",
    )
    with pytest.raises(EvaluationError) as e:
        reader.decide({"urgence": False}, at="2024-01-01")
    assert e.value.diagnostic.code == "E401"


def test_agreeing_rules_are_not_a_conflict() -> None:
    assert RUNTIME.decide({"urgence": True, "défense": False}, at="2024-01-01").value("taux") == Decimal(10)


def test_one_applicable_rule_decides_a_definition() -> None:
    # `taux_défense` may still apply, but rules without priority must agree: it could only conflict (E402), not change the value
    assert RUNTIME.decide({"urgence": True}, at="2024-01-01").value("taux") == Decimal(10)
    v = RUNTIME.decide({"défense": False}, at="2024-01-01").value("taux")
    assert isinstance(v, Unknown) and v.missing == {"urgence"}


def test_two_ways_to_know_a_value_must_agree() -> None:
    # a total declared, or computed from its parts: either decides; both must agree
    rb = with_rules(
        "fait déclaré : montant\nfait base : montant\nfait options : montant\ndéfinition v : montant\n",
        "  règle d :\n    définit v = déclaré\n\n  règle c :\n    définit v = base + options\n",
    )
    assert rb.decide({"déclaré": 10}, at="2024-01-01").value("v") == Decimal(10)
    assert rb.decide({"base": 7, "options": 3}, at="2024-01-01").value("v") == Decimal(10)
    assert rb.decide({"base": 7}, at="2024-01-01").value("v").missing == {"déclaré", "options"}
    assert rb.decide({"déclaré": 10, "base": 7, "options": 3}, at="2024-01-01").value("v") == Decimal(10)
    with pytest.raises(EvaluationError) as e:
        rb.decide({"déclaré": 10, "base": 7, "options": 4}, at="2024-01-01")
    assert e.value.diagnostic.code == "E402"


def test_an_exception_that_may_apply_keeps_the_rule_undetermined() -> None:
    rb = with_rules(
        "fait déclaré : montant\nfait base : montant\nfait lots : booléen\ndéfinition v : montant\n",
        "  règle d :\n    définit v = déclaré\n\n  règle c exception à d :\n    définit v = base\n    si lots\n",
    )
    assert rb.decide({"déclaré": 10}, at="2024-01-01").value("v").missing == {"base", "lots"}
    assert rb.decide({"déclaré": 10, "lots": False}, at="2024-01-01").value("v") == Decimal(10)
    assert rb.decide({"base": 7, "lots": True}, at="2024-01-01").value("v") == Decimal(7)


def test_division_by_zero_E403() -> None:
    rb = with_rules("fait x : montant\ndéfinition y : pourcentage\n", "  règle r :\n    définit y = 10 € / x\n")
    assert rb.decide({"x": 10}, at="2024-01-01").value("y") == Decimal(100)
    with pytest.raises(EvaluationError) as e:
        rb.decide({"x": 0}, at="2024-01-01")
    assert e.value.diagnostic.code == "E403"


# ---------------------------------------------------------------- decision statuses and dates


def test_obligation_statuses() -> None:
    rb = with_rules("fait p : booléen\n", "  règle o :\n    oblige proc ao\n    si p\n")
    assert rb.decide({"p": True}, at="2024-01-01").status("proc", "ao").obligation == "mandatory"  # type: ignore[union-attr]
    assert rb.decide({"p": False}, at="2024-01-01").status("proc", "ao").obligation == "not_mandatory"  # type: ignore[union-attr]
    assert rb.decide({}, at="2024-01-01").status("proc", "ao").obligation == "undetermined"  # type: ignore[union-attr]


def test_out_of_period_and_half_open_coverage() -> None:
    rb = PROHIBITION
    assert rb.decide({}, at="2019-12-31").out_of_period
    assert not rb.decide({}, at="2020-01-01").out_of_period
    assert not rb.decide({}, at="2029-12-31").out_of_period
    assert rb.decide({}, at="2030-01-01").out_of_period
    assert rb.decide({}, at="2030-01-01").to_json()["status"] != "decided"


def test_threshold_boundary_and_parameter_steps() -> None:
    rb = with_rules(
        'fait v : montant\nparamètre seuil : montant\n  depuis 2020-01-01 : 40 000 €\n    source "a"\n  depuis 2026-01-01 : 216 000 €\n    source "b"\n',
        "  règle r :\n    autorise proc mapa\n    si v < seuil\n",
    )

    def status(v: object, at: str) -> str | None:
        return rb.decide({"v": v}, at=at).status("proc", "mapa").permission  # type: ignore[union-attr]

    assert status("215 999,99 €", "2026-03-01") == "allowed"
    assert status(216000, "2026-03-01") == "not_allowed"
    assert status("39 999,99 €", "2025-12-31") == "allowed"  # the previous step ends the day before (half-open)
    assert status(40000, "2025-12-31") == "not_allowed"
    assert status(40000, "2026-01-01") == "allowed"


def test_situation_values_are_coerced() -> None:
    rb = default_rulebook()
    for raw in ("39999.99", "39 999,99 €", "39\u202f999,99\u00a0€", "39999,99 EUR", Decimal("39999.99"), "39999.990"):
        d = rb.decide({"valeur_estimée_besoin": raw}, at="2024-05-01")
        assert d.value("valeur_estimée") == Decimal("39999.99")


@pytest.mark.parametrize(
    ("facts", "code"),
    [
        ({"inconnu": 1}, "E410"),
        ({"valeur_estimée_besoin": "beaucoup"}, "E411"),
        ({"valeur_estimée_besoin": True}, "E411"),
        ({"valeur_estimée_besoin": "NaN"}, "E411"),
        ({"valeur_estimée_besoin": "1e999999"}, "E411"),  # would print a million digits
        ({"valeur_estimée_besoin": "1000000000000000"}, "E411"),
        ({"valeur_estimée_besoin": "39999.999"}, "E411"),  # an amount is in cents
        ({"valeur_estimée_besoin": -1}, "E411"),
        ({"valeur_estimée_besoin": 39999.99}, "E411"),  # a float may already be rounded: refused, never guessed
        ({"valeur_estimée_besoin": float("nan")}, "E411"),
        ({"nature": "fourniture"}, "E412"),
    ],
)
def test_situation_errors(facts: dict[str, object], code: str) -> None:
    with pytest.raises(CpcError) as e:
        default_rulebook().decide(facts, at="2024-05-01")
    assert [d.code for d in e.value.diagnostics] == [code]


def test_bad_decision_date_E413() -> None:
    with pytest.raises(CpcError) as e:
        default_rulebook().decide({}, at="2024-13-01")
    assert e.value.diagnostics[0].code == "E413"


def test_json_and_explain_are_consistent() -> None:
    d = KLEENE.decide({"q": False}, at="2024-01-01")
    j = d.to_json()
    assert j["status"] == "decided"
    assert [m["name"] for m in j["missing_facts"]] == list(d.missing) == ["p"]
    text = d.explain()
    assert "p" in text
    assert d.explain(lang="en")


# ---------------------------------------------------------------- trace


def test_trace_short_circuit_and_shared_leaves() -> None:
    d = KLEENE.decide({"q": False}, at="2024-01-01", trace=True)
    nodes = []

    def walk(n: dict) -> None:  # type: ignore[type-arg]
        nodes.append(n)
        for k in n.get("children", []):
            walk(k)

    for r in d.trace["rules"].values():
        if r.get("condition"):
            walk(r["condition"])
    # a node the run did not reach lists no sub-nodes; every evaluated node shows its value or what is missing
    for n in nodes:
        assert n["outcome"] in ("known", "unknown", "not_evaluated")
        if n["outcome"] == "not_evaluated":
            assert "children" not in n and "value" not in n
        elif n["outcome"] == "known":
            assert "value" in n and "display" in n
        else:
            assert n["missing"]
    # a fact read twice is one node, shared, with the same content
    facts = [n for n in nodes if n.get("fact") == "q" and n["outcome"] != "not_evaluated"]
    assert facts and all(f is facts[0] for f in facts)
    assert d.trace["facts"] == {"q": False}


def test_trace_code_holds_no_rulebook_text() -> None:
    rb = with_rules('fait x : montant "x\\"); import os; ("\n', '  règle r "\\"); bad(); (\\"" :\n    autorise proc mapa\n    si x > 1 €\n')
    source = rb.trace_plan.source
    assert "import os" not in source and "bad()" not in source
    assert rb.decide({"x": 2}, at="2024-01-01", trace=True).trace["rules"]["r"]["applies"] is True


def test_parse_cache(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cpc_rules.syntax import cache

    monkeypatch.setenv("CPC_RULES_CACHE", str(tmp_path))
    calls = []

    def counting(text: str, path: str) -> ast.Module:
        calls.append(path)
        return parse_text(text, path)

    text = "fait x : montant\n"
    first = cache.cached(counting, text, "a.cpc")
    assert cache.cached(counting, text, "a.cpc") == first and calls == ["a.cpc"]  # a hit
    cache.cached(counting, text + "fait y : montant\n", "a.cpc")  # another text: a miss
    cache.cached(counting, text, "b.cpc")  # another path (spans name it): a miss
    assert calls == ["a.cpc", "a.cpc", "b.cpc"]
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"garbage")  # an unreadable entry is a miss, not an error
    assert cache.cached(counting, text, "a.cpc") == first and len(calls) == 4
    with pytest.raises(CpcError):  # a syntax error is raised, never cached
        cache.cached(counting, "fait x montant\n", "c.cpc")
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    cache.cached(counting, text, "a.cpc")
    assert len(calls) == 6


def test_parts_are_not_missing_once_the_total_is_known() -> None:
    rb = with_rules(
        "fait déclaré : montant\nfait base : montant\nfait options : montant\ndéfinition v : montant\ndéfinition calculée : montant\n",
        "  règle d :\n    définit v = déclaré\n\n  règle c :\n    définit v = calculée\n\n  règle k :\n    définit calculée = base + options\n\n"
        "  règle p :\n    autorise proc mapa\n    si v < 100 €\n",
    )
    d = rb.decide({"déclaré": 10, "base": 7}, at="2024-01-01")
    assert d.status("proc", "mapa").permission == "allowed"
    assert isinstance(d.value("calculée"), Unknown) and d.missing == ()
    assert rb.decide({"base": 7}, at="2024-01-01").missing == ("déclaré", "options")


def test_test_files_are_read_by_check_not_by_decide() -> None:
    from cpc_rules.api import rulebook_files

    with_tests, without = default_rulebook(tests=True), default_rulebook()
    assert len(with_tests.checked.tests) >= 270 and not without.checked.tests
    assert with_tests.digest == without.digest  # the digest is of the rules
    from cpc_rules import resources

    names = [f.name for f in rulebook_files(resources.bundled_rulebook_path(), tests=False)]
    assert names and not [n for n in names if n.endswith(".test.cpc")]


# ---------------------------------------------------------------- `non encodé`: what the rulebook does not encode

SCOPE_DECLS = "énumération cat { civil, défense }\nfait acheteur : cat\nfait x : montant\n"
SCOPE_RULES = (
    "  règle r_mapa :\n    autorise proc mapa\n    si x < 10 €\n\n"
    "  règle r_ao :\n    interdit proc ao\n    si x < 10 €\n\n"
    "  règle r_négo :\n    autorise proc négo\n\n"
    '  règle hors :\n    non encodé "Livre III non encodé : R2322-14" pour proc\n    si acheteur = défense\n'
)


def test_unencoded_parses_formats_and_has_an_english_alias() -> None:
    fr = 'article R1\n  version depuis 2020-01-01\n    source "s"\n  règle r :\n    non encodé "raison" pour proc, pub\n    si x\n'
    en = 'article R1\n  version from 2020-01-01\n    source "s"\n  rule r :\n    not encoded "raison" for proc, pub\n    if x\n'
    a, b = parse_text(fr, "a.cpc"), parse_text(en, "b.cpc")
    ca, cb = a.items[0].rules[0].conclusion, b.items[0].rules[0].conclusion
    assert isinstance(ca, ast.Unencoded) and (ca.reason, ca.enums) == ("raison", ("proc", "pub"))
    assert (ca.reason, ca.enums) == (cb.reason, cb.enums)  # type: ignore[union-attr]
    assert format_text(en, "b.cpc") == format_text(fr, "a.cpc")
    assert 'non encodé "raison" pour proc, pub' in format_text(fr, "a.cpc")


def test_unencoded_scope_must_name_enumerations() -> None:
    with pytest.raises(CpcError) as e:
        with_rules("fait d : booléen\n", '  règle r :\n    autorise proc mapa, ao, négo\n\n  règle h :\n    non encodé "x" pour procédure\n    si d\n')
    assert _codes(e.value) == ["E205"]


@pytest.mark.parametrize("acheteur", ["civil", None])
def test_unencoded_outside_and_unknown(acheteur: str | None) -> None:
    rb = with_rules(SCOPE_DECLS, SCOPE_RULES)
    facts = {"x": "5"} if acheteur is None else {"x": "5", "acheteur": acheteur}
    d = rb.decide(facts, at="2024-01-01")
    if acheteur == "civil":  # the condition is false: the encoded rules decide
        assert [d.status("proc", m).permission for m in ("mapa", "ao", "négo")] == ["allowed", "forbidden", "allowed"]  # type: ignore[union-attr]
        assert all(not s.unencoded for s in d.statuses)
    else:  # unknown condition: undetermined, and the condition's facts are missing
        for m in ("mapa", "ao", "négo"):
            s = d.status("proc", m)
            assert s is not None and s.permission == "undetermined" and s.missing == {"acheteur"}
        assert d.missing == ("acheteur",)
        c = d.to_json()["conclusions"][0]
        assert c["unencoded"] == [{"reason": "Livre III non encodé : R2322-14", "certain": False, "rule": "hors", "article": "R1"}]


def test_unencoded_beats_every_certain_status() -> None:
    rb = with_rules(SCOPE_DECLS, SCOPE_RULES)
    d = rb.decide({"x": "5", "acheteur": "défense"}, at="2024-01-01")
    for m in ("mapa", "ao", "négo"):  # allowed, forbidden, allowed without it
        s = d.status("proc", m)
        assert s is not None and s.permission == "undetermined" and not s.grounds and not s.missing
    j = d.to_json(trace=True)
    assert {c["member"]: c["unencoded"][0]["certain"] for c in j["conclusions"]} == {"mapa": True, "ao": True, "négo": True}
    assert j["trace"]["rules"]["hors"]["applies"] is True
    text = d.explain()
    assert "non encodé : Livre III non encodé : R2322-14" in text and "✔" not in text and "✘" not in text
    assert "not encoded : Livre III" in d.explain(lang="en")


def test_unencoded_expectation_in_test_cases() -> None:
    from cpc_rules.testing import run_tests

    tests = (
        'test "défense" :\n  date 2024-01-01\n  faits {\n    acheteur = défense\n    x = 5 €\n  }\n  attendu {\n    non encodé proc mapa\n    indéterminé proc ao\n  }\n'
        'test "civil" :\n  date 2024-01-01\n  faits {\n    acheteur = civil\n    x = 5 €\n  }\n  attendu {\n    non encodé proc mapa\n  }\n'
    )
    rb = with_rules(SCOPE_DECLS, SCOPE_RULES + "\n" + tests)
    results = {r.name: r.failures for r in run_tests(rb)}
    assert results["défense"] == ()
    assert results["civil"] == ("proc mapa : attendu indéterminé, non encodé, obtenu autorisé",)


def test_check_warns_uncovered_members_W314() -> None:
    rb = with_rules(SCOPE_DECLS, "  règle r :\n    autorise proc mapa\n    si x < 10 € et acheteur = civil\n")
    w314 = sorted(w.message for w in rb.warnings if w.code == "W314")
    assert w314 == [
        "`ao` (proc) : aucune règle ne l'autorise, ne l'interdit ni ne l'oblige",
        "`défense` (cat) : aucune règle ni aucun paramètre ne le nomme",
        "`négo` (proc) : aucune règle ne l'autorise, ne l'interdit ni ne l'oblige",
    ]
    covered = with_rules(SCOPE_DECLS, SCOPE_RULES)  # the `non encodé` rule covers proc; `défense` is named, `civil` is not
    assert [w.message for w in covered.warnings if w.code == "W314"] == ["`civil` (cat) : aucune règle ni aucun paramètre ne le nomme"]


def test_bundled_rulebook_has_no_uncovered_member() -> None:
    rb = default_rulebook(tests=True)
    assert [w.message for w in rb.warnings if w.code == "W314"] == []


def test_out_of_period_gives_the_coverage_notes_as_reason() -> None:
    rb = default_rulebook()
    d = rb.decide({}, at="2019-03-31")
    assert d.out_of_period
    message = d.to_json()["message"]
    assert "ordonnance n° 2015-899" in message and "décret n° 2016-360" in message
    assert "ordonnance n° 2015-899" in d.explain()
    assert not rb.decide({}, at="2019-04-01").out_of_period


def test_out_of_period_states_only_the_reason_for_its_side() -> None:
    rb = default_rulebook()
    before = rb.decide({}, at="2018-06-01").to_json()["message"]
    after = rb.decide({}, at="2028-06-01").to_json()["message"]
    assert "ordonnance n° 2015-899" in before and "2028" not in before.split("il ne répond pas")[1]
    assert "seuils européens" in after and "2015-899" not in after
    text = rb.decide({}, at="2018-06-01").explain()
    assert text.count("Hors période") == 1 and text.count("ordonnance n° 2015-899") == 1


def test_coverage_notes_by_side_parse_and_format() -> None:
    text = 'couverture depuis 2020-01-01 jusqu\'au 2021-01-01 exclu\n  note "Hors : deux côtés."\n  note avant "Avant : ancien."\n  note après "Après : futur."\n'
    m = parse_text(text, "c.cpc")
    cov = m.items[0]
    assert (cov.notes, cov.notes_before, cov.notes_after) == (("Hors : deux côtés.",), ("Avant : ancien.",), ("Après : futur.",))  # type: ignore[union-attr]
    assert format_text(text, "c.cpc").startswith(text)
    english = text.replace("note avant", "note before").replace("note après", "note after")
    assert parse_text(english, "c.cpc").items[0] == cov  # type: ignore[comparison-overlap]


def test_coverage_notes_parse_and_format() -> None:
    text = 'couverture depuis 2020-01-01\n  note "Avant : ancien texte."\n'
    m = parse_text(text, "c.cpc")
    assert m.items[0].notes == ("Avant : ancien texte.",)  # type: ignore[union-attr]
    assert format_text(text, "c.cpc").startswith(text)


_BUNDLED = default_rulebook()
_SCOPED = ("formalité", "levier", "formalité_responsable")  # Livre III still declared whole (30-defense.cpc)
_SCOPED_MEMBERS = {("procédure", "dialogue_compétitif"), ("procédure", "concours"), ("procédure", "partenariat_d_innovation")}  # and these routes


@settings(max_examples=60, deadline=None)
@given(
    nature=st.sampled_from(["travaux", "fournitures", "services"]),
    cents=st.integers(min_value=0, max_value=2_000_000_000),
    day=st.dates(min_value=dt.date(2019, 4, 1), max_value=dt.date(2027, 12, 31)),
    retenue=st.sampled_from([None, "procédure_adaptée", "appel_d_offres", "sans_publicité_ni_mise_en_concurrence"]),
    buyer=st.sampled_from([{"acheteur": "défense_sécurité"}, {}, {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True}]),
)
def test_property_nothing_certain_in_the_part_declared_not_encoded(nature, cents, day, retenue, buyer) -> None:  # type: ignore[no-untyped-def]
    """What Livre III still declares `non encodé` (formalities, levers, clauses; dialogue, concours, partenariat):
    a défense buyer, or a buyer not given, never gets a certain status there."""
    facts = {"nature": nature, "valeur_estimée_besoin": str(Decimal(cents) / 100), **buyer}
    if retenue:
        facts["procédure_retenue"] = retenue
    d = _BUNDLED.decide(facts, at=day)
    for s in d.statuses:
        if s.enum in _SCOPED or (s.enum, s.member) in _SCOPED_MEMBERS:
            assert "undetermined" in (s.permission, s.obligation) and s.unencoded, (s.enum, s.member, s.permission, s.obligation)
            assert s.permission in (None, "undetermined") and s.obligation in (None, "undetermined")


def test_unencoded_scope_may_name_one_member() -> None:
    """`non encodé … pour proc.mapa` makes that member undetermined and leaves the others to the encoded rules."""
    fr = 'article R1\n  version depuis 2020-01-01\n    source "s"\n  règle r :\n    non encodé "raison" pour proc.mapa, pub\n    si x\n'
    c = parse_text(fr, "a.cpc").items[0].rules[0].conclusion
    assert isinstance(c, ast.Unencoded) and c.enums == ("proc.mapa", "pub")
    assert 'non encodé "raison" pour proc.mapa, pub' in format_text(fr, "a.cpc")
    rb = with_rules(SCOPE_DECLS, SCOPE_RULES.replace("pour proc\n", "pour proc.mapa\n"))
    d = rb.decide({"x": "5", "acheteur": "défense"}, at="2024-01-01")
    assert [d.status("proc", m).permission for m in ("mapa", "ao", "négo")] == ["undetermined", "forbidden", "allowed"]  # type: ignore[union-attr]
    assert d.status("proc", "mapa").unencoded and not d.status("proc", "négo").unencoded  # type: ignore[union-attr]
    civil = rb.decide({"x": "5", "acheteur": "civil"}, at="2024-01-01")
    assert [civil.status("proc", m).permission for m in ("mapa", "ao", "négo")] == ["allowed", "forbidden", "allowed"]  # type: ignore[union-attr]


def test_unencoded_member_scope_covers_a_member_no_rule_names() -> None:
    """A member only a `non encodé … pour e.m` rule names is concluded on (undetermined), and W314 is satisfied."""
    rb = with_rules(SCOPE_DECLS, "  règle r :\n    autorise proc mapa, négo\n\n  règle h :\n    non encodé \"ao : non lu\" pour proc.ao\n    si acheteur = défense\n")
    assert [w.message for w in rb.warnings if w.code == "W314" and "(proc)" in w.message] == []
    d = rb.decide({"x": "5", "acheteur": "défense"}, at="2024-01-01")
    s = d.status("proc", "ao")
    assert s is not None and s.permission == "undetermined" and s.unencoded
    assert d.status("proc", "mapa").permission == "allowed"  # type: ignore[union-attr]
    bare = with_rules(SCOPE_DECLS, "  règle r :\n    autorise proc mapa, négo\n")
    assert [w.message for w in bare.warnings if w.code == "W314" and "(proc)" in w.message] == ["`ao` (proc) : aucune règle ne l'autorise, ne l'interdit ni ne l'oblige"]


def test_unencoded_member_scope_must_name_a_member() -> None:
    with pytest.raises(CpcError) as e:
        with_rules(SCOPE_DECLS, SCOPE_RULES.replace("pour proc\n", "pour proc.inconnu\n"))
    assert _codes(e.value) == ["E203"]


def test_names_shadowing_an_enumeration_value_E208() -> None:
    """A fact, definition or parameter named like a value: the bare name would read the fact, silently."""
    for decl, kind in (
        ("fait ao : booléen\n", "le fait `ao`"),
        ("définition ao : booléen\n", "la définition `ao`"),
        ("paramètre ao : montant \"p\"\n  depuis 2020-01-01 : 1 €\n    source \"s\"\n", "le paramètre `ao`"),
    ):
        with pytest.raises(CpcError) as e:
            with_rules("fait k : proc\n" + decl, "  règle r :\n    autorise proc mapa\n    si k = mapa\n")
        e208 = [d for d in e.value.diagnostics if d.code == "E208"]
        assert len(e208) == 1 and e208[0].message.startswith(kind) and "`proc`" in e208[0].message
        assert e208[0].notes and e208[0].notes[0][0] == "valeur `ao` de `proc`"
    # a name that no enumeration uses as a value is fine, and a value may still be written qualified
    rb = with_rules("fait k : proc\nfait aov : booléen\n", "  règle r :\n    autorise proc mapa\n    si k = proc.ao et aov\n")
    assert not [d for d in rb.warnings if d.code == "E208"]


# ---------------------------------------------------------------- the node classes (syntax/ast.py `frozen`)


def test_node_repr_is_attrs_own() -> None:
    """The records' shared `__repr__` (record.py, which replaced attrs) writes what attrs generated: compared with
    attrs' own repr of a twin class, on every object of the bundled rulebook with its test cases (`cpc-rules dump
    ast|ir` prints these). attrs is only the oracle here (hypothesis depends on it; the test extra names it)."""
    import attrs

    from cpc_rules import api, ir, record, resources

    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=True).checked
    twins: dict[type, type] = {}
    seen: set[type] = set()
    stack: list[object] = [rb, *rb.modules]
    while stack:
        o = stack.pop()
        if isinstance(o, tuple | list | frozenset):
            stack.extend(o)
            continue
        if isinstance(o, dict):
            stack.extend(o.values())
            continue
        cls = type(o)
        if not record.has(cls) or cls.__module__ not in (ast.__name__, ir.__name__):
            continue
        fields = record.fields(cls)
        if cls not in twins:
            twins[cls] = attrs.make_class(cls.__name__, {a.name: attrs.field(repr=a.repr) for a in fields}, frozen=True)
        if cls not in seen or len(stack) % 7 == 0:  # every class, and a sample of the objects
            seen.add(cls)
            values = [o.modules if cls is ir.Rulebook and a.name == "modules" else getattr(o, a.name) for a in fields]
            if cls is not ir.Rulebook:
                assert repr(o) == repr(twins[cls](*values))
        stack.extend(getattr(o, a.name) for a in fields if not (cls is ir.Rulebook and a.name == "modules"))
    assert len(seen) >= 50
    assert repr(ast.Ref("x", None)) == "Ref(name='x')"
