"""Rule-change audit: what changed between two rulebooks, in their text and in their answers.

Legal teams do not ask "which lines changed" (git says that) but "which buyers, for which
purchases, at which dates, now get another answer". Two stages, data flowing one way:

* `structural(old, new)`: articles, versions, parameters and their dated steps, rules,
  exceptions, citations, facts, enumerations — added, removed or changed, with locations.
* `semantic(old, new)`: for each conclusion (an enumeration member a rule permits, forbids or
  obliges) whose *cone* (the rules, definitions, parameters and article versions its answer
  depends on) differs, the situations are cut into cells at the boundaries the two rulebooks
  themselves draw (every threshold in force at the date ± 0.01 €, every date edge, every
  enumeration member and boolean, a fact not given), the cells are decided on both versions,
  the cells where the answer changes are merged into boxes (regions, written in French) and
  each region gets a minimal witness situation, ready for `cpc-rules decide`.

When the product of cells is under the budget, every cell is decided (exhaustive); above it,
a seeded sample of cells is (`exhaustive: false`). docs/audit-rules.md states the guarantee.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cpc_rules import ir, values
from cpc_rules.diagnostics import CpcError, Span
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.record import asdict, frozen
from cpc_rules.syntax import format as fmt

DEFAULT_BUDGET = 4000
SHRUNK_REGIONS = 12  # regions per change whose witness is reduced to a minimal one

KINDS = {
    "widened": "élargi : désormais autorisé",
    "narrowed": "restreint : désormais interdit ou non autorisé",
    "newly-mandatory": "nouvellement obligatoire",
    "no-longer-mandatory": "n'est plus obligatoire",
    "undetermined": "désormais indéterminé",
    "determined": "n'est plus indéterminé",
    "re-cited": "même réponse, autre fondement",
    "error": "erreur d'évaluation dans une seule des versions",
}


# ---------------------------------------------------------------- structural


@frozen
class StructChange:
    """One element added, removed or changed between the two rulebooks."""

    what: str  # coverage, enumeration, fact, definition, parameter, step, article, version, rule
    change: str  # added, removed, changed
    name: str
    detail: str
    location: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _loc(span: Span | None, root: str | None) -> str | None:
    if span is None:
        return None
    path = span.file
    if root and path.startswith(root):
        path = path[len(root) :].lstrip("/\\") or path
    return f"{path}:{span.line}"


def _period(p: Any) -> str:
    if p is None:
        return "—"
    return f"depuis {p.start.isoformat()}" + (f" jusqu'au {p.end.isoformat()} exclu" if p.end else "")


def _expr(e: ir.Expr | None) -> str | None:
    return None if e is None else fmt.expr(e.src)


def _step_value(p: ir.ParamInfo, v: object) -> str:
    if isinstance(v, dict):
        return " ; ".join(f"{', '.join(k)} : {values.display(x, p.type)}" for k, x in sorted(v.items()))
    return values.display(v, p.type)


def _rule_sig(rb: ir.Rulebook, r: ir.RuleInfo) -> tuple[Any, ...]:
    """What decides a rule's outcome and its citation: not its label, notes or line."""
    return (
        r.kind,
        r.enum,
        r.values,
        rb.definitions[r.define].name if r.define is not None else None,
        _expr(r.value),
        _expr(r.condition),
        tuple(sorted(rb.rules[e].name for e in r.exceptions)),
        rb.articles[r.article].ref,
        r.text,
        tuple(getattr(r, "scope", ())),
    )


def structural(old: ir.Rulebook, new: ir.Rulebook, old_root: str | None = None, new_root: str | None = None) -> list[StructChange]:
    """Every declaration added, removed or changed, in the order of the new rulebook."""
    out: list[StructChange] = []

    def add(what: str, change: str, name: str, detail: str, span: Span | None, removed: bool = False) -> None:
        out.append(StructChange(what, change, name, detail, _loc(span, old_root if removed else new_root)))

    if old.coverage != new.coverage:
        add("coverage", "changed", "couverture", f"{_period(old.coverage)} → {_period(new.coverage)}", None)

    def by_name(items: Iterable[Any], key: str = "name") -> dict[str, Any]:
        return {getattr(x, key): x for x in items}

    def added_removed(what: str, o: dict[str, Any], n: dict[str, Any], describe: Any) -> list[str]:
        for name, x in n.items():
            if name not in o:
                add(what, "added", name, describe(x), x.span)
        for name, x in o.items():
            if name not in n:
                add(what, "removed", name, describe(x), x.span, removed=True)
        return [name for name in n if name in o]

    # enumerations and facts: the situation's vocabulary
    for name in added_removed("enumeration", old.enums, new.enums, lambda e: ", ".join(e.members)):
        a, b = old.enums[name], new.enums[name]
        if a.members != b.members:
            plus = [m for m in b.members if m not in a.members]
            minus = [m for m in a.members if m not in b.members]
            detail = "; ".join(x for x in (f"membres ajoutés : {', '.join(plus)}" if plus else "", f"membres retirés : {', '.join(minus)}" if minus else "") if x) or "ordre des membres"
            add("enumeration", "changed", name, detail, b.span)
    of, nf = by_name(old.facts), by_name(new.facts)
    for name in added_removed("fact", of, nf, lambda f: str(f.type)):
        if of[name].type != nf[name].type:
            add("fact", "changed", name, f"type {of[name].type} → {nf[name].type}", nf[name].span)
        pa, pb = _presumed(of[name]), _presumed(nf[name])
        if pa != pb:
            show = lambda p, f: "aucune" if p is None else f"{values.display(p[0], f.type)} ({p[1]})"
            add("fact", "changed", name, f"présomption {show(pa, of[name])} → {show(pb, nf[name])}", nf[name].span)
    od, nd = by_name(old.definitions), by_name(new.definitions)
    for name in added_removed("definition", od, nd, lambda d: str(d.type)):
        if od[name].type != nd[name].type:
            add("definition", "changed", name, f"type {od[name].type} → {nd[name].type}", nd[name].span)

    # parameters and their dated steps
    op, np_ = by_name(old.params), by_name(new.params)
    for name in added_removed("parameter", op, np_, lambda p: f"{len(p.steps)} période(s)"):
        a, b = op[name], np_[name]
        if (a.type, a.keys) != (b.type, b.keys):
            add("parameter", "changed", name, f"type ou clés : {a.type} selon {', '.join(a.keys) or '—'} → {b.type} selon {', '.join(b.keys) or '—'}", b.span)
        steps_a = {s.period.start: s for s in a.steps}
        steps_b = {s.period.start: s for s in b.steps}
        for start, s in steps_b.items():
            t = steps_a.get(start)
            label = f"{name}, {_period(s.period)}"
            if t is None:
                add("step", "added", label, _step_value(b, s.value), s.span)
                continue
            if t.period.end != s.period.end:
                add("step", "changed", label, f"fin {t.period.end or 'ouverte'} → {s.period.end or 'ouverte'}", s.span)
            if t.value != s.value:
                add("step", "changed", label, f"valeur {_step_value(a, t.value)} → {_step_value(b, s.value)}", s.span)
            if t.source != s.source:
                add("step", "changed", label, f"source « {t.source} » → « {s.source} »", s.span)
            if t.confirm != s.confirm:
                add("step", "changed", label, f"à confirmer « {t.confirm or '—'} » → « {s.confirm or '—'} »", s.span)
        for start, t in steps_a.items():
            if start not in steps_b:
                add("step", "removed", f"{name}, {_period(t.period)}", _step_value(a, t.value), t.span, removed=True)

    # articles and their versions (the citations)
    oa, na = by_name(old.articles, "ref"), by_name(new.articles, "ref")
    for ref in added_removed("article", oa, na, lambda x: x.label or ""):
        a, b = oa[ref], na[ref]
        if a.label != b.label:
            add("article", "changed", ref, f"intitulé « {a.label} » → « {b.label} »", b.span)
        if a.confirm != b.confirm:
            add("article", "changed", ref, f"à confirmer « {a.confirm or '—'} » → « {b.confirm or '—'} »", b.span)
        va = {v.period.start: v for v in a.versions}
        vb = {v.period.start: v for v in b.versions}
        for start, v in vb.items():
            w = va.get(start)
            label = f"{ref}, version {_period(v.period)}"
            if w is None:
                add("version", "added", label, v.legiarti or v.source or "", b.span)
                continue
            if w.period.end != v.period.end:
                add("version", "changed", label, f"fin {w.period.end or 'ouverte'} → {v.period.end or 'ouverte'}", b.span)
            if (w.legiarti, w.source) != (v.legiarti, v.source):
                add("version", "changed", label, f"citation {w.legiarti or '—'} « {w.source} » → {v.legiarti or '—'} « {v.source} »", b.span)
        for start, w in va.items():
            if start not in vb:
                add("version", "removed", f"{ref}, version {_period(w.period)}", w.legiarti or w.source or "", a.span, removed=True)

    # rules, their conditions and exceptions
    orules, nrules = by_name(old.rules), by_name(new.rules)
    for name in added_removed("rule", orules, nrules, lambda r: f"{r.kind} ({(new if r.name in nrules else old).articles[r.article].ref})"):
        a, b = orules[name], nrules[name]
        sa, sb = _rule_sig(old, a), _rule_sig(new, b)
        fields = ("nature", "énumération", "membres", "définition", "valeur", "condition", "exception à", "article", "information ou raison", "portée (non encodé)")
        for field, x, y in zip(fields, sa, sb, strict=True):
            if x != y:
                add("rule", "changed", name, f"{field} : {_show(x)} → {_show(y)}", b.span)
        if (a.label, a.confirm, a.notes) != (b.label, b.confirm, b.notes):
            add("rule", "changed", name, "intitulé, notes ou point à confirmer", b.span)
    return out


