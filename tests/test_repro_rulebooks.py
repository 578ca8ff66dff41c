"""The rulebook reproducers of issue 8 (copied from ../shared/repro/reliability/rulebook/ into
tests/repro/rulebook/): each gives a located diagnostic or the right answer, never exit 3."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import rulebook

from cpc_rules import load_rulebook
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import Unknown

REPRO = Path(__file__).resolve().parent / "repro" / "rulebook"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def codes(path: Path | str) -> list[str]:
    with pytest.raises(CpcError) as e:
        load_rulebook(path)
    return [d.code for d in e.value.diagnostics if d.severity == "error"]


# ---------------------------------------------------------------- exception à: transitive


def test_exception_chain_is_transitive_in_the_evaluator() -> None:
    rb = load_rulebook(REPRO / "exception-chain-3.cpc")
    assert rb.decide({"m": "5"}, at="2024-01-01").value("d") == Decimal(2)  # e2 beats e1 and principe: no E402
    assert rb.decide({"m": "1.5"}, at="2024-01-01").value("d") == Decimal(1)
    assert rb.decide({"m": "1"}, at="2024-01-01").value("d") == Decimal(0)
    assert isinstance(rb.decide({}, at="2024-01-01").value("d"), Unknown)
    code, out = cli("decide", str(REPRO / "m5.json"), "--at", "2024-01-01", "-r", str(REPRO / "exception-chain-3.cpc"), "--format", "json")
    assert code == 0 and [v["value"] for v in json.loads(out)["values"] if v["name"] == "d"] == ["2"]


def test_exception_chain_is_transitive_in_the_checker() -> None:
    """principe and exception2 give different constants in the same cases: related through exception1, no E309."""
    text = (REPRO / "exception-chain-3.cpc").read_text(encoding="utf-8").replace(" si m > 1 €", "").replace(" si m > 2 €", "")
    rb = rulebook(text)
    assert rb.decide({}, at="2024-01-01").value("d") == Decimal(2)
    # without the middle link, the two are unrelated: E309
    assert "E309" in codes_of(text.replace("exception à exception1", ""))


def codes_of(text: str) -> list[str]:
    with pytest.raises(CpcError) as e:
        rulebook(text)
    return [d.code for d in e.value.diagnostics if d.severity == "error"]


def test_a_long_exception_chain_is_linear_and_transitive() -> None:
    n = 300
    rules = "".join(f"  règle e{i} exception à e{i - 1} : définit d = {i} € si m > {i} €\n" for i in range(1, n))
    rb = rulebook(
        'couverture depuis 2019-04-01\nfait m : montant "m"\ndéfinition d : montant "d"\n'
        'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle e0 : définit d = 0 €\n' + rules
    )
    assert rb.decide({"m": "1000"}, at="2024-01-01").value("d") == Decimal(n - 1)
    assert rb.decide({"m": "150.5"}, at="2024-01-01").value("d") == Decimal(150)
    assert len(rb.program.compiled.source) < 2000 * n  # no code per pair of rules


# ---------------------------------------------------------------- conflicts


def test_commuted_condition_conflict_is_found_statically() -> None:
    assert codes(REPRO / "conflict-commuted-condition.cpc") == ["E309"]


@pytest.mark.parametrize(
    ("c1", "c2", "conflict"),
    [
        ("f = u et m > 5 €", "m > 5 € et f = u", True),
        ("f = u ou m > 5 €", "(m > 5 € ou f = u)", True),
        ("f = u et (m > 5 € et m < 9 €)", "m < 9 € et f = u et m > 5 €", True),
        ("f = u", "u = f", True),
        ("f = u et m > 5 €", "f = u ou m > 5 €", False),
        ("f = u et m > 5 €", "m > 6 € et f = u", False),
    ],
)
def test_normalised_conditions(c1: str, c2: str, conflict: bool) -> None:
    text = (REPRO / "conflict-commuted-condition.cpc").read_text(encoding="utf-8")
    text = text.replace("si f = u et m > 5 €", "si " + c1, 1).replace("si m > 5 € et f = u", "si " + c2, 1)
    if conflict:
        assert codes_of(text) == ["E309"]
    else:
        rulebook(text)


# ---------------------------------------------------------------- si … sinon si …: linear, and the nested meaning


def _elseif_chain(n: int) -> str:
    """As ../shared/repro/reliability/rulebook/elseif-chain.py writes it."""
    chain = " ".join(f"si m >= {i * 1000} € alors {i} €\n      sinon" for i in range(n, 0, -1)) + " 0 €"
    return (
        'couverture depuis 2019-04-01\nfait m : montant "m"\ndéfinition tranche : montant "tranche"\n'
        f'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit tranche = {chain}\n'
    )


@pytest.mark.parametrize("n", [16, 40])
def test_elseif_chain_code_is_linear(n: int) -> None:
    rb = rulebook(_elseif_chain(n))
    assert len(rb.program.compiled.source) < 1500 * n  # was doubling per level: 16 levels, 4.7 GB
    for m, expected in [("0", 0), ("999.99", 0), ("1000", 1), ("15999.99", 15), (str(n * 1000), n), ("99999999", n)]:
        assert rb.decide({"m": m}, at="2024-01-01").value("tranche") == Decimal(expected)
        assert rb.decide({"m": m}, at="2024-01-01", trace=True).value("tranche") == Decimal(expected)
    assert rb.decide({}, at="2024-01-01").value("tranche") == Unknown(frozenset({"m"}))


from hypothesis import given
from hypothesis import strategies as st

_N = 4
_CHAIN_RB = None


def _chain_rulebook():  # type: ignore[no-untyped-def]
    global _CHAIN_RB
    if _CHAIN_RB is None:
        facts = "".join(f'fait c{i} : booléen "c{i}"\n' for i in range(_N)) + "".join(f'fait v{i} : montant "v{i}"\n' for i in range(_N + 1))
        chain = " sinon ".join(f"si c{i} alors v{i}" for i in range(_N)) + f" sinon v{_N}"
        _CHAIN_RB = rulebook(
            "couverture depuis 2019-04-01\n" + facts + 'définition d : montant "d"\n'
            'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit d = ' + chain + "\n"
        )
    return _CHAIN_RB


def _nested(facts: dict[str, object], i: int) -> object:
    """The meaning of nested `si` in Kleene logic, written the plain recursive way."""
    if i == _N:
        return facts.get(f"v{i}", Unknown(frozenset({f"v{i}"})))
    c = facts.get(f"c{i}", Unknown(frozenset({f"c{i}"})))
    v = facts.get(f"v{i}", Unknown(frozenset({f"v{i}"})))
    if c is True:
        return v
    rest = _nested(facts, i + 1)
    if c is False:
        return rest
    if not isinstance(v, Unknown) and not isinstance(rest, Unknown) and v == rest:
        return v
    missing: frozenset[str] = frozenset()
    for x in (c, v, rest):
        if isinstance(x, Unknown):
            missing |= x.missing
    return Unknown(missing)


@given(
    st.fixed_dictionaries(
        {},
        optional={**{f"c{i}": st.booleans() for i in range(_N)}, **{f"v{i}": st.sampled_from([Decimal(1), Decimal(2)]) for i in range(_N + 1)}},
    ),
    st.booleans(),
)
def test_flat_elseif_chain_means_nested_si(facts: dict[str, object], trace: bool) -> None:
    got = _chain_rulebook().decide(facts, at="2024-01-01", trace=trace).value("d")
    assert got == _nested(facts, 0)


# ---------------------------------------------------------------- depth: chains are flat, nesting is bounded


def test_flat_sum_of_61_terms_is_not_too_deep() -> None:
    rb = load_rulebook(REPRO / "flat-sum-61-terms.cpc")
    (name,) = [d.name for d in rb.checked.definitions]
    facts = {f.name: "2" for f in rb.checked.facts}
    assert rb.decide(facts, at="2024-01-01").value(name) == Decimal(2 * 61)


def test_long_chains_compile_and_trace() -> None:
    head = 'couverture depuis 2019-04-01\nfait m : montant "m"\ndéfinition d : montant "d"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n'
    rb = rulebook(head + "  règle r : définit d = " + " + ".join(["m"] * 400) + " - m * 2 - m\n")
    d = rb.decide({"m": "1"}, at="2024-01-01", trace=True)
    assert d.value("d") == Decimal(397) and d.trace is not None
    rb = rulebook(_elseif_chain(300))
    d = rb.decide({"m": "2500"}, at="2024-01-01", trace=True)
    assert d.value("tranche") == Decimal(2) and d.trace is not None


def test_real_nesting_is_still_refused_with_e105() -> None:
    head = 'couverture depuis 2019-04-01\nfait m : montant "m"\ndéfinition d : montant "d"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n'
    assert codes_of(head + "  règle r : définit d = " + "-(" * 70 + "m" + ")" * 70 + "\n") == ["E105"]
    assert codes_of(head + "  règle r : définit d = " + "m * (" * 70 + "m" + ")" * 70 + "\n") == ["E105"]
    assert codes_of(head + "  règle r : définit d = " + " + ".join(["m"] * 6000) + "\n") == ["E105"]  # beyond MAX_LENGTH


# ---------------------------------------------------------------- no exit 3: located diagnostics or the right answer


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("keyerror-undeclared-table-key.cpc", "E205"),
        ("reversed-coverage.cpc", "E106"),
        ("reversed-article-version.cpc", "E106"),
        ("record-typed-fact.cpc", "E205"),
        ("static-division-by-zero.cpc", "E315"),
        ("conflict-commuted-condition.cpc", "E309"),
    ],
)
def test_meaningless_rulebooks_are_refused(name: str, expected: str) -> None:
    assert expected in codes(REPRO / name)
    code, out = cli("check", str(REPRO / name))
    assert code == 1 and f"[{expected}]" in out


def test_integer_literal_of_5000_digits() -> None:
    text = 'couverture depuis 2019-04-01\ndéfinition n : entier "n"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit n = ' + "9" * 5000 + "\n"
    assert codes_of(text) == ["E104"]
    text30 = text.replace("9" * 5000, "9" * 30)
    assert rulebook(text30).decide({}, at="2024-01-01").value("n") == int("9" * 30)  # 30 digits: accepted


def test_step_and_coverage_periods_must_not_be_empty() -> None:
    head = 'définition d : montant "d"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit d = 1 €\n'
    assert codes_of("couverture depuis 2020-01-01 jusqu'au 2020-01-01 exclu\n" + head) == ["E106"]
    rulebook("couverture depuis 2020-01-01 jusqu'au 2020-01-02 exclu\n" + head)  # one day: fine
    assert codes_of("couverture depuis 2020-01-02 jusqu'au 2020-01-01 exclu\n" + head) == ["E106"]


def test_definition_read_by_a_definition_without_value_is_e401_not_a_crash() -> None:
    rb = load_rulebook(REPRO / "undefined-definition-read-by-definition.cpc")
    from cpc_rules.engine.runtime import EvaluationError

    with pytest.raises(EvaluationError) as e:
        rb.decide({"f": False, "m": "5"}, at="2024-01-01")
    assert e.value.diagnostic.code == "E401" and e.value.diagnostic.span is not None
    assert rb.decide({"f": True, "m": "5"}, at="2024-01-01").value("b") == Decimal(6)
    for fmt in ("text", "json"):
        code, _ = cli("decide", str(REPRO / "undefined-definition.json"), "--at", "2024-01-01", "-r", str(REPRO / "undefined-definition-read-by-definition.cpc"), "--format", fmt)
        assert code == 1


def test_list_equality_with_an_unknown_field_is_unknown() -> None:
    rb = load_rulebook(REPRO / "list-equality-unknown.cpc")
    v = rb.decide({"lots_a": [{"valeur": "5"}], "lots_b": [{"valeur": "5"}]}, at="2024-01-01").value("pareils")
    assert isinstance(v, Unknown) and v.missing  # was `faux`
    same = [{"valeur": "5", "petit": True}]
    assert rb.decide({"lots_a": same, "lots_b": same}, at="2024-01-01").value("pareils") is True
    assert rb.decide({"lots_a": [{"valeur": "5"}], "lots_b": [{"valeur": "6"}]}, at="2024-01-01").value("pareils") is False  # a known difference
    assert rb.decide({"lots_a": same, "lots_b": same + same}, at="2024-01-01").value("pareils") is False


@pytest.mark.parametrize("n", [21, 30])
def test_nested_aggregates_beyond_python_block_limit(n: int) -> None:
    inner = f"x{n}.b"
    for i in range(n, 0, -1):
        inner = f"existe(x{i} dans lots : {inner})"
    text = (
        'couverture depuis 2019-04-01\nstructure lot "lot" { b : booléen "b" }\nfait lots : liste de lot "lots"\ndéfinition zz : booléen "zz"\n'
        'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit zz = ' + inner + "\n"
    )
    rb = rulebook(text)
    assert rb.decide({"lots": [{"b": False}, {"b": True}]}, at="2024-01-01").value("zz") is True
    assert rb.decide({"lots": [{"b": False}]}, at="2024-01-01", trace=True).value("zz") is False
    assert isinstance(rb.decide({"lots": [{}]}, at="2024-01-01").value("zz"), Unknown)
    if n == 21:
        assert load_rulebook(REPRO / "nested-aggregates-21.cpc").checked.rules


def test_code_python_cannot_compile_is_a_located_e107(monkeypatch: pytest.MonkeyPatch) -> None:
    from cpc_rules.engine import compile as C

    monkeypatch.setattr(C, "_LOOPS_PER_FUNCTION", 100)  # as if nested loops were never split
    with pytest.raises(CpcError) as e:
        load_rulebook(REPRO / "nested-aggregates-21.cpc")
    (d,) = e.value.diagnostics
    assert d.code == "E107" and "`r`" in d.message and d.span is not None and d.span.line == 7
    code, out = cli("check", str(REPRO / "nested-aggregates-21.cpc"))
    assert code == 1 and "[E107]" in out


@pytest.mark.parametrize("name", ["bom.cpc", "nfd-identifier.cpc"])
def test_invisible_differences_are_accepted(name: str) -> None:
    code, out = cli("check", str(REPRO / name))
    assert code == 0, out


def test_nfd_and_nfc_names_are_the_same_name() -> None:
    import unicodedata

    text = 'couverture depuis 2019-04-01\nfait valeur_estimée : montant "v"\ndéfinition d : montant "d"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : définit d = valeur_estimée\n'
    mixed = text.replace("fait valeur_estimée", unicodedata.normalize("NFD", "fait valeur_estimée"))
    rb = rulebook("\ufeff" + mixed)
    assert rb.decide({"valeur_estimée": "3"}, at="2024-01-01").value("d") == Decimal(3)


def test_line_separator_in_a_comment_keeps_line_numbers() -> None:
    with pytest.raises(CpcError) as e:
        load_rulebook(REPRO / "unicode-line-separator-in-comment.cpc")
    (d,) = [d for d in e.value.diagnostics if d.code == "E205"]
    assert d.span is not None and d.span.line == 4
    sources = e.value.sources  # type: ignore[attr-defined]
    assert "typeinconnu" in sources.line(d.span.file, d.span.line)
    code, out = cli("check", str(REPRO / "unicode-line-separator-in-comment.cpc"))
    assert code == 1 and '4 | fait x : typeinconnu "x"' in out


def test_trace_names_what_overrides_through_a_chain() -> None:
    rb = load_rulebook(REPRO / "exception-chain-3.cpc")
    rules = rb.decide({"m": "5"}, at="2024-01-01", trace=True).trace["rules"]
    assert rules["principe"]["applies"] is False and rules["principe"]["overridden_by"] == ["exception1"]
    assert rules["exception1"]["applies"] is False and rules["exception1"]["overridden_by"] == ["exception2"]
    assert rules["exception2"]["applies"] is True and "overridden_by" not in rules["exception2"]
    assert "overridden_by" not in rb.decide({"m": "0"}, at="2024-01-01", trace=True).trace["rules"]["principe"]


def test_beaten_by_is_the_declared_exceptions_in_rule_order() -> None:
    """ir.Rulebook.beaten_by, built in one pass (the scan per rule was quadratic), gives what the scan gave."""
    from cpc_rules import default_rulebook

    text = (
        'couverture depuis 2019-04-01\nfait m : montant "m"\ndéfinition d : montant "d"\narticle R1 "a"\n  version depuis 2019-04-01 source "s"\n'
        "  règle p : définit d = 0 €\n  règle q : définit d = 1 € si m > 1 €\n"
        "  règle e2 exception à p, q : définit d = 3 € si m > 3 €\n  règle e1 exception à q, p : définit d = 2 € si m > 2 € et m <= 3 €\n"
    )
    for checked in (rulebook(text).checked, default_rulebook().checked, load_rulebook(REPRO / "exception-chain-3.cpc").checked):
        scan = tuple(tuple(e.index for e in checked.rules if r.index in e.exceptions) for r in checked.rules)
        assert checked.beaten_by == scan
    small = rulebook(text)
    names = [r.name for r in small.checked.rules]
    assert [[names[i] for i in b] for b in small.checked.beaten_by] == [["e2", "e1"], ["e2", "e1"], [], []]
    assert small.decide({"m": "2.5"}, at="2024-01-01").value("d") == Decimal(2)
