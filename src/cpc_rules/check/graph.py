"""The rule graph: evaluation order, cycles, static conflicts, unreachable rules.

Nodes are definitions and rules. An edge u → v means v needs u: a rule needs the
definitions it reads, a definition needs the rules that define it, and a rule
needs the rules that are exceptions to it (an exception wins over its target).

The graph algorithms are small and our own (Tarjan's strongly connected
components, Kahn's topological sort, and the walks of render/graph.py): importing
networkx cost ~0.2 s on every start of the CLI, more than checking the whole bundled
rulebook, and it is no longer a dependency. Everything here is linear or
near-linear in the size of the rulebook (issue 8: 10 000 rules).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from cpc_rules import ir, record
from cpc_rules.check import periods
from cpc_rules.diagnostics import Diagnostic
from cpc_rules.syntax import ast

NodeKey = tuple[Literal["rule", "def"], int]


class Graph:
    """A directed graph whose edges carry why they exist (`why`); spelled like the part of networkx's DiGraph it replaces."""

    def __init__(self) -> None:
        self.succ: dict[Any, dict[Any, dict[str, str]]] = {}

    def add_node(self, n: Any) -> None:
        self.succ.setdefault(n, {})

    def add_nodes_from(self, nodes: Any) -> None:
        for n in nodes:
            self.add_node(n)

    def add_edge(self, a: Any, b: Any, why: str = "") -> None:
        self.add_node(a)
        self.add_node(b)
        self.succ[a][b] = {"why": why}

    @property
    def nodes(self) -> list[Any]:
        return list(self.succ)

    @property
    def edges(self) -> _Edges:
        return _Edges(self)


class _Edges:
    """`g.edges(data=True)` and `g.edges[a, b]`, as networkx spells them (render/graph.py reads them so)."""

    def __init__(self, g: Graph) -> None:
        self.g = g

    def __call__(self, data: bool = False) -> Iterator[Any]:
        for a, out in self.g.succ.items():
            for b, d in out.items():
                yield (a, b, d) if data else (a, b)

    def __getitem__(self, ab: tuple[Any, Any]) -> dict[str, str]:
        return self.g.succ[ab[0]][ab[1]]


