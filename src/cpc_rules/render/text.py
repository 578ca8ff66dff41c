"""The decision in words, for a buyer: French by default, English with lang="en".

The summary gives each conclusion with its articles; `full=True` adds the trace
tree (conditions with their values, facts and parameters with their sources).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cpc_rules.decision import Decision

_WORDS = {
    "fr": {
        "title": "Décision au {date} — {rulebook}",
        "out": "Hors période : {message}",
        "allowed": "✔ autorisé",
        "forbidden": "✘ interdit",
        "not_allowed": "✘ non autorisé",
        "undetermined": "? indéterminé",
        "mandatory": "● obligatoire",
        "not_mandatory": "○ non obligatoire",
        "ground": "fondement",
        "unencoded": "non encodé",
        "why_not": "condition non remplie",
        "pending": "dépend de",
        "missing": "Faits manquants (ils pourraient changer la décision)",
        "missing_item": "manque",
        "values": "Valeurs calculées",
        "info": "Informations",
        "maybe": "(si la condition est remplie)",
        "articles": "Articles cités",
        "not_in_force": "Articles non en vigueur à cette date",
        "version": "version en vigueur depuis le {start}",
        "confirm": "interprétation à confirmer",
        "unknown": "inconnu",
        "true": "vrai",
        "false": "faux",
        "not_evaluated": "non évalué",
        "trace": "Trace complète",
        "fact": "fait",
        "param": "paramètre",
        "since": "depuis le",
        "source": "source",
        "overridden": "écartée par l'exception",
        "applies": "s'applique",
        "not_applies": "ne s'applique pas",
        "engine": "Moteur cpc-rules {version}, règles {digest}",
    },
    "en": {
        "title": "Decision at {date} — {rulebook}",
        "out": "Out of period: {message}",
        "allowed": "✔ allowed",
        "forbidden": "✘ forbidden",
        "not_allowed": "✘ not allowed",
        "undetermined": "? undetermined",
        "mandatory": "● mandatory",
        "not_mandatory": "○ not mandatory",
        "ground": "ground",
        "unencoded": "not encoded",
        "why_not": "condition not met",
        "pending": "depends on",
        "missing": "Missing facts (they could change the decision)",
        "missing_item": "missing",
        "values": "Computed values",
        "info": "Information",
        "maybe": "(if the condition holds)",
        "articles": "Articles cited",
        "not_in_force": "Articles not in force at this date",
        "version": "version in force since {start}",
        "confirm": "reading to be confirmed",
        "unknown": "unknown",
        "true": "true",
        "false": "false",
        "not_evaluated": "not evaluated",
        "trace": "Full trace",
        "fact": "fact",
        "param": "parameter",
        "since": "since",
        "source": "source",
        "overridden": "overridden by the exception",
        "applies": "applies",
        "not_applies": "does not apply",
        "engine": "cpc-rules engine {version}, rules {digest}",
    },
}


def _rule_line(d: Decision, index: int, w: dict[str, str]) -> str:
    r = d.rulebook.rules[index]
    art = d.rulebook.articles[r.article]
    v = art.version_at(d.date)
    text = f"{art.ref}"
    if art.label:
        text += f" « {art.label} »"
    if r.label:
        text += f" — {r.label}"
    if v is not None:
        text += f" [{w['version'].format(start=v.period.start.isoformat())}"
        text += f", {v.legiarti}]" if v.legiarti else "]"
    for confirm in d.to_confirm(index):
        text += f"\n          ⚠ {w['confirm']} : {confirm}"
    return text


def _failed(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The deepest false parts of a false condition: what actually failed."""
    if node is None or node.get("value") is not False:
        return []
    kids = [k for k in node.get("children", []) if k.get("type") == "booléen" and k.get("value") is False]
    if kids and " et " in node["expr"] and not node["expr"].startswith("non "):
        return [x for k in kids for x in (_failed(k) or [k])]
    return [node]


def _value_text(node: dict[str, Any], w: dict[str, str]) -> str:
    if node["outcome"] == "not_evaluated":
        return w["not_evaluated"]
    if node["outcome"] == "unknown":
        return w["unknown"]
    value = node.get("value")
    if value is True:
        return w["true"]
    if value is False:
        return w["false"]
    return str(node.get("display", value))


def _tree(node: dict[str, Any], w: dict[str, str], depth: int, out: list[str]) -> None:
    pad = "    " * depth
    line = f"{pad}{node['expr']} : {_value_text(node, w)}"
    if "fact" in node:
        line += f"  ({w['fact']}{' « ' + node['label'] + ' »' if node.get('label') else ''})"
    if "parameter" in node and "step" in node:
        step = node["step"]
        line += f"  ({w['param']} {w['since']} {step['from']}, {w['source']} : {step['source']})"
        if step.get("to_confirm"):
            line += f" ⚠ {w['confirm']} : {step['to_confirm']}"
    out.append(line)
    if "fact" in node or "parameter" in node:
        return
    for k in node.get("children", []):
        _tree(k, w, depth + 1, out)


