"""What generated code calls at run time: the unknown value and the few helpers too big to inline.

A fact the user did not give is `Unknown`, never false. Unknown carries the names
of the missing facts it stems from, so an undetermined conclusion can say exactly
what would settle it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cpc_rules.diagnostics import Diagnostic, Span
from cpc_rules.values import Unknown, display

__all__ = ["EvaluationError", "Faults", "Unknown", "unk"]


def unk(*values: Any) -> Unknown:
    """The Unknown that merges the missing facts of the unknown values among `values`.

    An Unknown is never changed once made, so when one of them already holds every
    missing fact of the others (the usual case: one unknown operand) it is returned
    itself, not copied: the general code calls this tens of times per decision.
    """
    found: Unknown | None = None
    for v in values:
        if v.__class__ is Unknown:
            if found is None:
                found = v
            elif not v.missing <= found.missing:
                found = Unknown(found.missing | v.missing)
    return found if found is not None else Unknown(frozenset())


def if_chain(levels: list[tuple[int, Any, Any]], last: Any, V: Any) -> Any:
    """The value of a `si … sinon si …` chain whose first levels' conditions were not all known.

    `levels` are (node, condition, value) of the levels evaluated, in order; `last` is the
    value of the level that decided (condition true) or of the final `sinon`. Folding from
    the end gives what the nested `si`s give: an unknown condition keeps the value only if
    both sides are known and equal. Traced (`V`), each level's value is recorded.
    """
    r = last
    for nid, c, v in reversed(levels):
        if c is True:
            r = v
        elif c is not False:
            r = v if (v.__class__ is not Unknown and r.__class__ is not Unknown and v == r) else unk(c, v, r)
        if V is not None:
            V[nid] = r
    return r


def equal(a: Any, b: Any) -> Any:
    """`=` on lists of records (tuples of tuples) in Kleene logic: a known difference makes them
    different; otherwise an unknown field makes the answer unknown (never a silent `faux`)."""
    if a.__class__ is Unknown or b.__class__ is Unknown:
        return unk(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        if len(a) != len(b):
            return False
        pending: Any = True
        for x, y in zip(a, b, strict=True):
            r = equal(x, y)
            if r is False:
                return False
            if r is not True:
                pending = r if pending is True else unk(pending, r)
        return pending
    return a == b


def kleene_not(x: Any) -> Any:
    return x if x.__class__ is Unknown else not x


HUNDRED = Decimal(100)
ZERO = Decimal(0)


class EvaluationError(Exception):
    """A rulebook fault met while deciding (E4xx): a conflict, no applicable definition, a division by zero."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        self.sources: Any = None  # the rulebook's texts, attached by the API to quote the faulty line
        super().__init__(f"[{diagnostic.code}] {diagnostic.message}")


class Faults:
    """Builds the located evaluation errors; the generated code only passes indices."""

    def __init__(self, describe_rule: Any, definitions: Any, nodes: Any) -> None:
        self._rule = describe_rule
        self._defs = definitions
        self._nodes = nodes

    def pick(self, def_index: int, candidates: list[tuple[int, Any, Any]], needed: bool = True) -> Any:
        """The value of a definition from its rules that may apply: (rule, applies, value) triples.

        Rules that define the same thing without an exception between them must
        agree (two applicable rules with different values are a conflict, E402).
        So one applicable rule with a known value decides it: any other rule,
        applicable with an unknown value or not yet known to apply, can only
        agree or conflict. An exception that may apply keeps the rule it beats
        undetermined, so it never lets a rule decide too early.

        No rule defining it in the situation is E401, when a rule in force reads
        the definition (`needed`); otherwise it has no value (None).
        """
        certain = [(r, v) for r, a, v in candidates if a is True and v.__class__ is not Unknown]
        if certain:
            r0, v0 = certain[0]
            for r1, v1 in certain[1:]:
                if v1 != v0:
                    self._conflict(def_index, r0, r1, v0, v1)
            return v0
        if not candidates:
            if not needed:
                return None
            d = self._defs[def_index]
            raise EvaluationError(
                Diagnostic("E401", f"aucune règle ne définit `{d.name}` dans cette situation", d.span, hint="ajoutez une règle par défaut (sans condition), ou une exception qui couvre ce cas")
            )
        return unk(*(x for _, a, v in candidates for x in (a, v)))

    def conflict(self, def_index: int, r0: int, r1: int, v0: Any, v1: Any) -> None:
        """E402: rules r0 and r1 both apply and give the definition different values."""
        self._conflict(def_index, r0, r1, v0, v1)

    def _conflict(self, def_index: int, r0: int, r1: int, v0: Any, v1: Any) -> None:
        d = self._defs[def_index]
        (n0, s0), (n1, s1) = self._rule(r0), self._rule(r1)
        raise EvaluationError(
            Diagnostic(
                "E402",
                f"conflit : {n0} et {n1} s'appliquent toutes deux et donnent à `{d.name}` les valeurs {display(v0, d.type)} et {display(v1, d.type)}",
                s1,
                hint="si ces valeurs viennent des faits, vérifiez-les ; sinon déclarez l'une des règles exception à l'autre",
                notes=(("l'autre règle", s0),),
            )
        )

    def deontic_conflict(self, oblige: int, forbid: int, member: str) -> None:
        (n0, s0), (n1, s1) = self._rule(oblige), self._rule(forbid)
        raise EvaluationError(
            Diagnostic(
                "E402",
                f"conflit : {n0} oblige et {n1} interdit `{member}` dans cette situation",
                s1,
                hint="déclarez l'une exception à l'autre",
                notes=(("l'autre règle", s0),),
            )
        )

    def zero(self, nid: int) -> Any:
        node = self._nodes[nid]
        span: Span | None = node.src.span
        raise EvaluationError(Diagnostic("E403", "division par zéro", span, hint="vérifiez que le diviseur ne peut être nul, ou testez-le avant avec `si`"))
