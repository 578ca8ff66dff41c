"""The checked rulebook: the typed, resolved IR that backends compile.

It knows nothing of how it is run: the Python backend (engine/) compiles it to
one function; a columnar backend for batch audits can read the same IR.
Every expression node has a number (`nid`), so a traced run can record the value
of each node and a trace can be rebuilt from the IR afterwards.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Literal, Union

from cpc_rules import record
from cpc_rules.diagnostics import Span
from cpc_rules.record import frozen
from cpc_rules.syntax import ast


@frozen
class Type:
    kind: Literal["bool", "money", "percent", "int", "date", "enum", "record", "list"]
    name: str | None = None  # the enum or record name

    def __str__(self) -> str:
        return {
            "bool": "booléen",
            "money": "montant",
            "percent": "pourcentage",
            "int": "entier",
            "date": "date",
        }.get(self.kind) or (f"liste de {self.name}" if self.kind == "list" else str(self.name))


BOOL, MONEY, PERCENT, INT, DATE = (Type(k) for k in ("bool", "money", "percent", "int", "date"))  # type: ignore[arg-type]

BUILTIN_TYPES = {
    "booléen": BOOL,
    "bool": BOOL,
    "montant": MONEY,
    "money": MONEY,
    "pourcentage": PERCENT,
    "percent": PERCENT,
    "entier": INT,
    "int": INT,
    "date": DATE,
}

LITERAL_TYPES = {"money": MONEY, "percent": PERCENT, "int": INT, "date": DATE, "bool": BOOL}


# ---------------------------------------------------------------- expressions


@frozen
class Node:
    nid: int
    type: Type
    src: ast.Expr  # the expression as written, for traces and messages


@frozen
class Const(Node):
    value: object = None


@frozen
class FactRef(Node):
    index: int = 0


@frozen
class DefRef(Node):
    index: int = 0


@frozen
class ParamRef(Node):
    index: int = 0
    args: tuple[Expr, ...] = ()


@frozen
class LocalRef(Node):
    slot: int = 0


@frozen
class Field(Node):
    obj: Expr = None  # type: ignore[assignment]
    index: int = 0


@frozen
class Not(Node):
    operand: Expr = None  # type: ignore[assignment]


@frozen
class BoolOp(Node):
    op: Literal["and", "or"] = "and"
    operands: tuple[Expr, ...] = ()


@frozen
class Compare(Node):
    op: str = "="
    left: Expr = None  # type: ignore[assignment]
    right: Expr = None  # type: ignore[assignment]


@frozen
class Member(Node):
    operand: Expr = None  # type: ignore[assignment]
    values: frozenset[str] = frozenset()


@frozen
class Arith(Node):
    """`kind` names the operation on typed operands: add, sub, mul, scale (× %), div, ratio (÷ → %)."""

    kind: str = "add"
    left: Expr = None  # type: ignore[assignment]
    right: Expr = None  # type: ignore[assignment]


@frozen
class Neg(Node):
    operand: Expr = None  # type: ignore[assignment]


@frozen
class If(Node):
    cond: Expr = None  # type: ignore[assignment]
    then: Expr = None  # type: ignore[assignment]
    otherwise: Expr = None  # type: ignore[assignment]


@frozen
class Aggregate(Node):
    kind: Literal["sum", "count", "all", "any"] = "sum"
    slot: int = 0
    source: Expr = None  # type: ignore[assignment]
    body: Expr | None = None
    where: Expr | None = None


@frozen
class MinMax(Node):
    op: Literal["min", "max"] = "min"
    args: tuple[Expr, ...] = ()


Expr = Union[Const, FactRef, DefRef, ParamRef, LocalRef, Field, Not, BoolOp, Compare, Member, Arith, Neg, If, Aggregate, MinMax]


def children(e: Expr) -> tuple[Expr, ...]:
    """The sub-expressions of a node, in evaluation order."""
    if isinstance(e, ParamRef):
        return e.args
    if isinstance(e, Field):
        return (e.obj,)
    if isinstance(e, Not | Neg):
        return (e.operand,)
    if isinstance(e, Member):
        return (e.operand,)
    if isinstance(e, BoolOp):
        return e.operands
    if isinstance(e, Compare | Arith):
        return (e.left, e.right)
    if isinstance(e, If):
        return (e.cond, e.then, e.otherwise)
    if isinstance(e, Aggregate):
        return tuple(x for x in (e.source, e.where, e.body) if x is not None)
    if isinstance(e, MinMax):
        return e.args
    return ()


# ---------------------------------------------------------------- declarations


@frozen
class EnumInfo:
    name: str
    label: str | None
    members: tuple[str, ...]
    labels: dict[str, str | None]
    span: Span | None


@frozen
class RecordInfo:
    name: str
    label: str | None
    fields: tuple[tuple[str, Type, str | None], ...]
    span: Span | None

    def field_index(self, name: str) -> int | None:
        for i, (n, _, _) in enumerate(self.fields):
            if n == name:
                return i
        return None


@frozen
class Presumed:
    """A fact's presumption, checked: its runtime value, the reason and the articles (references) it rests on."""

    value: object
    reason: str
    articles: tuple[str, ...]
    span: Span | None


