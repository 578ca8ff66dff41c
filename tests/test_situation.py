"""Reading situations (src/cpc_rules/situation.py, values.py): exact or refused with a located E41x message.

The reproducers of ../shared/repro/reliability/situations are copied into tests/repro/situations
(the large ones are generated here, not committed); each one is decided through the CLI and
must give the right answer or the expected code, never exit 3 and never a silent misreading.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from cpc_rules.api import default_rulebook
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.situation import MAX_BYTES, MAX_DEPTH, decode, parse_date, read_situation, situation_from_value
from cpc_rules.values import excerpt

REPRO = ROOT / "tests" / "repro" / "situations"


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def codes(text: str, name: str = "s.json") -> list[str]:
    """The codes of the diagnostics a document gets, read and decided on the bundled rulebook ([] if accepted)."""
    try:
        s = read_situation(text, name)
        default_rulebook().decide(s.facts, at=s.date or "2026-03-01")
    except CpcError as e:
        return [d.code for d in e.diagnostics]
    return []


# ---------------------------------------------------------------- the reproducers

REFUSED = {
    "comma-thousands.json": "E411",  # "250,000": 250 or 250 000?
    "duplicate-date.json": "E415",
    "duplicate-key.json": "E415",
    "exponent-overflow.json": "E411",
    "faits-and-facts.json": "E416",
    "faits-plus-toplevel-fact.json": "E416",
    "float-rounds-to-threshold.json": "E411",  # 215999.9999999999999 read exactly: more than 2 decimals
    "iso-week-date-fact.json": "E413",
    "lone-surrogate.json": "E419",
    "nan.json": "E417",
    "negative-int.json": "E411",
    "negative-percentage.json": "E411",
    "negative-zero.json": "E411",
    "date-top-key.yaml": "E410",  # `2026-03-01: x` is a key named "2026-03-01" in the facts-alone form
    "int-fact-key.yaml": "E416",
    "null-fact-key.yaml": "E416",
    "octal.yaml": "E417",
    "record-mixed-keys.yaml": "E416",
    "sexagesimal.yaml": "E411",
    "superscript-digit-int.yaml": "E411",
    "yaml-nan.yaml": "E417",
}
ACCEPTED = ("fournitures-215999.99.json", "fournitures-300000.json", "nature-only.json", "travaux-commune-2026.json")


def test_every_reproducer_is_covered() -> None:
    assert sorted(REFUSED) + sorted(ACCEPTED) and {p.name for p in REPRO.iterdir()} == set(REFUSED) | set(ACCEPTED)


@pytest.mark.parametrize("name", sorted(REFUSED))
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_reproducer_refused(name: str, fmt: str) -> None:
    r = run("decide", str(REPRO / name), "--at", "2026-03-01", "--format", fmt)
    assert r.exit_code == 1, r.output
    if fmt == "json":
        diags = json.loads(r.stdout)["diagnostics"]
        assert [d["code"] for d in diags][:1] == [REFUSED[name]]
        assert all(len(d["message"]) < 400 for d in diags)
    else:
        assert f"error[{REFUSED[name]}]" in r.stderr
        assert "Traceback" not in r.output


def _permission(d, member: str) -> str:  # type: ignore[no-untyped-def]
    return next(s.permission for s in d.statuses if s.member == member)


def test_reproducers_accepted_read_exactly() -> None:
    rb = default_rulebook()
    for name in ACCEPTED:
        assert run("decide", str(REPRO / name), "--at", "2026-03-01", "--format", "json").exit_code == 0, name
    s = read_situation((REPRO / "fournitures-215999.99.json").read_text(encoding="utf-8"), "f.json")
    assert s.facts["valeur_estimée_besoin"] == "215999.99" and s.date == dt.date(2026, 3, 1)
    assert _permission(rb.decide(s.facts, at=s.date), "procédure_adaptée") == "allowed"
    s = read_situation((REPRO / "travaux-commune-2026.json").read_text(encoding="utf-8"), "t.json")
    assert rb.decide(s.facts, at=s.date).value("valeur_estimée") == Decimal("1850000")


def test_generated_big_inputs(tmp_path: Path) -> None:
    """make-big.py's inputs, generated here: a 5000-digit number, 100 000 nested arrays (JSON, YAML), an oversized file."""
    cases = {
        "hugeint.json": ('{"date":"2026-03-01","faits":{"valeur_estimée_besoin": ' + "9" * 5000 + "}}", "E417"),
        "deep.json": ("[" * 100_000 + "]" * 100_000, "E418"),
        "deep.yaml": ("a: " + "[" * 100_000 + "]" * 100_000, "E418"),
        "deep-objects.json": ('{"a":' * 5000 + "1" + "}" * 5000, "E418"),
        "big.json": ('{"date":"2026-03-01","faits":{"nature":"' + "x" * (MAX_BYTES + 10) + '"}}', "E418"),
        "long-value.json": ('{"date":"2026-03-01","faits":{"nature":"' + "x" * 50_000 + '"}}', "E418"),
        "long-enum.json": ('{"date":"2026-03-01","faits":{"nature":"' + "x" * 5000 + '"}}', "E412"),
    }
    for name, (text, code) in cases.items():
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        r = run("decide", str(p), "--at", "2026-03-01", "--format", "json")
        assert r.exit_code == 1, (name, r.output[:300])
        diags = json.loads(r.stdout)["diagnostics"]
        assert diags[0]["code"] == code, (name, diags)
        assert len(r.stdout) < 2000, name  # a short excerpt, never the whole value


