"""Evaluate a compiled rulebook on a situation at a date.

What depends only on the date (parameter values, articles in force) is computed
once per date and cached; what depends on the facts is the compiled function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from cpc_rules import ir, values
from cpc_rules.diagnostics import CpcError, Diagnostic, did_you_mean
from cpc_rules.engine.compile import compile_rulebook
from cpc_rules.engine.runtime import Faults, Unknown

NOT_EVALUATED = object()  # a node the traced run did not reach (short-circuit, rule not in force)


@attrs.frozen
class AtDate:
    """What a date fixes: the parameter values and the rules in force."""

    date: dt.date
    params: tuple[Any, ...]
    steps: tuple[ir.StepInfo | None, ...]
    active: tuple[bool, ...]
    needed: tuple[bool, ...]  # per definition: read by a rule in force (directly or through another definition)


@attrs.frozen
class Item:
    """An enumeration member that rules permit, forbid or oblige."""

    enum: str
    member: str
    permits: tuple[int, ...]
    forbids: tuple[int, ...]
    obliges: tuple[int, ...]
    unencoded: tuple[int, ...] = ()  # `non encodé` rules whose scope holds this member's enumeration (or this member)


class Program:
    """A rulebook compiled once; `run` decides one situation."""

    def __init__(self, rb: ir.Rulebook) -> None:
        self.rb = rb
        self.faults = Faults(self._describe_rule, rb.definitions, rb.nodes)
        self.compiled = compile_rulebook(rb, self.faults)
        self._dates: dict[dt.date, AtDate] = {}
        self.items = self._items()
        self.missing = tuple(Unknown(frozenset({f.name})) for f in rb.facts)
        self._fact_index = {f.name: f.index for f in rb.facts}
        self.reads = tuple(_reads(r) for r in rb.rules)
        self.presumed = tuple((f.index, f.presumed.value) for f in rb.facts if f.presumed is not None)

    def presume(self, facts: list[Any]) -> tuple[list[Any], tuple[int, ...]]:
        """The facts completed with the rulebook's presumptions, and the indices of the facts presumed.

        Only a fact the situation does not give (Unknown) is presumed: a given
        fact is never overridden.
        """
        out = list(facts)
        used = []
        for i, value in self.presumed:
            if out[i].__class__ is Unknown:
                out[i] = value
                used.append(i)
        return out, tuple(used)

    def _describe_rule(self, index: int) -> tuple[str, Any]:
        r = self.rb.rules[index]
        return f"la règle `{r.name}` ({self.rb.articles[r.article].ref})", r.span

    def _items(self) -> tuple[Item, ...]:
        found: dict[tuple[str, str], dict[str, list[int]]] = {}
        for r in self.rb.rules:
            if r.enum is None:
                continue
            for m in r.values:
                found.setdefault((r.enum, m), {"permit": [], "forbid": [], "oblige": []})[r.kind].append(r.index)
        for r in self.rb.rules:  # a member that only a `non encodé … pour e.m` rule names is still concluded on
            for e in r.scope:
                enum, _, m = e.partition(".")
                if m:
                    found.setdefault((enum, m), {"permit": [], "forbid": [], "oblige": []})
        enums = list(self.rb.enums)  # in declaration order: procedures before the formalities that follow them
        ordered = sorted(found, key=lambda k: (enums.index(k[0]), self.rb.enums[k[0]].members.index(k[1])))
        unencoded: dict[str, list[int]] = {}
        for r in self.rb.rules:
            for e in r.scope:
                unencoded.setdefault(e, []).append(r.index)
        return tuple(
            Item(e, m, tuple(found[e, m]["permit"]), tuple(found[e, m]["forbid"]), tuple(found[e, m]["oblige"]), tuple(sorted({*unencoded.get(e, ()), *unencoded.get(f"{e}.{m}", ())})))
            for e, m in ordered
        )

    def in_coverage(self, d: dt.date) -> bool:
        return self.rb.coverage is None or self.rb.coverage.contains(d)

    def at(self, d: dt.date) -> AtDate:
        cached = self._dates.get(d)
        if cached is None:
            steps = tuple(p.step_at(d) for p in self.rb.params)
            active = tuple(self.rb.articles[r.article].version_at(d) is not None for r in self.rb.rules)
            cached = AtDate(d, tuple(s.value if s else None for s in steps), steps, active, self._needed(active))
            if len(self._dates) > 4096:
                self._dates.clear()
            self._dates[d] = cached
        return cached

    def _needed(self, active: tuple[bool, ...]) -> tuple[bool, ...]:
        """The definitions that a rule in force reads, directly or through definitions it reads."""
        rb = self.rb
        needed = [False] * len(rb.definitions)
        todo = [r.index for r in rb.rules if active[r.index]]  # a definition read by a definition is needed too
        while todo:
            for d in self.reads[todo.pop()][1]:
                if not needed[d]:
                    needed[d] = True
                    todo.extend(r for r in rb.definitions[d].rules if active[r])
        return tuple(needed)

    def facts_vector(self, situation: Mapping[str, Any]) -> list[Any]:
        """Typed facts in declaration order; a fact not given is Unknown. Raises CpcError (E41x)."""
        rb = self.rb
        out = list(self.missing)
        errors = []
        for name, raw in situation.items():
            i = self._fact_index.get(name)
            if i is None:
                if not isinstance(name, str):
                    errors.append(Diagnostic("E416", f"clé « {values.excerpt(name)} » : un fait se nomme par un texte", None))
                    continue
                errors.append(Diagnostic("E410", f"fait inconnu `{values.excerpt(name)}`", None, hint=(did_you_mean(name, self._fact_index) if len(name) <= 100 else None) or "voir `cpc-rules schema` pour les faits attendus"))
                continue
            if raw is None:
                continue  # null in JSON: not known
            f = rb.facts[i]
            try:
                out[i] = values.coerce(raw, f.type, rb.enums, rb.records, name)
            except values.BadValue as e:
                code = {"enum": "E412", "date": "E413"}.get(f.type.kind, "E411")
                errors.append(Diagnostic(code, f"`{name}` ({f.label or f.type}) : {e}", None, hint=e.hint or f"attendu : {_expected(f.type, rb)}"))
        if errors:
            raise CpcError(errors)
        return out

    def run(self, facts: list[Any], at: AtDate, trace: bool = False) -> tuple[tuple[Any, ...], tuple[Any, ...], list[Any] | None]:
        if trace:
            v: list[Any] = [NOT_EVALUATED] * len(self.rb.nodes)
            a, d = self.compiled.run_traced(facts, at.params, at.active, at.needed, v)
        else:
            v = None  # type: ignore[assignment]
            a, d = self.compiled.run(facts, at.params, at.active, at.needed)
        for item in self.items:
            if item.obliges and item.forbids:
                for o in item.obliges:
                    if a[o] is True:
                        for f in item.forbids:
                            if a[f] is True:
                                self.faults.deontic_conflict(o, f, item.member)
        return a, d, v


def _reads(r: ir.RuleInfo) -> tuple[frozenset[int], frozenset[int]]:
    """The parameters and the definitions a rule reads in its condition and value."""
    nodes = [n for e in (r.condition, r.value) if e is not None for n in ir.walk(e)]
    return frozenset(n.index for n in nodes if isinstance(n, ir.ParamRef)), frozenset(n.index for n in nodes if isinstance(n, ir.DefRef))


def _expected(t: ir.Type, rb: ir.Rulebook) -> str:
    if t.kind == "enum":
        return "une valeur parmi " + ", ".join(rb.enums[t.name].members)  # type: ignore[index]
    return {
        "money": 'un montant en euros HT, nombre ou texte ("39999.99", "39 999,99 €", "1 850 000")',
        "percent": 'un pourcentage de 0 à 100 (50 ou "50 %", "12,5 %")',
        "int": "un entier positif ou nul",
        "bool": 'true ou false (ou "vrai", "faux", "oui", "non")',
        "date": 'une date "AAAA-MM-JJ"',
        "list": f"une liste d'objets `{t.name}`",
    }.get(t.kind, str(t))