def explain(d: Decision, lang: str = "fr", full: bool = False) -> str:
    w = _WORDS.get(lang, _WORDS["fr"])
    rb = d.rulebook
    out = [w["title"].format(date=d.date.isoformat(), rulebook=rb.title or "recueil")]
    if d.out_of_period:
        from cpc_rules.render.json import decision_json

        out.append(w["out"].format(message=decision_json(d)["message"]))
        return "\n".join(out) + "\n"
    trace = d.trace if (full or any(s.refused for s in d.statuses)) else None
    by_enum: dict[str, list[Any]] = {}
    for s in d.statuses:
        by_enum.setdefault(s.enum, []).append(s)
    for enum, statuses in by_enum.items():
        out.append("")
        out.append(rb.enums[enum].label or enum)
        for s in statuses:
            marks = [w[x] for x in (s.permission, s.obligation) if x is not None]
            out.append(f"  {' / '.join(marks)} : {s.label}")
            for r in s.unencoded:
                maybe = "" if d.activations[r] is True else " " + w["maybe"]
                out.append(f"      {w['unencoded']} : {rb.rules[r].text}{maybe}  ({rb.articles[rb.rules[r].article].ref})")
            for r in s.grounds:
                out.append(f"      {w['ground']} : {_rule_line(d, r, w)}")
                for note in rb.rules[r].notes:
                    out.append(f"          • {note}")
            for r in s.pending:
                out.append(f"      {w['pending']} : {_rule_line(d, r, w)}")
            if s.missing:
                out.append(f"      {w['missing_item']} : {', '.join(sorted(s.missing))}")
            if trace is not None and not full:
                for r in s.refused:
                    t = trace["rules"][rb.rules[r].name]
                    if not t["in_force"]:
                        continue
                    for failed in _failed(t.get("condition")) or ([t["condition"]] if t.get("condition") else []):
                        out.append(f"      {w['why_not']} ({rb.articles[rb.rules[r].article].ref}) : {failed['expr']}")
    if d.information:
        out.append("")
        out.append(w["info"])
        for r, certain in d.information:
            out.append(f"  ℹ {rb.rules[r].text}{'' if certain else ' ' + w['maybe']}  ({rb.articles[rb.rules[r].article].ref})")
    if rb.definitions:
        from cpc_rules import values

        out.append("")
        out.append(w["values"])
        for df in rb.definitions:
            out.append(f"  {df.label or df.name} : {values.display(d.definition_values[df.index], df.type, lang)}")
    if d.missing:
        labels = {f.name: f.label for f in rb.facts}
        out.append("")
        out.append(w["missing"])
        for m in d.missing:
            label = labels.get(m.split("[")[0])
            out.append(f"  - {m}" + (f" : {label}" if label else ""))
    out.append("")
    out.append(w["articles"])
    for a in d.articles_cited:
        art = rb.articles[a]
        v = art.version_at(d.date)
        line = f"  {art.ref}" + (f" « {art.label} »" if art.label else "")
        if v is not None:
            line += f" — {w['version'].format(start=v.period.start.isoformat())}" + (f", {v.legiarti}" if v.legiarti else "") + (f" ({v.source})" if v.source else "")
        out.append(line)
    if d.not_in_force:
        out.append("")
        out.append(w["not_in_force"])
        for a in d.not_in_force:
            art = rb.articles[a]
            spans = ", ".join(f"{v.period.start.isoformat()}→{v.period.end.isoformat() if v.period.end else '…'}" for v in art.versions)
            out.append(f"  {art.ref}" + (f" « {art.label} »" if art.label else "") + f" ({spans})")
    if full and trace is not None:
        out.append("")
        out.append(w["trace"])
        for name, t in trace["rules"].items():
            if not t["in_force"]:
                continue
            state = w["applies"] if t["applies"] is True else (w["not_applies"] if t["applies"] is False else w["unknown"])
            out.append(f"  règle {name} ({t['article']}) : {state}" + (f" — {w['overridden']} {', '.join(t['overridden_by'])}" if t.get("overridden_by") else ""))
            if t.get("condition"):
                _tree(t["condition"], w, 2, out)
            if t.get("value"):
                _tree(t["value"], w, 2, out)
    out.append("")
    out.append(w["engine"].format(version=d.engine_version, digest=rb.digest[:19]))
    return "\n".join(out) + "\n"
