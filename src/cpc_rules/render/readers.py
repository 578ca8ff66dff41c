"""Which rules read which fact, directly or through the definitions they read: what a fact can decide.

The interview cites, for a question, the articles of the rules that read its fact; a presumption is cited with
the articles whose rules read the presumed fact (`presumption_articles`: here, not in render/text.py, so that the
audit's verdicts cite what the text and JSON renderers cite without importing a renderer). Computed once per rulebook.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from cpc_rules import ir

if TYPE_CHECKING:
    from cpc_rules.decision import Decision

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


def presumption_articles(d: Decision) -> dict[str, tuple[str, ...]]:
    """The articles each presumption applied is cited with in this decision: its declared ones, but not those set aside.

    A fact's presumption declares its articles once (`présumé faux … (R2122-1)`), but the fact may be read by rules
    of both books: for a défense contract the Livre Ier routes are set aside (livre_iii_écarte_livre_ier) and
    `urgence_impérieuse` decides L2322-1. A declared article is left out when every rule of it in force that reads
    the fact (directly or through definitions) and concludes (permits, forbids, obliges: definitions and information
    do not say which book governs) is displaced by an exception that applies, and so is one not in force at the
    date (R2122-9-1 before 16 December 2021); when none is left, the
    articles of the rules in force that rest on the presumption here (decided strictly, they are unknown for want of
    it) are cited: those that conclude (in the focus), else those giving an information the decision gives, else
    those of the definitions (the computed values); the declared ones if no rule rests on it.
    """
    if not d.applied:
        return {}
    rb = d.rulebook
    a = d.activations
    beaten = rb.beaten_by
    readers = fact_readers(rb)
    index = {f.name: f.index for f in rb.facts}
    in_force = [rb.articles[r.article].version_at(d.date) is not None for r in rb.rules]
    not_yet = {art.ref for art in rb.articles if art.version_at(d.date) is None}  # not in force at the date: never cited
    informing = {r for r, _ in d.information}  # an information the decision gives (one it does not give rests on nothing)
    reached: dict[str, tuple[list[str], list[str], list[str]]] = {}  # fact -> articles of (conclusions, information, definitions)
    for i in sorted({r for p in d.applied for r in readers.get(index[p.fact], ())}):  # only a rule that reads one rests on one
        r = rb.rules[i]
        tier = 0 if r.enum is not None and d.in_focus(r.enum) else 1 if r.index in informing else 2 if r.define is not None and d.focus is None else None
        if not in_force[r.index] or tier is None:
            continue
        ref = rb.articles[r.article].ref
        for fact in d.presumed_for_rule(r.index):
            refs = reached.setdefault(fact, ([], [], []))[tier]
            if ref not in refs:
                refs.append(ref)
    out: dict[str, tuple[str, ...]] = {}
    for p in d.applied:
        aside: dict[str, bool] = {}  # article ref -> every rule of it in force that reads the fact and concludes is displaced
        for r in readers.get(index[p.fact], ()):
            if in_force[r] and rb.rules[r].enum is not None:
                ref = rb.articles[rb.rules[r].article].ref
                aside[ref] = aside.get(ref, True) and any(a[e] is True for e in beaten[r])
        kept = [ref for ref in p.articles if not aside.get(ref, False) and ref not in not_yet]
        concluding, informing_, defining = reached.get(p.fact, ([], [], []))
        out[p.fact] = tuple(kept or concluding or informing_ or defining or p.articles)
    return out
