"""Hypothesis strategies shared by the property tests.

Syntax trees are generated bottom-up with the `cpc_rules.syntax.ast` classes, so the
formatter's round trip can be tested on rulebooks nobody wrote by hand. Names come
from a small pool without keywords (a keyword is only a name where the grammar does
not expect the keyword; the pool keeps the generated text unambiguous).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from hypothesis import strategies as st

from cpc_rules.syntax import ast

NAMES = ("a", "b", "x", "y", "l", "lot", "taux", "montant", "valeur_estimée", "nature", "proc", "seuil", "durée_mois", "éligible", "n2", "Été")

names = st.sampled_from(NAMES)
name_tuples = st.lists(names, min_size=1, max_size=3).map(tuple)

# Text inside "…": anything printable, plus the characters the printer must escape.
texts = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
        st.sampled_from('"\\\n\t#«»’'),
    ),
    max_size=30,
).map(lambda t: unicodedata.normalize("NFC", t))  # the reader normalises every source to NFC (syntax/source.py)
labels = st.none() | texts

dates = st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31))
amounts = st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False, allow_infinity=False).map(abs)


def _lit(kind: str, value: Any) -> ast.Lit:
    return ast.Lit(kind, value)  # type: ignore[arg-type]


literals = st.one_of(
    amounts.map(lambda d: _lit("money", d)),
    amounts.map(lambda d: _lit("percent", d)),
    st.integers(min_value=0, max_value=10**12).map(lambda i: _lit("int", i)),
    dates.map(lambda d: _lit("date", d)),
    st.booleans().map(lambda b: _lit("bool", b)),
)

refs = names.map(ast.Ref)
paths = st.recursive(refs, lambda inner: st.builds(ast.FieldAccess, inner, names), max_leaves=3)


def _extend(e: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    two_or_more = st.lists(e, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.builds(ast.FieldAccess, refs, names),
        st.builds(ast.Lookup, names, st.lists(e, min_size=1, max_size=2).map(tuple)),
        st.builds(ast.Not, e),
        st.builds(ast.BoolOp, st.sampled_from(("and", "or")), two_or_more),
        st.builds(ast.Compare, st.sampled_from(("<", "<=", ">", ">=", "=", "!=")), e, e),
        st.builds(ast.Member, e, name_tuples),
        st.builds(ast.BinOp, st.sampled_from(("+", "-", "*", "/")), e, e),
        st.builds(ast.Neg, e),
        st.builds(ast.If, e, e, e),
        st.builds(ast.Aggregate, st.just("sum"), names, paths, e, st.none() | e),
        st.builds(ast.Aggregate, st.just("count"), names, paths, st.none(), st.none() | e),
        st.builds(ast.Aggregate, st.sampled_from(("all", "any")), names, paths, e, st.none()),
        st.builds(ast.MinMax, st.sampled_from(("min", "max")), two_or_more),
    )


exprs: st.SearchStrategy[ast.Expr] = st.recursive(st.one_of(literals, refs), _extend, max_leaves=12)


@st.composite
def periods(draw: st.DrawFn) -> ast.Period:
    start = draw(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9000, 1, 1)))
    end = draw(st.none() | st.integers(min_value=1, max_value=20000).map(lambda n: start + dt.timedelta(days=n)))
    return ast.Period(start, end)


types = st.builds(ast.TypeRef, names, st.booleans())

# ---------------------------------------------------------------- declarations

_notes = st.lists(texts, max_size=2).map(tuple)
# a coverage with its reasons: notes for both sides, or marked `avant` / `après`
coverages = st.builds(ast.Coverage, periods(), notes=_notes, notes_before=_notes, notes_after=_notes)
enum_decls = st.builds(ast.EnumDecl, names, labels, st.lists(st.builds(ast.EnumMember, names, labels), min_size=1, max_size=4).map(tuple))
record_decls = st.builds(ast.RecordDecl, names, labels, st.lists(st.builds(ast.FieldDecl, names, types, labels), min_size=1, max_size=3).map(tuple))
def_decls = st.builds(ast.DefDecl, names, types, labels)

patterns = st.none() | name_tuples


@st.composite
def param_decls(draw: st.DrawFn) -> ast.ParamDecl:
    keys = tuple(draw(st.lists(names, max_size=2)))
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        if keys:
            rows = draw(
                st.lists(
                    st.builds(ast.Row, st.lists(patterns, min_size=len(keys), max_size=len(keys)).map(tuple), literals),
                    min_size=1,
                    max_size=3,
                )
            )
            value: Any = tuple(rows)
        else:
            value = draw(literals)
        steps.append(ast.Step(draw(periods()), value, draw(st.none() | texts), draw(st.none() | texts)))
    return ast.ParamDecl(draw(names), draw(types), draw(labels), keys, tuple(steps))


conclusions = st.one_of(
    st.builds(ast.Deontic, st.sampled_from(("permit", "forbid", "oblige")), names, name_tuples),
    st.builds(ast.Define, names, exprs),
    st.builds(ast.Inform, texts),
)

rules = st.builds(
    ast.Rule,
    names,
    labels,
    st.lists(names, max_size=2).map(tuple),
    conclusions,
    st.none() | exprs,
    st.lists(texts, max_size=2).map(tuple),
    st.none() | texts,
)

legiartis = st.integers(min_value=0, max_value=10**12 - 1).map(lambda n: f"LEGIARTI{n:012d}")
versions = st.builds(ast.Version, periods(), st.none() | legiartis, st.none() | texts)
code_refs = st.builds(
    lambda letter, parts: letter + "-".join(str(p) for p in parts),
    st.sampled_from("LRDA"),
    st.lists(st.integers(0, 9999), min_size=1, max_size=3),
)

# a fact with or without `présumé VALUE "reason" (ARTICLES)`: the articles are references or quoted titles
presumptions = st.none() | st.builds(ast.Presumption, literals | names, texts, st.lists(code_refs | texts, min_size=1, max_size=2).map(tuple))
fact_decls = st.builds(ast.FactDecl, names, types, labels, presumptions)


@st.composite
def articles(draw: st.DrawFn) -> ast.Article:
    in_code = draw(st.booleans())
    ref = draw(code_refs) if in_code else draw(texts)
    return ast.Article(
        ref,
        in_code,
        draw(labels),
        tuple(draw(st.lists(versions, max_size=2))),
        draw(st.none() | texts),
        tuple(draw(st.lists(rules, max_size=3))),
    )


# ---------------------------------------------------------------- test cases

records = st.builds(ast.RecordValue, st.lists(st.builds(ast.Assignment, names, st.one_of(literals, names)), max_size=2).map(tuple))
values = st.one_of(literals, names, st.lists(records, max_size=2).map(tuple))
assignments = st.builds(ast.Assignment, names, values)
expectations = st.one_of(
    st.builds(
        ast.ExpectStatus,
        st.sampled_from(("allowed", "forbidden", "not_allowed", "mandatory", "not_mandatory", "undetermined")),
        names,
        names,
    ),
    st.builds(ast.ExpectValue, names, values),
    st.builds(ast.ExpectMissing, st.lists(names | texts.filter(lambda t: not t.isidentifier()), min_size=1, max_size=3).map(tuple)),
    st.builds(ast.ExpectInformed, names, st.booleans()),
    st.builds(ast.ExpectOutOfPeriod),
    st.builds(lambda c, n: ast.ExpectError(f"{c}{n:03d}"), st.sampled_from("EW"), st.integers(0, 999)),
)
test_cases = st.builds(
    ast.TestCase,
    texts,
    dates,
    st.lists(assignments, max_size=3).map(tuple),
    st.lists(expectations, max_size=4).map(tuple),
    st.none(),
    st.booleans(),  # `avec présomptions`
)

items = st.one_of(coverages, enum_decls, record_decls, fact_decls, def_decls, param_decls(), articles(), test_cases)
modules = st.builds(ast.Module, st.just("gen.cpc"), st.lists(items, max_size=6).map(tuple))
