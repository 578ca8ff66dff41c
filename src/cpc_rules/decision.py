"""The Decision: what a rulebook concludes for a situation at a date, as plain data.

A decision holds the raw rule activations and definition values; statuses,
missing facts, the presumptions relied on and the trace are derived only when
asked (reading one conclusion computes that one only). It imports no renderer:
the renderers (`render/text.py`, `render/json.py`) read it, and the API hands
it the two callables it cannot compute alone (the strict run that tells which
conclusions rest on a presumption, and the trace builder).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from typing import Any, Literal

from cpc_rules import ir, values
from cpc_rules.engine.evaluate import AtDate, Item
from cpc_rules.engine.runtime import Unknown
from cpc_rules.record import frozen

TRACE_FORMAT = 1

Permission = Literal["allowed", "forbidden", "not_allowed", "undetermined"]
Obligation = Literal["mandatory", "not_mandatory", "undetermined"]
Mode = Literal["presumptions", "strict"]


@frozen
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

    @property
    def undetermined(self) -> bool:
        return "undetermined" in (self.permission, self.obligation)


@frozen
class Presumption:
    """A presumption the decision applied: a fact the situation did not give, and what was presumed."""

    fact: str
    label: str | None
    value: Any
    type: ir.Type
    reason: str
    articles: tuple[str, ...]

    @property
    def display(self) -> str:
        return values.display(self.value, self.type)


def compute_status(item: Item, a: tuple[Any, ...], label: str) -> Status:
    """The status of one member from the rule activations (Kleene: a rule may be True, False or Unknown).

    Plain loops, no closure: a decision reads a status per member it shows, so this
    runs several times per decision (it was most of a decision's time).
    """
    permits: list[int] = []
    permits_unk: list[int] = []
    for r in item.permits:
        x = a[r]
        if x is True:
            permits.append(r)
        elif x is not False:
            permits_unk.append(r)
    forbids: list[int] = []
    forbids_unk: list[int] = []
    for r in item.forbids:
        x = a[r]
        if x is True:
            forbids.append(r)
        elif x is not False:
            forbids_unk.append(r)
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
            permission, pending, refused = "undetermined", forbids_unk, refusals(item, a)
        else:
            permission, refused = "not_allowed", refusals(item, a)
    elif forbids_unk:
        permission, pending = "undetermined", forbids_unk
    obligation: Obligation | None = None
    if item.obliges:
        obliges = [r for r in item.obliges if a[r] is True]
        if obliges:
            obligation = "mandatory"
            grounds = grounds + obliges
        else:
            obliges_unk = [r for r in item.obliges if a[r] is not False]
            if obliges_unk:
                obligation = "undetermined"
                pending = pending + obliges_unk
            else:
                obligation = "not_mandatory"
    unencoded = [r for r in item.unencoded if a[r] is not False] if item.unencoded else ()
    if unencoded:
        # what the rulebook does not encode is never answered with certainty: whatever the
        # other rules say, the member is undetermined (an unknown condition: the same, and
        # its facts are missing)
        if item.permits or item.forbids or not item.obliges:  # a member only a `non encodé` rule names: its permission
            permission = "undetermined"
        if item.obliges:
            obligation = "undetermined"
        refused = []
        if any(a[r] is True for r in unencoded):
            grounds = []  # the encoded rules do not decide a situation outside what is encoded
        pending = pending + [r for r in unencoded if a[r] is not True]
    missing: frozenset[str] = frozenset()
    for r in pending:
        missing |= a[r].missing
    return Status(item.enum, item.member, label, permission, obligation, tuple(grounds), tuple(pending), tuple(refused), missing, tuple(unencoded))


def _enum_readers(items: tuple[Item, ...]) -> dict[str, tuple[Any, Any]]:
    """Per enumeration, its two readers (a Decision built by hand; the API passes the rulebook's, built once)."""
    from cpc_rules.engine.compile import compile_enum_reader

    return {e: compile_enum_reader([(it.member, it.permits, it.forbids, it.obliges, it.unencoded) for it in items if it.enum == e]) for e in dict.fromkeys(it.enum for it in items)}


def refusals(item: Item, a: Any) -> list[int]:
    """The permissions of a member not allowed, without those an applicable exception displaces.

    A permission beaten by an exception that applies is not refused: another regime
    governs (for a défense contract, Livre III displaces the Livre Ier routes; for any
    other buyer, Livre III does not apply at all), so it is not listed as a failed
    condition (`why_not`). `a` holds at least the activations of the item's rules and of
    the rules below its permissions (batch.py passes exactly those).
    """
    chains = item.permit_exceptions
    if not chains:
        return list(item.permits)
    return [r for r, below in zip(item.permits, chains, strict=True) if not any(a[e] is True for e in below)]


def item_index(items: tuple[Item, ...]) -> dict[tuple[str, str], int]:
    """(enumeration, member) → position in `items`: built once per rulebook (Program.item_index), not per decision."""
    return {(it.enum, it.member): i for i, it in enumerate(items)}


Result = tuple[tuple[Any, ...], tuple[Any, ...], list[Any] | None]


class Decision:
    """The answer for one situation at one date; see docs/trace-format.md for its JSON form.

    `mode` is "presumptions" when the rulebook's presumptions completed the
    situation (the default: a buyer's four facts must give an answer), "strict"
    when a fact not given stayed unknown. `focus`, when set, restricts the
    conclusions (and the missing facts) to those enumerations.
    """

    def __init__(
        self,
        rulebook: ir.Rulebook,
        date: dt.date,
        facts: list[Any] | None,
        result: Result | None,
        at: AtDate | None,
        engine_version: str,
        *,
        items: tuple[Item, ...] = (),
        reads: tuple[tuple[frozenset[int], frozenset[int]], ...] = (),
        mode: Mode = "strict",
        presumed: tuple[Presumption, ...] = (),
        focus: tuple[str, ...] | None = None,
        strict_run: Callable[[], Result] | None = None,
        tracer: Callable[[Decision, list[Any]], Any] | None = None,
        rerun: Callable[[Decision], list[Any]] | None = None,
        alternative: Callable[[Decision, dict[str, Any]], Decision] | None = None,
        index: dict[tuple[str, str], int] | None = None,
        readers: tuple[tuple[Any, Any], ...] | None = None,
        enum_readers: dict[str, tuple[Any, Any]] | None = None,
    ) -> None:
        self.rulebook = rulebook
        self.date = date
        self.facts = facts
        self._result = result
        self._at = at
        self.engine_version = engine_version
        self.mode: Mode = mode
        self._applied = presumed
        self.focus = focus
        self._items = items
        self._item_index = index if index is not None else item_index(items)  # the API passes the rulebook's, built once
        # per member, its compiled permission and obligation readers (the API passes the rulebook's)
        self._readers = readers if readers is not None else tuple(it.readers() for it in items)
        # (enumeration, member) → its permission reader, its obligation reader: one lookup per read
        self._permission_of = {k: self._readers[i][0] for k, i in self._item_index.items()}
        self._obligation_of = {k: self._readers[i][1] for k, i in self._item_index.items()}
        # enumeration → its members' permissions, its members' obligations (the API passes the rulebook's)
        self._enum_readers = enum_readers if enum_readers is not None else _enum_readers(items)
        self._reads = reads
        self._strict_run = strict_run
        self._tracer = tracer
        self._rerun = rerun
        self._alternative = alternative
        self._status_cache: dict[int, Status] | None = None  # made on the first status read

    _status_cache: dict[int, Status] | None = None

    @functools.cached_property
    def applied(self) -> tuple[Presumption, ...]:
        """Every presumption applied (relied on or not), built on first read."""
        return self._make_applied()

    # hooks: what the decision cannot compute alone; the API's Decision overrides them
    # (no closure built per decision), a Decision built by hand passes the callables
    def _make_applied(self) -> tuple[Presumption, ...]:
        return self._applied

    def _run_strict(self) -> Result | None:
        return self._strict_run() if self._strict_run is not None else None

    def _trace_values(self) -> list[Any] | None:
        return self._rerun(self) if self._rerun is not None else None

    def _build_trace(self, v: list[Any]) -> Any:
        return self._tracer(self, v) if self._tracer is not None else None

    def _decide_alternative(self, extra: dict[str, Any]) -> Decision | None:
        return self._alternative(self, extra) if self._alternative is not None else None

    # ------------------------------------------------------------ what is decided
    @property
    def out_of_period(self) -> bool:
        return self._result is None

    @property
    def at_date(self) -> AtDate | None:
        return self._at

    @property
    def activations(self) -> tuple[Any, ...]:
        return self._result[0] if self._result else ()

    @property
    def definition_values(self) -> tuple[Any, ...]:
        return self._result[1] if self._result else ()

    def in_focus(self, enum: str) -> bool:
        return self.focus is None or enum in self.focus

    def _status_at(self, i: int) -> Status:
        cache = self._status_cache
        if cache is None:
            cache = self._status_cache = {}
        s = cache.get(i)
        if s is None:
            item = self._items[i]
            s = compute_status(item, self._result[0], self.rulebook.enums[item.enum].labels.get(item.member) or item.member)  # type: ignore[index]
            cache[i] = s
        return s

    @functools.cached_property
    def statuses(self) -> tuple[Status, ...]:
        """The conclusions in focus, in the order of the rulebook's enumerations."""
        if self._result is None:
            return ()
        return tuple(self._status_at(i) for i, item in enumerate(self._items) if self.in_focus(item.enum))

    def status(self, enum: str, member: str) -> Status | None:
        """One conclusion, computed alone (None: no rule concludes on it, or it is out of focus)."""
        i = self._item_index.get((enum, member))
        if i is None or self._result is None or not self.in_focus(enum):
            return None
        return self._status_at(i)

    def permission(self, enum: str, member: str) -> Permission | None:
        """`status(enum, member).permission`, read from the rule activations without building the Status.

        None when status() is None (out of the period or of the focus, no rule concludes
        on it) or when no rule permits or forbids it.
        """
        read = self._permission_of.get((enum, member))
        result = self._result
        if read is None or result is None or (self.focus is not None and enum not in self.focus):
            return None
        return read(result[0])  # type: ignore[no-any-return]  # compiled per member (engine/compile.py, compile_reader)

    def obligation(self, enum: str, member: str) -> Obligation | None:
        """`status(enum, member).obligation`, read from the rule activations without building the Status."""
        read = self._obligation_of.get((enum, member))
        result = self._result
        if read is None or result is None or (self.focus is not None and enum not in self.focus):
            return None
        return read(result[0])  # type: ignore[no-any-return]

    def permissions(self, enum: str) -> dict[str, Permission | None] | None:
        """Every member of `enum` concluded on → its permission (as `permission`), in one call.

        Reading which procedures are allowed costs one call, not one per procedure; an
        undetermined member is in the dict as such, never left out. None when out of the
        period or of the focus, or when no rule concludes on this enumeration.
        """
        readers = self._enum_readers.get(enum)
        result = self._result
        if readers is None or result is None or (self.focus is not None and enum not in self.focus):
            return None
        return readers[0](result[0])  # type: ignore[no-any-return]  # compiled per enumeration (engine/compile.py, compile_enum_reader)

    def obligations(self, enum: str) -> dict[str, Obligation | None] | None:
        """Every member of `enum` concluded on → its obligation (as `obligation`), in one call."""
        readers = self._enum_readers.get(enum)
        result = self._result
        if readers is None or result is None or (self.focus is not None and enum not in self.focus):
            return None
        return readers[1](result[0])  # type: ignore[no-any-return]

    def value(self, name: str) -> Any:
        for d in self.rulebook.definitions:
            if d.name == name:
                return self.definition_values[d.index]
        raise KeyError(name)

    @functools.cached_property
    def information(self) -> tuple[tuple[int, bool], ...]:
        """(rule, certain) for each information rule that applies or may apply (none under a focus)."""
        a = self.activations
        if self.focus is not None:
            return ()
        return tuple((r.index, a[r.index] is True) for r in self.rulebook.rules if r.kind == "inform" and a and a[r.index] is not False)

    @functools.cached_property
    def missing(self) -> tuple[str, ...]:
        """The missing facts that could still change an undetermined conclusion (in focus), sorted."""
        out: set[str] = set()
        for s in self.statuses:
            out |= s.missing
        if self.focus is not None:
            return tuple(sorted(out))
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

    # ------------------------------------------------------------ presumptions
    @functools.cached_property
    def _strict(self) -> Result | None:
        """The same situation decided strictly (only run when presumptions were applied)."""
        if self._result is None or not self.applied:
            return None
        return self._run_strict()

    def presumed_for(self, s: Status) -> tuple[str, ...]:
        """The presumed facts a conclusion rests on: those that, unknown, left it undetermined.

        A conclusion the strict decision already settles rests on none: every
        completion of the situation, presumed or not, gives it.
        """
        strict = self._strict
        if strict is None:
            return ()
        i = self._item_index[(s.enum, s.member)]
        item = self._items[i]
        st = compute_status(item, strict[0], s.label)
        if not st.undetermined:
            return ()
        names = {p.fact for p in self.applied}
        return tuple(sorted(n for n in st.missing if n in names))

    def presumed_for_rule(self, index: int) -> tuple[str, ...]:
        """The presumed facts an information rule's outcome rests on."""
        strict = self._strict
        if strict is None:
            return ()
        a = strict[0][index]
        if a.__class__ is not Unknown:
            return ()
        names = {p.fact for p in self.applied}
        return tuple(sorted(n for n in a.missing if n in names))

    @functools.cached_property
    def presumptions(self) -> tuple[Presumption, ...]:
        """The presumptions relied on: those some conclusion in focus (or information, or value) rests on."""
        strict = self._strict
        if strict is None:
            return ()
        used: set[str] = set()
        for s in self.statuses:
            used.update(self.presumed_for(s))
        for r, _ in self.information:
            used.update(self.presumed_for_rule(r))
        if self.focus is None:
            for v0, v in zip(strict[1], self.definition_values, strict=True):
                if isinstance(v0, Unknown) and not isinstance(v, Unknown):
                    used.update(v0.missing)
        return tuple(p for p in self.applied if p.fact in used)

    def presumption(self, fact: str) -> Presumption | None:
        for p in self.applied:
            if p.fact == fact:
                return p
        return None

    # ------------------------------------------------------------ what-if and trace
    def alternative(self, facts: dict[str, Any], focus: Iterable[str] | None = None) -> Decision | None:
        """The same decision with some facts added (e.g. the procedure chosen), restricted to `focus`."""
        if self._result is None:
            return None
        return self._decide_alternative({"facts": facts, "focus": tuple(focus) if focus is not None else None})

    @functools.cached_property
    def trace(self) -> Any:
        """The full trace tree (engine/trace.py), computed on first use."""
        if self._result is None or self._at is None or self.facts is None:
            return None
        v = self._result[2]
        if v is None:
            v = self._trace_values()
        return self._build_trace(v)  # type: ignore[arg-type]

    # ------------------------------------------------------------ citations
    def rule_ref(self, index: int) -> dict[str, Any]:
        r = self.rulebook.rules[index]
        art = self.rulebook.articles[r.article]
        out: dict[str, Any] = {"rule": r.name, "article": art.ref}
        confirm = self.to_confirm(index)
        if confirm:
            out["to_confirm"] = list(confirm)
        return out

    @functools.cached_property
    def articles_cited(self) -> tuple[int, ...]:
        """Articles of the rules that decided something, in the order of the rulebook."""
        rules: set[int] = set()
        for s in self.statuses:
            rules.update(s.grounds)
            rules.update(r for r in s.unencoded if self.activations[r] is True)
        rules.update(r for r, _ in self.information)
        a = self.activations
        if self.focus is None:
            for d in self.rulebook.definitions:
                rules.update(r for r in d.rules if a[r] is True)
        return tuple(sorted({self.rulebook.rules[r].article for r in rules}))

    @functools.cached_property
    def not_in_force(self) -> tuple[int, ...]:
        """Articles with rules that were not in force at the date."""
        if self._at is None:
            return ()
        return tuple(sorted({self.rulebook.rules[i].article for i, on in enumerate(self._at.active) if not on}))

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
            params, defs = self._reads[i]
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
