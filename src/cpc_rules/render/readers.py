"""Which rules read which fact, directly or through the definitions they read: what a fact can decide.

The interview cites, for a question, the articles of the rules that read its fact; a presumption is cited with
the articles whose rules read the presumed fact. Computed once per rulebook.
"""

from __future__ import annotations

import weakref

from cpc_rules import ir

# per rulebook object (id, and a weak reference to tell a new object at a reused id): not by `rb.digest`, whose
# ~20 ms a verdict must not pay (tests/test_digest.py), nor by `texts_digest`, which two different IRs may share
_READERS: dict[int, tuple[weakref.ref[ir.Rulebook], dict[int, set[int]]]] = {}


def fact_readers(rb: ir.Rulebook) -> dict[int, set[int]]:
    """For each fact, the rules whose condition or value reads it, directly or through definitions."""
    got = _READERS.get(id(rb))
    if got is not None and got[0]() is rb:
        return got[1]
    direct_f: dict[int, set[int]] = {}
    direct_d: dict[int, set[int]] = {}
    for r in rb.rules:
        for e in (r.condition, r.value):
            if e is None:
                continue
            for n in ir.walk(e):
                if isinstance(n, ir.FactRef):
                    direct_f.setdefault(r.index, set()).add(n.index)
                elif isinstance(n, ir.DefRef):
                    direct_d.setdefault(r.index, set()).add(n.index)
    # facts of a definition: through the rules defining it
    def_facts: dict[int, set[int]] = {}

    def facts_of_def(d: int, seen: frozenset[int] = frozenset()) -> set[int]:
        if d in def_facts:
            return def_facts[d]
        out: set[int] = set()
        for r in rb.definitions[d].rules:
            out |= direct_f.get(r, set())
            for d2 in direct_d.get(r, ()):
                if d2 not in seen:
                    out |= facts_of_def(d2, seen | {d})
        def_facts[d] = out
        return out

    readers: dict[int, set[int]] = {}
    for r in rb.rules:
        fs = set(direct_f.get(r.index, set()))
        for d in direct_d.get(r.index, ()):
            fs |= facts_of_def(d)
        for f in fs:
            readers.setdefault(f, set()).add(r.index)
    key = id(rb)
    _READERS[key] = (weakref.ref(rb, lambda _: _READERS.pop(key, None)), readers)
    return readers
