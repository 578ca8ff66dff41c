"""The large rulebooks of ../shared/repro/reliability/resources/gen-pathological.py, at a size the suite can afford.

The reproducer measures time and memory (never asserted here): what is tested is that each shape loads, gives
the exact answer, traces and replays. The definition chain is longer than Python's default recursion limit
(1000), so a recursive walk of the dependencies would fail here as it would on the 5000 of the reproducer
(that one: `decide s.json -r c_def_chain_5000.cpc` exits 0, measured in the final report of issue 8).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from helpers import rulebook

from cpc_rules.replay import replay

HEAD = "couverture depuis 2019-04-01 jusqu'au 2028-01-01 exclu\nfait m : montant \"m\"\n"
ART = 'article R{a} "a"\n  version depuis 2019-04-01 source "s"\n'


def _articles(n: int, per: int, rule) -> str:  # type: ignore[no-untyped-def]
    """n rules `rule(k)`, `per` to an article (as the reproducer: 100 articles of 100 rules)."""
    return "".join(ART.format(a=a + 1) + "".join(rule(k) for k in range(a * per, min(n, (a + 1) * per))) for a in range((n + per - 1) // per))


def _replays(rb, facts: dict[str, str]):  # type: ignore[no-untyped-def]
    d = rb.decide(facts, at="2026-03-01")
    doc = json.loads(json.dumps(d.to_json(trace=True), ensure_ascii=False))
    assert replay(doc, rb).match
    return d


def test_definition_chain_beyond_the_recursion_limit() -> None:
    n = 1500
    text = HEAD + "".join(f'définition d{i} : montant "d{i}"\n' for i in range(n))
    text += 'énumération e "e" { oui_, non_ }\n' + ART.format(a=1) + "  règle r0 : définit d0 = m\n"
    text += "".join(f"  règle r{i} : définit d{i} = d{i - 1} + 1 €\n" for i in range(1, n))
    text += f"  règle rz : autorise e oui_ si d{n - 1} > 10 000 €\n"
    rb = rulebook(text, "def_chain")
    d = _replays(rb, {"m": "8501"})  # 8501 + 1499 = 10000: not above
    assert d.value(f"d{n - 1}") == Decimal(10000)
    assert d.status("e", "oui_").permission == "not_allowed"
    d = _replays(rb, {"m": "8501.01"})
    assert d.status("e", "oui_").permission == "allowed"
    assert _replays(rb, {}).status("e", "oui_").permission == "undetermined"


def test_many_rules_defining_one_value() -> None:
    n = 1000
    rb = rulebook(HEAD + 'définition d : montant "d"\n' + _articles(n, 100, lambda k: f"  règle r{k} : définit d = m si m = {k} €\n"), "same_def")
    assert _replays(rb, {"m": "999"}).value("d") == Decimal(999)
    assert _replays(rb, {"m": "0"}).value("d") == Decimal(0)


@pytest.mark.parametrize("verbs", [("autorise",), ("oblige", "interdit")])
def test_many_permissions_and_obligations(verbs: tuple[str, ...]) -> None:
    n = 1000
    e = 'énumération e "e" {' + ", ".join(f"x{i}" for i in range(100)) + "}\n"
    rb = rulebook(HEAD + e + _articles(n, 100, lambda k: f"  règle r{k} : {verbs[k % len(verbs)]} e x{k % 100} si m > {k} €\n"), "many")
    d = _replays(rb, {"m": "150"})  # the rules r0..r149 apply (m > k), r150..r999 do not
    if verbs == ("autorise",):
        assert d.status("e", "x7").permission == "allowed"
        assert _replays(rb, {"m": "7"}).status("e", "x7").permission == "not_allowed"  # r7, r107…: m > 7 is false
    else:  # k odd: interdit, k even: oblige
        assert d.status("e", "x7").permission == "forbidden"
        assert d.status("e", "x8").obligation == "mandatory"
        assert _replays(rb, {"m": "8"}).status("e", "x8").obligation == "not_mandatory"


def test_a_large_table_parameter() -> None:
    n = 5000
    text = HEAD + 'énumération big "big" {' + ", ".join(f"v{i}" for i in range(n)) + '}\nfait k : big "k"\n'
    text += 'paramètre p : montant "p" selon big\n  depuis 2019-04-01 :\n' + "".join(f"    v{i} : {i} €\n" for i in range(n)) + '    source "s"\n'
    text += 'définition d : montant "d"\n' + ART.format(a=1) + "  règle r : définit d = p[k]\n"
    rb = rulebook(text, "table")
    assert _replays(rb, {"k": f"v{n - 1}"}).value("d") == Decimal(n - 1)
    assert _replays(rb, {"k": "v0"}).value("d") == Decimal(0)


def test_a_long_label() -> None:
    label = "n" * 2_000_000
    rb = rulebook(f'couverture depuis 2019-04-01\nénumération e "{label}" {{ a }}\n', "label")
    assert rb.checked.enums["e"].label == label
