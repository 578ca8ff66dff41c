"""The decision as versioned JSON (`trace_format` 1, docs/trace-format.md and docs/trace-format.schema.json)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpc_rules import values
from cpc_rules.engine.runtime import Unknown
from cpc_rules.render.text import out_of_period_message, presumption_articles, verdict_json

if TYPE_CHECKING:
    from cpc_rules.decision import Decision, Presumption


def _article(d: Decision, index: int) -> dict[str, Any]:
    art = d.rulebook.articles[index]
    version = art.version_at(d.date)
    out: dict[str, Any] = {"article": art.ref, "title": art.label, "in_code": art.in_code, "in_force": version is not None}
    if version is not None:
        out.update(
            {
                "version_from": version.period.start.isoformat(),
                "version_until": version.period.end.isoformat() if version.period.end else None,
                "legiarti": version.legiarti,
                "source": version.source,
            }
        )
    else:
        out["periods"] = [values.period_json(v.period) for v in art.versions]
    if art.confirm:
        out["to_confirm"] = art.confirm
    return out


def in_force(d: Decision, rules: Any) -> list[int]:
    """The rules whose article is in force at the decision's date: a rule not in force is no reason a permission is
    refused (its condition was never evaluated), so `why_not` leaves it out, as the text report does."""
    rb = d.rulebook
    return [r for r in rules if rb.articles[rb.rules[r].article].version_at(d.date) is not None]


def presumption_json(d: Decision, p: Presumption, refs: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """A presumption applied; its `articles` those of the rules resting on it in this decision (`presumption_articles`)."""
    articles = (refs if refs is not None else presumption_articles(d)).get(p.fact, p.articles)
    return {"fact": p.fact, "label": p.label, "value": values.to_json(p.value, p.type, d.rulebook.records), "display": p.display, "reason": p.reason, "articles": list(articles)}


def decision_json(d: Decision, with_trace: bool = False, with_verdict: bool = False) -> dict[str, Any]:
    """The decision as JSON; the trace tree (~200 KB on the bundled rulebook) only when `with_trace`; the text
    verdict's lines (`verdict`, what `decide` prints first) only when `with_verdict`: it may decide alternatives
    (the publicity each procedure would owe), so it is not paid for unless asked."""
    rb = d.rulebook
    out: dict[str, Any] = {
        "trace_format": 1,
        "engine": {"name": "cpc-rules", "version": d.engine_version},
        "rulebook": {"title": rb.title, "digest": rb.digest},
        "date": d.date.isoformat(),
        "status": "out_of_period" if d.out_of_period else "decided",
        "mode": d.mode,
    }
    if d.focus is not None:
        out["focus"] = list(d.focus)
    if with_verdict:
        out["verdict"] = verdict_json(d)
    if d.out_of_period:
        out["message"] = out_of_period_message(d)
        assert rb.coverage is not None
        out["coverage"] = values.period_json(rb.coverage)
        return out
    trace = d.trace if with_trace else None
    conclusions = []
    for s in d.statuses:
        c: dict[str, Any] = {
            "enum": s.enum,
            "member": s.member,
            "label": s.label,
            "permission": s.permission,
            "obligation": s.obligation,
            "grounds": [d.rule_ref(r) for r in s.grounds],
        }
        if s.unencoded:
            c["unencoded"] = [{"reason": rb.rules[r].text, "certain": d.activations[r] is True, **d.rule_ref(r)} for r in s.unencoded]
        if s.pending:
            c["pending"] = [d.rule_ref(r) for r in s.pending]
        why_not = in_force(d, s.refused)
        if why_not:
            c["why_not"] = [d.rule_ref(r) for r in why_not]
        if s.missing:
            c["missing"] = sorted(s.missing)
        presumed = d.presumed_for(s)
        if presumed:
            c["presumed"] = list(presumed)
        conclusions.append(c)
    refs = presumption_articles(d) if d.presumptions else {}
    out["presumptions"] = [presumption_json(d, p, refs) for p in d.presumptions]
    out["conclusions"] = conclusions
    out["values"] = [] if d.focus is not None else [
        {
            "name": df.name,
            "label": df.label,
            "type": str(df.type),
            "value": values.to_json(d.definition_values[df.index], df.type, rb.records),
            **({"missing": sorted(v.missing)} if isinstance(v := d.definition_values[df.index], Unknown) else {}),
        }
        for df in rb.definitions
    ]
    out["information"] = [
        {"text": rb.rules[r].text, "certain": certain, **d.rule_ref(r), **({"presumed": list(pr)} if (pr := d.presumed_for_rule(r)) else {})}
        for r, certain in d.information
    ]
    labels = {f.name: f.label for f in rb.facts}
    out["missing_facts"] = [{"name": m, "label": labels.get(m.split("[")[0])} for m in d.missing]
    out["articles"] = [_article(d, a) for a in d.articles_cited]
    out["not_in_force"] = [_article(d, a) for a in d.not_in_force]
    if with_trace:
        out["given_facts"] = given_facts(d)
    if trace is not None:
        out["trace"] = trace
    return out


def given_facts(d: Decision) -> dict[str, Any]:
    """The facts the situation gave (known, not presumed), in declaration order: what `replay` re-decides from.

    The trace's `facts` are only those the evaluation read; a presumption's reach (`presumed`)
    also depends on the strict decision, which may read other given facts.
    """
    assert d.facts is not None
    presumed = {p.fact for p in d.applied}
    return {
        f.name: values.to_json(d.facts[f.index], f.type, d.rulebook.records)
        for f in d.rulebook.facts
        if f.name not in presumed and not isinstance(d.facts[f.index], Unknown)
    }
