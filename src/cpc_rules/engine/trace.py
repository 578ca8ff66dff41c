"""Compile, once per rulebook, the function that builds a decision's trace tree.

The traced run recorded the value of every expression node it reached; the trace
is the IR decorated with those values: conclusion ← rule (article, version) ←
conditions ← facts and parameters. Everything that does not depend on the
situation (an expression's text, its type, labels, notes) is fixed when the
rulebook is compiled, so the generated `trace` function only reads node values
and writes dict literals: no formatting, no walk of the IR, no type tests.
Like engine/compile.py, it is built from the IR's shape alone; every text of the
rulebook is a constant `k…`, never spliced into code.

A node the run did not reach (a short-circuit, a rule not in force) is marked
as not evaluated; its sub-nodes are not listed, since none of them was either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cpc_rules import ir, values
from cpc_rules.engine import prebuilt
from cpc_rules.engine.compile import Constants
from cpc_rules.engine.evaluate import NOT_EVALUATED, AtDate
from cpc_rules.engine.runtime import Unknown
from cpc_rules.syntax import format as fmt


def _number_texts(unit: str) -> Callable[[Any], tuple[str, str]]:
    """`texts(x)`: the JSON and display text of an amount (unit "€") or a percentage ("%"), memoised.

    Formatting a Decimal costs more than the rest of a trace node, and the same
    values recur (parameters, a fact read by several rules, round amounts).
    """
    memo: dict[Any, tuple[str, str]] = {}

    def texts(x: Any) -> tuple[str, str]:
        hit = memo.get(x)
        if hit is None:
            plain = format(x, "f")
            if "." in plain:
                plain = plain.rstrip("0").rstrip(".")
            hit = (plain, f"{values.french_number(x)} {unit}")
            if len(memo) > 4096:
                memo.clear()
            memo[x] = hit
        return hit

    return texts


def _list_texts(records: dict[str, Any]) -> Callable[[Any, ir.Type], tuple[Any, str]]:
    """`texts(x, t)` for a list of records, memoised by identity: one fact tuple is read by many nodes.

    An entry keeps `x` alive, so its id cannot be reused while it is cached.
    """
    memo: dict[int, tuple[Any, Any, str]] = {}

    def texts(x: Any, t: ir.Type) -> tuple[Any, str]:
        hit = memo.get(id(x))
        if hit is None or hit[0] is not x:
            hit = (x, values.to_json(x, t, records), values.display(x, t))
            if len(memo) > 256:
                memo.clear()
            memo[id(x)] = hit
        return hit[1], hit[2]

    return texts


def _step_json(step: ir.StepInfo) -> dict[str, Any]:
    out = {**values.period_json(step.period), "source": step.source}
    if step.confirm:
        out["to_confirm"] = step.confirm
    return out


_FLAT_BEYOND = 40  # indentation levels; see _Gen._flat_node


class _Gen:
    """Writes the `trace` function: one block per rule, one nested block per expression node."""

    def __init__(self, rb: ir.Rulebook) -> None:
        self.rb = rb
        self.constants = Constants()
        self.lines: list[str] = []
        self.depth = 1
        self.counter = 0
        self.slots: dict[tuple[str, int], str] = {}

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def k(self, value: Any) -> str:
        return self.constants.name(value)

    def tmp(self) -> str:
        self.counter += 1
        return f"n{self.counter}"

    def known(self, t: ir.Type, x: str) -> str:
        """The `"value": …, "display": …` members of a known value held in `x`."""
        if t.kind == "bool":
            return f'"value": {x}, "display": "vrai" if {x} else "faux"'
        if t.kind in ("money", "percent"):
            self.emit(f"j, s = {'MONEY' if t.kind == 'money' else 'PERCENT'}({x})")
            return '"value": j, "display": s'
        if t.kind == "list":
            self.emit(f"j, s = LIST({x}, {self.k(t)})")
            return '"value": j, "display": s'
        if t.kind == "date":
            return f'"value": {x}.isoformat(), "display": {x}.isoformat()'
        return f'"value": {x}, "display": str({x})'

    def node(self, e: ir.Expr) -> str:
        """Emit the statements building the trace node of `e`; return the variable holding it.

        A fact, a definition or a parameter without keys has one value in a
        decision: its evaluated node is built once per trace and shared by every
        place that reads it (the tree is read-only data).
        """
        n = self.tmp()
        head = f'"expr": {self.k(fmt.expr(e.src))}, "type": {self.k(str(e.type))}'
        if isinstance(e, ir.Const):
            self.emit(f'{n} = {{{head}, "outcome": "known", {self.known(e.type, self.k(e.value))}}}')
            return n
        tail, shared = "", None
        if isinstance(e, ir.FactRef):
            f = self.rb.facts[e.index]
            tail, shared = f', "fact": {self.k(f.name)}, "label": {self.k(f.label)}', self.shared("f", e.index)
        elif isinstance(e, ir.ParamRef):
            p = self.rb.params[e.index]
            tail = f', "parameter": {self.k(p.name)}, "label": {self.k(p.label)}'
            shared = None if e.args else self.shared("p", e.index)
        elif isinstance(e, ir.DefRef):
            tail, shared = f', "definition": {self.k(self.rb.definitions[e.index].name)}', self.shared("d", e.index)
        if isinstance(e, ir.Aggregate):  # inner values are per element: the aggregate shows its result
            kids: tuple[ir.Expr, ...] = (e.source,)
        else:
            kids = tuple(c for c in ir.children(e) if not isinstance(c, ir.Const) or isinstance(e, ir.ParamRef))
        step = f"S[{e.index}]" if isinstance(e, ir.ParamRef) else None
        if self.depth > _FLAT_BEYOND:
            return self._flat_node(e, n, head, tail, shared, step, kids)
        self.emit(f"x = V[{e.nid}]")
        self._not_evaluated_or_shared(n, head, tail, shared, step)
        self.emit("else:")
        self.depth += 1
        built = [self.node(c) for c in kids]
        if built:  # in the literal: a key added afterwards would resize the dict
            self.emit(f"x = V[{e.nid}]")
            tail += f', "children": [{", ".join(built)}]'
        self._evaluated(e, n, head, tail, shared, step)
        return n

    def _not_evaluated_or_shared(self, n: str, head: str, tail: str, shared: str | None, step: str | None) -> None:
        """The branches before an evaluated node (`x` holds its value): not evaluated, or built once and shared."""
        self.emit("if x is NE:")
        self.emit(f'    {n} = {{{head}, "outcome": "not_evaluated"{tail}}}')
        if step:
            self.emit(f'    if {step} is not None: {n}["step"] = dict({step})')
        if shared:
            self.emit(f"elif {shared} is not None:")
            self.emit(f"    {n} = {shared}")

    def _flat_node(self, e: ir.Expr, n: str, head: str, tail: str, shared: str | None, step: str | None, kids: tuple[ir.Expr, ...]) -> str:
        """The same node, its children built at the same indentation rather than one level deeper.

        Only for expressions nested beyond _FLAT_BEYOND levels (a 1 000-level `sinon si`, a
        1 000-term sum): Python refuses code indented more than 100 levels. Children of a node
        not evaluated are then built too (as not evaluated) and dropped: slower, same tree.
        """
        self.emit(f"{n} = None")
        self.emit(f"x = V[{e.nid}]")
        self._not_evaluated_or_shared(n, head, tail, shared, step)
        built = [self.node(c) for c in kids]
        if built:
            tail += f', "children": [{", ".join(built)}]'
        self.emit(f"if {n} is None:")
        self.depth += 1
        self.emit(f"x = V[{e.nid}]")
        self._evaluated(e, n, head, tail, shared, step)
        return n

    def _evaluated(self, e: ir.Expr, n: str, head: str, tail: str, shared: str | None, step: str | None) -> None:
        """The node of an evaluated expression (unknown or known), for both layouts; leaves the block opened by its caller."""
        self.emit("if x.__class__ is U:")
        self.emit(f'    {n} = {{{head}, "outcome": "unknown", "missing": sorted(x.missing){tail}}}')
        self.emit("else:")
        self.depth += 1
        self.emit(f'{n} = {{{head}, "outcome": "known", {self.known(e.type, "x")}{tail}}}')
        if isinstance(e, ir.FactRef):
            name = self.k(self.rb.facts[e.index].name)
            self.emit(f"FR[{name}] = {n}['value']")
            if self.rb.facts[e.index].presumed is not None:  # a presumed value is marked as such
                self.emit(f'if {name} in PF: {n}["presumed"] = True')
        self.depth -= 1
        if step:
            self.emit(f"if {step} is not None:")
            self.emit(f'    {n}["step"] = dict({step})')
            self.emit(f"    PR[{self.k(self.rb.params[e.index].name)}] = {step}")
        if shared:
            self.emit(f"{shared} = {n}")
        self.depth -= 1

    def shared(self, kind: str, index: int) -> str:
        return self.slots.setdefault((kind, index), f"L{len(self.slots)}")

    def rule(self, r: ir.RuleInfo) -> None:
        """Emit the trace of one rule: its article and version, why it applies or not, its value."""
        rb = self.rb
        art = rb.articles[r.article]
        i = r.index
        head = (
            f'"rule": {self.k(r.name)}, "label": {self.k(r.label)}, "article": {self.k(art.ref)}, '
            f'"article_title": {self.k(art.label)}, "applies": a if a.__class__ is bool else None'
        )
        tail = ""
        if r.notes:
            tail += f', "notes": list({self.k(r.notes)})'
        confirm = r.confirm or art.confirm
        if confirm:
            tail += f', "to_confirm": {self.k(confirm)}'
        self.emit(f"a = A[{i}]")
        self.emit(f"if W[{i}] is None:  # not in force: its activation is False")
        self.emit(f'    r = {{{head}, "in_force": False{tail}}}')
        self.emit("else:")
        self.depth += 1
        body = f'"condition": {self.node(r.condition) if r.condition is not None else "None"}'
        if r.exceptions:
            body += f', "exception_to": list({self.k(tuple(rb.rules[e].name for e in r.exceptions))})'
        beaten_by = rb.beaten_by[i]
        if beaten_by:
            body += f', "exceptions": list({self.k(tuple(rb.rules[e].name for e in beaten_by))})'
        self.emit(f'r = {{{head}, "in_force": True, "version": dict(W[{i}]), {body}{tail}}}')
        self.emit("if a.__class__ is U:")
        self.emit('    r["missing"] = sorted(a.missing)')
        if r.value is not None:
            self.emit("if a is not False:")
            self.depth += 1
            self.emit(f'r["value"] = {self.node(r.value)}')
            self.depth -= 1
        if beaten_by:  # `exception à` is transitive: an exception whose own chain applies overrides too
            self.emit(f"if {' or '.join(f'C{e}' for e in beaten_by)}:")
            pairs = "".join(f"({self.k(rb.rules[e].name)}, C{e}), " for e in beaten_by)
            self.emit(f'    r["overridden_by"] = [name for name, c in ({pairs}) if c]')
        self.depth -= 1
        self.emit(f"R[{self.k(r.name)}] = r")

    def function(self) -> str:
        body_start = len(self.lines)
        self.emit("R = {}")
        rb = self.rb
        for kind, i in rb.order:  # C{i}: rule i, or one below it in its chain of exceptions, applies
            if kind == "rule" and rb.rules[i].exceptions:
                self.emit(f"C{i} = A[{i}] is True" + "".join(f" or C{e}" for e in rb.beaten_by[i]))
        for r in self.rb.rules:
            self.rule(r)
        self.emit("return R")
        body = self.lines[body_start:]
        count = len(self.constants.values)
        head = ["def trace(V, A, W, S, FR, PR, PF):"]
        if count:
            head.append("    " + "".join(f"k{i}, " for i in range(count)) + "= K")
        if self.slots:
            head.append("    " + " = ".join(self.slots.values()) + " = None")
        return "\n".join(head + body)


class TracePlan:
    """The trace builder of one rulebook, compiled once; per-date parts cached."""

    def __init__(self, rb: ir.Rulebook) -> None:
        self.rb = rb
        gen = _Gen(rb)
        self.source = gen.function()
        namespace: dict[str, Any] = {
            "K": tuple(gen.constants.values),
            "U": Unknown,
            "NE": NOT_EVALUATED,
            "MONEY": _number_texts("€"),
            "PERCENT": _number_texts("%"),
            "LIST": _list_texts(rb.records),
            "__builtins__": {"sorted": sorted, "str": str, "dict": dict, "list": list, "bool": bool},
        }
        prebuilt.define(self.source, f"<cpc-rules trace {rb.texts_digest[:19]}>", namespace)  # built from the IR only (compiled, or the same code built with the wheel)
        self._trace: Callable[..., dict[str, Any]] = namespace["trace"]
        # the JSON of every parameter step and article version, by identity: a date's are picked, never rebuilt
        self._steps = {id(s): _step_json(s) for p in rb.params for s in p.steps}
        self._versions = {id(v): {**values.period_json(v.period), "legiarti": v.legiarti, "source": v.source} for a in rb.articles for v in a.versions}
        self._rule_articles = tuple(r.article for r in rb.rules)
        self._intervals: dict[int, tuple[AtDate, tuple[list[Any], list[Any]]]] = {}

    def at(self, at: AtDate) -> tuple[list[Any], list[Any]]:
        """For each rule, the JSON of its article's version in force (None: not in force); for each parameter, of its step.

        Every date of one interval of the rulebook shares its AtDate's tuples (Program.at_covered):
        kept by the identity of those tuples (the entry holds them, so an identity is never reused).
        """
        hit = self._intervals.get(id(at.versions))
        if hit is not None and hit[0].versions is at.versions and hit[0].steps is at.steps:
            return hit[1]
        by_article = [None if v is None else self._versions[id(v)] for v in at.versions]
        out = ([by_article[a] for a in self._rule_articles], [None if s is None else self._steps[id(s)] for s in at.steps])
        if len(self._intervals) > 4096:  # AtDates made per date (Program.at) are not shared
            self._intervals.clear()
        self._intervals[id(at.versions)] = (at, out)
        return out

    def build(self, at: AtDate, activations: tuple[Any, ...], v: list[Any], presumed: frozenset[str] = frozenset()) -> dict[str, Any]:
        """The trace as JSON-ready data: every rule in the order of the rulebook, then the facts and parameters read.

        `presumed`: the facts whose value a presumption gave; their nodes say `"presumed": true`.
        """
        versions, steps = self.at(at)
        facts_read: dict[str, Any] = {}
        params_read: dict[str, Any] = {}
        rules = self._trace(v, activations, versions, steps, facts_read, params_read, presumed)
        out = {
            "rules": rules,
            "facts": dict(sorted(facts_read.items())),
            "parameters": {k: dict(s) for k, s in sorted(params_read.items())},
        }
        if presumed:
            out["presumed_facts"] = sorted(f for f in presumed if f in facts_read)
        return out