@frozen
class FactInfo:
    index: int
    name: str
    type: Type
    label: str | None
    span: Span | None
    presumed: Presumed | None = None


@frozen
class DefInfo:
    index: int
    name: str
    type: Type
    label: str | None
    span: Span | None
    rules: tuple[int, ...]


@frozen
class StepInfo:
    period: ast.Period
    value: object  # a scalar, or a dict from key tuples to values
    source: str | None
    confirm: str | None
    span: Span | None


@frozen
class ParamInfo:
    index: int
    name: str
    type: Type
    label: str | None
    keys: tuple[str, ...]
    steps: tuple[StepInfo, ...]
    span: Span | None

    def step_at(self, d: dt.date) -> StepInfo | None:
        for s in self.steps:
            if s.period.contains(d):
                return s
        return None


@frozen
class VersionInfo:
    period: ast.Period
    legiarti: str | None
    source: str | None


@frozen
class ArticleInfo:
    index: int
    ref: str
    in_code: bool
    label: str | None
    versions: tuple[VersionInfo, ...]
    confirm: str | None
    span: Span | None

    def version_at(self, d: dt.date) -> VersionInfo | None:
        for v in self.versions:
            if v.period.contains(d):
                return v
        return None


RuleKind = Literal["permit", "forbid", "oblige", "define", "inform", "unencoded"]


@frozen
class RuleInfo:
    index: int
    name: str
    label: str | None
    article: int
    kind: RuleKind
    enum: str | None  # deontic rules: the enumeration
    values: tuple[str, ...]  # deontic rules: its members concerned
    define: int | None  # define rules: the definition's index
    value: Expr | None  # define rules: the value
    text: str | None  # inform rules: the information; unencoded rules: the reason
    condition: Expr | None
    exceptions: tuple[int, ...]  # the rules this one is an exception to
    notes: tuple[str, ...]
    confirm: str | None
    span: Span | None
    scope: tuple[str, ...] = ()  # unencoded rules: the enumerations whose members they make undetermined


@frozen
class Rulebook:
    """A checked rulebook: every name resolved, every expression typed."""

    title: str
    coverage: ast.Period | None
    enums: dict[str, EnumInfo]
    records: dict[str, RecordInfo]
    facts: tuple[FactInfo, ...]
    definitions: tuple[DefInfo, ...]
    params: tuple[ParamInfo, ...]
    articles: tuple[ArticleInfo, ...]
    rules: tuple[RuleInfo, ...]
    order: tuple[tuple[Literal["rule", "def"], int], ...]  # evaluation order
    nodes: tuple[Expr, ...]  # every expression node by nid
    tests: tuple[ast.TestCase, ...]
    modules: tuple[ast.Module, ...]
    texts_digest: str  # sha256 of the rule texts (`texts_digest`): a label for the generated code, not what a decision shows
    coverage_notes: tuple[str, ...] = ()  # why it does not answer outside its coverage (either side)
    coverage_notes_before: tuple[str, ...] = ()  # said only for a date before the coverage
    coverage_notes_after: tuple[str, ...] = ()  # said only for a date after it

    @functools.cached_property
    def beaten_by(self) -> tuple[tuple[int, ...], ...]:
        """For each rule, the rules declared as exceptions to it: when one applies, it wins.

        One pass over the declarations (a scan of every rule per rule was quadratic: 10 000 rules, 25 s)."""
        beaten: list[list[int]] = [[] for _ in self.rules]
        for e in self.rules:
            for r in dict.fromkeys(e.exceptions):  # in rule order, each exception once, as the scan gave them
                beaten[r].append(e.index)
        return tuple(tuple(b) for b in beaten)

    @functools.cached_property
    def digest(self) -> str:
        """`sha256:` of what is evaluated: this IR in its canonical encoding, the decision's `rulebook.digest`.

        Hashing the texts would not do: an IR read from a cache entry its owner edited (or
        parsed with edited parser tables) passes as the texts' own. What is hashed is the
        IR that the compiler reads, encoded as the cache encodes it (`Encoder`), files named
        relative to their common folder, without the syntax trees (`modules`, not evaluated),
        the test cases (a test file does not change a decision) or `texts_digest`: the same
        on every machine, hash seed and load path (cold, cache, shipped). ~20 ms of CPU on
        the bundled rulebook, paid on the first read only (a load or a verdict does not read it).
        """
        enc = Encoder(skip=frozenset({"modules", "tests", "texts_digest"}))
        root = enc(self)
        data = {"files": _relative_names(list(enc.files)), "table": enc.table, "root": root}
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def texts_digest(texts: Mapping[str, str], test_suffix: str) -> str:
    """`sha256:` of the rule texts by path order (test files left out): the checker's `Rulebook.texts_digest`."""
    h = hashlib.sha256()
    for path in sorted(texts):
        if not path.endswith(test_suffix):
            h.update(texts[path].encode())
    return "sha256:" + h.hexdigest()


