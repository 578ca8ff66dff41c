"""The JSON contract (issue 8 point 6): every decision the tests produce validates against
docs/trace-format.schema.json, and `cpc-rules schema` accepts exactly what the reader accepts.
"""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import GOLDEN, ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from situation_strategies import decision_dates, facts_for, number_texts

from cpc_rules.api import default_rulebook, load_rulebook
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.render.schema import situation_schema
from cpc_rules.situation import read_situation

TRACE_SCHEMA = json.loads((ROOT / "docs" / "trace-format.schema.json").read_text(encoding="utf-8"))
Draft202012Validator.check_schema(TRACE_SCHEMA)
TRACE = Draft202012Validator(TRACE_SCHEMA, format_checker=FormatChecker())
RB = default_rulebook()


def assert_valid(doc: Any, what: str) -> None:
    errors = sorted(TRACE.iter_errors(doc), key=lambda e: list(e.absolute_path))
    detail = "; ".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])
    assert not errors, f"{what} does not validate against docs/trace-format.schema.json: {detail}"


def as_json(d: Any, trace: bool = True) -> Any:
    """The decision exactly as a program reads it: serialised, then parsed back."""
    return json.loads(json.dumps(d.to_json(trace=trace), ensure_ascii=False))


# ---------------------------------------------------------------- decisions against the trace schema

SITUATIONS = sorted((ROOT / "examples").glob("*.json")) + sorted((ROOT / "tests" / "repro" / "situations").glob("*.json"))


def test_golden_traces_validate() -> None:
    goldens = sorted(GOLDEN.glob("traces/*.trace.json"))
    assert goldens
    for p in goldens:
        assert_valid(json.loads(p.read_text(encoding="utf-8")), str(p.relative_to(ROOT)))


@pytest.mark.parametrize("path", SITUATIONS, ids=lambda p: p.name)
def test_cli_decisions_validate(path: Path) -> None:
    r = CliRunner().invoke(main, ["decide", str(path), "--at", "2026-03-01", "--format", "json"], catch_exceptions=False)
    doc = json.loads(r.stdout)
    if r.exit_code == 1:
        assert set(doc) == {"diagnostics"}  # a refused situation: the diagnostics form, not a decision
        return
    assert r.exit_code == 0
    assert_valid(doc, path.name)


def test_out_of_period_and_untraced_validate() -> None:
    assert_valid(as_json(RB.decide({}, at="2010-01-01")), "out_of_period")
    assert_valid(as_json(RB.decide({"nature": "travaux"}, at="2026-03-01"), trace=False), "decision without trace")


@pytest.mark.parametrize("name", ["mini", "props", "runtime"])
def test_small_rulebooks_validate(name: str) -> None:
    rb = load_rulebook(GOLDEN / "rulebooks" / f"{name}.cpc")
    for date in ("2019-01-01", "2024-01-01", "2029-12-31"):
        try:
            assert_valid(as_json(rb.decide({}, at=date)), f"{name} at {date}")
        except EvaluationError:
            pass  # a rulebook fault met on the way is a diagnostic, not a decision


@settings(max_examples=40)
@given(facts_for(RB.checked), decision_dates())
def test_generated_decisions_validate(facts: dict[str, Any], at: Any) -> None:
    try:
        d = RB.decide(facts, at=at)
    except EvaluationError as e:  # a conflict between two ways to know a value (E402): the facts disagree
        assert e.diagnostic.code in ("E401", "E402", "E403")
        return
    assert_valid(as_json(d), f"decision for {facts} at {at}")


def test_the_schema_rejects_what_the_engine_never_writes() -> None:
    """The schema is not vacuous: an unknown key, a bad status or a float amount string fail it."""
    doc = as_json(RB.decide({"nature": "travaux"}, at="2026-03-01"))
    for broken in ({**doc, "surprise": 1}, {**doc, "status": "maybe"}, {**doc, "trace_format": 2}, {**doc, "date": "2026-W10"}):
        assert not TRACE.is_valid(broken)
    rule = next(iter(doc["trace"]["rules"].values()))
    rule["nonsense"] = True
    assert not TRACE.is_valid(doc)


# ---------------------------------------------------------------- the situation schema agrees with the reader

SITUATION_SCHEMA = json.loads(json.dumps(situation_schema(RB.checked)), parse_float=Decimal)  # exact multipleOf
Draft202012Validator.check_schema(SITUATION_SCHEMA)
SITUATION = Draft202012Validator(SITUATION_SCHEMA)
TYPED = {"money": "valeur_estimée_besoin", "percent": "proportion_travailleurs_protégés", "int": "durée_marché_ess_mois", "bool": "accord_cadre", "date": "date_conclusion"}


def reader_accepts(fact: str, raw: object) -> bool:
    try:
        RB.program.facts_vector({fact: raw})
    except CpcError:
        return False
    return True


