"""The Decision: what a rulebook concludes for a situation at a date, and why.

A decision is cheap to make: it holds the raw rule activations and definition
values, and derives statuses, missing facts and the trace only when asked. The
JSON form (`to_json`) is versioned by `TRACE_FORMAT` (docs/trace-format.md).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Literal

import attrs

from cpc_rules import ir, values
from cpc_rules.engine.evaluate import AtDate, Item, Program
from cpc_rules.engine.runtime import Unknown

TRACE_FORMAT = 1

Permission = Literal["allowed", "forbidden", "not_allowed", "undetermined"]
Obligation = Literal["mandatory", "not_mandatory", "undetermined"]


@attrs.frozen
class Status:
    """What the decision says of one enumeration member (a procedure, a publicity, a clause…)."""

    enum: str
    member: str
    label: str
    permission: Permission | None  # None: no rule permits or forbids it
    obligation: Obligation | None  # None: no rule obliges it
    grounds: tuple[int, ...]  # the rules that decide it: permissions, prohibitions or obligations that apply
    pending: tuple[int, ...]  # the rules whose outcome is unknown
    refused: tuple[int, ...]  # for a member not allowed: the permissions whose conditions failed
    missing: frozenset[str]
    unencoded: tuple[int, ...] = ()  # `non encodé` rules that apply or may apply: the status is undetermined for their reason


def _status(item: Item, a: tuple[Any, ...], label: str) -> Status:
    def split(rules: tuple[int, ...]) -> tuple[list[int], list[int]]:
        return [r for r in rules if a[r] is True], [r for r in rules if a[r].__class__ is Unknown]

    permits, permits_unk = split(item.permits)
    forbids, forbids_unk = split(item.forbids)
    obliges, obliges_unk = split(item.obliges)
    permission: Permission | None = None
    grounds: list[int] = []
    pending: list[int] = []
    refused: list[int] = []
    if forbids:
        permission, grounds = "forbidden", forbids
    elif item.permits:
        if permits and not forbids_unk:
            permission, grounds = "allowed", permits
        elif permits or permits_unk:
            permission, grounds, pending = "undetermined", permits, permits_unk + forbids_unk
        elif forbids_unk:  # not allowed either way, but whether a prohibition applies is not settled yet
            permission, pending, refused = "undetermined", forbids_unk, list(item.permits)
        else:
            permission, refused = "not_allowed", list(item.permits)
    elif forbids_unk:
        permission, pending = "undetermined", forbids_unk
    obligation: Obligation | None = None
    if item.obliges:
        if obliges:
            obligation = "mandatory"
            grounds += obliges
        elif obliges_unk:
            obligation = "undetermined"
            pending += obliges_unk
        else:
            obligation = "not_mandatory"
    unencoded = [r for r in item.unencoded if a[r] is not False]
    if unencoded:
        # what the rulebook does not encode is never answered with certainty: whatever the
        # other rules say, the member is undetermined (an unknown condition: the same, and
        # its facts are missing)
        if item.permits or item.forbids:
            permission = "undetermined"
        if item.obliges:
            obligation = "undetermined"
        refused = []
        if any(a[r] is True for r in unencoded):
            grounds = []  # the encoded rules do not decide a situation outside what is encoded
        pending += [r for r in unencoded if a[r] is not True]
    missing: frozenset[str] = frozenset()
    for r in pending:
        missing |= a[r].missing
    return Status(item.enum, item.member, label, permission, obligation, tuple(grounds), tuple(pending), tuple(refused), missing, tuple(unencoded))


class Decision:
    """The answer for one situation at one date; see docs/trace-format.md for its JSON form."""

    def __init__(
        self,
        program: Program,
        date: dt.date,
        facts: list[Any] | None,
        result: tuple[tuple[Any, ...], tuple[Any, ...], list[Any] | None] | None,
        at: AtDate | None,
        engine_version: str,
    ) -> None:
        self.program = program
        self.rulebook = program.rb
        self.date = date
        self.facts = facts
        self._result = result
        self._at = at
        self.engine_version = engine_version

    # ------------------------------------------------------------ what is decided
    @property
    def out_of_period(self) -> bool:
        return self._result is None

    @property
    def activations(self) -> tuple[Any, ...]:
        return self._result[0] if self._result else ()

    @property
    def definition_values(self) -> tuple[Any, ...]:
        return self._result[1] if self._result else ()

    @functools.cached_property
    def statuses(self) -> tuple[Status, ...]:
        if self._result is None:
            return ()
        rb, a = self.rulebook, self._result[0]
        return tuple(_status(item, a, rb.enums[item.enum].labels.get(item.member) or item.member) for item in self.program.items)

    def status(self, enum: str, member: str) -> Status | None:
        for s in self.statuses:
            if s.enum == enum and s.member == member:
                return s
        return None

    def value(self, name: str) -> Any:
        for d in self.rulebook.definitions:
            if d.name == name:
                return self.definition_values[d.index]
        raise KeyError(name)

    @functools.cached_property
    def information(self) -> tuple[tuple[int, bool], ...]:
        """(rule, certain) for each information rule that applies or may apply."""
        a = self.activations
        return tuple((r.index, a[r.index] is True) for r in self.rulebook.rules if r.kind == "inform" and a and a[r.index] is not False)

    @functools.cached_property
    def missing(self) -> tuple[str, ...]:
        """The missing facts that could still change an undetermined conclusion, sorted."""
        out: set[str] = set()
        for s in self.statuses:
            out |= s.missing
        needed = self._at.needed if self._at else ()
        for i, v in enumerate(self.definition_values):
            # a definition that a rule in force reads counts through that rule's own outcome:
            # once the rule is settled (say the total is declared), the parts no longer matter
            if isinstance(v, Unknown) and not needed[i]:
                out |= v.missing
        a = self.activations
        for r, certain in self.information:
            if not certain:
                out |= a[r].missing
        return tuple(sorted(out))

    @functools.cached_property
    def articles_cited(self) -> tuple[int, ...]:
        """Articles of the rules that decided something, in the order of the rulebook."""
        rules: set[int] = set()
        for s in self.statuses:
            rules.update(s.grounds)
            rules.update(r for r in s.unencoded if self.activations[r] is True)
        rules.update(r for r, _ in self.information)
        a = self.activations
        for d in self.rulebook.definitions:
            rules.update(r for r in d.rules if a[r] is True)
        return tuple(sorted({self.rulebook.rules[r].article for r in rules}))

    @functools.cached_property
    def not_in_force(self) -> tuple[int, ...]:
        """Articles with rules that were not in force at the date."""
        if self._at is None:
            return ()
        return tuple(sorted({self.rulebook.rules[i].article for i, on in enumerate(self._at.active) if not on}))

    @functools.cached_property
    def trace(self) -> Any:
        """The full trace tree (engine/trace.py), computed on first use."""
        if self._result is None or self._at is None or self.facts is None:
            return None
        v = self._result[2]
        if v is None:
            v = self.program.run(self.facts, self._at, trace=True)[2]
        return self.program.trace_plan.build(self, v)

    # ------------------------------------------------------------ output
    def to_json(self, trace: bool = True) -> dict[str, Any]:
        from cpc_rules.render.json import decision_json

        return decision_json(self, with_trace=trace)

    def explain(self, lang: str = "fr", full: bool = False) -> str:
        from cpc_rules.render.text import explain

        return explain(self, lang=lang, full=full)

    def rule_ref(self, index: int) -> dict[str, Any]:
        r = self.rulebook.rules[index]
        art = self.rulebook.articles[r.article]
        out: dict[str, Any] = {"rule": r.name, "article": art.ref}
        confirm = self.to_confirm(index)
        if confirm:
            out["to_confirm"] = list(confirm)
        return out

    def to_confirm(self, index: int) -> tuple[str, ...]:
        """The readings "à confirmer" a rule's conclusion rests on, at the decision date.

        Its own and its article's; those of the parameter steps in force that it reads;
        and, through each definition it reads, those of the rules that applied to define it.
        """
        rb, at = self.rulebook, self._at
        out: list[str] = []
        seen: set[int] = set()
        todo = [index]
        while todo:
            i = todo.pop(0)
            if i in seen:
                continue
            seen.add(i)
            r = rb.rules[i]
            art = rb.articles[r.article]
            where = "" if i == index else f"{art.ref} : "
            for c in dict.fromkeys((r.confirm, art.confirm)):
                if c:
                    out.append(where + c)
            params, defs = self.program.reads[i]
            for p in sorted(params):
                step = at.steps[p] if at else None
                if step is not None and step.confirm:
                    out.append(f"{rb.params[p].label or rb.params[p].name} : {step.confirm}")
            for d in sorted(defs):
                todo.extend(ri for ri in rb.definitions[d].rules if self.activations and self.activations[ri] is True)
        return tuple(dict.fromkeys(out))

    def fact_value_json(self, f: ir.FactInfo) -> Any:
        assert self.facts is not None
        return values.to_json(self.facts[f.index], f.type, self.rulebook.records)