def _relative_names(files: list[str]) -> list[str]:
    """Files named inside their common folder (posix), so that a digest does not depend on where the rulebook lies."""
    if not files:
        return []
    try:
        base = PurePath(files[0]).parent if len(files) == 1 else PurePath(os.path.commonpath(files))
        return [PurePath(f).relative_to(base).as_posix() for f in files]
    except ValueError:  # absolute and relative names mixed, or on two drives: the names alone
        return [PurePath(f).name for f in files]


class Encoder:
    """Syntax-tree and IR objects as JSON-ready plain values: check/serial.py's cache entries, `Rulebook.digest`.

    Every object is written once, in `table`, in post-order (an object's parts come
    before it; shared objects stay shared: a reference `{"#": i}`); a span names its
    file by index in `files`. Fields in `skip` are written `[]`. Sets are sorted and
    mappings keep their order, so the encoding does not depend on the hash seed.
    """

    def __init__(self, names: Mapping[type, str] | None = None, skip: frozenset[str] = frozenset({"modules"})) -> None:
        self.table: list[Any] = []
        self.files: dict[str, int] = {}
        self._memo: dict[int, int] = {}
        self._names = names
        self._skip = skip
        self._plans: dict[type, tuple[str, tuple[str, ...]]] = {}

    def _plan(self, cls: type) -> tuple[str, tuple[str, ...]]:
        """The name of a class and its fields (None: skipped), once per class."""
        plan = self._plans.get(cls)
        if plan is None:
            name = self._names.get(cls) if self._names is not None else f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}" if record.has(cls) else None
            if name is None:
                raise TypeError(f"cannot serialise {cls.__name__}")
            plan = self._plans[cls] = (name, tuple(f.name for f in record.fields(cls)))
        return plan

    def __call__(self, x: Any) -> Any:
        c = x.__class__
        if c is str or c is int or c is bool or x is None:  # most values; subclasses (a Lark token) below
            return x
        if c is tuple:
            return [self(v) for v in x]
        memo = self._memo.get(id(x))
        if memo is not None:
            return {"#": memo}
        if isinstance(x, bool):
            return bool(x)
        if isinstance(x, str):
            return str(x)
        if isinstance(x, int):
            return int(x)
        if isinstance(x, Decimal):
            return {"#d": str(x)}
        if isinstance(x, dt.date):
            return {"#t": x.isoformat()}
        if isinstance(x, tuple):
            return [self(v) for v in x]
        if isinstance(x, frozenset):
            return {"#f": sorted(self(v) for v in x)}
        if isinstance(x, dict):
            return {"#m": [[self(k), self(v)] for k, v in x.items()]}
        if isinstance(x, Span):
            fi = self.files.setdefault(x.file, len(self.files))
            return {"#s": [fi, x.line, x.col, x.end_line, x.end_col]}
        name, fields = self._plan(c)
        skip = self._skip
        row = [name, *[[] if f in skip else self(getattr(x, f)) for f in fields]]
        self._memo[id(x)] = i = len(self.table)
        self.table.append(row)
        return {"#": i}



def walk(e: Expr) -> list[Expr]:
    """Every node of an expression, depth first."""
    out = [e]
    for c in children(e):
        out.extend(walk(c))
    return out
