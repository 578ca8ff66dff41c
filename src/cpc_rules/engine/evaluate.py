"""Evaluate a compiled rulebook on a situation at a date.

What depends only on the date (parameter values, articles in force) is computed
once per date and cached; what depends on the facts is the compiled function.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from typing import Any

from cpc_rules import ir, values
from cpc_rules.diagnostics import CpcError, Diagnostic, did_you_mean
from cpc_rules.engine.compile import Leaf, compile_decider, compile_enum_reader, compile_reader, compile_rulebook, compile_typing
from cpc_rules.engine.cone import cone
from cpc_rules.engine.cone import reads as cone_reads
from cpc_rules.engine.runtime import Faults, Unknown
from cpc_rules.record import frozen

NOT_EVALUATED = object()  # a node the traced run did not reach (short-circuit, rule not in force)


@frozen
class AtDate:
    """What a date fixes: the parameter values and the rules in force."""

    date: dt.date
    params: tuple[Any, ...]
    steps: tuple[ir.StepInfo | None, ...]
    active: tuple[bool, ...]
    needed: tuple[bool, ...]  # per definition: read by a rule in force (directly or through another definition)
    versions: tuple[ir.VersionInfo | None, ...] = ()  # per article: its version in force (the trace cites it)


@frozen
class Item:
    """An enumeration member that rules permit, forbid or oblige."""

    enum: str
    member: str
    permits: tuple[int, ...]
    forbids: tuple[int, ...]
    obliges: tuple[int, ...]
    unencoded: tuple[int, ...] = ()  # `non encodé` rules whose scope holds this member's enumeration (or this member)
    # per permission (same order as `permits`): the rules below it in its chains of exceptions; one that
    # applies displaces the permission, which is then not a refusal (decision.compute_status)
    permit_exceptions: tuple[tuple[int, ...], ...] = ()

    def readers(self) -> tuple[Any, Any]:
        """permission(activations), obligation(activations), compiled for this member (compile.compile_reader)."""
        return compile_reader(self.permits, self.forbids, self.obliges, self.unencoded)


class Program:
    """A rulebook compiled once; `run` decides one situation."""

    def __init__(self, rb: ir.Rulebook, digest: str | None = None) -> None:
        """`digest`: the IR's digest if the caller holds it already (compile_rulebook then takes the wheel's functions for it)."""
        self.rb = rb
        self.faults = Faults(self._describe_rule, rb.definitions, rb.nodes)
        self.compiled = compile_rulebook(rb, self.faults, digest=digest)
        self._dates: dict[dt.date, AtDate] = {}
        self._covered: dict[dt.date, AtDate | None] = {}
        self._bounds = self._boundaries()
        self._intervals: dict[int, Any] = {}  # position among the boundaries → what the dates there fix (False: not covered)
        self.items = self._items()
        self.item_index = {(it.enum, it.member): i for i, it in enumerate(self.items)}
        self.readers = tuple(it.readers() for it in self.items)  # per member: its permission and obligation, read from the activations
        # per enumeration concluded on: every member's permission, every member's obligation, in one call each
        self.enum_readers = {
            e: compile_enum_reader([(it.member, it.permits, it.forbids, it.obliges, it.unencoded) for it in self.items if it.enum == e])
            for e in dict.fromkeys(it.enum for it in self.items)
        }
        # the members some rule obliges and another forbids: only those can raise a deontic conflict
        self._deontic = tuple((it.member, it.obliges, it.forbids) for it in self.items if it.obliges and it.forbids)
        self.missing = tuple(Unknown(frozenset({f.name})) for f in rb.facts)
        self._fact_index = {f.name: f.index for f in rb.facts}
        self._list_facts = tuple(f.index for f in rb.facts if f.type.kind == "list")
        self._convert = tuple(values.coercer(f.type, rb.enums, rb.records, f.name) for f in rb.facts)
        self.reads = tuple(_reads(r) for r in rb.rules)
        self.presumed = tuple((f.index, f.presumed.value) for f in rb.facts if f.presumed is not None)
        self._n_facts = len(rb.facts)
        self._typed = compile_typing(rb, self.missing, self._convert)  # None for a rulebook of many facts
        self._focused: dict[tuple[str, ...], Focused] = {}

    def prepare(self, situation: Mapping[str, Any], presume: bool) -> tuple[list[Any], list[Any], tuple[int, ...], bool]:
        """(facts given, facts decided on, facts presumed, all known): `facts_vector`, then `presume`, in one pass.

        The facts given are counted while they are typed, so whether every fact is known
        (the generated code without unknown-value guards may decide) costs no second walk;
        the facts are copied only when a presumption completes them. Raises CpcError (E41x).
        """
        try:
            if self._typed is not None:
                given, n = self._typed(situation)
            else:
                given = list(self.missing)
                index, convert = self._fact_index, self._convert
                n = 0
                for name, raw in situation.items():
                    if raw is not None:
                        i = index[name]
                        given[i] = convert[i](raw)
                        n += 1
        except (KeyError, TypeError, values.BadValue):
            given = self._facts_vector_checked(situation)
            n = -1  # recounted below
        facts, used = given, ()
        if presume and n != self._n_facts:
            for i, value in self.presumed:
                if given[i].__class__ is Unknown:
                    if facts is given:
                        facts, used = list(given), []
                    facts[i] = value
                    used.append(i)  # type: ignore[attr-defined]
            used = tuple(used)
        if n < 0 or self._list_facts:
            known = self.all_known(facts)
        else:
            known = n + len(used) == self._n_facts
        return given, facts, used, known

    def run_prepared(self, facts: list[Any], at: AtDate, known: bool, trace: bool, focused: Focused | None = None) -> tuple[tuple[Any, ...], tuple[Any, ...], list[Any] | None]:
        """`run`, told by `prepare` whether every fact is known (the generated code it picks; traced too).

        `focused` (Program.focused): only the dependency cone of the focus is evaluated."""
        if focused is None:
            compiled, needed, deontic = self.compiled, at.needed, self._deontic
        else:
            compiled, deontic = focused.compiled, focused.deontic
            needed = at.needed if focused.whole else focused.needed(at)
        if trace:
            v: list[Any] | None = [NOT_EVALUATED] * len(self.rb.nodes)
            a, d = (compiled.run_known_traced if known else compiled.run_traced)(facts, at.params, at.active, needed, v)
        else:
            v = None
            a, d = (compiled.run_known if known else compiled.run)(facts, at.params, at.active, needed)
        if deontic:
            self._check_deontic(a, deontic)
        return a, d, v

    def focused(self, names: tuple[str, ...]) -> Focused:
        """What a decision focused on these enumerations evaluates (made once per focus, kept)."""
        f = self._focused.get(names)
        if f is None:
            if len(self._focused) > 64:
                self._focused.clear()
            f = self._focused[names] = Focused(self, names)
        return f

    def decider(self, names: tuple[str, ...], presume: bool, slow: Any) -> Any:
        """The function deciding the focus `names` fast (compile.compile_decider), `slow(S, at)` its general path."""
        focused = self.focused(names)
        items = tuple(it for it in self.items if it.enum in names)
        enums = tuple(e for e in dict.fromkeys(it.enum for it in self.items) if e in names)
        return compile_decider(self.rb, focused.rules, enums, items, self._leaves(focused), presume, slow)

    def _leaves(self, focused: Focused) -> list[Leaf]:
        """The rulebook's intervals of dates (between its boundaries), those that fix the same for the cone merged."""
        rules = sorted(focused.rules)
        params = cone_reads(self.rb, focused.rules)[2]
        defs = frozenset(d.index for d in self.rb.definitions if any(r in focused.rules for r in d.rules))
        starts: list[dt.date | None] = [None, *self._bounds]
        out: list[Leaf] = []
        previous: Any = object()
        for start in starts:
            if start is None:
                here = self._bounds[0] - dt.timedelta(days=1) if self._bounds and self._bounds[0] > dt.date.min else dt.date(2000, 1, 1)
            else:
                here = start
            at = self.at_covered(here)
            if at is None:
                leaf, key = Leaf(start, False), None
            else:
                needed = at.needed if focused.whole else focused.needed(at)
                usable = all(at.params[p] is not None for r in rules if at.active[r] for p in self.reads[r][0])  # a parameter a rule in force reads has a value
                leaf = Leaf(start, True, at.active, at.params, needed, usable)
                key = (tuple(at.active[r] for r in rules), tuple(id(at.steps[p]) for p in sorted(params)), tuple(needed[d] for d in sorted(defs)), usable)
            if out and key == previous:
                continue
            out.append(leaf)
            previous = key
        return out

    def _check_deontic(self, a: tuple[Any, ...], deontic: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] | None = None) -> None:
        for member, obliges, forbids in self._deontic if deontic is None else deontic:
            for o in obliges:
                if a[o] is True:
                    for f in forbids:
                        if a[f] is True:
                            self.faults.deontic_conflict(o, f, member)

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
        below = _below(self.rb)
        return tuple(
            Item(
                e,
                m,
                tuple(found[e, m]["permit"]),
                tuple(found[e, m]["forbid"]),
                tuple(found[e, m]["oblige"]),
                tuple(sorted({*unencoded.get(e, ()), *unencoded.get(f"{e}.{m}", ())})),
                tuple(below[r] for r in found[e, m]["permit"]) if any(below[r] for r in found[e, m]["permit"]) else (),
            )
            for e, m in ordered
        )

    def in_coverage(self, d: dt.date) -> bool:
        return self.rb.coverage is None or self.rb.coverage.contains(d)

    def at_covered(self, d: dt.date) -> AtDate | None:
        """`at(d)` for a date the rulebook covers, None outside its coverage.

        A date is placed by bisection among the rulebook's boundaries (every start and
        end of a parameter step, an article version, the coverage): within one interval
        the parameters and the rules in force are the same, so they are resolved once
        per interval, not once per date.
        """
        try:
            return self._covered[d]
        except KeyError:
            pass
        k = bisect.bisect_right(self._bounds, d)
        fixed = self._intervals.get(k)
        if fixed is None:
            fixed = self._intervals[k] = self._fix(d) if self.in_coverage(d) else False
        at = AtDate(d, *fixed) if fixed is not False else None
        if len(self._covered) > 4096:
            self._covered.clear()
        self._covered[d] = at
        return at

    def at(self, d: dt.date) -> AtDate:
        cached = self._dates.get(d)
        if cached is None:
            cached = AtDate(d, *self._fix(d))
            if len(self._dates) > 4096:
                self._dates.clear()
            self._dates[d] = cached
        return cached

    def _fix(self, d: dt.date) -> tuple[Any, ...]:
        """What a date fixes: (parameter values, parameter steps, rules in force, definitions needed, article versions)."""
        steps = tuple(p.step_at(d) for p in self.rb.params)
        versions = tuple(a.version_at(d) for a in self.rb.articles)
        active = tuple(versions[r.article] is not None for r in self.rb.rules)
        return tuple(s.value if s else None for s in steps), steps, active, self._needed(active), versions

    def _boundaries(self) -> list[dt.date]:
        """Every date at which a parameter, an article in force or the coverage may change, sorted."""
        periods = [s.period for p in self.rb.params for s in p.steps] + [v.period for a in self.rb.articles for v in a.versions]
        if self.rb.coverage is not None:
            periods.append(self.rb.coverage)
        return sorted({x for per in periods for x in (per.start, per.end) if x is not None})

    def _needed(self, active: tuple[bool, ...], rules: frozenset[int] | None = None) -> tuple[bool, ...]:
        """The definitions that a rule in force reads, directly or through definitions it reads (among `rules`: a focus's cone)."""
        rb = self.rb
        needed = [False] * len(rb.definitions)
        todo = [r.index for r in rb.rules if active[r.index] and (rules is None or r.index in rules)]  # a definition read by a definition is needed too
        while todo:
            for d in self.reads[todo.pop()][1]:
                if not needed[d]:
                    needed[d] = True
                    todo.extend(r for r in rb.definitions[d].rules if active[r])
        return tuple(needed)

    def facts_vector(self, situation: Mapping[str, Any]) -> list[Any]:
        """Typed facts in declaration order; a fact not given is Unknown. Raises CpcError (E41x).

        Each fact has its own converter (values.coercer: a fast path for values already
        of the declared type); the first fault sends the whole situation through the
        careful loop below, which reports every fault of the situation.
        """
        out = list(self.missing)
        index, convert = self._fact_index, self._convert
        try:
            for name, raw in situation.items():
                if raw is not None:
                    i = index[name]
                    out[i] = convert[i](raw)
        except (KeyError, TypeError, values.BadValue):
            return self._facts_vector_checked(situation)
        return out

    def _facts_vector_checked(self, situation: Mapping[str, Any]) -> list[Any]:
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

    def all_known(self, facts: list[Any]) -> bool:
        """No fact unknown, nor any field of a record in a list: then nothing met while deciding can be unknown."""
        for x in facts:
            if x.__class__ is Unknown:
                return False
        for i in self._list_facts:
            for record in facts[i]:
                for x in record:
                    if x.__class__ is Unknown:
                        return False
        return True

    def run(self, facts: list[Any], at: AtDate, trace: bool = False, focused: Focused | None = None) -> tuple[tuple[Any, ...], tuple[Any, ...], list[Any] | None]:
        if focused is not None:
            return self.run_prepared(facts, at, self.all_known(facts), trace, focused)
        if trace:
            v: list[Any] = [NOT_EVALUATED] * len(self.rb.nodes)
            traced = self.compiled.run_known_traced if self.all_known(facts) else self.compiled.run_traced
            a, d = traced(facts, at.params, at.active, at.needed, v)
        else:
            v = None  # type: ignore[assignment]
            run = self.compiled.run_known if self.all_known(facts) else self.compiled.run
            a, d = run(facts, at.params, at.active, at.needed)
        if self._deontic:
            self._check_deontic(a)
        return a, d, v


