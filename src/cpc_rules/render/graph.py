"""The rule graph as Graphviz DOT or JSON, for legal teams auditing how rules depend on each other."""

from __future__ import annotations

from typing import Any

import networkx as nx

from cpc_rules import ir


def _label(node: tuple[str, int], rb: ir.Rulebook) -> str:
    if node[0] == "def":
        return rb.definitions[node[1]].name
    r = rb.rules[node[1]]
    return f"{r.name} ({rb.articles[r.article].ref})"


def _dot_id(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: nx.DiGraph, rb: ir.Rulebook) -> str:
    lines = ["digraph cpc_rules {", "  rankdir=LR;"]
    for n in sorted(g.nodes):
        shape = "ellipse" if n[0] == "def" else "box"
        lines.append(f"  {_dot_id(_label(n, rb))} [shape={shape}];")
    for a, b, data in sorted(g.edges(data=True)):
        style = ' [style=dashed, label="exception à"]' if data["why"] == "exception à" else ""
        lines.append(f"  {_dot_id(_label(a, rb))} -> {_dot_id(_label(b, rb))}{style};")
    lines.append("}")
    return "\n".join(lines)


def to_json(g: nx.DiGraph, rb: ir.Rulebook) -> dict[str, Any]:
    return {
        "nodes": [{"id": _label(n, rb), "kind": "definition" if n[0] == "def" else "rule"} for n in sorted(g.nodes)],
        "edges": [{"from": _label(a, rb), "to": _label(b, rb), "kind": d["why"]} for a, b, d in sorted(g.edges(data=True))],
    }
