"""The dependency cone of some enumerations: the rules a focused answer can depend on.

A focused decision (issue 11) evaluates only these rules: those that permit, forbid or
oblige a member of the focused enumerations, the `non encodé` rules whose scope holds
them, every exception that can beat one of those (transitively: `exception à` chains),
the rules defining a definition one of them reads (and so on through the definitions
those read). Nothing outside the cone can change a focused conclusion, so a fault of
the rulebook there (E401–E403) is not raised by a focused decision. Computed from the
IR alone: the scalar decider and the columnar backend share it.
"""

from __future__ import annotations

from collections.abc import Iterable

from cpc_rules import ir


def cone(rb: ir.Rulebook, enums: Iterable[str]) -> frozenset[int]:
    """The indices of the rules that the conclusions on `enums` depend on (see the module docstring)."""
    names = frozenset(enums)
    return closure(rb, [
        r.index
        for r in rb.rules
        if (r.enum is not None and r.enum in names) or any(s.partition(".")[0] in names for s in r.scope)
    ])


def closure(rb: ir.Rulebook, rules: Iterable[int]) -> frozenset[int]:
    """`rules` (indices) with every exception that can beat one of them and every rule defining what they read, transitively."""
    todo = list(rules)
    seen: set[int] = set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        r = rb.rules[i]
        todo.extend(rb.beaten_by[i])  # an exception that applies beats it
        if r.define is not None:  # a definition is settled by all its rules together (E401, E402)
            todo.extend(rb.definitions[r.define].rules)
        for e in (r.condition, r.value):
            if e is not None:
                for node in ir.walk(e):
                    if isinstance(node, ir.DefRef):
                        todo.extend(rb.definitions[node.index].rules)
    return frozenset(seen)


def reads(rb: ir.Rulebook, rules: Iterable[int]) -> tuple[frozenset[int], frozenset[int], frozenset[int]]:
    """(facts, definitions, parameters) read by the conditions and values of `rules` (indices)."""
    facts: set[int] = set()
    defs: set[int] = set()
    params: set[int] = set()
    for i in rules:
        r = rb.rules[i]
        for e in (r.condition, r.value):
            if e is None:
                continue
            for node in ir.walk(e):
                if isinstance(node, ir.FactRef):
                    facts.add(node.index)
                elif isinstance(node, ir.DefRef):
                    defs.add(node.index)
                elif isinstance(node, ir.ParamRef):
                    params.add(node.index)
    return frozenset(facts), frozenset(defs), frozenset(params)