def _presumed(f: ir.FactInfo) -> tuple[Any, ...] | None:
    """What a fact is presumed to be when not given (engine presumptions), without its location."""
    p = getattr(f, "presumed", None)
    return None if p is None else (p.value, p.reason, tuple(p.articles))


def _show(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, tuple):
        return ", ".join(map(str, x)) or "—"
    return str(x)


# ---------------------------------------------------------------- cones


@frozen
class Cone:
    """What one conclusion's answer depends on, in one rulebook, by name."""

    facts: frozenset[str]
    params: frozenset[str]
    articles: frozenset[str]
    signature: tuple[Any, ...]


def _item_rules(rb: ir.Rulebook) -> dict[tuple[str, str], list[int]]:
    """The rules a conclusion's status depends on: those that permit, forbid or oblige it, and the
    `non encodé` rules whose scope covers its enumeration (they make it undetermined)."""
    out: dict[tuple[str, str], list[int]] = {}
    for r in rb.rules:
        if r.enum is not None and r.kind in ("permit", "forbid", "oblige"):
            for m in r.values:
                out.setdefault((r.enum, m), []).append(r.index)
    for r in rb.rules:
        for e in getattr(r, "scope", ()):
            for key, rules in out.items():
                if e in (key[0], f"{key[0]}.{key[1]}"):
                    rules.append(r.index)
    return out


def _reads(e: ir.Expr | None) -> list[ir.Expr]:
    return [] if e is None else ir.walk(e)


def _closure(rb: ir.Rulebook, start: Iterable[int], cut: frozenset[str]) -> tuple[set[int], set[int], set[int], set[int], set[str]]:
    """Rules, definitions, facts, parameters a set of rules depends on; definitions in `cut` are not entered."""
    rules: set[int] = set()
    defs: set[int] = set()
    facts: set[int] = set()
    params: set[int] = set()
    cut_defs: set[str] = set()
    todo = list(start)
    while todo:
        i = todo.pop()
        if i in rules:
            continue
        rules.add(i)
        r = rb.rules[i]
        todo.extend(rb.beaten_by[i])
        for n in _reads(r.condition) + _reads(r.value):
            if isinstance(n, ir.FactRef):
                facts.add(n.index)
            elif isinstance(n, ir.ParamRef):
                params.add(n.index)
            elif isinstance(n, ir.DefRef):
                d = rb.definitions[n.index]
                if d.name in cut:
                    cut_defs.add(d.name)
                elif n.index not in defs:
                    defs.add(n.index)
                    todo.extend(d.rules)
    return rules, defs, facts, params, cut_defs


def _signature(rb: ir.Rulebook, rules: set[int], params: set[int]) -> tuple[Any, ...]:
    rs = sorted((rb.rules[i].name, _rule_sig(rb, rb.rules[i]), tuple(v.period for v in rb.articles[rb.rules[i].article].versions)) for i in rules)
    ps = sorted((rb.params[p].name, str(rb.params[p].type), rb.params[p].keys, tuple((s.period, _freeze(s.value)) for s in rb.params[p].steps)) for p in params)
    return (rb.coverage, tuple(rs), tuple(ps))


def _freeze(v: object) -> object:
    return tuple(sorted(v.items())) if isinstance(v, dict) else v


