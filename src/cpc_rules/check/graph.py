"""The rule graph (networkx): evaluation order, cycles, static conflicts, unreachable rules.

Nodes are definitions and rules. An edge u → v means v needs u: a rule needs the
definitions it reads, a definition needs the rules that define it, and a rule
needs the rules that are exceptions to it (an exception wins over its target).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Literal

import networkx as nx

from cpc_rules import ir
from cpc_rules.check import periods
from cpc_rules.diagnostics import Diagnostic
from cpc_rules.syntax import ast

NodeKey = tuple[Literal["rule", "def"], int]


def dependency_graph(rules: Sequence[ir.RuleInfo], definitions: Sequence[ir.DefInfo], reads: dict[int, set[int]]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(("def", d.index) for d in definitions)
    g.add_nodes_from(("rule", r.index) for r in rules)
    for r in rules:
        for d in reads.get(r.index, ()):
            g.add_edge(("def", d), ("rule", r.index), why="lit")
        if r.define is not None:
            g.add_edge(("rule", r.index), ("def", r.define), why="définit")
        for target in r.exceptions:
            g.add_edge(("rule", r.index), ("rule", target), why="exception à")
    return g


def exception_graph(rules: Sequence[ir.RuleInfo]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(r.index for r in rules)
    g.add_edges_from((r.index, t) for r in rules for t in r.exceptions)
    return g


def check_graph(
    rules: Sequence[ir.RuleInfo],
    definitions: Sequence[ir.DefInfo],
    articles: Sequence[ir.ArticleInfo],
    coverage: ast.Period | None,
    reads: dict[int, set[int]],
    diags: list[Diagnostic],
) -> tuple[NodeKey, ...]:
    """Append the graph diagnostics; return the evaluation order (empty if there is a cycle)."""
    g = dependency_graph(rules, definitions, reads)

    def name(n: NodeKey) -> str:
        if n[0] == "def":
            return f"`{definitions[n[1]].name}`"
        r = rules[n[1]]
        return f"règle `{r.name}` ({articles[r.article].ref})"

    def span(n: NodeKey):  # type: ignore[no-untyped-def]
        return definitions[n[1]].span if n[0] == "def" else rules[n[1]].span

    cycles = sorted(_rotated(c) for c in nx.simple_cycles(g))
    for cycle in cycles[:5]:
        chain = [*cycle, cycle[0]]
        text = " → ".join(name(n) for n in chain)
        notes = tuple((f"{name(a)} {g.edges[a, b]['why']} {name(b)}", span(a)) for a, b in zip(chain, chain[1:], strict=False))
        diags.append(Diagnostic("E308", f"cycle : {text}", span(cycle[0]), hint="une valeur ne peut dépendre d'elle-même ; cassez le cycle", notes=notes))
    _static_conflicts(rules, articles, coverage, diags)
    _unreachable(rules, articles, coverage, diags)
    if cycles:
        return ()
    order = nx.lexicographical_topological_sort(g, key=lambda n: (n[1], n[0]))
    return tuple(order)


def _rotated(cycle: list[NodeKey]) -> list[NodeKey]:
    """A cycle starting at its smallest node, so that reports do not depend on the graph's internals."""
    i = cycle.index(min(cycle))
    return cycle[i:] + cycle[:i]


def _active(rule: ir.RuleInfo, articles: Sequence[ir.ArticleInfo], coverage: ast.Period | None) -> list[ast.Period]:
    return [p for v in articles[rule.article].versions if (p := periods.intersect(v.period, coverage))]


def _overlap(a: list[ast.Period], b: list[ast.Period]) -> bool:
    return any(periods.intersect(x, y) is not None for x in a for y in b)


def _same(a: ir.Expr | None, b: ir.Expr | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.src == b.src  # spans are not part of equality: same text, same condition


def _differ(a: ir.Expr | None, b: ir.Expr | None) -> bool:
    """Two values certainly different: two different constants. Two expressions may agree
    (a declared total and the sum of its parts): whether they do is checked at decision time (E402)."""
    return isinstance(a, ir.Const) and isinstance(b, ir.Const) and a.value != b.value


def _static_conflicts(rules: Sequence[ir.RuleInfo], articles: Sequence[ir.ArticleInfo], coverage: ast.Period | None, diags: list[Diagnostic]) -> None:
    """Two rules that would both apply in the same cases and disagree, with no priority (E309)."""
    exc = exception_graph(rules)
    ranked = nx.transitive_closure_dag(exc) if nx.is_directed_acyclic_graph(exc) else exc

    def related(a: ir.RuleInfo, b: ir.RuleInfo) -> bool:
        return ranked.has_edge(a.index, b.index) or ranked.has_edge(b.index, a.index)

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

    by_def: dict[int, list[ir.RuleInfo]] = {}
    for r in rules:
        if r.define is not None:
            by_def.setdefault(r.define, []).append(r)
    for group in by_def.values():
        for a, b in combinations(group, 2):
            if _same(a.condition, b.condition) and _differ(a.value, b.value) and not related(a, b) and _overlap(_active(a, articles, coverage), _active(b, articles, coverage)):
                report(a, b, "donnent deux valeurs différentes")
    for a in rules:
        if a.kind != "oblige":
            continue
        for b in rules:
            if b.kind == "forbid" and b.enum == a.enum and set(a.values) & set(b.values):
                if _same(a.condition, b.condition) and not related(a, b) and _overlap(_active(a, articles, coverage), _active(b, articles, coverage)):
                    report(a, b, "obligent et interdisent")


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