class Focused:
    """A decision focused on some enumerations evaluates their dependency cone only (engine/cone.py).

    The cone's rules are compiled alone (compile_rulebook with `keep`): a rule outside it is
    not run, its activation is False and a definition outside it has no value (None), and a
    fault of the rulebook there (no applicable definition, a conflict, a division by zero,
    an obligation and a prohibition of a member outside the focus) is not raised: it cannot
    change a focused conclusion. A definition counts as needed (E401 when no rule defines it)
    when a rule of the cone in force reads it. When the cone is the whole rulebook, the
    rulebook's own functions decide.
    """

    def __init__(self, program: Program, names: tuple[str, ...]) -> None:
        rb = program.rb
        self.names = names
        self.rules = cone(rb, names)
        self.whole = len(self.rules) == len(rb.rules)
        self.rule_names = frozenset(rb.rules[i].name for i in self.rules)
        self.compiled = program.compiled if self.whole else compile_rulebook(rb, program.faults, self.rules)
        self.deontic = tuple((it.member, it.obliges, it.forbids) for it in program.items if it.enum in names and it.obliges and it.forbids)
        self._program = program
        self._needed: dict[dt.date, tuple[bool, ...]] = {}  # by date (an AtDate's rules in force are fixed by its date)

    def needed(self, at: AtDate) -> tuple[bool, ...]:
        """Per definition: read by a rule of the cone in force at that date (directly or through definitions)."""
        got = self._needed.get(at.date)
        if got is None:
            if len(self._needed) > 4096:
                self._needed.clear()
            got = self._needed[at.date] = self._program._needed(at.active, self.rules)
        return got


def _below(rb: ir.Rulebook) -> tuple[tuple[int, ...], ...]:
    """For each rule, every rule below it in its chains of exceptions (`exception à` is transitive), sorted."""
    out: list[tuple[int, ...] | None] = [None] * len(rb.rules)

    def walk(i: int, seen: frozenset[int]) -> tuple[int, ...]:
        if out[i] is None:
            found: set[int] = set()
            for e in rb.beaten_by[i]:
                if e not in seen:  # the checker refuses cycles (E308); guard anyway
                    found.add(e)
                    found.update(walk(e, seen | {e}))
            out[i] = tuple(sorted(found))
        return out[i]  # type: ignore[return-value]

    return tuple(walk(r.index, frozenset({r.index})) for r in rb.rules)


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