def test_cli_schema_is_the_generated_one() -> None:
    r = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    assert json.loads(r.stdout, parse_float=Decimal) == SITUATION_SCHEMA


# the nine amounts of repro trace/schema-vs-engine.py, and the forms of docs/cli.md
SAMPLES = ["-5", "5.123", -5, Decimal("1e20"), "1e3", "1850000 EUR", "1_000", "+5", "\u00a0100", "250,000", "250.000", "1 250,000", "39 999,99 €", "100 %", "100,5", "12,500", "0,5", "00", "36", "100.000", "100,0000", "", True, "vrai", "Vrai", "2026-03-01", "2026-W10-1", 12, Decimal("12.5"), Decimal("12.123")]


@pytest.mark.parametrize("kind", sorted(TYPED))
def test_schema_and_reader_agree_on_samples(kind: str) -> None:
    fact = TYPED[kind]
    for raw in SAMPLES:
        assert SITUATION.is_valid({"faits": {fact: raw}}) == reader_accepts(fact, raw), (kind, raw)


@settings(max_examples=300)
@given(st.sampled_from(sorted(TYPED)), st.one_of(number_texts, number_texts.map(lambda t: t + " €"), number_texts.map(lambda t: t + " %"), st.integers(-5, 10**16), st.decimals(min_value=-(10**20), max_value=10**20, allow_nan=False, allow_infinity=False, places=3)))
def test_schema_and_reader_agree(kind: str, raw: object) -> None:
    fact = TYPED[kind]
    if isinstance(raw, Decimal) and kind == "int" and raw == raw.to_integral_value():
        raw = int(raw)  # JSON Schema counts 36.0 as an integer; jsonschema does not for a Decimal
    with localcontext() as exact:
        exact.prec = 100  # jsonschema's multipleOf on Decimals: `instance % 0.01` needs the digits
        assert SITUATION.is_valid({"faits": {fact: raw}}) == reader_accepts(fact, raw), (kind, raw)


@settings(max_examples=60)
@given(facts_for(RB.checked))
def test_generated_situations_fit_the_schema(facts: dict[str, Any]) -> None:
    doc = json.loads(json.dumps({"date": "2026-03-01", "faits": facts}, default=str), parse_float=Decimal)
    assert SITUATION.is_valid(doc)
    assert reader_accepts_all(doc)


def reader_accepts_all(doc: Any) -> bool:
    s = read_situation(json.dumps(doc, default=str), "s.json")
    RB.program.facts_vector(s.facts)
    return True


def test_document_shapes_in_the_schema() -> None:
    assert SITUATION.is_valid({"date": "2026-03-01", "faits": {"nature": "travaux"}})
    assert SITUATION.is_valid({"date": "2026-03-01", "facts": {"nature": "travaux"}})
    assert SITUATION.is_valid({"date": "2026-03-01", "nature": "travaux", "lots": [{"valeur": None}]})
    assert SITUATION.is_valid({"faits": {"nature": None}})
    for bad in ({"faits": {}, "facts": {}}, {"faits": {}, "nature": "travaux"}, {"date": "20260301", "faits": {}}, {"faits": {"zz": 1}}, {"faits": {"lots": [{"zz": 1}]}}):
        assert not SITUATION.is_valid(bad), bad


# ---------------------------------------------------------------- every fact and enumeration of the rulebook, as the reader reads them


def _enum_samples(f: Any) -> list[object]:
    """Each member, and near misses (case, spaces for underscores, empty, not a text)."""
    names = list(RB.checked.enums[f.type.name].members)
    return [*names, *(n.upper() for n in names[:3]), *(n.replace("_", " ") for n in names[:3]), "zz", "", 1, True]


def test_the_schema_lists_every_fact_of_the_rulebook() -> None:
    """A fact added to the rulebook (type_acheteur, objet_maîtrise_d_œuvre…) is in `cpc-rules schema`, and nothing else."""
    faits = next(a for a in SITUATION_SCHEMA["anyOf"] if "faits" in a.get("properties", {}))["properties"]["faits"]["properties"]
    assert set(faits) == {f.name for f in RB.checked.facts}


@pytest.mark.parametrize("fact", [f.name for f in RB.checked.facts if f.type.kind == "enum"])
def test_schema_and_reader_agree_on_every_enumeration(fact: str) -> None:
    f = next(f for f in RB.checked.facts if f.name == fact)
    samples = _enum_samples(f)
    accepted = [raw for raw in samples if reader_accepts(fact, raw)]
    assert set(RB.checked.enums[f.type.name].members) <= set(accepted), fact
    for raw in samples:
        assert SITUATION.is_valid({"faits": {fact: raw}}) == reader_accepts(fact, raw), (fact, raw)


