"""Coverage of a rulebook by its own test cases: is every rule, condition, threshold and date edge tested both ways?

A legal team trusts a rule once a test shows it applying *and* not applying, and a threshold
once a test sits on each side of it. The test cases are decided with the traced run, which
records the value of every expression node (engine/compile.py), so that:

* a **rule** is covered when a case finds it applying and another finds it not applying (a rule
  without condition only needs to apply);
* a **condition** (each boolean node of a rule's condition: comparison, membership, fact,
  negation, `et`/`ou`) is covered when it is evaluated true in one case and false in another;
* a **threshold** (a parameter read in a comparison, per dated step and per table cell) is
  covered when, among the cases dated in that step, the comparison is true in one and false in
  another — the tests sit on both sides;
* a **date edge** (the start of a parameter step or of an article version, other than the first)
  is covered when a case is dated on each side of it — the last day before and the edge or later
  — within the periods that meet there.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

from cpc_rules import ir
from cpc_rules.diagnostics import CpcError, Span
from cpc_rules.engine.evaluate import NOT_EVALUATED
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.record import asdict, frozen
from cpc_rules.syntax import format as fmt
from cpc_rules.testing import situation_of


@frozen
class Item:
    """One thing to cover: seen true / seen false (or both sides of an edge)."""

    kind: str  # rule, condition, threshold, date_edge
    article: str | None
    name: str
    location: str | None
    true: int  # cases on the "true" (or "after") side
    false: int  # cases on the "false" (or "before") side
    needs_false: bool = True

    @property
    def covered(self) -> bool:
        return self.true > 0 and (self.false > 0 or not self.needs_false)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "covered": self.covered}


@frozen
class Report:
    cases: int
    failed_cases: int  # cases that raised (expected errors): they cover nothing
    items: tuple[Item, ...]

    def figures(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for kind in ("rule", "condition", "threshold", "date_edge"):
            xs = [i for i in self.items if i.kind == kind]
            n = sum(i.covered for i in xs)
            out[kind] = {"covered": n, "total": len(xs), "percent": _pct(n, len(xs))}
        return out

    def articles(self) -> list[dict[str, Any]]:
        by: dict[str, list[Item]] = {}
        for i in self.items:
            if i.article and i.kind in ("rule", "condition"):
                by.setdefault(i.article, []).append(i)
        return [{"article": a, "covered": sum(i.covered for i in xs), "total": len(xs), "percent": _pct(sum(i.covered for i in xs), len(xs))} for a, xs in by.items()]

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "cases_with_error": self.failed_cases,
            "figures": self.figures(),
            "articles": self.articles(),
            "uncovered": [i.to_json() for i in self.items if not i.covered],
        }


def _pct(n: int, total: int) -> float:
    return 100.0 if total == 0 else round(100.0 * n / total, 1)


def _loc(span: Span | None) -> str | None:
    """`file:line`, the file relative to the current folder when it lies under it (no machine paths in reports)."""
    if span is None:
        return None
    path = Path(span.file)
    try:
        path = path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        pass
    return f"{path.as_posix()}:{span.line}"


def _bool_nodes(e: ir.Expr) -> list[ir.Expr]:
    """The boolean nodes of a condition, outermost first (literals aside)."""
    return [n for n in ir.walk(e) if n.type.kind == "bool" and not isinstance(n, ir.Const)]


def _compares(e: ir.Expr) -> list[tuple[ir.Compare, ir.ParamRef]]:
    out = []
    for n in ir.walk(e):
        if isinstance(n, ir.Compare):
            for side in (n.left, n.right):
                if isinstance(side, ir.ParamRef):
                    out.append((n, side))
    return out


def coverage(rb: Any) -> Report:
    """Decide every test case of `rb` (an api.Rulebook loaded with its tests) with the traced run."""
    c: ir.Rulebook = rb.checked
    program = rb.program
    rule_seen = [[0, 0] for _ in c.rules]
    node_seen: dict[int, list[int]] = {}
    thr_seen: dict[tuple[int, int, tuple[str, ...]], list[int]] = {}  # (param, step, key) → [true, false]
    dates: list[dt.date] = []
    failed = 0
    compares = [(r, _compares(r.condition)) for r in c.rules if r.condition is not None]
    for case in c.tests:
        try:
            facts = program.facts_vector(situation_of(case))
        except CpcError:
            failed += 1
            continue
        if getattr(case, "presumptions", False) and hasattr(program, "presume"):
            facts = program.presume(facts)[0]  # `avec présomptions`: as the test runner decides it
        if not program.in_coverage(case.date):
            continue
        at = program.at(case.date)
        try:
            a, _, v = program.run(facts, at, trace=True)
        except EvaluationError:
            failed += 1
            continue
        dates.append(case.date)
        for r in c.rules:
            if not at.active[r.index]:
                continue
            if a[r.index] is True:
                rule_seen[r.index][0] += 1
            elif a[r.index] is False:
                rule_seen[r.index][1] += 1
            if r.condition is not None:
                for n in _bool_nodes(r.condition):
                    x = v[n.nid]
                    if x is True or x is False:
                        node_seen.setdefault(n.nid, [0, 0])[0 if x else 1] += 1
        for r, cmps in compares:
            if not at.active[r.index]:
                continue
            for cmp, pref in cmps:
                x = v[cmp.nid]
                if x is not True and x is not False:
                    continue
                keys = tuple(v[k.nid] for k in pref.args)
                if any(k is NOT_EVALUATED or not isinstance(k, str) for k in keys):
                    continue
                step = at.steps[pref.index]
                if step is None:
                    continue
                si = c.params[pref.index].steps.index(step)
                thr_seen.setdefault((pref.index, si, keys), [0, 0])[0 if x else 1] += 1
    items: list[Item] = []
    for r in c.rules:
        art = c.articles[r.article].ref
        if r.kind == "define" and r.condition is None:
            continue  # a definition's default value: nothing to cover both ways
        t, f = rule_seen[r.index]
        items.append(Item("rule", art, r.name, _loc(r.span), t, f, r.condition is not None))
        if r.condition is not None:
            for n in _bool_nodes(r.condition):
                t, f = node_seen.get(n.nid, (0, 0))
                items.append(Item("condition", art, f"{r.name} : {fmt.expr(n.src)}", _loc(n.src.span if hasattr(n.src, "span") else None) or _loc(r.span), t, f))
    # thresholds: every cell of every step of a parameter compared in a condition
    compared: dict[int, set[str]] = {}
    for r, cmps in compares:
        for _, pref in cmps:
            compared.setdefault(pref.index, set()).add(c.articles[r.article].ref)
    for pi in sorted(compared):
        p = c.params[pi]
        for si, s in enumerate(p.steps):
            cells = _cells(p, s.value)
            if not any(_overlaps(s.period, c.coverage) for _ in (0,)):
                continue
            for keys in cells:
                t, f = thr_seen.get((pi, si, keys), (0, 0))
                label = f"{p.name}{'[' + ', '.join(keys) + ']' if keys else ''} {_period(s.period)}"
                items.append(Item("threshold", ", ".join(sorted(compared[pi])), label, _loc(s.span), t, f))
    # date edges: the start of every step and version that follows another
    for p in c.params:
        for prev, s in zip(p.steps, p.steps[1:], strict=False):
            items.append(_edge(f"{p.name} : {s.period.start}", None, _loc(s.span), prev.period.start, s.period.start, s.period.end, dates))
    for art in c.articles:
        if not any(r.article == art.index for r in c.rules):
            continue
        starts = sorted({v.period.start for v in art.versions} | {v.period.end for v in art.versions if v.period.end})
        for k, edge in enumerate(starts):
            if c.coverage is not None and not (c.coverage.start < edge and (c.coverage.end is None or edge < c.coverage.end)):
                continue
            before = starts[k - 1] if k > 0 else (c.coverage.start if c.coverage else edge)
            after = starts[k + 1] if k + 1 < len(starts) else None
            items.append(_edge(f"{art.ref} : {edge}", art.ref, _loc(art.span), before, edge, after, dates))
    return Report(len(c.tests), failed, tuple(items))


def _edge(name: str, article: str | None, loc: str | None, before: dt.date, edge: dt.date, after: dt.date | None, dates: list[dt.date]) -> Item:
    t = sum(1 for d in dates if edge <= d and (after is None or d < after))
    f = sum(1 for d in dates if before <= d < edge)
    return Item("date_edge", article, name, loc, t, f)


def _overlaps(p: Any, cov: Any) -> bool:
    if cov is None:
        return True
    return (cov.end is None or p.start < cov.end) and (p.end is None or cov.start < p.end)


def _cells(p: ir.ParamInfo, value: object) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return sorted(value)
    return [()]


def _period(p: Any) -> str:
    return f"depuis {p.start}" + (f" jusqu'au {p.end} exclu" if p.end else "")


# ---------------------------------------------------------------- rendering

_KIND_FR = {"rule": "règles", "condition": "conditions", "threshold": "seuils (par période et case)", "date_edge": "bords de dates"}
_ONE_FR = {"rule": "règle", "condition": "condition", "threshold": "seuil", "date_edge": "bord de date"}
_SIDES = {"rule": ("s'applique", "ne s'applique pas"), "condition": ("vraie", "fausse"), "threshold": ("comparaison vraie", "comparaison fausse"), "date_edge": ("à partir du bord", "avant le bord")}


def _pct_fr(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")


def render_text(report: Report, limit: int | None = 40) -> str:
    lines = [f"Couverture du recueil par ses {report.cases} cas de test ({report.failed_cases} cas en erreur attendue ne couvrent rien)", ""]
    for kind, f in report.figures().items():
        lines.append(f"  {_KIND_FR[kind]:<30} {f['covered']:>5} / {f['total']:<5} {_pct_fr(f['percent']):>6} %")
    partial = [a for a in report.articles() if a["covered"] < a["total"]]
    if partial:
        lines.append("")
        lines.append(f"Articles dont les règles et conditions ne sont pas toutes couvertes : {len(partial)}")
        for a in partial:
            lines.append(f"  {a['article']} : {a['covered']} / {a['total']} ({_pct_fr(a['percent'])} %)")
    un = [i for i in report.items if not i.covered]
    lines.append("")
    lines.append(f"Non couverts dans les deux sens : {len(un)}")
    for i in un[:limit] if limit else un:
        yes, no = _SIDES[i.kind]
        missing = no if i.true else yes
        lines.append(f"  {i.location or '—'} : {_ONE_FR[i.kind]} {i.name} — aucun cas « {missing} »")
    if limit and len(un) > limit:
        lines.append(f"  … {len(un) - limit} autre(s) (voir --format json)")
    return "\n".join(lines) + "\n"


def render_html(report: Report) -> str:
    e = html.escape
    rows = []
    for kind, f in report.figures().items():
        rows.append(f"<tr><td>{e(_KIND_FR[kind])}</td><td>{f['covered']}</td><td>{f['total']}</td><td>{_pct_fr(f['percent'])} %</td></tr>")
    arts = []
    for a in report.articles():
        arts.append(f"<tr><td>{e(a['article'])}</td><td>{a['covered']}</td><td>{a['total']}</td><td>{_pct_fr(a['percent'])} %</td></tr>")
    un = []
    for i in report.items:
        if not i.covered:
            yes, no = _SIDES[i.kind]
            un.append(f"<tr><td>{e(i.kind)}</td><td>{e(i.article or '')}</td><td>{e(i.name)}</td><td>{e(i.location or '')}</td><td>{e(no if i.true else yes)}</td></tr>")
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8"><title>Couverture du recueil</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style></head><body>\n"
        f"<h1>Couverture du recueil par ses {report.cases} cas de test</h1>\n"
        "<table><tr><th>élément</th><th>couverts</th><th>total</th><th>%</th></tr>" + "".join(rows) + "</table>\n"
        "<h2>Par article (règles et conditions)</h2>\n<table><tr><th>article</th><th>couverts</th><th>total</th><th>%</th></tr>" + "".join(arts) + "</table>\n"
        "<h2>Non couverts dans les deux sens</h2>\n<table><tr><th>type</th><th>article</th><th>élément</th><th>lieu</th><th>cas manquant</th></tr>" + "".join(un) + "</table>\n"
        "</body></html>\n"
    )