# ---------------------------------------------------------------- the document


def test_json_numbers_are_exact_decimals() -> None:
    data = decode('{"a": 215999.9999999999999, "b": 12, "c": 1E+3, "d": 0.1}', "s.json")
    assert data == {"a": Decimal("215999.9999999999999"), "b": 12, "c": Decimal("1E+3"), "d": Decimal("0.1")}
    assert type(data["b"]) is int and type(data["a"]) is Decimal


@pytest.mark.parametrize(
    ("number", "code"),
    [("NaN", "E417"), ("Infinity", "E417"), ("-Infinity", "E417"), ("-0", "E417"), ("-0.0", "E417"), ("1e999999999", "E417"), ("1e-999999999", "E417"), ("1" * 41, "E417"), ("1e21", "E417")],
)
def test_json_numbers_refused(number: str, code: str) -> None:
    with pytest.raises(CpcError) as e:
        decode('{"faits": {"x": ' + number + "}}", "s.json")
    [d] = e.value.diagnostics
    assert d.code == code and d.message.startswith("s.json:1:")


def test_yaml_reads_only_safe_scalars() -> None:
    data = decode("a: 1:30\nb: yes\nc: no\nd: on\ne: 2026-03-01\nf: 12\ng: 1.5\nh: true\ni: ~\nj: 0x10\nk: 1_000\n", "s.yaml")
    assert data == {"a": "1:30", "b": "yes", "c": "no", "d": "on", "e": "2026-03-01", "f": 12, "g": Decimal("1.5"), "h": True, "i": None, "j": "0x10", "k": "1_000"}
    for text, code in [("a: 0170000", "E417"), ("a: .inf", "E417"), ("a: -.Inf", "E417"), ("a: .NaN", "E417"), ("a: !!timestamp 2026-03-01", "E414"), ("a: !!binary aGVsbG8=", "E414")]:
        with pytest.raises(CpcError) as e:
            decode(text, "s.yaml")
        assert [d.code for d in e.value.diagnostics] == [code], text


def test_yaml_anchors_cannot_explode() -> None:
    bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8))
    with pytest.raises(CpcError) as e:
        read_situation(bomb, "bomb.yaml")
    assert e.value.diagnostics[0].code == "E418"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"date": "2026-03-01", "faits": {}, "fait": {}}', "E416"),
        ('{"date": "2026-03-01", "faits": {}, "rulebook": "x"}', "E416"),
        ('{"faits": [1]}', "E416"),
        ('{"facts": "x"}', "E416"),
        ("[1, 2]", "E414"),
        ('"texte"', "E414"),
        ("", "E414"),
        ('{"date": "2026-03-01", "faits": {"nature": "fournitures"},}', "E414"),
        ('{"date": "2026-W10", "faits": {}}', "E413"),
        ('{"date": "20260301", "faits": {}}', "E413"),
        ('{"date": "2026-02-29", "faits": {}}', "E413"),
        ('{"date": "2026-03-01T00:00", "faits": {}}', "E413"),
        ('{"date": 20260301, "faits": {}}', "E413"),
        ('{"date": "２０２６-03-01", "faits": {}}', "E413"),
    ],
)
def test_document_shape_refused(text: str, code: str) -> None:
    assert codes(text)[:1] == [code]