def _stable_definitions(old: ir.Rulebook, new: ir.Rulebook) -> dict[str, str]:
    """Definitions computed the same way in both versions, with the fact that alone sets them.

    Such a definition is a function of the facts that is the same on both sides, so the
    exploration varies its value through its *carrier* (a rule `définit D = fact` without
    condition) instead of through every fact it reads.
    """
    out: dict[str, str] = {}
    for d in new.definitions:
        od = next((x for x in old.definitions if x.name == d.name), None)
        if od is None:
            continue
        r1, _, f1, p1, _ = _closure(new, d.rules, frozenset())
        r2, _, f2, p2, _ = _closure(old, od.rules, frozenset())
        pres1 = sorted((new.facts[f].name, _presumed(new.facts[f])) for f in f1)
        pres2 = sorted((old.facts[f].name, _presumed(old.facts[f])) for f in f2)
        if _signature(new, r1, p1) != _signature(old, r2, p2) or pres1 != pres2:
            continue
        for ri in d.rules:
            r = new.rules[ri]
            if r.condition is None and isinstance(r.value, ir.FactRef) and new.facts[r.value.index].type == d.type:
                out[d.name] = new.facts[r.value.index].name
                break
    return out


def cone(rb: ir.Rulebook, item: tuple[str, str], carriers: Mapping[str, str]) -> Cone:
    start = _item_rules(rb).get(item, [])
    rules, _, facts, params, cut = _closure(rb, start, frozenset(carriers))
    names = {rb.facts[f].name for f in facts} | {carriers[c] for c in cut}
    arts = frozenset(rb.articles[rb.rules[r].article].ref for r in rules)
    presumed = tuple(sorted((f.name, _presumed(f)) for f in rb.facts if f.name in names))
    sig = _signature(rb, rules, params) + (tuple(sorted(cut)), presumed)
    return Cone(frozenset(names), frozenset(rb.params[p].name for p in params), arts, sig)


# ---------------------------------------------------------------- cells


@frozen(order=True)
class Interval:
    """An interval of an ordered type; lo/hi None are unbounded."""

    lo: Any
    lo_incl: bool
    hi: Any
    hi_incl: bool


def _touch(a: Interval, b: Interval) -> bool:
    """a starts before b: do they overlap or meet with no gap?"""
    if a.hi is None:
        return True
    if b.lo is None or a.hi > b.lo:
        return True
    return a.hi == b.lo and (a.hi_incl or b.lo_incl)


def normalize(ivs: Iterable[Interval]) -> tuple[Interval, ...]:
    """The union of intervals as the fewest disjoint ones, sorted."""
    items = sorted(ivs, key=lambda i: (i.lo is not None, i.lo if i.lo is not None else 0, not i.lo_incl))
    out: list[Interval] = []
    for iv in items:
        if out and _touch(out[-1], iv):
            last = out[-1]
            if last.hi is None or (iv.hi is not None and (iv.hi < last.hi or (iv.hi == last.hi and not iv.hi_incl))):
                continue
            out[-1] = Interval(last.lo, last.lo_incl, iv.hi, iv.hi_incl or (iv.hi == last.hi and last.hi_incl))
        else:
            out.append(iv)
    return tuple(out)


@frozen
class Cell:
    """A set of values on which every comparison of the cone gives the same result; `rep` stands for it."""

    rep: Any  # the value put in the situation (None: the fact is not given)
    iv: Interval | None  # ordered types; None for enumerations, booleans and "not given"


_UNIT = {"money": Decimal("0.01"), "percent": Decimal("0.01"), "int": 1, "date": dt.timedelta(days=1)}
_FLOOR = {"money": Decimal(0), "percent": Decimal(0), "int": 0}


def ordered_cells(kind: str, thresholds: Iterable[Any], floor: Any = None) -> list[Cell]:
    """Cells of an ordered type cut at every threshold: below, each threshold, between, above."""
    u = _UNIT[kind]
    lo = _FLOOR.get(kind, floor)
    ts = sorted({t for t in thresholds if lo is None or t >= lo})
    cells: list[Cell] = []
    prev = None
    for t in ts:
        if prev is None:
            if lo is None or t - u >= lo:
                cells.append(Cell(t - u, Interval(lo, True, t, False)))
        elif prev + u < t:
            cells.append(Cell(prev + u, Interval(prev, False, t, False)))
        cells.append(Cell(t, Interval(t, True, t, True)))
        prev = t
    if prev is None:
        cells.append(Cell(lo if lo is not None else floor, Interval(lo, True, None, False)))
    else:
        cells.append(Cell(prev + u, Interval(prev, False, None, False)))
    return cells


@frozen
class Dim:
    name: str
    type: ir.Type


def _consts(rb: ir.Rulebook, rules: Iterable[int]) -> list[ir.Const]:
    out = []
    for i in rules:
        r = rb.rules[i]
        out.extend(n for n in _reads(r.condition) + _reads(r.value) if isinstance(n, ir.Const))
    return out


def _scalars(v: object) -> list[object]:
    return list(v.values()) if isinstance(v, dict) else [v]


# ---------------------------------------------------------------- semantic


@frozen
class Region:
    """Situations where one conclusion changes the same way; `witness` is one of them, minimal."""

    text: str
    box: dict[str, Any]
    witness: dict[str, Any]
    cells: int  # decided cells inside
    old: dict[str, Any]  # the witness's answer on each version
    new: dict[str, Any]
    projected: bool  # guided exploration: the region is read on the facts the difference reads


@frozen
class SemanticChange:
    enum: str
    member: str
    label: str
    kind: str
    old: dict[str, Any]
    new: dict[str, Any]
    articles: tuple[str, ...]
    regions: tuple[Region, ...]
    exhaustive: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "conclusion": {"enum": self.enum, "member": self.member, "label": self.label},
            "kind": self.kind,
            "kind_label": KINDS[self.kind],
            "old": self.old,
            "new": self.new,
            "articles": list(self.articles),
            "exhaustive": self.exhaustive,
            "regions": [
                {"condition": r.text, "box": r.box, "witness": r.witness, "cells": r.cells, "old": r.old, "new": r.new, "other_facts_vary": r.projected} for r in self.regions
            ],
        }


@frozen
class Exploration:
    """How one group of conclusions was explored."""

    conclusions: tuple[str, ...]
    facts: tuple[str, ...]
    cells: int  # size of the product of cells
    decided: int  # situations decided (on each version)
    exhaustive: bool

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _status_list(d: Any) -> Sequence[Any]:
    s = d.statuses
    return s() if callable(s) else s


Outcome = dict[tuple[str, str], tuple[Any, Any, tuple[str, ...]]] | str


