"""`cpc-rules graph` needs no graph library: networkx is no longer a dependency (check/graph.py walks the graph itself)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT

from cpc_rules import default_rulebook
from cpc_rules.check.graph import Graph
from cpc_rules.render import graph as rgraph

# run with networkx made unimportable: `import networkx` raises ImportError, as on an install without it
_PROBE = """
import sys
sys.modules["networkx"] = None
from cpc_rules.cli import main
main(sys.argv[1:], prog_name="cpc-rules")
"""


def _graph(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", _PROBE, "graph", *args], env=env, capture_output=True, text=True, check=False, cwd=ROOT)


def test_graph_runs_without_networkx() -> None:
    run = _graph("--format", "json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    kinds = {n["kind"] for n in doc["nodes"]}
    assert {"definition", "rule"} <= kinds and doc["edges"]
    focused = _graph("--format", "mermaid", "--article", "R2122-8")
    assert focused.returncode == 0, focused.stderr
    assert focused.stdout.startswith("flowchart LR") and "R2122-8" in focused.stdout


def test_the_focus_keeps_what_an_article_reads_and_what_reads_it() -> None:
    """The neighbourhood walk (it was networkx's ancestors and descendants): against a brute-force closure."""
    rb = default_rulebook().checked
    g = rgraph.rule_graph(rb)
    assert isinstance(g, Graph)
    art = next(a for a in rb.articles if a.ref == "R2122-8")
    own = {("rule", r.index) for r in rb.rules if r.article == art.index}
    edges = set(g.edges())
    up, down = set(own), set(own)
    for _ in range(len(g.nodes)):  # a fixed point, the slow way
        up |= {a for a, b in edges if b in up}
        down |= {b for a, b in edges if a in down}
    kept = {n for n in rgraph.focus(g, rb, "R2122-8").nodes if n[0] in ("rule", "def")}
    assert kept == up | down