def test_document_shapes_accepted() -> None:
    assert situation_from_value({"date": "2026-03-01", "facts": {"nature": "travaux"}}).facts == {"nature": "travaux"}
    assert situation_from_value({"nature": "travaux"}).facts == {"nature": "travaux"}  # the facts alone
    s = situation_from_value({"date": dt.date(2024, 2, 29), "faits": {}})
    assert s.date == dt.date(2024, 2, 29) and s.facts == {}
    assert read_situation("date: 2026-03-01\nfaits:\n  nature: travaux\n", "s.yaml").date == dt.date(2026, 3, 1)


def test_python_values_refused_by_the_document_check() -> None:
    for value, code in [({"faits": {"x": 1.5}}, "E417"), ({"faits": {1: "x"}}, "E416"), ({"faits": {"x": object()}}, "E416"), ({"faits": {"x": "\udc80"}}, "E419")]:
        with pytest.raises(CpcError) as e:
            situation_from_value(value)
        assert e.value.diagnostics[0].code == code, value
    nested: list[object] = []
    for _ in range(MAX_DEPTH + 2):
        nested = [nested]
    with pytest.raises(CpcError) as e:
        situation_from_value({"faits": {"lots": nested}})
    assert e.value.diagnostics[0].code == "E418"


def test_decision_dates_only_yyyy_mm_dd() -> None:
    assert parse_date("2026-03-01") == dt.date(2026, 3, 1)
    for bad in ("2026-W10", "2026-W10-1", "20260301", "2026-3-1", " 2026-03-01", "2026-03-01 ", "2026-02-29", "2026-060", ""):
        with pytest.raises(CpcError) as e:
            parse_date(bad)
        assert e.value.diagnostics[0].code == "E413", bad
    for at in ("2026-W10", "20260301"):
        r = run("decide", str(REPRO / "nature-only.json"), "--at", at)
        assert r.exit_code == 1 and "E413" in r.stderr, at
    with pytest.raises(CpcError):
        default_rulebook().decide({}, at="2026-W10")


# ---------------------------------------------------------------- values (values.py)


def _id(v: object) -> str:
    return excerpt(v, 20)


def amount(raw: object) -> Decimal | str:
    """The amount read from `raw`, or the code of its refusal."""
    try:
        return default_rulebook().decide({"valeur_estimée_besoin": raw}, at="2026-03-01").value("valeur_estimée")  # type: ignore[no-any-return]
    except CpcError as e:
        return e.diagnostics[0].code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1 850 000", Decimal("1850000")),
        ("1\u00a0850\u00a0000 €", Decimal("1850000")),
        ("1\u202f850\u202f000\u00a0€", Decimal("1850000")),
        ("39 999,99 €", Decimal("39999.99")),
        ("39999,99€", Decimal("39999.99")),
        ("39999.99 EUR", Decimal("39999.99")),
        ("1 250,000", Decimal("1250")),  # grouped by spaces: the comma is the decimal mark
        ("1250,000", Decimal("1250")),  # four digits before: not a thousands group
        ("0,500", Decimal("0.5")),
        ("0", Decimal("0")),
        ("999999999999999", Decimal("999999999999999")),
        (Decimal("0.01"), Decimal("0.01")),
        (12, Decimal("12")),
    ],
)
def test_amounts_accepted(raw: object, expected: Decimal) -> None:
    assert amount(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "250,000", "250.000", "1,000", "999.999",  # ambiguous: thousands or decimals?
        "1,000,000", "1.000.000", "1 000.000.5",  # several marks
        "1e3", "+5", "1_000", " 100", "\u00a0100", "100 ", "١٠٠", "１００", "²",  # not the documented forms
        "0100", "00", "-0", "-0,00", "-5", "-0.01",  # leading zero, negative
        "1000000000000000", "1 000 000 000 000 000", "39999.999", "0.001",  # bounds and cents
        "1" * 5000, "NaN", "inf", "", "€", True, [], {}, 39999.99, 39999.999, float("inf"), Decimal("NaN"), Decimal("-0"), 10**5000,
    ],
    ids=lambda v: _id(v),
)
def test_amounts_refused(raw: object) -> None:
    assert amount(raw) == "E411"


