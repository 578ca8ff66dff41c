"""The decision in words, for a buyer: French by default, English with lang="en".

The answer comes first (`verdict`, about fifteen lines, the presumptions included: each part has its budget of
lines, the rest is in the report): the procedures the buyer may use with the publicity each one owes (after « → »),
the obligations that apply (and the prohibitions on a choice the buyer said it envisages), what stays open with the
one question that settles most of it, and the presumptions the answer rests on (one line). The report (`detail`) gives every conclusion
with its grounds, the values that refused a condition and the articles; `full`
adds the trace tree. A fact is always shown by its label (the question a buyer
answers), never by its identifier alone.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from typing import TYPE_CHECKING, Any

from cpc_rules import values
from cpc_rules.engine.runtime import EvaluationError, Unknown
from cpc_rules.render.readers import presumption_articles

if TYPE_CHECKING:
    from cpc_rules import ir
    from cpc_rules.decision import Decision, Presumption, Status

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
        "verdict_unencoded": "indéterminé, non encodé",
        "verdict_maybe_unencoded": "peut-être non encodé (à préciser)",
        "and_more": "et {n} autre{s}",
        "for_these": "pour ces {n} procédures",
        "subject_to_n": "Sous réserve de {n} présomption(s){value}, dont",
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
        "lang": "fr",
        "mode_presumptions": "avec présomptions",
        "mode_strict": "sans présomption",
        "focus": "restreinte à",
        "possible": "possibles",
        "only": "seule possible",
        "must": "obligatoire",
        "chosen": "retenue",
        "not_possible": "non",
        "open": "indéterminé",
        "none_possible": "aucune n'est autorisée",
        "obligations": "S'appliquent",
        "subject_to": "Sous réserve de (présumé sauf indication contraire)",
        "subject_to_all": "Sous réserve de (présumé {value} sauf indication contraire)",
        "open_count": "Reste indéterminé : {n} conclusion(s) (voir --detail)",
        "some_procedures": "selon la procédure",
        "open_modes": "? à préciser ({n} possibilités, --detail)",
        "open_count_page": "Reste indéterminé : {n} conclusion(s)",
        "open_modes_page": "? à préciser ({n} possibilités)",
        "open_question": "Reste indéterminé : {n} conclusion(s) — question décisive : « {label} »",
        "cases": "{n} cas {value} : {reason}",
        "more": "Rapport détaillé : option --detail (la trace : --trace)",
        "report": "Rapport détaillé",
        "presumed": "sous réserve de",
        "missing_none": "aucun",
        "version_of": "version du {start}",
        "out_of": "hors de",
        "yes": "oui",
        "no": "non",
        "presumed_value": "présumé",
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
        "verdict_unencoded": "undetermined, not encoded",
        "verdict_maybe_unencoded": "perhaps not encoded (to be settled)",
        "and_more": "and {n} more",
        "for_these": "for these {n} procedures",
        "subject_to_n": "Subject to {n} presumption(s){value}, among them",
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
        "lang": "en",
        "mode_presumptions": "with presumptions",
        "mode_strict": "without presumptions",
        "focus": "restricted to",
        "possible": "possible",
        "only": "the only one possible",
        "must": "mandatory",
        "chosen": "chosen",
        "not_possible": "not",
        "open": "undetermined",
        "none_possible": "none is allowed",
        "obligations": "Apply",
        "subject_to": "Subject to (presumed unless stated otherwise)",
        "subject_to_all": "Subject to (presumed {value} unless stated otherwise)",
        "open_count": "Still undetermined: {n} conclusion(s) (see --detail)",
        "some_procedures": "depending on the procedure",
        "open_modes": "? to be settled ({n} possibilities, --detail)",
        "open_count_page": "Still undetermined: {n} conclusion(s)",
        "open_modes_page": "? to be settled ({n} possibilities)",
        "open_question": "Still undetermined: {n} conclusion(s) — deciding question: « {label} »",
        "cases": "{n} cases {value}: {reason}",
        "more": "Detailed report: option --detail (the trace: --trace)",
        "report": "Detailed report",
        "presumed": "subject to",
        "missing_none": "none",
        "version_of": "version of {start}",
        "out_of": "not in",
        "yes": "yes",
        "no": "no",
        "presumed_value": "presumed",
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
        line += f"  ({w['fact']}{' « ' + node['label'] + ' »' if node.get('label') else ''}{', ' + w['presumed_value'] if node.get('presumed') else ''})"
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




# ---------------------------------------------------------------- labels


def short(text: str, width: int = 60) -> str:
    """A label cut on a word, for one-line lists."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0].rstrip(" ,;:(")
    return cut + "…"


def fact_label(rb: ir.Rulebook, name: str) -> str:
    """The question a fact answers; for a record field (`lots[2].valeur`), the list's label, the element and the field's."""
    base, _, rest = name.partition("[")
    f = next((f for f in rb.facts if f.name == base), None)
    if f is None:
        return name
    label = f.label or f.name
    if rest:
        index, _, field = rest.partition("].")
        rec = rb.records.get(f.type.name or "") if f.type.kind == "list" else None
        flabel = next((fl for n, _, fl in rec.fields if n == field), None) if rec else None
        label = f"{label} — n° {index} : {flabel or field}"
    return label


def _quoted(rb: ir.Rulebook, names: Any, width: int = 0) -> str:
    return ", ".join(f"« {short(fact_label(rb, n), width) if width else fact_label(rb, n)} »" for n in sorted(names))


def _arts(d: Decision, rules: Any) -> str:
    rb = d.rulebook
    return ", ".join(dict.fromkeys(rb.articles[rb.rules[r].article].ref for r in rules))


def _member_label(rb: ir.Rulebook, enum: str | None, member: Any) -> str:
    if enum and enum in rb.enums and isinstance(member, str):
        return rb.enums[enum].labels.get(member) or member
    return str(member)


# ---------------------------------------------------------------- why a condition failed, in values


_NEGATED = {"<": "≥", "<=": ">", "≤": ">", ">": "≤", ">=": "<", "≥": "<", "=": "≠", "!=": "=", "≠": "="}


def _side(d: Decision, node: dict[str, Any] | None, text: str, w: dict[str, str]) -> str:
    """One side of a comparison: its label and its value (`valeur estimée 215 999,99 €`)."""
    rb = d.rulebook
    if node is None:  # a constant: its text is its value
        return text
    value = _value_text(node, w)
    if node.get("type") in rb.enums and isinstance(node.get("value"), str):
        value = _member_label(rb, node["type"], node["value"])
    if "fact" in node:
        name = short(node.get("label") or node["fact"], 50)
        return f"{name} {value}" + (f" ({w['presumed_value']})" if node.get("presumed") else "")
    if "parameter" in node:
        return f"{short(node.get('label') or node['parameter'], 50)} {value}"
    if "definition" in node:
        df = next((x for x in rb.definitions if x.name == node["definition"]), None)
        return f"{short((df.label if df else None) or node['definition'], 50)} {value}"
    return f"{node['expr']} = {value}"


def refusal(d: Decision, node: dict[str, Any], w: dict[str, str]) -> str:
    """A false condition in the values that made it false, not as an expression.

    `valeur_estimée < seuil_dispense[nature]`, false, reads "Valeur estimée … 215 999,99 € ≥
    Seuil de dispense … 40 000 €". What cannot be put so is shown as its expression.
    """
    expr = node["expr"]
    kids = node.get("children", [])
    rb = d.rulebook
    if "fact" in node or "definition" in node:  # a boolean fact or definition that is false
        label = short(fact_label(rb, node["fact"]), 90) if "fact" in node else _side(d, node, expr, w).rsplit(" ", 1)[0]
        return f"« {label} » : {w['no']}" + (f" ({w['presumed_value']})" if node.get("presumed") else "")
    if expr.startswith("non ") and len(kids) == 1 and ("fact" in kids[0] or "definition" in kids[0]):
        k = kids[0]
        label = short(fact_label(rb, k["fact"]), 90) if "fact" in k else k["expr"]
        return f"« {label} » : {w['yes']}"
    if " dans {" in expr and len(kids) == 1:
        k = kids[0]
        members = expr[expr.index(" dans {") + 7 : -1].split(", ")
        enum = k.get("type")
        return f"{_side(d, k, k['expr'], w)} ({w['out_of']} : {', '.join(_member_label(rb, enum, m) for m in members)})"
    for op in sorted(_NEGATED, key=len, reverse=True):
        sep = f" {op} "
        if sep not in expr:
            continue
        left_text, right_text = expr.split(sep, 1)
        left = next((k for k in kids if k["expr"] == left_text), None)
        right = next((k for k in kids if k["expr"] == right_text and k is not left), None)
        if (left is None and right is None) or sep in right_text:
            break
        enum = (left or right or {}).get("type")
        if left is None and enum in rb.enums:
            left_text = _member_label(rb, enum, left_text)
        if right is None and enum in rb.enums:
            right_text = _member_label(rb, enum, right_text)
        return f"{_side(d, left, left_text, w)} {_NEGATED[op]} {_side(d, right, right_text, w)}"
    return expr


# ---------------------------------------------------------------- the verdict


def _main(d: Decision) -> list[tuple[str, ir.FactInfo | None]]:
    """The main enumeration (the procedures) and the fact that chooses one of its members, if the rulebook has one.

    The main enumeration is the first one in focus on which rules permit or forbid
    (the rulebook declares them in the order of the Code: procedures first).
    """
    rb = d.rulebook
    main = next((s.enum for s in d.statuses if s.permission is not None), None)
    if main is None:
        return []
    return [(main, next((f for f in rb.facts if f.type.kind == "enum" and f.type.name == main), None))]


def _read_directly(d: Decision, fact: int) -> set[str]:
    """The enumerations with a rule whose condition reads this fact itself."""
    from cpc_rules import ir as ir_

    rb = d.rulebook
    return {
        r.enum
        for r in rb.rules
        if r.enum is not None and r.condition is not None and any(isinstance(n, ir_.FactRef) and n.index == fact for n in ir_.walk(r.condition))
    }


def _given(d: Decision, f: ir.FactInfo) -> bool:
    v = d.facts[f.index] if d.facts is not None else None
    return v is not None and v.__class__ is not Unknown and d.presumption(f.name) is None


def _wrap(head: str, items: list[str], indent: str = "  ", gap: str = " ; ") -> list[str]:
    """`head : a ; b ; c` on lines of at most 110 characters, never breaking inside « … » marks or before `;`."""
    text = head + " : " + gap.join(items)
    glued = text.replace("« ", "«\u00a0").replace(" »", "\u00a0»").replace(" ;", "\u00a0;").replace(" :", "\u00a0:")
    lines = textwrap.wrap(glued, width=110, subsequent_indent=indent, break_on_hyphens=False) or [head]
    return [line.replace("\u00a0", " ") for line in lines]


WIDTH = 110  # the verdict's lines, for a terminal
MAX_OBLIGATIONS = 4  # the verdict's obligations; the others are in the report


def _joinable(entry: tuple[Any, list[str], Any]) -> bool:
    """A procedure's line that can share one with others: a plain ✔ or ? line, nothing said after it but « indéterminé »."""
    _, lines, _ = entry
    line = lines[0].strip()
    return len(lines) == 1 and line[:1] in ("✔", "?") and (" — " not in line or line.endswith((" — indéterminé", " — undetermined")))


def _derived_from_given(d: Decision) -> set[str]:
    """Facts a buyer may give but the rulebook also derives, here from a fact given (`acheteur`, the category, once
    `type_acheteur` is said): what settles them is the rest of that derivation, not the fact itself."""
    from cpc_rules import ir as ir_

    rb = d.rulebook
    given = {f.index for f in rb.facts if _given(d, f)}
    by_def: dict[int, list[Any]] = {}
    for r in rb.rules:
        if r.define is not None:
            by_def.setdefault(r.define, []).append(r)
    out: set[str] = set()
    for rules in by_def.values():
        copied = [r.value.index for r in rules if r.condition is None and isinstance(r.value, ir_.FactRef)]
        if copied and any(isinstance(n, ir_.FactRef) and n.index in given for r in rules if r.condition is not None for n in ir_.walk(r.condition)):
            out.update(rb.facts[i].name for i in copied)
    return out


def _more(w: dict[str, str], n: int) -> str:
    """« et 3 autres » (the report, --detail, lists them)."""
    return w["and_more"].format(n=n, s="s" if n > 1 else "")


def _one_line(head: str, items: list[str], w: dict[str, str], every: bool = False) -> str:
    """`head : a ; b ; et N autres` in one line: as many whole items as fit, in order; else as many cut ones (their
    articles kept), at least one. `every`: every item, cut if need be, before any is left out (the possibilities)."""
    tries = [(c, k) for k in range(len(items), 0, -1) for c in (False, True)] if every else [(c, k) for c in (False, True) for k in range(len(items), 0, -1)]
    for cut, k in tries:
        if True:
            more = [_more(w, len(items) - k)] if k < len(items) else []
            room = WIDTH - len(f"{head} : ") - sum(len(x) + 3 for x in more) - 3 * (k - 1)
            if cut and room // k < 30:
                continue
            shown = [_cut(x, room // k) if cut else x for x in items[:k]]
            text = f"{head} : {' ; '.join(shown + more)}"
            if len(text) <= WIDTH:
                return text
    more_ = f" ; {_more(w, len(items) - 1)}" if len(items) > 1 else ""
    return f"{head} : {_cut(items[0], max(20, WIDTH - len(head) - len(more_) - 3))}{more_}"


def _cut(item: str, width: int) -> str:
    """An item cut to `width` characters on a word, its articles in brackets at the end kept."""
    m = re.match(r"^(.*?)((?:\s|\u00a0)\([^()]*\))$", item)
    if m is None or len(m.group(2)) > width - 10:
        return short(item, width)
    return short(m.group(1), width - len(m.group(2))) + m.group(2)


def _presumption_items(d: Decision, used: set[str], w: dict[str, str], shown: list[Status] | None = None) -> list[str]:
    """The presumptions used, grouped by articles; with `shown`, those on which most of its settled conclusions rest first."""
    groups: dict[tuple[Any, ...], list[Presumption]] = {}
    refs = presumption_articles(d)
    for p in d.applied:
        if p.fact in used:
            groups.setdefault((refs[p.fact], values.display(p.value, p.type, w["lang"])), []).append(p)
    same = len({display for _, display in groups}) == 1  # then the header says it once
    if shown is not None:
        rests = [(s.undetermined, set(d.presumed_for(s))) for s in shown]

        def weight(ps: list[Presumption]) -> tuple[int, int]:
            facts = {p.fact for p in ps}
            hits = [open_ for open_, on in rests if facts & on]
            return (-sum(1 for open_ in hits if not open_), -len(hits))

        groups = dict(sorted(groups.items(), key=lambda kv: weight(kv[1])))
    items = []
    for (articles, display), ps in groups.items():
        arts = ", ".join(articles)
        if shown is not None:  # the verdict's one line: a name, not the whole question; an article's number once, not its gloss
            numbers: dict[str, str] = {}
            for a in articles:  # « R2322-14 » and « R2322-14 et s. : achat innovant… »: R2322-14
                m = re.match(r"[LRD]\d[\d-]*\b", a)
                numbers.setdefault(m.group(0) if m else a, a.split(" : ")[0])
            arts = ", ".join(numbers.values())
            reason = Counter(p.reason for p in ps).most_common(1)[0][0]
            name = f"« {short(re.sub(r'^(?:[RL][0-9-]+|[0-9]+°) : ', '', ps[0].label or ps[0].fact), 45)} »"
            if len(ps) > 1:
                name = f"{len(ps)} {short(reason, 50)}" if reason.startswith(("cas ", "case")) else f"{len(ps)} {w['cases'].split(' ')[1]} : {short(reason, 45)}"
            items.append(f"{name}\u00a0({arts})")
            continue
        if len(ps) == 1:
            items.append(f"« {short(ps[0].label or ps[0].fact, 40)} »" + ("" if same else f" : {display}") + f" ({arts})")
        else:
            reason = Counter(p.reason for p in ps).most_common(1)[0][0]
            items.append(w["cases"].format(n=len(ps), value="" if same else display, reason=short(reason, 50) if shown is not None else reason).replace("  ", " ").replace(" :", " :") + f" ({arts})")
    return items


def _presumption_header(d: Decision, used: set[str], w: dict[str, str]) -> str:
    shown = {values.display(p.value, p.type, w["lang"]) for p in d.applied if p.fact in used}
    return w["subject_to"] if len(shown) != 1 else w["subject_to_all"].format(value=next(iter(shown)))


def _with_arts(label: str, arts: str) -> str:
    """`label (arts)`, unless the label already ends with those articles."""
    if not arts:
        return label
    refs = arts.split(", ")
    if label.rstrip().endswith(f"({arts})") or all(r in label for r in refs):
        return label
    return f"{label} ({', '.join(refs[:3])}…)" if len(refs) > 4 else f"{label} ({arts})"


def _bare(label: str) -> str:
    """A member's label without its articles in brackets nor its explanation after « : » (for one-line lists)."""
    label = label.split(" : ")[0]
    return re.sub(r"\s*\((?:[LRD]\s?\d|art)[^)]*\)", "", label).strip()


def _variant_of(lead: Status, s: Status) -> bool:
    """`s` is a variant of `lead` (« Appel d'offres ouvert » of « Appel d'offres (ouvert ou restreint) »): its label
    extends the lead's stem with a word the lead's label already names, and it has the same status on the same grounds."""
    stem = lead.label.split(" (")[0]
    rest = _bare(s.label)
    if s is lead or not rest.startswith(stem + " ") or "(" not in lead.label:
        return False
    named = rest[len(stem) + 1 :].strip()
    return named in lead.label and (s.permission, s.obligation, tuple(s.grounds)) == (lead.permission, lead.obligation, tuple(lead.grounds))


def _fold(statuses: list[Status]) -> list[Status]:
    """The statuses without the variants a generic one already names (said once, not three times)."""
    return [s for s in statuses if not any(_variant_of(lead, s) for lead in statuses)]


def _unencoded_lines(d: Decision, w: dict[str, str]) -> list[str]:
    """What the rulebook does not encode and this situation falls in (each said), or may (one line: they must not swamp)."""
    rb = d.rulebook
    rules = dict.fromkeys(r for s in d.statuses for r in s.unencoded)
    certain = [r for r in rules if d.activations[r] is True]
    maybe = [r for r in rules if d.activations[r] is not True]
    lines = [f"⚠ {w['verdict_unencoded']} : {rb.rules[r].text} ({rb.articles[rb.rules[r].article].ref})" for r in certain]
    if maybe:
        first = rb.rules[maybe[0]]
        more = f" {_more(w, len(maybe) - 1)}" if len(maybe) > 1 else ""
        head = f"⚠ {w['verdict_maybe_unencoded']} : "
        tail = f" ({rb.articles[first.article].ref}){more}"
        lines.append(head + short(first.text, max(25, WIDTH - len(head) - len(tail))) + tail)
    return lines  # right under the title: what the answer below may not cover


def verdict(d: Decision, lang: str = "fr", hints: bool = True) -> str:
    """The answer first, in about fifteen lines: each part has its budget (see the module docstring).

    `hints`: the pointers to the terminal's options (« voir --detail »), for `decide`; a page (`verdict_json`) has
    no options to type, so its lines say the same without them."""
    w = _WORDS.get(lang, _WORDS["fr"])
    if not hints:
        w = {**w, "open_count": w["open_count_page"], "open_modes": w["open_modes_page"]}
    rb = d.rulebook
    title = w["title"].format(date=d.date.isoformat(), rulebook=rb.title or "recueil")
    title += f" ({w['mode_presumptions'] if d.mode == 'presumptions' else w['mode_strict']}"
    title += f" ; {w['focus']} : {', '.join(rb.enums[e].label or e for e in d.focus)})" if d.focus else ")"
    out = [title]
    if d.out_of_period:
        out.append(w["out"].format(message=out_of_period_message(d)))
        return "\n".join(out) + "\n"
    out.extend(_unencoded_lines(d, w))
    shown: list[Status] = []  # the conclusions the verdict states: what its presumptions and question are about
    handled: set[str] = set()  # enumerations already stated
    open_missing: Counter[str] = Counter()
    used: set[str] = set()
    choice_facts = set()
    dep_common: list[str] = []  # owed whatever the procedure chosen (formalities, clauses that read the procedure)
    dep_some: list[str] = []  # owed for some procedures only
    for enum, f in _main(d):
        statuses = [s for s in d.statuses if s.enum == enum]
        given = f is not None and _given(d, f)
        if f is None:
            dependent: tuple[str, ...] = ()
        elif given:
            readers = _read_directly(d, f.index)
            dependent = tuple(dict.fromkeys(s.enum for s in d.statuses if s.enum in readers and s.enum != enum))
        else:
            choice_facts.add(f.name)
            dependent = tuple(dict.fromkeys(s.enum for s in d.statuses if f.name in s.missing and s.enum != enum))
        handled.add(enum)
        handled.update(dependent)
        out.append("")
        header = len(out)
        out.append(f"{rb.enums[enum].label or enum} — {w['chosen'] if given else w['possible']} :")
        candidates = [s for s in statuses if s.member == d.facts[f.index]] if given and f is not None and d.facts is not None else [s for s in statuses if s.permission in ("allowed", "undetermined")]
        if not candidates:
            out.append(f"  ✘ {w['none_possible']}")
        allowed = [s for s in statuses if s.permission == "allowed"]
        entries: list[tuple[Status, list[str], list[tuple[str, tuple[str, ...]]]]] = []  # a procedure's lines, then the publicity it owes
        for s in candidates:
            shown.append(s)
            mark = {"allowed": "✔", "undetermined": "?"}.get(s.permission or "", "✘")
            line = f"  {mark} {_with_arts(s.label, _arts(d, s.grounds or s.pending or s.refused))}"
            if s.permission in ("not_allowed", "forbidden"):
                line += f" — {w[s.permission].split(' ', 1)[1]}"
            if s.obligation == "mandatory":
                line += f" — {w['must']}"
            elif s.permission == "allowed" and len(_fold(allowed)) == 1 and len(_fold(candidates)) == 1 and not given:
                line += f" — {w['only']}"
            if s.permission == "undetermined":
                line += f" — {w['open']}"
                open_missing.update(s.missing - choice_facts)
            lines = [line]
            if given and s.permission != "allowed" and allowed:  # the procedure retained is not open: say which are
                lines.extend(_wrap(f"    {w['possible']}", [a.label for a in _fold(allowed)], "      "))
            pub: list[tuple[str, tuple[str, ...]]] = []  # (enumeration's label, items) the procedure owes
            alt = None
            if dependent and f is not None:
                alt = d if given else None
                if alt is None:
                    # unfocused first: the rulebook's own functions (shipped with the wheel), where a focus
                    # would compile its cone's in this process; a fault outside the cone sends to the focus
                    for focus in (None, dependent):
                        try:
                            alt = d.alternative({f.name: s.member}, focus=focus)
                            break
                        except EvaluationError:
                            continue
            if alt is not None:
                owed = [a for a in alt.statuses if a.enum in dependent and a.obligation == "mandatory"]
                unsure = [a for a in alt.statuses if a.enum in dependent and a.undetermined]
                for a in owed + unsure:
                    used.update(alt.presumed_for(a))
                for e in dependent:
                    items = [_with_arts(a.label, _arts(alt, a.grounds)) for a in owed if a.enum == e]
                    items += [f"? {_bare(a.label)}" for a in unsure if a.enum == e]
                    if items:
                        pub.append((short(rb.enums[e].label or e, 40), tuple(items)))
                for a in unsure:
                    open_missing.update(a.missing - choice_facts)
            entries.append((s, lines, pub))
        # a variant the generic member names is said once; procedures owing the same publicity, with the same mark,
        # are listed together and their publicity said once (a buyer reads one line per answer, not per variant)
        kept = [(s, lines, pub) for s, lines, pub in entries if not any(_variant_of(t, s) and pub == p for t, _, p in entries)]
        kept.sort(key=lambda e: e[0].permission == "undetermined")  # what the buyer may do first, then what is open
        runs: list[list[tuple[Status, list[str], list[tuple[str, tuple[str, ...]]]]]] = []
        for e in kept:
            same = runs and runs[-1][-1][2] == e[2] and (e[2] or e[0].permission == "undetermined")  # a publicity to share, or open
            if same and _joinable(runs[-1][-1]) and _joinable(e) and runs[-1][-1][0].permission == e[0].permission:
                runs[-1].append(e)
            else:
                runs.append([e])
        first_dep = next((run[0][2][0][0] for run in runs if run[0][2]), None)  # the label of the publicity, say
        per_run: list[list[str]] = []
        for run in runs:
            pub = run[0][2]
            if len(run) == 1:
                lines = list(run[0][1])
            else:
                mark = run[0][1][0].split()[0]
                # the open ones by name only (their articles are in the report): the list stays short
                names = [ln[0].strip()[2:] if mark == "✔" else _bare(e.label) for e, ln, _ in run]
                lines = _wrap(f"  ? {w['open']}", names, "    ") if mark == "?" else [x.replace("✔ :", "✔", 1) for x in _wrap("  ✔", names, "    ")]
            # what the procedure owes (the first dependent enumeration: the publicity), after « → »: on the
            # procedure's line when it fits, else on the next one or two; the others (formalities) in one line each
            after = lines[1:] if len(run) == 1 else []  # after a retained procedure not open: which are (said after its publicity)
            lines = lines[:1] if len(run) == 1 else lines
            if pub and pub[0][0] == first_dep:
                items = list(pub[0][1])
                if len(items) >= 3 and all(x.startswith("? ") for x in items):  # every mode open: it says nothing yet
                    items = [w["open_modes"].format(n=len(items))]
                    if len(run) == 1 and len(lines) == 1:
                        pad = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
                        lines = [pad + short(lines[0].strip(), WIDTH - len(pad) - len(items[0]) - 3)]
                joined = f"{lines[-1]} → {' ; '.join(items)}"
                if len(run) == 1 and len(lines) == 1 and len(joined) <= WIDTH:
                    lines = [joined]
                else:
                    head = "      →" + (f" ({w['for_these'].format(n=len(run))})" if len(run) > 1 else "")
                    wrapped = textwrap.wrap(f"{head} {' ; '.join(items)}", width=WIDTH, subsequent_indent=" " * 8, break_on_hyphens=False)
                    # what is owed: two lines at most; what may be owed (open, the question below settles it): one
                    one = len(wrapped) == 1 or (len(wrapped) == 2 and not all(x.startswith("? ") for x in items))
                    lines += wrapped if one else [_one_line(head, items, w, every=True).replace(" → : ", " → ").replace(") : ", ") ")]
                pub = pub[1:]
            out.extend(lines)
            # the other enumerations owed (formalities, clauses): said once below, for all the procedures or some
            per_run.append([i for _, items in pub for i in items if not i.startswith("? ")])
            out.extend(after)
        if per_run:
            dep_common.extend(i for i in per_run[0] if all(i in r for r in per_run[1:]))
            dep_some.extend(dict.fromkeys(i for r in per_run for i in r if i not in dep_common))
        if first_dep:
            out[header] = out[header].removesuffix(" :") + f" (→ {first_dep}) :"
        closed = [s for s in statuses if s not in candidates and s.permission in ("not_allowed", "forbidden")]
        if closed and not given:
            out.append(_one_line(f"  ✘ {w['not_possible']}", [_bare(s.label) for s in _fold(closed)], w))
            shown.extend(closed)
    rest = [s for s in d.statuses if s.enum not in handled]
    # prohibitions on a choice the buyer said it envisages (a fact of that enumeration given: « réservation envisagée »);
    # the standing ones (never reserve a contract to two kinds of operator at once) are in the report, not in every answer
    chosen = {f.type.name for f in rb.facts if f.type.kind == "enum" and _given(d, f)}
    applies = [s for s in rest if s.obligation == "mandatory" or (s.permission == "forbidden" and s.enum in chosen)]
    if applies or dep_common or dep_some:
        out.append("")
        owed_rest = [short(i, 105) for i in dep_common]
        owed_rest += [_with_arts(short(s.label, 95), _arts(d, s.grounds)) for s in applies if s.obligation == "mandatory"]
        if owed_rest or dep_some:
            out.append(f"{w['obligations']} :")
        for line in owed_rest[: MAX_OBLIGATIONS if len(owed_rest) <= MAX_OBLIGATIONS else MAX_OBLIGATIONS - 1]:
            out.append(f"  ● {line}")
        if len(owed_rest) > MAX_OBLIGATIONS:
            out.append(f"  ● {_more(w, len(owed_rest) - MAX_OBLIGATIONS + 1)}")
        if dep_some:
            out.append(_one_line(f"  ◐ {w['some_procedures']}", dep_some, w))
        banned = [f"{_bare(short(s.label, 55))}\u00a0({_arts(d, s.grounds).replace(' ', chr(160))})" for s in applies if s.obligation != "mandatory"]
        if banned:  # prohibitions a buyer rarely meets: one line, not one each (under the obligations, if any)
            out.append(_one_line(f"  {w['forbidden']}" if owed_rest else w["forbidden"], banned, w))
        shown.extend(applies)
    still = [s for s in rest if s.undetermined]
    rest_missing: Counter[str] = Counter()
    for s in still:
        rest_missing.update(s.missing - choice_facts)
    shown.extend(still)
    n_open = len({(s.enum, s.member) for s in shown if s.undetermined})
    # the question: first what the procedures and their publicity still need, then the rest
    tier = open_missing or rest_missing
    if (n_open or tier) and not applies and not dep_common and not dep_some:
        out.append("")
    if n_open or tier:
        if tier:
            # the buyer's own answer first: not a category the rulebook derives from what the buyer said (« Catégorie
            # de l'acheteur » for the State, which its defence question settles)
            demoted = _derived_from_given(d)
            best, _ = min(tier.items(), key=lambda kv: (kv[0] in demoted, -kv[1], fact_label(rb, kv[0])))
            head = w["open_question"].format(n=n_open, label="")
            out.append(w["open_question"].format(n=n_open, label=short(fact_label(rb, best), max(30, WIDTH - len(head)))))
        else:
            out.append(w["open_count"].format(n=n_open))
    for s in shown:
        used.update(d.presumed_for(s))
    items = _presumption_items(d, used, w, shown)
    if items:  # one line: how many, the two or three that carry most of the answer; the rest in the report
        n = sum(1 for p in d.applied if p.fact in used)
        shown_values = {values.display(p.value, p.type, w["lang"]) for p in d.applied if p.fact in used}
        value = f" ({w['presumed_value']} {next(iter(shown_values))})" if len(shown_values) == 1 else ""
        head = w["subject_to_n"].format(n=n, value=value)
        # one line: the most relevant first, as many as fit (the others, and every reason, in the report)
        out.append(_one_line(head, [x.replace("\u00a0", " ") for x in items], w))
    return "\n".join(out) + "\n"


def out_of_period_message(d: Decision) -> str:
    """Why a date outside the rulebook's coverage gets no answer (the same sentence in the text and the JSON)."""
    rb = d.rulebook
    cov = rb.coverage
    assert cov is not None
    return (
        f"Le recueil de règles couvre les consultations lancées du {cov.start.isoformat()}"
        + (f" au {cov.end.isoformat()} exclu" if cov.end else "")
        + f" : il ne répond pas pour le {d.date.isoformat()}."
        + "".join(f" {n}" for n in rb.coverage_notes)
        + "".join(f" {n}" for n in (rb.coverage_notes_before if d.date < cov.start else rb.coverage_notes_after))
    )


# the kind of a verdict line, from the mark it starts with (the page styles and groups lines by it)
_KINDS = {"✔": "allowed", "?": "undetermined", "✘": "closed", "●": "mandatory", "○": "not_mandatory", "◐": "some", "→": "publicity", "⚠": "unencoded"}


def verdict_json(d: Decision, lang: str = "fr", hints: bool = False) -> dict[str, Any]:
    """The text verdict (`verdict`) as data, line for line: what a page shows so that it says exactly what `decide` prints.

    Each non-blank line of the text is one entry: its `text` (without the indentation), its `level` (the
    indentation, by two spaces) and its `kind` — `title`, `out_of_period`, `unencoded`, `heading` (a line that
    opens a list: the procedures, what applies), a mark's kind (`allowed`, `undetermined`, `closed` (✘),
    `forbidden` (✘ interdit), `mandatory`, `not_mandatory`, `some`), `publicity` (« → » what the procedures above owe), `open_question`,
    `presumptions`, or `continuation` (the rest of the line above, wrapped for a terminal). `section` numbers the
    blocks the text separates with a blank line. The lines are the text's own: nothing is rendered twice; without
    `hints`, as a page shows them, the pointers to the terminal's options (« voir --detail ») left out.
    """
    w = _WORDS.get(lang, _WORDS["fr"])
    lines: list[dict[str, Any]] = []
    section = 0
    for i, raw in enumerate(verdict(d, lang, hints=hints).splitlines()):
        if not raw.strip():
            section += 1
            continue
        text = raw.strip()
        level = (len(raw) - len(raw.lstrip(" "))) // 2
        if i == 0:
            kind = "title"
        elif text.startswith(w["out"].split("{")[0]):
            kind = "out_of_period"
        elif text.startswith(w["open_question"].split("{")[0]):
            kind = "open_question"
        elif text.startswith(w["subject_to_n"].split("{")[0]):
            kind = "presumptions"
        elif level == 0 and text.endswith(":") and text[:1] not in _KINDS:
            kind = "heading"
        elif text.startswith(w["forbidden"]):
            kind = "forbidden"
        else:
            kind = _KINDS.get(text[:1], "continuation")
        lines.append({"text": text, "level": level, "kind": kind, "section": section})
    return {"lang": w["lang"], "lines": lines}


# ---------------------------------------------------------------- the report


def explain(d: Decision, lang: str = "fr", full: bool = False, detail: bool = True) -> str:
    """The verdict; then, if `detail`, the report; then, if `full`, the trace tree."""
    w = _WORDS.get(lang, _WORDS["fr"])
    head = verdict(d, lang)
    if d.out_of_period:
        return head
    if not detail and not full:
        return head + "\n" + w["more"] + "\n"
    return head + "\n" + report(d, lang, full)


def report(d: Decision, lang: str = "fr", full: bool = False) -> str:
    """Every conclusion in focus with its grounds, pending rules, refused conditions (in values) and presumptions."""
    w = _WORDS.get(lang, _WORDS["fr"])
    rb = d.rulebook
    refs = presumption_articles(d)
    out = [f"——— {w['report']} ———"]
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
                out.append(f"      {w['missing_item']} : {_quoted(rb, s.missing, 70)}")
            presumed = d.presumed_for(s)
            if presumed:
                out.append(f"      {w['presumed']} : " + " ; ".join(_presumed_text(d, n, refs) for n in presumed))
            if trace is not None and not full:
                for r in s.refused:
                    t = trace["rules"][rb.rules[r].name]
                    if not t["in_force"]:
                        continue
                    art = rb.articles[rb.rules[r].article]
                    version = art.version_at(d.date)
                    where = art.ref + (f", {w['version_of'].format(start=version.period.start.isoformat())}" if version else "")
                    for failed in _failed(t.get("condition")) or ([t["condition"]] if t.get("condition") else []):
                        out.append(f"      {w['why_not']} ({where}) : {refusal(d, failed, w)}")
    if d.information:
        out.append("")
        out.append(w["info"])
        for r, certain in d.information:
            out.append(f"  ℹ {rb.rules[r].text}{'' if certain else ' ' + w['maybe']}  ({rb.articles[rb.rules[r].article].ref})")
    if rb.definitions and d.focus is None:
        out.append("")
        out.append(w["values"])
        for df in rb.definitions:
            out.append(f"  {df.label or df.name} : {values.display(d.definition_values[df.index], df.type, lang)}")
    if d.presumptions:
        out.append("")
        out.append(w["subject_to"])
        for p in d.presumptions:
            out.append(f"  - {p.label or p.fact} : {values.display(p.value, p.type, lang)} ({', '.join(refs[p.fact])}) — {p.reason}  [{p.fact}]")
    if d.missing:
        out.append("")
        out.append(w["missing"])
        for m in d.missing:
            out.append(f"  - {fact_label(rb, m)}  [{m}]")
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


def _presumed_text(d: Decision, fact: str, refs: dict[str, tuple[str, ...]]) -> str:
    p = d.presumption(fact)
    if p is None:
        return fact
    return f"« {short(p.label or p.fact, 70)} » : {p.display} ({', '.join(refs[p.fact])})"
