"""The rulebook reproducers of issue 8 (copied from ../shared/repro/reliability/rulebook/ into
tests/repro/rulebook/): each gives a located diagnostic or the right answer, never exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
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