def test_ambiguous_amount_hint() -> None:
    with pytest.raises(CpcError) as e:
        default_rulebook().decide({"valeur_estimée_besoin": "250,000"}, at="2026-03-01")
    d = e.value.diagnostics[0]
    assert "ambigu" in d.message and d.hint and "250 000" in d.hint


def percent(raw: object) -> object:
    facts = {"proportion_travailleurs_protégés": raw}
    try:
        default_rulebook().program.facts_vector(facts)
    except CpcError as e:
        return e.diagnostics[0].code
    return "ok"


@pytest.mark.parametrize(("raw", "expected"), [(0, "ok"), (100, "ok"), ("100 %", "ok"), ("12,5 %", "ok"), ("99.999999", "ok"), ("100.000001", "E411"), (101, "E411"), ("120 %", "E411"), ("-0.000001", "E411"), (-1, "E411"), ("0.0000001", "E411")])
def test_percent_bounded_0_to_100(raw: object, expected: str) -> None:
    assert percent(raw) == expected


def integer(raw: object) -> object:
    try:
        return default_rulebook().program.facts_vector({"durée_marché_ess_mois": raw})[
            default_rulebook().program._fact_index["durée_marché_ess_mois"]  # noqa: SLF001 - read back the typed value
        ]
    except CpcError as e:
        return e.diagnostics[0].code


@pytest.mark.parametrize(("raw", "expected"), [(0, 0), (36, 36), ("36", 36), (Decimal("36"), 36), (Decimal("36.0"), 36), (999_999_999_999_999, 999_999_999_999_999), (10**15, "E411"), (-1, "E411"), ("-1", "E411"), ("036", "E411"), ("²", "E411"), ("٣", "E411"), (" 36", "E411"), (Decimal("36.5"), "E411"), (True, "E411"), (36.0, "E411"), (10**5000, "E411")], ids=lambda v: _id(v))
def test_integers(raw: object, expected: object) -> None:
    assert integer(raw) == expected


def test_booleans_and_dates_read_strictly() -> None:
    fv = default_rulebook().program.facts_vector
    for ok in (True, False, "vrai", "faux", "oui", "non", "true", "false"):
        fv({"accord_cadre": ok})
    for bad in ("yes", "Vrai", " vrai", 1, 0, "1"):
        with pytest.raises(CpcError) as e:
            fv({"accord_cadre": bad})
        assert e.value.diagnostics[0].code == "E411", bad
    for bad in ("2026-W10-1", "20260301", "2026-3-1", "2026-02-30"):
        with pytest.raises(CpcError) as e:
            fv({"date_conclusion": bad})
        assert e.value.diagnostics[0].code == "E413", bad


def test_api_non_string_fact_name() -> None:
    with pytest.raises(CpcError) as e:
        default_rulebook().decide({1: 2, None: 3}, at="2026-03-01")  # type: ignore[dict-item]
    assert {d.code for d in e.value.diagnostics} == {"E416"}


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_endless_inputs_are_bounded() -> None:
    """A file without a size (a device, a FIFO) and standard input are read up to the limit, then refused."""
    from cpc_rules.situation import read_situation_file

    with pytest.raises(CpcError) as e:
        read_situation_file("/dev/zero")
    assert e.value.diagnostics[0].code == "E418"
    r = run("decide", "-", "--at", "2026-03-01", "--format", "json", input="#" * (MAX_BYTES + 5))
    assert r.exit_code == 1 and json.loads(r.stdout)["diagnostics"][0]["code"] == "E418"


def test_huge_unknown_fact_name_is_quoted_short() -> None:
    """Through the Python API (no document limit): a 1 MB fact name gets a short E410, without a costly "did you mean"."""
    with pytest.raises(CpcError) as e:
        default_rulebook().decide({"x" * 1_000_000: 1}, at="2026-03-01")
    [d] = e.value.diagnostics
    assert d.code == "E410" and len(d.message) < 200