def outcome(rb: Any, facts: Mapping[str, Any], date: dt.date, focus: Sequence[str] | None = None) -> Outcome:
    """Each conclusion's (permission, obligation, articles of its grounds), or the error code.

    Decided as `decide` decides by default (presumptions on); `focus` restricts the conclusions
    to some enumerations (about twice as fast: statuses are most of the cost)."""
    try:
        d = rb.decide(facts, at=date, focus=list(focus)) if focus else rb.decide(facts, at=date)
    except CpcError as e:
        return "erreur " + ", ".join(x.code for x in e.diagnostics)
    except EvaluationError as e:
        return "erreur " + e.diagnostic.code
    c = rb.checked
    out: dict[Any, Any] = {}
    for s in _status_list(d):
        arts = tuple(sorted({c.articles[c.rules[g].article].ref for g in s.grounds}))
        out[(s.enum, s.member)] = (s.permission, s.obligation, arts)
        if getattr(s, "unencoded", ()):
            out[(s.enum, UNENCODED)] = True
    return out


UNENCODED = "*non encodé*"  # outcome key: a `non encodé` rule applies or may apply to this enumeration


def pair_status(a: Outcome, b: Outcome, item: tuple[str, str]) -> tuple[Any, Any]:
    """The statuses of one conclusion on both sides. A conclusion one version has no rule for is
    read as that version would answer it with the other's kinds of rules and none applying:
    undetermined where a `non encodé` rule covers its enumeration, else no status."""
    x = a if isinstance(a, str) else a.get(item)
    y = b if isinstance(b, str) else b.get(item)
    if x is None and isinstance(y, tuple) and isinstance(a, dict):
        x = _absent(y, a.get((item[0], UNENCODED), False))
    if y is None and isinstance(x, tuple) and isinstance(b, dict):
        y = _absent(x, b.get((item[0], UNENCODED), False))
    return x, y


def _absent(shape: tuple[Any, Any, Any], unencoded: bool) -> tuple[Any, Any, tuple[str, ...]]:
    if not unencoded:
        return (None, None, ())
    return ("undetermined" if shape[0] is not None else None, "undetermined" if shape[1] is not None else None, ())


def _status_json(o: Any) -> dict[str, Any]:
    if isinstance(o, str):
        return {"error": o}
    if o is None:
        return {"permission": None, "obligation": None, "grounds": []}
    return {"permission": o[0], "obligation": o[1], "grounds": list(o[2])}


_PERM_RANK = {"allowed": 2, "undetermined": 1, "not_allowed": 0, "forbidden": 0, None: 0}


def _effective(o: Any) -> tuple[Any, Any, tuple[str, ...]]:
    o = o or (None, None, ())
    return (o[0] or "not_allowed", o[1] or "not_mandatory", o[2])


def change_kind(a: Any, b: Any) -> str | None:
    """The kind of change of one conclusion between two outcomes (None: no change)."""
    if isinstance(a, str) or isinstance(b, str):
        return None if a == b else "error"
    # no rule at all about a member answers as "not allowed" / "not mandatory" do
    a = _effective(a)
    b = _effective(b)
    if a[1] != b[1]:
        if b[1] == "undetermined":
            return "undetermined"
        if b[1] == "mandatory":
            return "newly-mandatory"
        if a[1] == "mandatory":
            return "no-longer-mandatory"
        return "determined"
    if a[0] != b[0]:
        if b[0] == "undetermined":
            return "undetermined"
        if b[0] == "allowed":
            return "widened"
        if a[0] == "allowed":
            return "narrowed"
        if a[0] == "undetermined":
            return "determined"
        if b[0] == "forbidden":
            return "narrowed"  # not allowed → forbidden: a prohibition now stands
        return "re-cited"  # forbidden → not allowed: same effect, another ground
    if a[2] != b[2]:
        return "re-cited"
    return None


def _json_value(v: Any, t: ir.Type) -> Any:
    if v is None:
        return None
    if t.kind == "list":
        return []
    return values.to_json(v, t, {})


