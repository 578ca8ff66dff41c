"""The rule graph as Graphviz DOT, Mermaid or JSON, for legal teams auditing how rules depend on each other.

`focus` cuts the neighbourhood of one article: what its rules read (definitions, and the rules
that compute them, down to the facts and parameters) and what reads them (definitions they
compute, rules reading those, conclusions they decide). Mermaid renders inside a Markdown page.
"""

from __future__ import annotations

from typing import Any

from cpc_rules import ir
from cpc_rules.check.graph import Graph, dependency_graph

Node = tuple[str, Any]


def rule_graph(rb: ir.Rulebook) -> Graph:
    """Definitions and rules: a definition → the rules reading it; a rule → what it defines; exceptions."""
    reads = {r.index: {n.index for e in (r.condition, r.value) if e is not None for n in ir.walk(e) if isinstance(n, ir.DefRef)} for r in rb.rules}
    return dependency_graph(rb.rules, rb.definitions, reads)


def focus(g: Graph, rb: ir.Rulebook, ref: str) -> Graph:
    """The neighbourhood of article `ref`: its rules, their ancestors and descendants, the facts,
    parameters and conclusions they touch. KeyError if no rule belongs to the article."""
    art = next((a for a in rb.articles if a.ref == ref), None)
    own = [("rule", r.index) for r in rb.rules if art is not None and r.article == art.index]
    if not own:
        raise KeyError(ref)
    pred: dict[Node, list[Node]] = {}
    for a, b in g.edges():
        pred.setdefault(b, []).append(a)
    keep: set[Node] = set(own)
    for links in (pred, g.succ):  # what the article's rules read (transitively), then what reads them
        todo = list(own)
        seen: set[Node] = set(own)
        while todo:
            for m in links.get(todo.pop(), ()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        keep |= seen
    out = Graph()
    out.add_nodes_from(sorted(keep))
    for a, b, d in g.edges(data=True):
        if a in keep and b in keep:
            out.add_edge(a, b, why=d["why"])
    for kind, i in list(out.nodes):
        if kind != "rule":
            continue
        r = rb.rules[i]
        if ("rule", i) in own:
            for e in (r.condition, r.value):
                for n in ir.walk(e) if e is not None else ():
                    if isinstance(n, ir.FactRef):
                        out.add_edge(("fact", n.index), ("rule", i), why="lit")
                    elif isinstance(n, ir.ParamRef):
                        out.add_edge(("param", n.index), ("rule", i), why="lit")
        if r.enum is not None and r.kind in ("permit", "forbid", "oblige"):
            verb = {"permit": "autorise", "forbid": "interdit", "oblige": "oblige"}[r.kind]
            for m in r.values:
                out.add_edge(("rule", i), ("item", f"{r.enum}.{m}"), why=verb)
    return out


def _label(node: Node, rb: ir.Rulebook) -> str:
    kind, i = node
    if kind == "def":
        return rb.definitions[i].name
    if kind == "fact":
        return f"fait {rb.facts[i].name}"
    if kind == "param":
        return f"paramètre {rb.params[i].name}"
    if kind == "item":
        return str(i)
    r = rb.rules[i]
    return f"{r.name} ({rb.articles[r.article].ref})"


def _key(node: Node) -> tuple[str, Any]:
    return node  # within a kind, indices (or conclusion names) compare among themselves


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DOT_SHAPES = {"def": "ellipse", "rule": "box", "fact": "note", "param": "folder", "item": "hexagon"}


def to_dot(g: Graph, rb: ir.Rulebook) -> str:
    lines = ["digraph cpc_rules {", "  rankdir=LR;"]
    for n in sorted(g.nodes, key=_key):
        lines.append(f"  {_dot_id(_label(n, rb))} [shape={_DOT_SHAPES[n[0]]}];")
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (_key(e[0]), _key(e[1]))):
        why = data["why"]
        if why == "exception à":
            style = ' [style=dashed, label="exception à"]'
        elif why in ("autorise", "interdit", "oblige"):
            style = f" [label={_dot_id(why)}]"
        else:
            style = ""
        lines.append(f"  {_dot_id(_label(a, rb))} -> {_dot_id(_label(b, rb))}{style};")
    lines.append("}")
    return "\n".join(lines)


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


_MERMAID_SHAPES = {"def": ("([", "])"), "rule": ("[", "]"), "fact": ("[/", "/]"), "param": ("[(", ")]"), "item": ("{{", "}}")}


def to_mermaid(g: Graph, rb: ir.Rulebook) -> str:
    """A Mermaid flowchart (```mermaid in Markdown): rules as boxes, definitions rounded, facts slanted,
    parameters as cylinders, conclusions as hexagons; exceptions dashed."""
    ids: dict[Node, str] = {}
    lines = ["flowchart LR"]
    for k, n in enumerate(sorted(g.nodes, key=_key)):
        ids[n] = f"n{k}"
        left, right = _MERMAID_SHAPES[n[0]]
        lines.append(f"  n{k}{left}{_mermaid_text(_label(n, rb))}{right}")
    for a, b, data in sorted(g.edges(data=True), key=lambda e: (_key(e[0]), _key(e[1]))):
        why = data["why"]
        arrow = "-.->" if why == "exception à" else "-->"
        lines.append(f"  {ids[a]} {arrow}|{_mermaid_text(why)}| {ids[b]}")
    return "\n".join(lines)


_JSON_KINDS = {"def": "definition", "rule": "rule", "fact": "fact", "param": "parameter", "item": "conclusion"}


def to_json(g: Graph, rb: ir.Rulebook) -> dict[str, Any]:
    return {
        "nodes": [{"id": _label(n, rb), "kind": _JSON_KINDS[n[0]]} for n in sorted(g.nodes, key=_key)],
        "edges": [{"from": _label(a, rb), "to": _label(b, rb), "kind": d["why"]} for a, b, d in sorted(g.edges(data=True), key=lambda e: (_key(e[0]), _key(e[1])))],
    }
