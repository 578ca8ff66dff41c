"""What the service says about the rulebook itself: articles, parameters, coverage, questions.

Read from the checked rulebook (ir.py), never from the text, so it says what the engine
decides with: the articles with their dated versions and Légifrance links, the parameters
with every dated step and its source.
"""

from __future__ import annotations

import difflib
from typing import Any

from cpc_rules import __version__, ir, values
from cpc_rules.api import Rulebook

LEGIFRANCE = "https://www.legifrance.gouv.fr/codes/article_lc/{}"


def legifrance_url(legiarti: str | None) -> str | None:
    return LEGIFRANCE.format(legiarti) if legiarti else None


def _version(v: ir.VersionInfo) -> dict[str, Any]:
    return {**values.period_json(v.period), "legiarti": v.legiarti, "url": legifrance_url(v.legiarti), "source": v.source}


def _article_summary(a: ir.ArticleInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"article": a.ref, "title": a.label, "in_code": a.in_code, "versions": [_version(v) for v in a.versions]}
    if a.confirm:
        out["to_confirm"] = a.confirm
    return out


def _step_value(value: object, p: ir.ParamInfo) -> Any:
    if isinstance(value, dict):
        return [{"key": list(k), "value": values.to_json(v, p.type, {})} for k, v in value.items()]
    return values.to_json(value, p.type, {})


def _parameter(p: ir.ParamInfo) -> dict[str, Any]:
    return {
        "name": p.name,
        "label": p.label,
        "type": str(p.type),
        "keys": list(p.keys),
        "steps": [
            {**values.period_json(s.period), "value": _step_value(s.value, p), "source": s.source, **({"to_confirm": s.confirm} if s.confirm else {})}
            for s in p.steps
        ],
    }


def rulebook_json(rb: Rulebook) -> dict[str, Any]:
    c = rb.checked
    return {
        "title": c.title,
        "digest": rb.digest,
        "engine": {"name": "cpc-rules", "version": __version__},
        "coverage": values.period_json(c.coverage) if c.coverage else None,
        "enumerations": [{"name": e.name, "label": e.label, "members": [{"name": m, "label": e.labels.get(m)} for m in e.members]} for e in c.enums.values()],
        "facts": [{"name": f.name, "label": f.label, "type": str(f.type)} for f in c.facts],
        "articles": [_article_summary(a) for a in c.articles],
        "parameters": [_parameter(p) for p in c.params],
    }


def article_json(rb: Rulebook, ref: str) -> dict[str, Any] | None:
    c = rb.checked
    for a in c.articles:
        if a.ref == ref:
            rules = [r for r in c.rules if r.article == a.index]
            return {
                **_article_summary(a),
                "rules": [
                    {
                        "name": r.name,
                        "label": r.label,
                        "kind": r.kind,
                        "enum": r.enum,
                        "members": list(r.values),
                        "exception_to": [c.rules[e].name for e in r.exceptions],
                        "notes": list(r.notes),
                        **({"text": r.text} if r.text else {}),
                        **({"to_confirm": r.confirm} if r.confirm else {}),
                    }
                    for r in rules
                ],
            }
    return None


def close_articles(rb: Rulebook, ref: str) -> list[str]:
    return difflib.get_close_matches(ref, [a.ref for a in rb.checked.articles], n=3, cutoff=0.6)


def questions_json(rb: Rulebook, facts: dict[str, Any], at: str, focus: tuple[str, ...] | None, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ranked next questions for a situation (the interview's logic, `Rulebook.questions`)."""
    from cpc_rules.interview import next_questions

    return {"questions": [q.to_json() for q in next_questions(rb, facts, at, focus=focus, skip=skip)]}
