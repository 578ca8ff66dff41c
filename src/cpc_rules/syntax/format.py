"""The canonical printer: AST → French text. `parse(format(m)) == m` (spans aside), and it is idempotent."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from cpc_rules.syntax import ast

_PREC = {"if": 0, "or": 1, "and": 2, "not": 3, "cmp": 4, "sum": 5, "product": 6, "unary": 7, "atom": 8}


_ARTICLE_REF = re.compile(r"[LRDA]\d{1,4}(?:-\d+)*")  # as the grammar's ARTICLE_REF: printed without quotes


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _num(d: Decimal) -> str:
    text = format(d, "f")
    whole, _, frac = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + " ".join(groups) + ("," + frac if frac else "")


def literal(lit: ast.Lit) -> str:
    v = lit.value
    if lit.kind == "money":
        assert isinstance(v, Decimal)
        return f"{_num(v)} €"
    if lit.kind == "percent":
        assert isinstance(v, Decimal)
        return f"{format(v, 'f').replace('.', ',')} %"
    if lit.kind == "bool":
        return "vrai" if v else "faux"
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _prec(e: ast.Expr) -> int:
    if isinstance(e, ast.If):
        return _PREC["if"]
    if isinstance(e, ast.BoolOp):
        return _PREC[e.op]
    if isinstance(e, ast.Not):
        return _PREC["not"]
    if isinstance(e, ast.Compare | ast.Member):
        return _PREC["cmp"]
    if isinstance(e, ast.BinOp):
        return _PREC["sum"] if e.op in "+-" else _PREC["product"]
    if isinstance(e, ast.Neg):
        return _PREC["unary"]
    return _PREC["atom"]


def expr(e: ast.Expr, min_prec: int = 0) -> str:
    """An expression on one line, with the fewest parentheses that keep its meaning."""
    text = _expr(e)
    return f"({text})" if _prec(e) < min_prec else text


def _expr(e: ast.Expr) -> str:
    if isinstance(e, ast.Lit):
        return literal(e)
    if isinstance(e, ast.Ref):
        return e.name
    if isinstance(e, ast.FieldAccess):
        return f"{expr(e.obj, _PREC['atom'])}.{e.name}"
    if isinstance(e, ast.Lookup):
        return f"{e.name}[{', '.join(expr(a) for a in e.args)}]"
    if isinstance(e, ast.Not):
        return f"non {expr(e.operand, _PREC['not'])}"
    if isinstance(e, ast.BoolOp):
        word = " et " if e.op == "and" else " ou "
        return word.join(expr(o, _PREC[e.op] + 1) for o in e.operands)
    if isinstance(e, ast.Compare):
        return f"{expr(e.left, _PREC['sum'])} {e.op} {expr(e.right, _PREC['sum'])}"
    if isinstance(e, ast.Member):
        return f"{expr(e.operand, _PREC['sum'])} dans {{{', '.join(e.values)}}}"
    if isinstance(e, ast.BinOp):
        p = _PREC["sum"] if e.op in "+-" else _PREC["product"]
        return f"{expr(e.left, p)} {e.op} {expr(e.right, p + 1)}"
    if isinstance(e, ast.Neg):
        return f"-{expr(e.operand, _PREC['unary'])}"
    if isinstance(e, ast.If):
        return f"si {expr(e.cond)} alors {expr(e.then)} sinon {expr(e.otherwise, _PREC['or'])}"
    if isinstance(e, ast.Aggregate):
        src = expr(e.source)
        where = f" si {expr(e.where)}" if e.where is not None else ""
        if e.kind == "sum":
            assert e.body is not None
            return f"somme({expr(e.body)} pour chaque {e.var} dans {src}{where})"
        if e.kind == "count":
            return f"nombre({e.var} dans {src}{where})"
        assert e.body is not None
        word = "tous" if e.kind == "all" else "existe"
        return f"{word}({e.var} dans {src} : {expr(e.body)})"
    if isinstance(e, ast.MinMax):
        return f"{e.op}({', '.join(expr(a) for a in e.args)})"
    raise TypeError(f"not an expression: {e!r}")  # pragma: no cover


# ---------------------------------------------------------------- declarations


def _label(label: str | None) -> str:
    return f" {_q(label)}" if label is not None else ""


def _period(p: ast.Period) -> str:
    return f"depuis {p.start.isoformat()}" + (f" jusqu'au {p.end.isoformat()} exclu" if p.end else "")


def _type(t: ast.TypeRef) -> str:
    return f"liste de {t.name}" if t.is_list else t.name


def _value(v: ast.Value) -> str:
    if isinstance(v, ast.Lit):
        return literal(v)
    if isinstance(v, str):
        return v
    return "[" + ", ".join("{" + ", ".join(f"{a.name} = {_value(a.value)}" for a in r.fields) + "}" for r in v) + "]"


def _step(s: ast.Step, keys: tuple[str, ...]) -> list[str]:
    meta = ([f"    source {_q(s.source)}"] if s.source is not None else []) + ([f"    à confirmer {_q(s.confirm)}"] if s.confirm is not None else [])
    if isinstance(s.value, ast.Lit):
        return [f"  {_period(s.period)} : {literal(s.value)}", *meta]
    lines = [f"  {_period(s.period)} :"]
    for row in s.value:
        pats = ", ".join("*" if p is None else " | ".join(p) for p in row.patterns)
        lines.append(f"    {pats} : {literal(row.value)}")
    return lines + meta


def _rule(r: ast.Rule) -> list[str]:
    head = f"  règle {r.name}{_label(r.label)}"
    if r.exceptions:
        head += f" exception à {', '.join(r.exceptions)}"
    c = r.conclusion
    if isinstance(c, ast.Deontic):
        word = {"permit": "autorise", "forbid": "interdit", "oblige": "oblige"}[c.kind]
        concl = f"{word} {c.enum} {', '.join(c.values)}"
    elif isinstance(c, ast.Define):
        concl = f"définit {c.name} = {expr(c.expr)}"
    elif isinstance(c, ast.Unencoded):
        concl = f"non encodé {_q(c.reason)} pour {', '.join(c.enums)}"
    else:
        concl = f"informe {_q(c.text)}"
    lines = [head + " :", f"    {concl}"]
    if r.condition is not None:
        lines.append(f"    si {expr(r.condition)}")
    lines += [f"    note {_q(n)}" for n in r.notes]
    if r.confirm is not None:
        lines.append(f"    à confirmer {_q(r.confirm)}")
    return lines


def _expectation(x: ast.Expectation) -> str:
    if isinstance(x, ast.ExpectStatus):
        word = {
            "allowed": "autorisé",
            "forbidden": "interdit",
            "not_allowed": "non autorisé",
            "mandatory": "obligatoire",
            "not_mandatory": "non obligatoire",
            "undetermined": "indéterminé",
            "unencoded": "non encodé",
        }[x.status]
        return f"{word} {x.enum} {x.value}"
    if isinstance(x, ast.ExpectValue):
        return f"valeur {x.name} = {_value(x.value)}"
    if isinstance(x, ast.ExpectMissing):
        return "manquant " + ", ".join(n if n.isidentifier() else _q(n) for n in x.names)
    if isinstance(x, ast.ExpectInformed):
        return f"{'' if x.informed else 'non '}informe {x.rule}"
    if isinstance(x, ast.ExpectOutOfPeriod):
        return "hors période"
    return f"erreur {x.code}"


def item(i: ast.Item) -> str:
    if isinstance(i, ast.Coverage):
        return (
            f"couverture {_period(i.period)}"
            + "".join(f"\n  note {_q(n)}" for n in i.notes)
            + "".join(f"\n  note avant {_q(n)}" for n in i.notes_before)
            + "".join(f"\n  note après {_q(n)}" for n in i.notes_after)
        )
    if isinstance(i, ast.EnumDecl):
        members = ",\n".join(f"  {m.name}{_label(m.label)}" for m in i.members)
        return f"énumération {i.name}{_label(i.label)} {{\n{members}\n}}"
    if isinstance(i, ast.RecordDecl):
        fields = ",\n".join(f"  {f.name} : {_type(f.type)}{_label(f.label)}" for f in i.fields)
        return f"structure {i.name}{_label(i.label)} {{\n{fields}\n}}"
    if isinstance(i, ast.FactDecl):
        head = f"fait {i.name} : {_type(i.type)}{_label(i.label)}"
        if i.presumption is None:
            return head
        p = i.presumption
        refs = ", ".join(a if _ARTICLE_REF.fullmatch(a) else _q(a) for a in p.articles)
        return f"{head}\n  présumé {_value(p.value)} {_q(p.reason)} ({refs})"
    if isinstance(i, ast.DefDecl):
        return f"définition {i.name} : {_type(i.type)}{_label(i.label)}"
    if isinstance(i, ast.ParamDecl):
        head = f"paramètre {i.name} : {_type(i.type)}{_label(i.label)}" + (f" selon {', '.join(i.keys)}" if i.keys else "")
        return "\n".join([head, *(line for s in i.steps for line in _step(s, i.keys))])
    if isinstance(i, ast.Article):
        ref = i.ref if i.in_code else _q(i.ref)
        lines = [f"article {ref}{_label(i.label)}"]
        for v in i.versions:
            line = f"  version {_period(v.period)}"
            if v.legiarti:
                line += f" légifrance {v.legiarti}"
            if v.source is not None:
                line += f"\n    source {_q(v.source)}"
            lines.append(line)
        if i.confirm is not None:
            lines.append(f"  à confirmer {_q(i.confirm)}")
        for r in i.rules:
            lines.append("")
            lines += _rule(r)
        return "\n".join(lines)
    if isinstance(i, ast.TestCase):
        lines = [f"test {_q(i.name)} :", f"  date {i.date.isoformat()}" + (" avec présomptions" if i.presumptions else "")]
        if i.facts:
            lines.append("  faits {")
            lines += [f"    {a.name} = {_value(a.value)}" for a in i.facts]
            lines.append("  }")
        lines.append("  attendu {")
        lines += [f"    {_expectation(x)}" for x in i.expectations]
        lines.append("  }")
        return "\n".join(lines)
    raise TypeError(f"not an item: {i!r}")  # pragma: no cover


def module(m: ast.Module, comments: list[str] | None = None) -> str:
    """The whole file, items separated by a blank line; leading comment lines are kept."""
    head = "\n".join(comments or [])
    body = "\n\n".join(item(i) for i in m.items)
    return (head + "\n\n" if head else "") + body + "\n"


def comments(text: str) -> list[tuple[int, str]]:
    """The `#` comments of a text with their line numbers (a `#` inside a string is not one)."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        in_string = False
        i = 0
        while i < len(line):
            c = line[i]
            if c == "\\" and in_string:
                i += 2
                continue
            if c == '"':
                in_string = not in_string
            elif c == "#" and not in_string:
                out.append((n, line[i:].rstrip()))
                break
            i += 1
    return out


