"""Focused decisions evaluate only what they need (issue 11): the dependency cone (engine/cone.py),
the cone-pruned `decide`, and the decider specialised to a focus (`Rulebook.decider`)."""

from __future__ import annotations

from helpers import rulebook

from cpc_rules.engine.cone import cone, reads

CONE_TEXT = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu

énumération proc "P" { p0, p1 }
énumération pub "Q" { q0, q1 }
énumération autre "A" { z0 }

fait b1 : booléen
fait b2 : booléen
fait m : montant

définition d1 : booléen
définition d2 : montant
définition d3 : booléen

article A0 "Article"
  version depuis 2020-01-01
    source "t"

  règle base :
    autorise proc p0
    si d1

  règle exc exception à base :
    interdit proc p0
    si b2

  règle def1 :
    définit d1 = m > d2

  règle def2 :
    définit d2 = 10 €

  règle def3 :
    définit d3 = b1

  règle pub0 :
    oblige pub q0
    si d3

  règle other :
    autorise autre z0
    si b1 et b2
"""


def test_the_cone_holds_the_rules_the_exceptions_and_the_definitions_read() -> None:
    rb = rulebook(CONE_TEXT, "cone").checked
    name = {r.name: r.index for r in rb.rules}
    got = {rb.rules[i].name for i in cone(rb, ["proc"])}
    assert got == {"base", "exc", "def1", "def2"}
    assert {rb.rules[i].name for i in cone(rb, ["pub"])} == {"pub0", "def3"}
    assert {rb.rules[i].name for i in cone(rb, ["proc", "pub", "autre"])} == set(name)
    assert cone(rb, []) == frozenset()
    facts, defs, params = reads(rb, cone(rb, ["proc"]))
    assert {rb.facts[i].name for i in facts} == {"b2", "m"}
    assert {rb.definitions[i].name for i in defs} == {"d1", "d2"}
    assert params == frozenset()