# ---------------------------------------------------------------- the other ways to get a decision: explain, decide_many


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.name)
def test_explain_and_traced_decide_validate_and_record_the_facts_given(path: Path) -> None:
    for args in (["explain", str(path), "--format", "json"], ["decide", str(path), "--format", "json", "--trace"]):
        r = CliRunner().invoke(main, args, catch_exceptions=False)
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert_valid(doc, " ".join(args))
        if doc["status"] == "decided":
            given = json.loads(path.read_text(encoding="utf-8"))
            given = given.get("faits", given.get("facts", given))
            assert set(doc["given_facts"]) == {k for k, v in given.items() if v is not None and k != "date"}


def test_decide_many_decisions_validate_and_replay() -> None:
    """decide_many (columnar above MIN_COLUMNS rows) gives decisions of the same contract, and they replay."""
    from cpc_rules.batch import MIN_COLUMNS
    from cpc_rules.replay import replay

    rows = [{"acheteur": "autre_pouvoir_adjudicateur", "nature": n, "valeur_estimée_besoin": str(v)} for n in ("travaux", "fournitures", "services") for v in (39999, 40000, 215999, 216000, 5403999, 5404000)]
    rows = (rows * (MIN_COLUMNS // len(rows) + 1))[: MIN_COLUMNS + 1]
    for focus in (None, "procédure"):
        answers = RB.decide_many(rows, at="2026-03-01", focus=focus)
        for row, a in zip(rows, answers, strict=True):
            doc = as_json(a.decision(trace=True))
            assert_valid(doc, f"decide_many {row} focus={focus}")
            assert doc["given_facts"] == row
            assert replay(doc, RB).match, row


# ---------------------------------------------------------------- today's outputs: défense buyers, `non encodé`, focus, HTTP

DEFENCE = {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True, "nature": "fournitures", "valeur_estimée_besoin": "100000"}
NEWER = {
    "défense": DEFENCE,
    "défense-travaux-petit": {"type_acheteur": "état_service_déconcentré", "marché_de_défense_ou_de_sécurité": True, "nature": "travaux", "valeur_estimée_besoin": "30000"},
    "commune": {"type_acheteur": "commune", "nature": "travaux", "valeur_estimée_besoin": "100000"},
    "quatre-faits": {"acheteur": "autre_pouvoir_adjudicateur", "nature": "services", "valeur_estimée_besoin": "50000"},
    "rien": {},
}


def test_a_defence_decision_carries_unencoded_reasons_and_presumptions() -> None:
    """The fields added since the schema was written are in this decision, so the tests below validate them."""
    doc = as_json(RB.decide(DEFENCE, at="2026-03-01"))
    assert doc["mode"] == "presumptions" and doc["presumptions"]
    reasons = [u for c in doc["conclusions"] for u in c.get("unencoded", [])]
    assert reasons and all(u["reason"] and u["rule"] for u in reasons)
    assert_valid(doc, "défense")
    broken = json.loads(json.dumps(doc))
    next(c for c in broken["conclusions"] if c.get("unencoded"))["unencoded"][0]["surprise"] = 1
    assert not TRACE.is_valid(broken)  # the schema describes `unencoded` exactly, it does not just let it through


@pytest.mark.parametrize("name", sorted(NEWER))
@pytest.mark.parametrize(
    "options",
    [[], ["--trace"], ["--focus", "procédure"], ["--focus", "procédure,publicité", "--trace"], ["--no-presumptions", "--trace"], ["--detail"]],
    ids=lambda o: " ".join(o) or "plain",
)
def test_decide_options_validate(name: str, options: list[str], tmp_path: Path) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"date": "2026-03-01", "faits": NEWER[name]}, ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(main, ["decide", str(path), "--format", "json", *options], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert_valid(doc, f"decide {name} {' '.join(options)}")
    if "--focus" in options:
        assert doc["focus"] == options[options.index("--focus") + 1].split(",")
        assert {c["enum"] for c in doc["conclusions"]} <= set(doc["focus"])


@pytest.fixture(scope="module")
def http():  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    from cpc_rules.service.app import create_app

    return TestClient(create_app(RB))


@pytest.mark.parametrize("name", sorted(NEWER))
@pytest.mark.parametrize("query", ["", "?trace=true", "?focus=procédure", "?presumptions=false&trace=true"])
def test_http_decide_responses_validate(http, name: str, query: str) -> None:  # type: ignore[no-untyped-def]
    r = http.post("/decide" + query, json={"date": "2026-03-01", "faits": NEWER[name]})
    assert r.status_code == 200, r.text
    assert_valid(r.json(), f"POST /decide{query} {name}")


def test_http_batch_decisions_validate(http) -> None:  # type: ignore[no-untyped-def]
    items = [{"date": "2026-03-01", "faits": f} for f in NEWER.values()]
    r = http.post("/decide/batch?trace=true", json=items)
    assert r.status_code == 200, r.text
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [line["index"] for line in lines] == list(range(len(items)))
    for line in lines:
        assert_valid(line["decision"], f"POST /decide/batch item {line['index']}")
