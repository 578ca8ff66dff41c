"""The abstract syntax tree: frozen records (record.py), each with its source span.

Spans are left out of equality, so two parses of equivalent text compare equal
(the formatter's round-trip property rests on this).
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import Literal as TLiteral

from cpc_rules.diagnostics import Span
from cpc_rules.record import field, frozen

_span = field(eq=False, default=None, repr=False)

MAX_LENGTH = 5000  # levels of a syntax tree counting every link of a chain (`sinon si`, `a + b + …`)
RECURSION_LIMIT = 4 * MAX_LENGTH + 2000  # Python frames the recursive stages may need for such a tree


def deep_enough() -> None:
    """Let the recursive stages (check, compile, format, trace) walk every tree the parser accepts.

    Python 3.11 does not use the C stack for Python-to-Python calls, so a higher limit
    is safe; it is only ever raised, never lowered.
    """
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


# ---------------------------------------------------------------- expressions

LiteralKind = TLiteral["money", "percent", "int", "date", "bool"]


@frozen
class Lit:
    kind: LiteralKind
    value: Decimal | int | dt.date | bool
    span: Span | None = _span


@frozen
class Ref:
    name: str
    span: Span | None = _span


@frozen
class FieldAccess:
    obj: Expr
    name: str
    span: Span | None = _span


@frozen
class Lookup:
    name: str
    args: tuple[Expr, ...]
    span: Span | None = _span


@frozen
class Not:
    operand: Expr
    span: Span | None = _span


@frozen
class BoolOp:
    op: TLiteral["and", "or"]
    operands: tuple[Expr, ...]
    span: Span | None = _span


@frozen
class Compare:
    op: TLiteral["<", "<=", ">", ">=", "=", "!="]
    left: Expr
    right: Expr
    span: Span | None = _span


@frozen
class Member:
    operand: Expr
    values: tuple[str, ...]
    span: Span | None = _span


@frozen
class BinOp:
    op: TLiteral["+", "-", "*", "/"]
    left: Expr
    right: Expr
    span: Span | None = _span


@frozen
class Neg:
    operand: Expr
    span: Span | None = _span


@frozen
class If:
    cond: Expr
    then: Expr
    otherwise: Expr
    span: Span | None = _span


@frozen
class Aggregate:
    """`somme(e pour chaque x dans l si c)`, `nombre(x dans l si c)`, `tous(...)`, `existe(...)`."""

    kind: TLiteral["sum", "count", "all", "any"]
    var: str
    source: Expr
    body: Expr | None  # the summed value (sum) or the condition (all, any)
    where: Expr | None  # the filter (sum, count)
    span: Span | None = _span


@frozen
class MinMax:
    op: TLiteral["min", "max"]
    args: tuple[Expr, ...]
    span: Span | None = _span


Expr = Lit | Ref | FieldAccess | Lookup | Not | BoolOp | Compare | Member | BinOp | Neg | If | Aggregate | MinMax


# ---------------------------------------------------------------- declarations


@frozen
class Period:
    """Half-open [start, end); end None means open."""

    start: dt.date
    end: dt.date | None = None
    span: Span | None = _span

    def contains(self, d: dt.date) -> bool:
        return self.start <= d and (self.end is None or d < self.end)


@frozen
class Coverage:
    period: Period
    span: Span | None = _span
    notes: tuple[str, ...] = ()  # why the rulebook does not answer outside: the texts that govern there
    notes_before: tuple[str, ...] = ()  # the same, said only for a date before the coverage
    notes_after: tuple[str, ...] = ()  # the same, said only for a date after it


@frozen
class TypeRef:
    name: str
    is_list: bool = False
    span: Span | None = _span


@frozen
class EnumMember:
    name: str
    label: str | None = None
    span: Span | None = _span


@frozen
class EnumDecl:
    name: str
    label: str | None
    members: tuple[EnumMember, ...]
    span: Span | None = _span


@frozen
class FieldDecl:
    name: str
    type: TypeRef
    label: str | None = None
    span: Span | None = _span


@frozen
class RecordDecl:
    name: str
    label: str | None
    fields: tuple[FieldDecl, ...]
    span: Span | None = _span


@frozen
class Presumption:
    """What is presumed of a fact the situation does not give: `présumé faux "raison" (R2122-1)`."""

    value: Value
    reason: str
    articles: tuple[str, ...]  # references of the articles it rests on (R2122-1, or a quoted title)
    span: Span | None = _span


@frozen
class FactDecl:
    name: str
    type: TypeRef
    label: str | None = None
    presumption: Presumption | None = None
    span: Span | None = _span


@frozen
class DefDecl:
    name: str
    type: TypeRef
    label: str | None = None
    span: Span | None = _span


@frozen
class Row:
    """One row of a parameter table: a pattern per key (None = any value), then the value."""

    patterns: tuple[tuple[str, ...] | None, ...]
    value: Lit
    span: Span | None = _span


@frozen
class Step:
    period: Period
    value: Lit | tuple[Row, ...]
    source: str | None = None
    confirm: str | None = None
    span: Span | None = _span


@frozen
class ParamDecl:
    name: str
    type: TypeRef
    label: str | None
    keys: tuple[str, ...]
    steps: tuple[Step, ...]
    span: Span | None = _span


@frozen
class Version:
    period: Period
    legiarti: str | None = None
    source: str | None = None
    span: Span | None = _span


ConclusionKind = TLiteral["permit", "forbid", "oblige"]


@frozen
class Deontic:
    """`autorise`, `interdit` or `oblige` some values of an enumeration."""

    kind: ConclusionKind
    enum: str
    values: tuple[str, ...]
    span: Span | None = _span


@frozen
class Define:
    name: str
    expr: Expr
    span: Span | None = _span


@frozen
class Inform:
    text: str
    span: Span | None = _span


@frozen
class Unencoded:
    """`non encodé "raison" pour e1, e2.m`: the members of these enumerations (or the one member `e2.m`) are undetermined where it applies."""

    reason: str
    enums: tuple[str, ...]
    span: Span | None = _span


Conclusion = Deontic | Define | Inform | Unencoded


@frozen
class Rule:
    name: str
    label: str | None
    exceptions: tuple[str, ...]
    conclusion: Conclusion
    condition: Expr | None
    notes: tuple[str, ...] = ()
    confirm: str | None = None
    span: Span | None = _span


@frozen
class Article:
    ref: str
    in_code: bool  # an article of the Code (R2122-8) rather than a text outside it
    label: str | None
    versions: tuple[Version, ...]
    confirm: str | None
    rules: tuple[Rule, ...]
    span: Span | None = _span


# ---------------------------------------------------------------- tests

Value = Lit | str | tuple["RecordValue", ...]  # str: an enum member name


def plain_value(v: Value) -> object:
    """A literal value as a user would give it in a situation (a member name, a list of dicts)."""
    if isinstance(v, Lit):
        return v.value
    if isinstance(v, str):
        return v
    return [{a.name: plain_value(a.value) for a in r.fields} for r in v]


@frozen
class RecordValue:
    fields: tuple[Assignment, ...]
    span: Span | None = _span


@frozen
class Assignment:
    name: str
    value: Value
    span: Span | None = _span


ExpectKind = TLiteral[
    "allowed", "forbidden", "not_allowed", "mandatory", "not_mandatory", "undetermined", "unencoded"
]


@frozen
class ExpectStatus:
    status: ExpectKind
    enum: str
    value: str
    span: Span | None = _span


@frozen
class ExpectValue:
    name: str
    value: Value
    span: Span | None = _span


@frozen
class ExpectMissing:
    names: tuple[str, ...]
    span: Span | None = _span


@frozen
class ExpectInformed:
    """`informe r` / `non informe r`: the information rule `r` is (not) given as certain."""

    rule: str
    informed: bool
    span: Span | None = _span


@frozen
class ExpectOutOfPeriod:
    span: Span | None = _span


@frozen
class ExpectError:
    code: str
    span: Span | None = _span


Expectation = ExpectStatus | ExpectValue | ExpectMissing | ExpectInformed | ExpectOutOfPeriod | ExpectError


@frozen
class TestCase:
    name: str
    date: dt.date
    facts: tuple[Assignment, ...]
    expectations: tuple[Expectation, ...]
    span: Span | None = _span
    presumptions: bool = False  # `avec présomptions`: decide with the rulebook's presumptions (default: strictly)


Item = Coverage | EnumDecl | RecordDecl | FactDecl | DefDecl | ParamDecl | Article | TestCase


@frozen
class Module:
    """One parsed file."""

    path: str
    items: tuple[Item, ...]
