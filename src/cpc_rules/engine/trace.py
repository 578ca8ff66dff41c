"""Rebuild the trace tree from a traced run: conclusion ← rule (article, version) ← conditions ← facts and parameters.

The traced run recorded the value of every expression node it reached; the tree
is the IR decorated with those values. Nodes the run did not reach (a
short-circuit, a rule not in force) are marked as not evaluated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpc_rules import ir, values
from cpc_rules.engine.evaluate import NOT_EVALUATED
from cpc_rules.engine.runtime import Unknown
from cpc_rules.syntax import format as fmt

if TYPE_CHECKING:
    from cpc_rules.decision import Decision


def _outcome(v: Any) -> str:
    if v is NOT_EVALUATED:
        return "not_evaluated"
    if isinstance(v, Unknown):
        return "unknown"
    return "known"


class TraceBuilder:
    def __init__(self, decision: Decision, v: list[Any]) -> None:
        self.d = decision
        self.rb = decision.rulebook
        self.v = v
        self.facts_read: dict[str, Any] = {}
        self.params_read: dict[str, dict[str, Any]] = {}

    def value_json(self, x: Any, t: ir.Type) -> Any:
        return values.to_json(x, t, self.rb.records) if _outcome(x) == "known" else None

    def node(self, e: ir.Expr, at_top: bool = True) -> dict[str, Any]:
        """One expression node: its text, value, and what it read."""
        raw = e.value if isinstance(e, ir.Const) else self.v[e.nid]
        out: dict[str, Any] = {"expr": fmt.expr(e.src), "type": str(e.type), "outcome": _outcome(raw)}
        if isinstance(e, ir.Const):
            out["outcome"] = "known"
        if out["outcome"] == "known":
            out["value"] = self.value_json(raw, e.type)
            out["display"] = values.display(raw, e.type)
        elif out["outcome"] == "unknown":
            out["missing"] = sorted(raw.missing)
        if isinstance(e, ir.FactRef):
            f = self.rb.facts[e.index]
            out["fact"] = f.name
            out["label"] = f.label
            if out["outcome"] != "not_evaluated" and self.d.facts is not None and not isinstance(self.d.facts[f.index], Unknown):
                self.facts_read[f.name] = self.value_json(self.d.facts[f.index], f.type)
        elif isinstance(e, ir.ParamRef):
            p = self.rb.params[e.index]
            step = self.d._at.steps[e.index] if self.d._at else None  # noqa: SLF001
            out["parameter"] = p.name
            out["label"] = p.label
            if step is not None:
                out["step"] = {
                    "from": step.period.start.isoformat(),
                    "until": step.period.end.isoformat() if step.period.end else None,
                    "source": step.source,
                }
                if step.confirm:
                    out["step"]["to_confirm"] = step.confirm
                if out["outcome"] != "not_evaluated":
                    self.params_read[p.name] = out["step"]
        elif isinstance(e, ir.DefRef):
            out["definition"] = self.rb.definitions[e.index].name
        if not isinstance(e, ir.Aggregate):  # inner values are per element: the aggregate shows its result
            kids = [self.node(c, False) for c in ir.children(e) if not isinstance(c, ir.Const) or isinstance(e, ir.ParamRef)]
            if kids:
                out["children"] = kids
        else:
            out["children"] = [self.node(e.source, False)]
        return out

    def rule(self, index: int) -> dict[str, Any]:
        r = self.rb.rules[index]
        art = self.rb.articles[r.article]
        a = self.d.activations[index]
        version = art.version_at(self.d.date)
        out: dict[str, Any] = {
            "rule": r.name,
            "label": r.label,
            "article": art.ref,
            "article_title": art.label,
            "applies": a if isinstance(a, bool) else None,
            "in_force": version is not None,
        }
        if version is not None:
            out["version"] = {
                "from": version.period.start.isoformat(),
                "until": version.period.end.isoformat() if version.period.end else None,
                "legiarti": version.legiarti,
                "source": version.source,
            }
        if isinstance(a, Unknown):
            out["missing"] = sorted(a.missing)
        if version is not None:
            out["condition"] = self.node(r.condition) if r.condition is not None else None
            if r.value is not None and a is not False:
                out["value"] = self.node(r.value)
            beaten_by = self.rb.beaten_by[index]
            overriding = [self.rb.rules[e].name for e in beaten_by if self.d.activations[e] is True]
            if r.exceptions:
                out["exception_to"] = [self.rb.rules[e].name for e in r.exceptions]
            if beaten_by:
                out["exceptions"] = [self.rb.rules[e].name for e in beaten_by]
            if overriding:
                out["overridden_by"] = overriding
        if r.notes:
            out["notes"] = list(r.notes)
        confirm = r.confirm or art.confirm
        if confirm:
            out["to_confirm"] = confirm
        return out


def build_trace(decision: Decision, v: list[Any]) -> dict[str, Any]:
    """The trace as JSON-ready data: every rule in the order of the rulebook, then what was read."""
    b = TraceBuilder(decision, v)
    rules = {r.name: b.rule(r.index) for r in decision.rulebook.rules}
    return {"rules": rules, "facts": dict(sorted(b.facts_read.items())), "parameters": dict(sorted(b.params_read.items()))}