class _Explorer:
    def __init__(self, old: Any, new: Any, budget: int, seed: int) -> None:
        self.old, self.new = old, new
        self.budget = budget
        self.seed = seed
        o, n = old.checked, new.checked
        self.carriers = _stable_definitions(o, n)
        types: dict[str, ir.Type] = {f.name: f.type for f in o.facts}
        types.update({f.name: f.type for f in n.facts})
        self.types = types
        self._cache: dict[Any, tuple[Outcome, Outcome]] = {}
        covs = [c for c in (o.coverage, n.coverage) if c is not None]
        self.start = max((c.start for c in covs), default=None)
        ends = [c.end for c in covs if c.end is not None]
        self.end = min(ends) if ends else None

    def _date_edges(self, params: set[str], articles: set[str]) -> list[dt.date]:
        edges: set[dt.date] = set()
        for rb in (self.old.checked, self.new.checked):
            for p in rb.params:
                if p.name in params:
                    for s in p.steps:
                        edges.update(x for x in (s.period.start, s.period.end) if x)
            for a in rb.articles:
                if a.ref in articles:
                    for v in a.versions:
                        edges.update(x for x in (v.period.start, v.period.end) if x)
            if rb.coverage:
                edges.update(x for x in (rb.coverage.start, rb.coverage.end) if x)
        if self.start is None:
            self.start = min(edges, default=dt.date(2000, 1, 1))
        return sorted(e for e in edges if e >= self.start and (self.end is None or e < self.end)) or [self.start]

    def _thresholds(self, params: set[str], consts: list[ir.Const], d: dt.date) -> dict[str, set[Any]]:
        out: dict[str, set[Any]] = {"money": set(), "percent": set(), "int": set(), "date": set()}
        for rb in (self.old.checked, self.new.checked):
            for p in rb.params:
                if p.name in params and p.type.kind in out:
                    s = p.step_at(d)
                    if s is not None:
                        out[p.type.kind].update(x for x in _scalars(s.value) if x is not None)
        for c in consts:
            if c.type.kind in out and c.value is not None:
                out[c.type.kind].add(c.value)
        return out

    def dims_cells(self, facts: Sequence[str], params: set[str], consts: list[ir.Const], d: dt.date) -> list[list[Cell]]:
        th = self._thresholds(params, consts, d)
        out = []
        for name in facts:
            t = self.types[name]
            if t.kind == "enum":
                members: list[str] = []
                for rb in (self.old.checked, self.new.checked):
                    e = rb.enums.get(t.name or "")
                    if e:
                        members.extend(m for m in e.members if m not in members)
                cells = [Cell(m, None) for m in members]
            elif t.kind == "bool":
                cells = [Cell(False, None), Cell(True, None)]
            elif t.kind == "list":
                cells = [Cell([], None)]
            else:
                cells = ordered_cells(t.kind, th[t.kind], floor=self.start)
            out.append(cells + [Cell(None, None)])
        return out

    def _delta_facts(self, items: Sequence[tuple[str, str]], d: dt.date) -> set[str]:
        """The facts read by what differs at date `d`: changed rules, rules in force on one side only,
        rules reading a parameter whose value differs at `d` or a definition computed differently.
        Empty: every conclusion of the group is computed the same way at `d` (proved, not sampled)."""
        o, n = self.old.checked, self.new.checked
        cut = frozenset(self.carriers)

        def state(rb: ir.Rulebook) -> tuple[dict[str, Any], dict[str, Any]]:
            start = [i for item in items for i in _item_rules(rb).get(item, [])]
            rules, _, _, _, _ = _closure(rb, start, cut)
            rs = {}
            for i in rules:
                r = rb.rules[i]
                on = rb.articles[r.article].version_at(d) is not None
                rs[r.name] = (on, _rule_sig(rb, r)) if on else (False,)
            ps = {}
            for p in rb.params:
                s = p.step_at(d)
                ps[p.name] = (str(p.type), p.keys, _freeze(s.value) if s else None)
            return rs, ps

        (ro, po), (rn, pn) = state(o), state(n)
        changed_params = {p for p in set(po) | set(pn) if po.get(p) != pn.get(p)}
        fo = {f.name: _presumed(f) for f in o.facts}
        fn = {f.name: _presumed(f) for f in n.facts}
        changed_facts = {f for f in set(fo) | set(fn) if fo.get(f) != fn.get(f)}
        changed_defs: set[str] = set()
        delta: set[str] = {name for name in set(ro) | set(rn) if ro.get(name) != rn.get(name)}
        facts: set[str] = set()
        while True:
            before = (len(delta), len(changed_defs))
            for rb in (o, n):
                for r in rb.rules:
                    if r.name not in ro and r.name not in rn:
                        continue
                    nodes = _reads(r.condition) + _reads(r.value)
                    if r.name in delta or any(
                        (isinstance(x, ir.ParamRef) and rb.params[x.index].name in changed_params)
                        or (isinstance(x, ir.DefRef) and rb.definitions[x.index].name in changed_defs)
                        or (isinstance(x, ir.FactRef) and rb.facts[x.index].name in changed_facts)
                        for x in nodes
                    ):
                        delta.add(r.name)
                        if r.define is not None:
                            changed_defs.add(rb.definitions[r.define].name)
            if (len(delta), len(changed_defs)) == before:
                break
        for rb in (o, n):
            idx = [r.index for r in rb.rules if r.name in delta]
            _, _, fs, _, cuts = _closure(rb, idx, cut)
            facts |= {rb.facts[f].name for f in fs} | {self.carriers[c] for c in cuts}
        return facts

    def explore(self, items: Sequence[tuple[str, str]], facts: Sequence[str], params: set[str], articles: set[str], consts: list[ir.Const]) -> tuple[dict[Any, list[Any]], Exploration]:
        """Decide the cells of one group on both versions; the changed cells per (item, kind, old, new).

        Date cells where nothing differs are skipped (proved equal). Then: every cell when the
        product is within the budget (exhaustive); else every cell of the facts the difference
        reads, the other facts taking a few guided assignments (all "first" cells — booleans
        false —, all not given, then random ones); else a seeded random sample.
        """
        edges = self._date_edges(params, articles)
        plan = []
        total = 0
        for k, d in enumerate(edges):
            hi = edges[k + 1] if k + 1 < len(edges) else self.end
            primary = self._delta_facts(items, d)
            if not primary and not self._differs_at(items, d):
                continue
            cells = self.dims_cells(facts, params, consts, d)
            size = 1
            for c in cells:
                size *= len(c)
            plan.append((d, Interval(d, True, hi, False), cells, size, primary))
            total += size
        mode = "exhaustive" if total <= self.budget else "guided"
        focus = tuple(sorted({e for e, _ in items}))
        rng = random.Random(self.seed)
        found: dict[Any, list[Any]] = {}
        decided = 0
        for d, div, cells, _size, primary in plan:
            if mode == "exhaustive":
                points: Iterable[tuple[int, ...]] = itertools.product(*(range(len(c)) for c in cells))
            else:
                points = self._guided(facts, cells, primary, rng, max(1, self.budget // len(plan)))
            for p in points:
                situation = {facts[i]: _json_value(cells[i][j].rep, self.types[facts[i]]) for i, j in enumerate(p) if cells[i][j].rep is not None}
                a, b = self.pair(situation, d, focus)
                decided += 1
                if a == b:
                    continue
                for item in items:
                    x, y = pair_status(a, b, item)
                    kind = change_kind(x, y)
                    if kind is None:
                        continue
                    found.setdefault((item, kind), []).append(
                        (d, div, tuple(cells[i][j] for i, j in enumerate(p)), situation, x, y, None if mode == "exhaustive" else frozenset(primary))
                    )
        return found, Exploration(tuple(f"{e}.{m}" for e, m in items), tuple(facts), total, decided, mode == "exhaustive")

    def _differs_at(self, items: Sequence[tuple[str, str]], d: dt.date) -> bool:
        """Whether coverage differs at `d` (a date covered by one version only)."""
        o, n = self.old.checked, self.new.checked
        return (o.coverage is None or o.coverage.contains(d)) != (n.coverage is None or n.coverage.contains(d))

    def _guided(self, facts: Sequence[str], cells: list[list[Cell]], primary: set[str], rng: random.Random, budget: int) -> list[tuple[int, ...]]:
        prim = [i for i, f in enumerate(facts) if f in primary]
        sec = [i for i, f in enumerate(facts) if f not in primary]
        size = 1
        for i in prim:
            size *= len(cells[i])
        assignments: list[dict[int, int]] = [{i: 0 for i in sec}, {i: len(cells[i]) - 1 for i in sec}]
        per = max(len(assignments), budget // max(size, 1))
        while len(assignments) < min(per, 64):
            assignments.append({i: rng.randrange(len(cells[i])) for i in sec})
        out: list[tuple[int, ...]] = []
        if size <= budget * 2:  # every cell of the difference, two guided assignments of the others at least: up to 4 × budget
            for combo in itertools.product(*(range(len(cells[i])) for i in prim)):
                for sa in assignments[: max(2, budget // max(size, 1))]:
                    point = [0] * len(facts)
                    for i, j in zip(prim, combo, strict=True):
                        point[i] = j
                    for i, j in sa.items():
                        point[i] = j
                    out.append(tuple(point))
        else:  # too many cells even for the facts of the difference: sample them, the others guided as above
            seen = set()
            for k in range(budget):
                point = [0] * len(facts)
                for i in prim:
                    point[i] = rng.randrange(len(cells[i]))
                for i, j in assignments[k % len(assignments)].items():
                    point[i] = j
                seen.add(tuple(point))
            out = sorted(seen)
        return list(dict.fromkeys(out))

    def pair(self, situation: dict[str, Any], d: dt.date, focus: tuple[str, ...] = ()) -> tuple[Outcome, Outcome]:
        """Both versions' outcomes for one situation, cached (shrinking asks for the same ones again)."""
        key = (d, focus, tuple(sorted((k, json_key(v)) for k, v in situation.items())))
        hit = self._cache.get(key)
        if hit is None:
            fo = tuple(e for e in focus if e in self.old.checked.enums)
            fn = tuple(e for e in focus if e in self.new.checked.enums)
            hit = (outcome(self.old, self._only(self.old, situation), d, fo), outcome(self.new, self._only(self.new, situation), d, fn))
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    @staticmethod
    def _only(rb: Any, situation: dict[str, Any]) -> dict[str, Any]:
        names = {f.name for f in rb.checked.facts}
        return {k: v for k, v in situation.items() if k in names}


def json_key(v: Any) -> Any:
    return tuple(json_key(x) for x in v) if isinstance(v, list) else v


# ---------------------------------------------------------------- regions


_DISCRETE = ("enum", "bool", "list")


ANY = "*"  # a fact the region does not constrain (guided exploration: the other facts vary)


def _box_of(names: Sequence[str], kinds: Sequence[str], point: Any) -> tuple[Any, ...]:
    """A decided cell as a box: date interval, then per fact a set of values or of intervals."""
    _, div, cells, _, _, _, primary = point
    comps: list[Any] = [(normalize([div]), False)]
    for name, kind, c in zip(names, kinds, cells, strict=True):
        if primary is not None and name not in primary:
            comps.append(ANY)
        elif kind in _DISCRETE:
            comps.append(frozenset([_hashable(c.rep)]))
        elif c.iv is not None:
            comps.append((normalize([c.iv]), False))
        else:
            comps.append(((), True))
    return tuple(comps)


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


def _union(a: Any, b: Any) -> Any:
    if a == ANY or b == ANY:
        return ANY
    if isinstance(a, frozenset):
        return a | b
    return (normalize(a[0] + b[0]), a[1] or b[1])


def merge_boxes(boxes: list[tuple[Any, ...]], order: Sequence[int] | None = None) -> list[tuple[Any, ...]]:
    """Merge boxes that differ in one component only, until none do: each result is a union of explored cells.

    Greedy: the result depends on the order the components are merged in (`order`)."""
    current = list(dict.fromkeys(boxes))
    if not current:
        return []
    ndims = len(current[0])
    changed = True
    while changed:
        changed = False
        for k in order if order is not None else range(ndims):
            groups: dict[Any, Any] = {}
            for b in current:
                key = b[:k] + b[k + 1 :]
                groups[key] = b[k] if key not in groups else _union(groups[key], b[k])
            if len(groups) < len(current):
                changed = True
                current = [key[:k] + (comp,) + key[k:] for key, comp in groups.items()]
    return current


def _money(v: Any) -> str:
    return values.french_number(v)


def _iv_text(kind: str, iv: Interval) -> str:
    show = _money if kind in ("money", "percent") else str
    unit = {"money": " €", "percent": " %"}.get(kind, "")
    if kind == "date":
        lo = iv.lo.isoformat() if iv.lo else None
        hi = iv.hi.isoformat() if iv.hi else None
        if iv.lo == iv.hi:
            return f"le {lo}"
        if lo and hi:
            return f"du {lo}{'' if iv.lo_incl else ' exclu'} au {hi}{'' if iv.hi_incl else ' exclu'}"
        return f"à partir du {lo}" + ("" if iv.lo_incl else " exclu") if lo else f"avant le {hi}"
    if iv.lo == iv.hi and iv.lo is not None:
        return f"= {show(iv.lo)}{unit}"
    lo = show(iv.lo) if iv.lo is not None else "-∞"
    hi = show(iv.hi) if iv.hi is not None else "+∞"
    return f"dans {'[' if iv.lo_incl else ']'}{lo} ; {hi}{']' if iv.hi_incl else '['}{unit}"


def _full(kind: str, comp: Any, floor: Any) -> bool:
    ivs, has_none = comp
    return has_none and len(ivs) == 1 and ivs[0].hi is None and (ivs[0].lo is None or ivs[0].lo == _FLOOR.get(kind, floor))


def region_text(facts: Sequence[str], types: Mapping[str, ir.Type], box: tuple[Any, ...], all_values: Sequence[frozenset[Any]], start: Any, end: Any) -> tuple[str, dict[str, Any]]:
    """A box in French ("acheteur = …, valeur_estimée_besoin dans [40 000 ; 60 000[ €, consultation à partir du …") and in JSON."""
    parts: list[str] = []
    js: dict[str, Any] = {}
    for k, name in enumerate(facts):
        comp = box[k + 1]
        t = types[name]
        if comp == ANY:
            continue
        if isinstance(comp, frozenset):
            if comp >= all_values[k]:
                continue
            given = [v for v in sorted(comp, key=lambda x: (x is None, str(x))) if v is not None]
            js[name] = {"values": [v if not isinstance(v, tuple) else list(v) for v in given], "not_given": None in comp}
            if None not in comp and set(given) == {v for v in all_values[k] if v is not None} and len(given) > 1:
                parts.append(f"{name} donné (toute valeur)")
                continue
            words = [("vrai" if v else "faux") if isinstance(v, bool) else ("[]" if v == () else str(v)) for v in given]
            if not words:
                parts.append(f"{name} non donné")
            else:
                parts.append(f"{name} = {' ou '.join(words)}" + (" ou non donné" if None in comp else ""))
            continue
        ivs, has_none = comp
        if _full(t.kind, comp, start):
            continue
        texts = [_iv_text(t.kind, iv) for iv in ivs]
        if t.kind == "date":
            texts = [x.replace("le ", "", 1) if x.startswith("le ") else x for x in texts]
        if has_none:
            texts.append("non donné")
        parts.append(f"{name} {' ou '.join(texts)}" if ivs else f"{name} non donné")
        js[name] = {"intervals": [_iv_json(t.kind, iv) for iv in ivs], "not_given": has_none}
    ivs, _ = box[0]
    dates = []
    for iv in ivs:
        hi = None if (end is not None and iv.hi == end) else iv.hi
        dates.append(_iv_text("date", Interval(iv.lo, iv.lo_incl, hi, iv.hi_incl)))
    parts.append("consultation " + " ou ".join(dates))
    js["date"] = [_iv_json("date", iv) for iv in ivs]
    return ", ".join(parts), js


def _iv_json(kind: str, iv: Interval) -> dict[str, Any]:
    def j(v: Any) -> Any:
        if v is None:
            return None
        return v.isoformat() if isinstance(v, dt.date) else values.to_json(v, ir.Type(kind), {}) if kind in ("money", "percent") else v  # type: ignore[arg-type]

    return {"from": j(iv.lo), "from_included": iv.lo_incl, "to": j(iv.hi), "to_included": iv.hi_incl}


def _in_box(box: tuple[Any, ...], point_box: tuple[Any, ...]) -> bool:
    for comp, pc in zip(box, point_box, strict=True):
        if comp == ANY:
            continue
        if isinstance(comp, frozenset):
            if not pc <= comp:
                return False
        else:
            if pc[1] and not comp[1]:
                return False
            for piv in pc[0]:
                if not any(_iv_within(piv, iv) for iv in comp[0]):
                    return False
    return True


def _iv_within(a: Interval, b: Interval) -> bool:
    lo_ok = b.lo is None or (a.lo is not None and (a.lo > b.lo or (a.lo == b.lo and (b.lo_incl or not a.lo_incl))))
    hi_ok = b.hi is None or (a.hi is not None and (a.hi < b.hi or (a.hi == b.hi and (b.hi_incl or not a.hi_incl))))
    return lo_ok and hi_ok


# ---------------------------------------------------------------- the report


@frozen
class Report:
    structural: tuple[StructChange, ...]
    semantic: tuple[SemanticChange, ...]
    explored: tuple[Exploration, ...]

    @property
    def kinds(self) -> set[str]:
        return {c.kind for c in self.semantic}

    def to_json(self) -> dict[str, Any]:
        return {
            "structural": [c.to_json() for c in self.structural],
            "semantic": [c.to_json() for c in self.semantic],
            "explored": [e.to_json() for e in self.explored],
            "exhaustive": all(e.exhaustive for e in self.explored),
        }


def semantic(old: Any, new: Any, budget: int = DEFAULT_BUDGET, seed: int = 0) -> tuple[list[SemanticChange], list[Exploration]]:
    """The conclusions whose answer changes, with their regions and witnesses (see the module's docstring)."""
    ex = _Explorer(old, new, budget, seed)
    o, n = old.checked, new.checked
    items_o, items_n = _item_rules(o), _item_rules(n)
    items = list(items_n) + [i for i in items_o if i not in items_n]
    groups: dict[tuple[Any, ...], list[tuple[str, str]]] = {}
    info: dict[tuple[Any, ...], tuple[set[str], set[str], list[ir.Const]]] = {}
    for item in items:
        co, cn = cone(o, item, ex.carriers), cone(n, item, ex.carriers)
        if co.signature == cn.signature:
            continue  # same rules, same parameters, same versions: the same answer everywhere
        facts = tuple(sorted(co.facts | cn.facts))
        params = set(co.params | cn.params)
        articles = set(co.articles | cn.articles)
        key = (facts, tuple(sorted(params)), tuple(sorted(articles)))
        groups.setdefault(key, []).append(item)
        if key not in info:
            consts = _consts(o, _closure(o, items_o.get(item, []), frozenset(ex.carriers))[0]) + _consts(n, _closure(n, items_n.get(item, []), frozenset(ex.carriers))[0])
            info[key] = (params, articles, consts)
        else:
            info[key][2].extend(_consts(o, _closure(o, items_o.get(item, []), frozenset(ex.carriers))[0]) + _consts(n, _closure(n, items_n.get(item, []), frozenset(ex.carriers))[0]))
    changes: list[SemanticChange] = []
    explored: list[Exploration] = []
    labels = {}
    for rb in (o, n):
        for e in rb.enums.values():
            for m in e.members:
                labels[(e.name, m)] = e.labels.get(m) or m
    for key, group in groups.items():
        facts = key[0]
        params, articles, consts = info[key]
        found, exp = ex.explore(group, facts, params, articles, consts)
        explored.append(exp)
        kinds = [ex.types[f].kind for f in facts]
        for (item, kind), points in found.items():
            all_values = []
            for name in facts:
                vals = {_hashable(c.rep) for c in ex.dims_cells([name], params, consts, points[0][0])[0]}
                all_values.append(frozenset(vals))
            point_boxes = [_box_of(facts, kinds, p) for p in points]
            ordered = [k + 1 for k, kind in enumerate(kinds) if kind not in _DISCRETE]
            discrete = [k + 1 for k, kind in enumerate(kinds) if kind in _DISCRETE]
            tries = [merge_boxes(point_boxes, order) for order in (None, ordered + [0] + discrete, [0] + ordered + discrete, ordered + discrete + [0])]
            boxes = min(tries, key=len)
            regions = []
            texts = {box: region_text(facts, ex.types, box, all_values, ex.start, ex.end) for box in boxes}
            for box in sorted(boxes, key=lambda b: (_box_order(b), texts[b][0])):  # deterministic: sets print in a fixed order
                text, js = texts[box]
                inside = [p for p in points if _in_box(box, _box_of(facts, kinds, p))]
                if len(regions) < SHRUNK_REGIONS:
                    witness, x, y = _shrink(ex, item, kind, inside[0])
                else:  # past the first regions, the cell's own situation (valid, not minimal)
                    witness, x, y = {"date": inside[0][0].isoformat(), "faits": dict(inside[0][3])}, inside[0][4], inside[0][5]
                projected = inside[0][6] is not None
                if projected:
                    text += " (pour certaines valeurs des autres faits : voir le témoin)"
                regions.append(Region(text, js, witness, len(inside), _status_json(x), _status_json(y), projected))
            grounds_old = {g for p in points if isinstance(p[4], tuple) for g in p[4][2]}
            grounds_new = {g for p in points if isinstance(p[5], tuple) for g in p[5][2]}
            arts = sorted(grounds_old ^ grounds_new) or sorted(grounds_old | grounds_new)
            if not arts:
                arts = sorted({o.articles[o.rules[r].article].ref for r in items_o.get(item, [])} | {n.articles[n.rules[r].article].ref for r in items_n.get(item, [])})
            first = regions[0]
            changes.append(SemanticChange(item[0], item[1], labels.get(item, item[1]), kind, first.old, first.new, tuple(arts), tuple(regions), exp.exhaustive))
    changes.sort(key=lambda c: (c.articles, c.enum, c.member, c.kind))
    return changes, explored


def _box_order(box: tuple[Any, ...]) -> Any:
    ivs = box[0][0]
    return ivs[0].lo if ivs else dt.date.min


def _shrink(ex: _Explorer, item: tuple[str, str], kind: str, point: Any) -> tuple[dict[str, Any], Any, Any]:
    """A minimal witness: drop every fact whose absence keeps the same change (the answer's kind)."""
    d, situation, x, y = point[0], point[3], point[4], point[5]
    current = dict(situation)
    for name in list(current):
        trial = {k: v for k, v in current.items() if k != name}
        a, b = ex.pair(trial, d, (item[0],))
        xx, yy = pair_status(a, b, item)
        if change_kind(xx, yy) == kind:
            current, x, y = trial, xx, yy
    return {"date": d.isoformat(), "faits": current}, x, y


def diff(old: Any, new: Any, old_root: str | None = None, new_root: str | None = None, budget: int = DEFAULT_BUDGET, seed: int = 0) -> Report:
    """Both stages on two loaded rulebooks (`api.Rulebook`)."""
    st = structural(old.checked, new.checked, old_root, new_root)
    sem, explored = semantic(old, new, budget, seed)
    return Report(tuple(st), tuple(sem), tuple(explored))


# ---------------------------------------------------------------- a corpus of situations


def corpus(old: Any, new: Any, situations: Iterable[tuple[int, dict[str, Any], dt.date]]) -> dict[str, Any]:
    """Among given situations (line, facts, date), those whose answer changes."""
    changed = []
    total = 0
    for line, facts, date in situations:
        total += 1
        a = outcome(old, _Explorer._only(old, facts), date)
        b = outcome(new, _Explorer._only(new, facts), date)
        if a == b:
            continue
        diffs = []
        keys = sorted(k for k in set(a if isinstance(a, dict) else ()) | set(b if isinstance(b, dict) else ()) if k[1] != UNENCODED)
        if isinstance(a, str) or isinstance(b, str):
            diffs.append({"conclusion": None, "kind": "error", "old": _status_json(a if isinstance(a, str) else None), "new": _status_json(b if isinstance(b, str) else None)})
        for k in keys:
            x, y = pair_status(a, b, k)
            kind = change_kind(x, y)
            if kind and kind != "error":
                diffs.append({"conclusion": f"{k[0]}.{k[1]}", "kind": kind, "old": _status_json(x), "new": _status_json(y)})
        if diffs:
            changed.append({"line": line, "date": date.isoformat(), "changes": diffs})
    return {"situations": total, "changed": len(changed), "list": changed}


# ---------------------------------------------------------------- rendering


def render_text(report: Report, markdown: bool = False, corpus_result: dict[str, Any] | None = None) -> str:
    h1, h2, h3 = ("# ", "## ", "### ") if markdown else ("", "", "  ")
    bullet = "- " if markdown else "  • "
    lines: list[str] = []
    lines.append(f"{h1}Changements de règles")
    lines.append("")
    lines.append(f"{h2}Changements de texte ({len(report.structural)})")
    lines.append("")
    what = {
        "coverage": ("couverture", "e"),
        "enumeration": ("énumération", "e"),
        "fact": ("fait", ""),
        "definition": ("définition", "e"),
        "parameter": ("paramètre", ""),
        "step": ("période de paramètre", "e"),
        "article": ("article", ""),
        "version": ("version d'article", "e"),
        "rule": ("règle", "e"),
    }
    change = {"added": "ajouté", "removed": "retiré", "changed": "modifié"}
    for c in report.structural:
        loc = f" ({c.location})" if c.location else ""
        name = f"`{c.name}`" if markdown else c.name
        noun, agree = what.get(c.what, (c.what, ""))
        lines.append(f"{bullet}{noun} {change[c.change]}{agree} : {name}{' — ' + c.detail if c.detail else ''}{loc}")
    if not report.structural:
        lines.append(f"{bullet}aucun")
    lines.append("")
    lines.append(f"{h2}Changements de réponses ({len(report.semantic)})")
    lines.append("")
    if not report.semantic:
        lines.append(f"{bullet}aucune réponse ne change dans l'espace exploré")
        lines.append("")
    by_article: dict[str, list[SemanticChange]] = {}
    for c in report.semantic:
        by_article.setdefault(", ".join(c.articles) or "sans article", []).append(c)
    for art, changes in by_article.items():
        lines.append(f"{h3}{art}")
        lines.append("")
        for c in changes:
            lines.append(f"{bullet}{c.label} ({c.enum}.{c.member}) : {KINDS[c.kind]}{'' if c.exhaustive else ' [exploration guidée, non exhaustive]'}")
            shown = c.regions[:8]
            for r in shown:
                w = _witness_text(r.witness)
                ans = f"{_status_words(r.old)} → {_status_words(r.new)}"
                if markdown:
                    lines.append(f"  - quand {r.text} : {ans}")
                    lines.append(f"    témoin : `{w}`")
                else:
                    lines.append(f"      quand {r.text} : {ans}")
                    lines.append(f"        témoin : {w}")
            if len(c.regions) > len(shown):
                lines.append(f"{'  - ' if markdown else '      '}… {len(c.regions) - len(shown)} autre(s) région(s) (voir --format json)")
        lines.append("")
    total = sum(e.cells for e in report.explored)
    decided = sum(e.decided for e in report.explored)
    sampled = [e for e in report.explored if not e.exhaustive]
    lines.append(f"{h2}Exploration")
    lines.append("")
    if report.explored:
        lines.append(
            f"{bullet}{len(report.explored)} groupe(s) de conclusions dont les règles ou les paramètres diffèrent ; {total} cellule(s) de situations, {decided} situation(s) décidée(s) sur chaque version"
        )
        if sampled:
            lines.append(f"{bullet}exploration guidée, non exhaustive (voir docs/audit-rules.md) : {', '.join(', '.join(e.conclusions) for e in sampled)}")
        else:
            lines.append(f"{bullet}exploration exhaustive des cellules (voir docs/audit-rules.md pour la garantie)")
    else:
        lines.append(f"{bullet}aucune conclusion ne dépend d'une règle, d'un paramètre ou d'une version modifiés")
    if corpus_result is not None:
        lines.append("")
        lines.append(f"{h2}Situations fournies")
        lines.append("")
        lines.append(f"{bullet}{corpus_result['changed']} situation(s) sur {corpus_result['situations']} changent de réponse")
        for s in corpus_result["list"]:
            for d in s["changes"]:
                lines.append(f"{bullet}ligne {s['line']} ({s['date']}) : {d['conclusion'] or 'décision'} — {KINDS[d['kind']]} — {_status_words(d['old'])} → {_status_words(d['new'])}")
    return "\n".join(lines).rstrip() + "\n"


def _status_words(s: dict[str, Any]) -> str:
    if "error" in s:
        return s["error"]
    parts = [values.STATUS_WORDS[x] for x in (s["permission"], s["obligation"]) if x is not None] or [values.STATUS_WORDS[None]]
    g = f" ({', '.join(s['grounds'])})" if s.get("grounds") else ""
    return " et ".join(parts) + g


def _witness_text(w: dict[str, Any]) -> str:
    import json

    return json.dumps(w, ensure_ascii=False, separators=(", ", ": "))