def strongly_connected(g: Graph) -> list[list[Any]]:
    """Tarjan's algorithm, without recursion (a 5 000-rule exception chain is 5 000 deep)."""
    index: dict[Any, int] = {}
    low: dict[Any, int] = {}
    on_stack: set[Any] = set()
    stack: list[Any] = []
    out: list[list[Any]] = []
    counter = 0
    for root in g.succ:
        if root in index:
            continue
        work = [(root, iter(g.succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(g.succ[w])))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    out.append(component)
    return out


def _a_cycle(g: Graph, component: list[Any]) -> list[Any] | None:
    """A shortest cycle through the smallest node of a strongly connected component (None: no cycle)."""
    start = min(component)
    if len(component) == 1 and start not in g.succ[start]:
        return None
    inside = set(component)
    parent: dict[Any, Any] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in sorted(frontier):
            for w in sorted(g.succ[v]):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return path[::-1]
                if w in inside and w not in parent:
                    parent[w] = v
                    nxt.append(w)
        frontier = nxt
    return None  # pragma: no cover - a strongly connected component always has one


def topological_order(g: Graph, key: Any) -> list[Any]:
    """Kahn's algorithm, taking the smallest ready node by `key` first (a stable, readable order)."""
    indegree = dict.fromkeys(g.succ, 0)
    for out in g.succ.values():
        for b in out:
            indegree[b] += 1
    ready = [(key(n), n) for n, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, n = heapq.heappop(ready)
        order.append(n)
        for b in g.succ[n]:
            indegree[b] -= 1
            if indegree[b] == 0:
                heapq.heappush(ready, (key(b), b))
    return order


def dependency_graph(rules: Sequence[ir.RuleInfo], definitions: Sequence[ir.DefInfo], reads: dict[int, set[int]]) -> Graph:
    """The same graph, for the `graph` command's renderers (render/graph.py): they walk `succ` and `edges` themselves
    (ancestors and descendants of an article's rules), so no graph library is needed."""
    return _dependencies(rules, definitions, reads)


def _dependencies(rules: Sequence[ir.RuleInfo], definitions: Sequence[ir.DefInfo], reads: dict[int, set[int]]) -> Graph:
    g = Graph()
    g.add_nodes_from(("def", d.index) for d in definitions)
    g.add_nodes_from(("rule", r.index) for r in rules)
    for r in rules:
        for d in sorted(reads.get(r.index, ())):
            g.add_edge(("def", d), ("rule", r.index), why="lit")
        if r.define is not None:
            g.add_edge(("rule", r.index), ("def", r.define), why="définit")
        for target in r.exceptions:
            g.add_edge(("rule", r.index), ("rule", target), why="exception à")
    return g


def exceptions_below(rules: Sequence[ir.RuleInfo]) -> Any:
    """`below(a, b)`: is rule a an exception to b, directly or through other exceptions (`exception à` is transitive)?"""
    targets = {r.index: r.exceptions for r in rules}

    def below(a: int, b: int) -> bool:
        seen, todo = {a}, [a]
        while todo:
            for t in targets.get(todo.pop(), ()):
                if t == b:
                    return True
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return False

    return below


def check_graph(
    rules: Sequence[ir.RuleInfo],
    definitions: Sequence[ir.DefInfo],
    articles: Sequence[ir.ArticleInfo],
    coverage: ast.Period | None,
    reads: dict[int, set[int]],
    diags: list[Diagnostic],
) -> tuple[NodeKey, ...]:
    """Append the graph diagnostics; return the evaluation order (empty if there is a cycle)."""
    g = _dependencies(rules, definitions, reads)

    def name(n: NodeKey) -> str:
        if n[0] == "def":
            return f"`{definitions[n[1]].name}`"
        r = rules[n[1]]
        return f"règle `{r.name}` ({articles[r.article].ref})"

    def span(n: NodeKey):  # type: ignore[no-untyped-def]
        return definitions[n[1]].span if n[0] == "def" else rules[n[1]].span

    cycles = sorted(c for comp in strongly_connected(g) if (c := _a_cycle(g, comp)) is not None)
    for cycle in cycles[:5]:
        chain = [*cycle, cycle[0]]
        text = " → ".join(name(n) for n in chain)
        notes = tuple((f"{name(a)} {g.edges[a, b]['why']} {name(b)}", span(a)) for a, b in itertools.pairwise(chain))
        diags.append(Diagnostic("E308", f"cycle : {text}", span(cycle[0]), hint="une valeur ne peut dépendre d'elle-même ; cassez le cycle", notes=notes))
    _static_conflicts(rules, articles, coverage, diags)
    _unreachable(rules, articles, coverage, diags)
    if cycles:
        return ()
    return tuple(topological_order(g, key=lambda n: (n[1], n[0])))


def _active(rule: ir.RuleInfo, articles: Sequence[ir.ArticleInfo], coverage: ast.Period | None) -> list[ast.Period]:
    return [p for v in articles[rule.article].versions if (p := periods.intersect(v.period, coverage))]


def _overlap(a: list[ast.Period], b: list[ast.Period]) -> bool:
    return any(periods.intersect(x, y) is not None for x in a for y in b)


def canonical(e: Any) -> Any:
    """A hashable form of an expression as written, equal for conditions that differ only by
    the order of the operands of `et`/`ou` (commutative) or by their grouping (associative)."""
    if isinstance(e, ast.BoolOp):
        flat: list[Any] = []
        todo = list(e.operands)
        while todo:
            x = todo.pop(0)
            if isinstance(x, ast.BoolOp) and x.op == e.op:
                todo[:0] = list(x.operands)
            else:
                flat.append(canonical(x))
        return ("bool", e.op, tuple(sorted(set(flat), key=repr)))
    if isinstance(e, ast.Compare) and e.op in ("=", "!="):
        return ("cmp", e.op, tuple(sorted((canonical(e.left), canonical(e.right)), key=repr)))
    if isinstance(e, ast.Member):
        return ("in", canonical(e.operand), tuple(sorted(set(e.values))))
    if isinstance(e, tuple):
        return tuple(canonical(x) for x in e)
    if isinstance(e, ast.Lit | ast.Ref):
        return e  # equality and hash leave spans out
    if record.has(type(e)):
        return (type(e).__name__, *(canonical(getattr(e, a.name)) for a in record.fields(type(e)) if a.name != "span"))
    return e


def _condition_key(e: ir.Expr | None) -> Any:
    return None if e is None else canonical(e.src)


def _differ(a: ir.Expr | None, b: ir.Expr | None) -> bool:
    """Two values certainly different: two different constants. Two expressions may agree
    (a declared total and the sum of its parts): whether they do is checked at decision time (E402)."""
    return isinstance(a, ir.Const) and isinstance(b, ir.Const) and a.value != b.value


_MAX_REPORTED = 50  # conflicts reported per definition or enumeration: beyond, the rulebook needs rewriting anyway


def _static_conflicts(rules: Sequence[ir.RuleInfo], articles: Sequence[ir.ArticleInfo], coverage: ast.Period | None, diags: list[Diagnostic]) -> None:
    """Two rules that would both apply in the same cases and disagree, with no priority (E309).

    Rules are grouped by what they conclude and by their condition (normalised, so `a et b`
    and `b et a` are the same condition), so only rules of one group are compared.
    """
    below = exceptions_below(rules)

    def related(a: ir.RuleInfo, b: ir.RuleInfo) -> bool:
        return below(a.index, b.index) or below(b.index, a.index)

    def report(a: ir.RuleInfo, b: ir.RuleInfo, what: str) -> None:
        diags.append(
            Diagnostic(
                "E309",
                f"conflit : les règles `{a.name}` ({articles[a.article].ref}) et `{b.name}` ({articles[b.article].ref}) {what} dans les mêmes cas",
                b.span,
                hint=f"déclarez l'une exception à l'autre : `règle {b.name} exception à {a.name} : …`",
                notes=(("première règle", a.span),),
            )
        )

    groups: dict[Any, list[ir.RuleInfo]] = {}
    for r in rules:
        if r.define is not None and isinstance(r.value, ir.Const):
            groups.setdefault(("def", r.define, _condition_key(r.condition)), []).append(r)
    for group in groups.values():
        reported = 0
        by_value: dict[Any, list[ir.RuleInfo]] = {}
        for r in group:
            by_value.setdefault((type(r.value.value), r.value.value), []).append(r)  # type: ignore[union-attr]
        if len(by_value) < 2:
            continue
        for b in group:  # each rule against one rule of every other value: enough to find a conflict
            for key, others in by_value.items():
                if key == (type(b.value.value), b.value.value) or reported >= _MAX_REPORTED:  # type: ignore[union-attr]
                    continue
                a = next((x for x in others if x.index < b.index and not related(x, b) and _overlap(_active(x, articles, coverage), _active(b, articles, coverage))), None)
                if a is not None and _differ(a.value, b.value):
                    report(a, b, "donnent deux valeurs différentes")
                    reported += 1
    forbids: dict[tuple[str | None, Any], list[ir.RuleInfo]] = {}
    for b in rules:
        if b.kind == "forbid":
            forbids.setdefault((b.enum, _condition_key(b.condition)), []).append(b)
    for a in rules:
        if a.kind != "oblige":
            continue
        reported = 0
        for b in forbids.get((a.enum, _condition_key(a.condition)), ()):
            if reported < _MAX_REPORTED and set(a.values) & set(b.values) and not related(a, b) and _overlap(_active(a, articles, coverage), _active(b, articles, coverage)):
                report(a, b, "obligent et interdisent")
                reported += 1


def _unreachable(rules: Sequence[ir.RuleInfo], articles: Sequence[ir.ArticleInfo], coverage: ast.Period | None, diags: list[Diagnostic]) -> None:
    """Rules that can never apply: never in force, always false, or always beaten by an exception (W310)."""
    for r in rules:
        active = _active(r, articles, coverage)
        if articles[r.article].versions and not active:
            diags.append(Diagnostic("W310", f"la règle `{r.name}` n'est jamais en vigueur dans la couverture du recueil", r.span, severity="warning"))
        elif r.condition is not None and isinstance(r.condition, ir.Const) and r.condition.value is False:
            diags.append(Diagnostic("W310", f"la condition de la règle `{r.name}` est toujours fausse", r.span, severity="warning"))
    for e in rules:
        if e.condition is not None:
            continue
        for t in e.exceptions:
            target = rules[t]
            if not periods.uncovered(_active(target, articles, coverage), _active(e, articles, coverage)):
                diags.append(
                    Diagnostic(
                        "W310",
                        f"la règle `{target.name}` ne peut jamais s'appliquer : son exception `{e.name}` est sans condition",
                        target.span,
                        severity="warning",
                    )
                )