def format_text(text: str, path: str = "<texte>") -> str:
    """Format a file's text, keeping its comments before the item or rule they precede.

    The result is parsed again and must give the same syntax tree (else a bug: raised).
    """
    from cpc_rules.syntax.parse import parse_text

    m = parse_text(text, path)
    pending = comments(text)
    blocks: list[str] = []

    def take(before: int) -> list[str]:
        nonlocal pending
        taken = [c for n, c in pending if n < before]
        pending = [(n, c) for n, c in pending if n >= before]
        return taken

    for i in m.items:
        start = i.span.line if i.span else 0
        lead = take(start)
        if isinstance(i, ast.Article) and i.rules:
            head, *rule_texts = item(i).split("\n\n")
            parts = [head]
            for r, rt in zip(i.rules, rule_texts, strict=True):
                inner = take(r.span.line if r.span else 0)
                parts.append("\n".join([*("  " + c for c in inner), rt]))
            body = "\n\n".join(parts)
        else:
            body = item(i)
        blocks.append("\n".join([*lead, body]))
    tail = [c for _, c in pending]
    out = "\n\n".join(blocks + (["\n".join(tail)] if tail else [])) + "\n"
    again = parse_text(out, path)
    if again.items != m.items:  # pragma: no cover - a formatter bug must never lose law
        raise AssertionError(f"cpc-rules fmt: formatting {path} changed its meaning")
    return out
