"""The columnar backend: the same IR evaluated on a batch of situations as NumPy columns.

The Python backend (compile.py) decides one situation; batch audits decide millions, and
there the interpreter's cost per operation dominates. Here each expression node is one
array operation over all the situations of a batch, built once per rulebook as a chain
of closures (`ColumnProgram`).

Representation, per value: a `known` boolean mask and a value array (Kleene's three values
are two masks for a condition). Money, percentages and integers are int64 fixed-point
numbers with a scale fixed per node (cents for money, 10⁻⁶ for percents), so comparisons are
exact like the Decimals of the scalar path; enumerations are member codes, dates are day
ordinals, parameters are found by date with their steps' periods, and rules in force by
their articles' versions.

Whatever cannot be decided exactly this way is not guessed: the rows concerned are marked
`fallback` and decided one at a time by the caller (batch.py). They are the rows where a
list is given (aggregates are not vectorised), a division happens, a fixed-point number
would overflow, a definition is missing (E401) or in conflict (E402), or an obligation
meets a prohibition. The missing-fact names of an undetermined answer are not tracked here
either: the full Decision, computed on demand, gives them.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from itertools import chain, repeat
from operator import eq, is_not, itemgetter
from typing import Any

import numpy as np

from cpc_rules import ir
from cpc_rules.engine.cone import closure, cone
from cpc_rules.record import fields

I64_SAFE = 2**62  # a fixed-point value at or beyond this may overflow an operation: the row falls back
_SCALE = {"money": 2, "percent": 6, "int": 0}


class NotColumnar(Exception):
    """The rulebook uses something this backend cannot evaluate exactly (it then decides one at a time)."""


class Col:
    """A value over the rows of a batch: `known` mask (None: known everywhere), values, fixed-point scale."""

    __slots__ = ("known", "val", "scale", "none")

    def __init__(self, known: Any, val: Any, scale: int = 0, none: Any = None) -> None:
        self.known = known
        self.val = val
        self.scale = scale
        self.none = none  # a definition without value (no rule defines it, none needed it)


class Batch:
    """The rows being decided: typed fact columns, day ordinals, and the rows that must fall back."""

    def __init__(self, n: int, facts: list[Col], days: np.ndarray) -> None:
        self.n = n
        self.facts = facts
        self.days = days
        self.fallback = np.zeros(n, dtype=bool)
        self.stretch: np.ndarray | None = None  # per row, its stretch between period boundaries (ColumnProgram.stretches), once known
        self.falls = 0  # calls of fall_back that sent some row to the scalar path

    def fall_back(self, rows: Any, live: Any) -> None:
        """The `rows` (a mask) among the `live` ones fall back to the scalar path."""
        if not np.any(rows):
            return  # nothing, whatever `live` is: the expression's value can be shared (_Eval.expr)
        self.falls += 1
        rows = _and(rows, live)
        if rows is not None and rows is not False:
            self.fallback |= rows


def _and(a: Any, b: Any) -> Any:
    """Mask conjunction where None means "every row"."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _known_all(*cols: Col) -> Any:
    k = None
    for c in cols:
        k = _and(k, c.known)
    return k


def _kleene_or(a: Col, b: Col, n: int) -> Col:
    t = _arr(_true(a), n, bool) | _arr(_true(b), n, bool)
    known = t | (_arr(True if a.known is None else a.known, n, bool) & _arr(True if b.known is None else b.known, n, bool))
    return Col(known, t)


def _true(c: Col) -> Any:
    """Rows where a condition is known true."""
    return c.val if c.known is None else (c.known & c.val)


def _false(c: Col) -> Any:
    return ~c.val if c.known is None else (c.known & ~c.val)


def _magnitude(x: Any) -> int:
    """The largest absolute value of an integer array or scalar, as a Python int (exact: no int64 overflow)."""
    return max(int(np.max(x)), -int(np.min(x))) if np.size(x) else 0


def _arr(x: Any, n: int, dtype: Any) -> np.ndarray:
    return x if isinstance(x, np.ndarray) else np.full(n, x, dtype=dtype)


_MAX_AMOUNT = Decimal("1e15")  # values.MAX_AMOUNT
# Decimal arithmetic rounds to the context's 28 digits: moving the point of a longer amount
# (99999999999999.99000000000000001) would round it to whole cents. In this context it never rounds.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, traps=[])
_HUNDRED = Decimal(100)


def _cents(x: Any) -> int | None:
    """Cents of an amount given as an int or a Decimal, accepted exactly as values.coerce accepts it.

    None for another form (text, float: refused by values.coerce) or an invalid value: the
    row is then typed by values.coerce, which gives the value or the located error.
    """
    c = x.__class__
    if c is int:
        return x * 100 if 0 <= x < 10**15 else None
    if c is Decimal:
        if x.is_finite():  # the usual amount (positive, whole cents, below the maximum): `_decimal`'s answer, with less work
            q = x.scaleb(2, _EXACT)
            i = int(q)
            if 0 < i < 10**17 and q == i:
                return i
        return _decimal(x, 2, _MAX_AMOUNT)
    return None


def _percent(x: Any) -> int | None:
    """A percentage (0 to 100) given as an int or a Decimal, in millionths, as values.coerce accepts it; None otherwise."""
    c = x.__class__
    if c is int:
        return x * 10**6 if 0 <= x <= 100 else None
    if c is Decimal:
        return _decimal(x, 6, _HUNDRED, inclusive=True)
    return None


def _decimal(x: Decimal, places: int, upper: Decimal, inclusive: bool = False) -> int | None:
    """values._number then values._bounded on a Decimal, as an integer at `places`; None where they refuse it."""
    if not x.is_finite() or (x.is_zero() and x.is_signed()) or x < 0:
        return None
    if (x > upper) if inclusive else (x >= upper):
        return None
    if x.adjusted() < -places - 1:
        return None
    return fixed(x, places)


def fixed(value: Any, scale: int) -> int | None:
    """An exact Decimal or int as an integer at `scale`, or None if it is not exact there or too large."""
    d = Decimal(value) if not isinstance(value, Decimal) else value
    scaled = d.scaleb(scale, _EXACT)
    if not scaled.is_finite() or scaled != scaled.to_integral_value(context=_EXACT):
        return None
    i = int(scaled)
    return i if -I64_SAFE < i < I64_SAFE else None


_NONE = type(None)
# A column reader: (raw values, rows, member codes of an enumeration) → (known, values, bad, absent).
# known: the rows given in a form the columns take (None: every row); bad: the rows given in
# another form (the slow path types them; None: no row); absent: the rows not given (None: no row).
Reader = Callable[[Sequence[Any], int, Any], tuple[Any, np.ndarray, Any, Any]]


def _layout(situations: Sequence[Any], allowed: Any) -> dict[str, Sequence[Any]] | None:
    """Per fact name, its column of values, when every situation is a dict of the same facts, all declared; else None.

    The values are read row by row in C (`itemgetter`) straight into one object array, whose
    columns are views: no tuple per situation is kept, and no transposition in Python.
    """
    if not situations or situations[0].__class__ is not dict:
        return None
    first = situations[0]
    n, k = len(situations), len(first)
    if not k or not first.keys() <= allowed or set(map(type, situations)) != {dict} or set(map(len, situations)) != {k}:
        return None
    keys = tuple(first)
    get = itemgetter(*keys)
    try:  # the same number of facts and each of the first's: the same facts
        if k == 1:
            return {keys[0]: np.fromiter(map(get, situations), dtype=object, count=n)}
        values = np.fromiter(chain.from_iterable(map(get, situations)), dtype=object, count=n * k).reshape(n, k)
    except KeyError:
        return None
    return {key: values[:, j] for j, key in enumerate(keys)}


MAX_LAYOUTS = 16  # more kinds of situations than this in a batch: read value by value


def _layouts(situations: Sequence[Any], allowed: Any) -> dict[str, Sequence[Any]] | None:
    """Per fact name, its column of values (None where a situation does not give it), when the situations are dicts
    of a few different sets of declared facts (an audit asks a few kinds of question per batch); else None.

    Each kind is read as `_layout` reads a batch of one kind, and its values placed in its rows.
    """
    if not situations or set(map(type, situations)) != {dict}:
        return None
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, s in enumerate(situations):
        keys = tuple(s)
        rows = groups.get(keys)
        if rows is None:
            if len(groups) == MAX_LAYOUTS or not s.keys() <= allowed:
                return None
            rows = groups[keys] = []
        rows.append(i)
    n = len(situations)
    out: dict[str, np.ndarray] = {}
    for keys, rows in groups.items():
        if not keys:
            continue
        part = _layout([situations[i] for i in rows], allowed)
        assert part is not None  # the same facts in every one, all declared
        idx = np.array(rows, dtype=np.intp)
        for name, col in part.items():
            whole = out.get(name)
            if whole is None:
                whole = out[name] = np.full(n, None, dtype=object)
            whole[idx] = col
    return out  # type: ignore[return-value]


_BOOL_CODE = {True: 1, False: 0, None: 2}  # read only when every value is a bool or None (1 and 1.0 are not)


def _read_bool(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    types = set(map(type, raw))
    if types == {bool}:
        return None, np.fromiter(raw, dtype=bool, count=n), None, None
    if types <= {bool, _NONE}:  # 2 not given
        code = np.fromiter(map(_BOOL_CODE.__getitem__, raw), dtype=np.int8, count=n)
        return code < 2, code == 1, None, code == 2
    code = np.array([1 if x is True else 0 if x is False else 2 if x is None else 3 for x in raw], dtype=np.int8)  # 2 not given, 3 another form
    return code < 2, code == 1, code == 3, code == 2


def _read_enum(raw: Sequence[Any], n: int, codes: dict[str, int]) -> tuple[Any, np.ndarray, Any, Any]:
    if set(map(type, raw)) <= {str, _NONE}:  # member code, -2 not given, -1 another text
        ext = {**codes, None: -2}
        val = np.fromiter(map(ext.get, raw, repeat(-1, n)), dtype=np.int64, count=n)
    else:
        val = np.array([codes.get(x, -1) if x.__class__ is str else -2 if x is None else -1 for x in raw], dtype=np.int64)
    if val.min() >= 0:
        return None, val, None, None
    return val >= 0, np.maximum(val, 0), val == -1, val == -2


def _read_money(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    types = set(map(type, raw))
    if types == {Decimal, _NONE} and isinstance(raw, np.ndarray):  # some rows do not give it: the others as below
        given = np.fromiter(map(is_not, raw, repeat(None, n)), dtype=bool, count=n)
        known, val, bad, _absent = _read_money(raw[given], int(given.sum()), None)
        if known is None and bad is None:
            whole = np.zeros(n, dtype=np.int64)
            whole[given] = val
            return given, whole, None, ~given
    if types == {Decimal}:  # an audit's amounts: `_cents`, a whole column at a time
        q = list(map(Decimal.scaleb, raw, repeat(2, n), repeat(_EXACT, n)))  # a NaN stays a NaN (no trap)
        try:
            ints = list(map(int, q))  # a NaN or an infinity raises: value by value below
        except (ValueError, OverflowError):
            ints = None
        if ints is not None and 0 < min(ints) and max(ints) < 10**17 and all(map(eq, q, ints)):
            return None, np.array(ints, dtype=np.int64), None, None
    return _read_fixed(raw, n, _cents)


def _read_percent(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    return _read_fixed(raw, n, _percent)


def _read_fixed(raw: Sequence[Any], n: int, conv: Callable[[Any], int | None]) -> tuple[Any, np.ndarray, Any, Any]:
    fx = [None if x is None else conv(x) for x in raw]  # None: not given, or another form
    given = np.array([x is not None for x in raw], dtype=bool)
    ok = np.array([x is not None for x in fx], dtype=bool)
    return ok, np.array([x or 0 for x in fx], dtype=np.int64), given & ~ok, ~given


def _read_int(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    # values.coerce: 0 ≤ n < 10^15 (a Decimal or a text: the scalar path)
    code = np.array([0 if x is None else 1 if x.__class__ is int and 0 <= x < 10**15 else 2 for x in raw], dtype=np.int8)
    val = np.array([x if c == 1 else 0 for x, c in zip(raw, code.tolist(), strict=True)], dtype=np.int64)
    return code == 1, val, code == 2, code == 0


def _read_date(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    if set(map(type, raw)) == {dt.date}:
        return None, np.fromiter(map(dt.date.toordinal, raw), dtype=np.int64, count=n), None, None
    code = np.array([0 if x is None else 1 if x.__class__ is dt.date else 2 for x in raw], dtype=np.int8)
    val = np.array([x.toordinal() if c == 1 else 0 for x, c in zip(raw, code.tolist(), strict=True)], dtype=np.int64)
    return code == 1, val, code == 2, code == 0


def _read_other(raw: Sequence[Any], n: int, _: Any) -> tuple[Any, np.ndarray, Any, Any]:
    """Lists (and any other kind): the scalar path."""
    given = np.array([x is not None for x in raw], dtype=bool)
    return np.zeros(n, dtype=bool), np.zeros(n, dtype=np.int64), given, ~given


_READERS: dict[str, Reader] = {"bool": _read_bool, "enum": _read_enum, "money": _read_money, "percent": _read_percent, "int": _read_int, "date": _read_date}


class ColumnProgram:
    """A checked rulebook turned into array operations, once; `run` decides a batch."""

    def __init__(self, rb: ir.Rulebook, needed_at: Callable[[dt.date], tuple[bool, ...]]) -> None:
        self.rb = rb
        self.needed_at = needed_at
        self.codes = {name: {m: i for i, m in enumerate(e.members)} for name, e in rb.enums.items()}
        for n in rb.nodes:
            if isinstance(n, ir.Arith) and n.kind not in ("add", "sub", "mul", "scale", "div", "ratio"):
                raise NotColumnar(n.kind)  # pragma: no cover - the checker knows no other
        self.params = [self._param_table(p) for p in rb.params]
        self.article_periods = [[(v.period.start.toordinal(), v.period.end.toordinal() if v.period.end else 10**7) for v in a.versions] for a in rb.articles]
        self.coverage = (rb.coverage.start.toordinal(), rb.coverage.end.toordinal() if rb.coverage.end else 10**7) if rb.coverage else None
        # Everything that depends on the date (articles in force, parameter steps, definitions needed,
        # the coverage) changes only at the rulebook's period boundaries: a batch places each row in its
        # stretch between two boundaries once (one searchsorted), and reads these small tables by stretch.
        ends = {d for periods in self.article_periods for per in periods for d in per}
        ends |= {d for periods, _, _ in self.params for per in periods for d in per}
        ends |= set(self.coverage or ())
        self.bounds = np.array(sorted(d for d in ends if d < 10**7), dtype=np.int64)
        reps = [int(self.bounds[0]) - 1, *map(int, self.bounds)] if len(self.bounds) else [dt.date(2000, 1, 1).toordinal()]  # a day inside each stretch
        self.article_on = [np.array([any(a <= d < b for a, b in periods) for d in reps], dtype=bool) for periods in self.article_periods]
        self.param_steps = [np.array([next((si for si, (a, b) in enumerate(periods) if a <= d < b), -1) for d in reps], dtype=np.int64) for periods, _, _ in self.params]
        # per parameter, its values by stretch ([stretch, key combination]; a stretch with no step reads step 0, and falls back)
        self.param_values = [table[np.maximum(steps, 0)] for (_, table, _), steps in zip(self.params, self.param_steps, strict=True)]
        self.covered_at = np.array([self.coverage is None or self.coverage[0] <= d < self.coverage[1] for d in reps], dtype=bool)
        self.reps = reps
        self.shapes: dict[int, Any] = {}  # node id → its structure (equal expressions of different rules share it)
        self.keep: dict[frozenset[str], frozenset[int]] = {}  # per focus, the rules its batches evaluate (closure)
        self._needed: np.ndarray | None = None  # [stretch, definition], on first run (needed_at compiles the date's view)

    def shape(self, e: ir.Expr) -> Any:
        """What an expression computes, as a hashable value: equal for equal expressions wherever they are written.

        The value of an expression over a batch depends on nothing else (not on the rule it is
        in, nor on which rows are live): _Eval.expr computes each shape once per batch.
        """
        key = self.shapes.get(e.nid)
        if key is None:
            if isinstance(e, ir.Aggregate | ir.LocalRef | ir.Field):
                key = ("node", e.nid)  # inside an aggregate a local means something else each time
            else:
                parts: list[Any] = [type(e).__name__]
                for f in fields(type(e)):
                    if f.name in ("nid", "src"):
                        continue
                    v = getattr(e, f.name)
                    if isinstance(v, ir.Node):
                        v = self.shape(v)
                    elif isinstance(v, tuple) and v and isinstance(v[0], ir.Node):
                        v = tuple(self.shape(x) for x in v)
                    parts.append(v)
                key = tuple(parts)
                try:
                    hash(key)
                except TypeError:  # a constant that is not hashable: not shared
                    key = ("node", e.nid)
            self.shapes[e.nid] = key
        return key

    # ------------------------------------------------------------ static tables
    def _param_table(self, p: ir.ParamInfo) -> tuple[list[tuple[int, int]], np.ndarray, list[int]]:
        """Per step: its period; values [step, key combination]; the sizes of the key enumerations."""
        sizes = [len(self.rb.enums[k].members) for k in p.keys]
        combos = int(np.prod(sizes)) if sizes else 1
        periods = [(s.period.start.toordinal(), s.period.end.toordinal() if s.period.end else 10**7) for s in p.steps]
        dtype = bool if p.type.kind == "bool" else np.int64
        table = np.zeros((max(1, len(p.steps)), combos), dtype=dtype)
        for si, s in enumerate(p.steps):
            if p.keys:
                assert isinstance(s.value, dict)
                for key, v in s.value.items():
                    idx = 0
                    for k, member in zip(p.keys, key, strict=True):
                        idx = idx * len(self.rb.enums[k].members) + self.codes[k][member]
                    table[si, idx] = self._const(v, p.type)
            else:
                table[si, 0] = self._const(s.value, p.type)
        return periods, table, sizes

    def _const(self, v: Any, t: ir.Type) -> Any:
        if t.kind in _SCALE:
            f = fixed(v, _SCALE[t.kind])
            if f is None:
                raise NotColumnar(f"constante {v} non exacte en virgule fixe")
            return f
        if t.kind == "date":
            return v.toordinal()
        if t.kind == "enum":
            return self.codes[t.name][v]  # type: ignore[index]
        if t.kind == "bool":
            return bool(v)
        raise NotColumnar(f"constante de type {t}")

    # ------------------------------------------------------------ input
    def columns(self, vectors: Sequence[Sequence[Any]], days: np.ndarray, given: Iterable[int] | None = None) -> Batch:
        """Typed fact vectors (Program.facts_vector) as columns; `given`: the facts given in some row (others are all unknown)."""
        n = len(vectors)
        rb = self.rb
        cols: list[Col] = []
        batch = Batch(n, cols, days)
        given_set = set(range(len(rb.facts))) if given is None else set(given)
        for f in rb.facts:
            kind = f.type.kind
            if f.index not in given_set:
                cols.append(Col(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool if kind == "bool" else np.int64), _SCALE.get(kind, 0)))
                continue
            raw = [v[f.index] for v in vectors]
            from cpc_rules.engine.runtime import Unknown

            known = np.fromiter((x.__class__ is not Unknown for x in raw), dtype=bool, count=n)
            if kind == "bool":
                val = np.fromiter((x is True for x in raw), dtype=bool, count=n)
            elif kind == "enum":
                codes = self.codes[f.type.name]  # type: ignore[index]
                val = np.fromiter((codes.get(x, 0) if k else 0 for x, k in zip(raw, known.tolist(), strict=True)), dtype=np.int64, count=n)
            elif kind == "date":
                val = np.fromiter((x.toordinal() if k else 0 for x, k in zip(raw, known.tolist(), strict=True)), dtype=np.int64, count=n)
            elif kind in _SCALE:
                scale = _SCALE[kind]
                ints = [fixed(x, scale) if k else 0 for x, k in zip(raw, known.tolist(), strict=True)]
                bad = np.fromiter((i is None for i in ints), dtype=bool, count=n)
                if bad.any():
                    batch.fallback |= bad
                val = np.fromiter((0 if i is None else i for i in ints), dtype=np.int64, count=n)
            elif kind == "list":
                batch.fallback |= known  # a given list is decided one at a time (aggregates are not vectorised)
                val = np.zeros(n, dtype=np.int64)
            else:  # pragma: no cover - the checker allows no other fact type
                raise NotColumnar(kind)
            cols.append(Col(known, val, _SCALE.get(kind, 0)))
        return batch

    def ingest(self, situations: Sequence[Any], days: np.ndarray, names: dict[str, int], presume: bool = False) -> tuple[Batch, np.ndarray]:
        """Raw situations (facts by name) straight to columns, for the usual value forms.

        A value in a form this fast path does not take exactly as values.coerce does (text,
        a percentage, a list, a wrong type…) marks its row `slow`: the caller types that row
        with Program.facts_vector (which reports its errors) and decides it one at a time.
        `presume`: a fact not given takes the rulebook's presumption (Program.presume).
        Returns the batch and the slow mask (slow rows are also in batch.fallback).

        The situations of a batch built by a program (an audit's adapter) usually all give
        the same facts: they are then read row by row in C (`itemgetter`) and transposed, and
        a column of one Python type is converted whole; anything else is read value by value.
        """
        n = len(situations)
        rb = self.rb
        slow = np.zeros(n, dtype=bool)
        layout = _layout(situations, names.keys())
        if layout is None:
            layout = _layouts(situations, names.keys())
        if layout is not None:
            raws: dict[str, Sequence[Any]] | None = layout
            present: Any = layout.keys()
        else:
            raws = None
            allowed = names.keys()
            present = set()
            odd = []
            for i, s in enumerate(situations):
                present.update(s)
                if not s.keys() <= allowed:  # a comparison of views: no set built per situation
                    odd.append(i)
            slow[odd] = True
        cols: list[Col] = []
        batch = Batch(n, cols, days)
        for f in rb.facts:
            kind = f.type.kind
            scale = _SCALE.get(kind, 0)
            presumed = f.presumed if presume else None
            name = f.name
            if name not in present:
                col = Col(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool if kind == "bool" else np.int64), scale)
                cols.append(self._presume(col, presumed, np.ones(n, dtype=bool), batch, f.type))
                continue
            raw = raws[name] if raws is not None else [s.get(name) for s in situations]
            reader = _READERS.get(kind, _read_other)
            known, val, bad, absent = reader(raw, n, self.codes[f.type.name] if kind == "enum" else None)  # type: ignore[index]
            if bad is not None:
                slow |= bad
            cols.append(self._presume(Col(known, val, scale), presumed, absent, batch, f.type))
        batch.fallback |= slow
        return batch, slow

    def _presume(self, col: Col, presumed: Any, absent: np.ndarray | None, batch: Batch, t: ir.Type) -> Col:
        """The column with the presumed value where the fact is not given (`absent`; None: given on every row)."""
        if presumed is None or absent is None or not absent.any():
            return col
        try:
            v = self._const(presumed.value, t)
        except (NotColumnar, KeyError):
            batch.fallback |= absent  # a presumption the columns do not hold (a list): one at a time
            return col
        known = col.known | absent
        val = np.where(absent, v, col.val)
        return Col(known, val.astype(col.val.dtype), col.scale)

    # ------------------------------------------------------------ run
    def stretches(self, days: np.ndarray) -> np.ndarray:
        """Per row, its stretch between two period boundaries (an index into the tables by stretch).

        A batch's days usually span a few years: the stretch of every day of that span is found
        once (a table indexed by day) and each row reads it, which is cheaper than a binary
        search per row; a wider span searches per row.
        """
        n = len(days)
        if not n or not len(self.bounds):
            return np.zeros(n, dtype=np.intp)
        lo, hi = int(days.min()), int(days.max())
        if hi - lo <= 2 * n + 4096:
            return np.searchsorted(self.bounds, np.arange(lo, hi + 1, dtype=np.int64), side="right")[days - lo]
        return np.searchsorted(self.bounds, days, side="right")

    def covered(self, stretch: np.ndarray) -> np.ndarray:
        """Per row, whether its date is in the rulebook's coverage."""
        return self.covered_at[stretch]

    def run(self, batch: Batch, focus: Iterable[str] | None = None) -> dict[int, Col]:
        """Rule activations (Col of conditions): of the rules the conclusions on the `focus` enumerations need (None: every rule)."""
        rb = self.rb
        keep = None
        if focus is not None:
            names = frozenset(focus)
            keep = self.keep.get(names)
            if keep is None:
                keep = self.keep[names] = frozenset(self.closure(cone(rb, names)))
        n = batch.n
        ev = _Eval(self, batch, self.stretches(batch.days) if batch.stretch is None else batch.stretch)
        needed = self._needed_by_stretch()
        acts: dict[int, Col] = {}
        ws: dict[int, Col] = {}  # per exception: its condition or that of an exception below it
        for kind, index in rb.order:
            if kind == "rule":
                if keep is not None and index not in keep:
                    continue
                r = rb.rules[index]
                on = ev.by_stretch(self.article_on[r.article])  # None: in force on every row
                if on is False:  # in force on no row: the rule does not apply (its condition is not evaluated)
                    a = Col(None, np.zeros(n, dtype=bool))
                elif r.condition is None:
                    a = Col(None, np.ones(n, dtype=bool) if on is None else on.copy())
                else:
                    c = ev.expr(r.condition, on)
                    if on is None:
                        a = Col(c.known, _arr(c.val, n, bool))
                    else:
                        a = Col(None if c.known is None else (c.known | ~on), _arr(c.val, n, bool) & on)
                if r.exceptions:  # an exception to others: what it passes up the chain (compile.py, `w`)
                    w = a
                    for e in rb.beaten_by[r.index]:
                        w = _kleene_or(w, ws[e], n)
                    ws[index] = w
                for e in rb.beaten_by[r.index]:  # an exception, or one below it, that applies beats this rule
                    x = ws[e]
                    a_not_false = ~_false(a)
                    beats = a_not_false & _true(x)
                    maybe = a_not_false & ~_known_all(x) if x.known is not None else np.zeros(n, dtype=bool)
                    known = (np.ones(n, dtype=bool) if a.known is None else a.known.copy()) & ~maybe
                    known |= beats
                    a = Col(known, _arr(a.val, n, bool) & ~beats)
                acts[index] = a
            else:
                d = rb.definitions[index]
                if keep is not None and not any(ri in keep for ri in d.rules):
                    continue
                need = None if needed is None else ev.by_stretch(needed[:, index])
                ev.defs[index] = self._define(ev, d, acts, np.True_ if need is None else np.False_ if need is False else need)
        self._deontic_conflicts(batch, acts)
        return acts

    def closure(self, rules: Iterable[int]) -> set[int]:
        """The rules needed to settle `rules` (a focus's dependency cone, engine/cone.py) exactly like the scalar path, errors included.

        Besides the rules asked for: every definition (their conflicts and absences are
        errors of the whole decision), the rules of a conflict between obligation and
        prohibition, and any rule that divides (a division by zero is an error too); then
        what those need (the exceptions that beat them, the rules defining what they read).
        A fault these find sends its rows to the scalar path (`fallback`), which answers or
        fails exactly as a focused `decide` does, whichever faults that raises.
        """
        rb = self.rb
        todo = list(rules)
        todo += [r.index for r in rb.rules if r.kind == "define"]
        items: dict[tuple[str, str], list[ir.RuleInfo]] = {}
        for r in rb.rules:
            if r.enum is not None:
                for m in r.values:
                    items.setdefault((r.enum, m), []).append(r)
        for rs in items.values():
            if {r.kind for r in rs} >= {"oblige", "forbid"}:
                todo += [r.index for r in rs if r.kind in ("oblige", "forbid")]
        for r in rb.rules:
            exprs = [e for e in (r.condition, r.value) if e is not None]
            if any(isinstance(n, ir.Arith) and n.kind in ("div", "ratio") for e in exprs for n in ir.walk(e)):
                todo.append(r.index)
        return set(closure(rb, todo))

    def _needed_by_stretch(self) -> np.ndarray | None:
        """Per stretch and definition: whether a rule in force reads it (Program.at(d).needed), computed once."""
        if not self.rb.definitions:
            return None
        if self._needed is None:
            self._needed = np.array([self.needed_at(dt.date.fromordinal(max(1, d))) for d in self.reps], dtype=bool).reshape(len(self.reps), len(self.rb.definitions))
        return self._needed

    def _define(self, ev: _Eval, d: ir.DefInfo, acts: dict[int, Col], needed: Any) -> Col:
        """A definition's value from its rules; `needed`: the rows where a rule in force reads it (a mask, or np.True_ / np.False_)."""
        n = ev.batch.n
        dtype = bool if d.type.kind == "bool" else np.int64
        scale = _SCALE.get(d.type.kind, 0)
        parts = []
        for ri in d.rules:
            r = self.rb.rules[ri]
            a = acts[ri]
            live = ~_false(a)
            assert r.value is not None
            v = ev.expr(r.value, live)
            parts.append((a, v, live))
            if d.type.kind in _SCALE:
                scale = max(scale, v.scale)
        have: Any = None  # rows where a rule that applies gave a known value
        candidate: Any = None  # rows where some rule may apply
        val: Any = None
        conflict: Any = None
        for a, v, live in parts:
            vv = ev.rescale(v, scale, live) if d.type.kind in _SCALE else v
            certain = _and(_true(a), vv.known)
            certain = _arr(certain if certain is not None else True, n, bool) & live
            vals = _arr(vv.val, n, dtype)
            if have is None:  # the first rule: nothing to conflict with yet
                val = np.where(certain, vals, dtype(0))
                have, candidate = certain, _arr(live, n, bool)
                continue
            clash = certain & have & (vals != val)
            conflict = clash if conflict is None else conflict | clash
            val = np.where(certain & ~have, vals, val)
            have = have | certain
            candidate = candidate | live
        if have is None:
            have, candidate, val = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(n, dtype=dtype)
        none = ~candidate
        ev.batch.fallback |= none & needed  # E401: the scalar path raises it
        none &= ~needed
        if conflict is not None:
            ev.batch.fallback |= conflict  # E402
        return Col(have, val, scale, none if none.any() else None)

    def _deontic_conflicts(self, batch: Batch, acts: dict[int, Col]) -> None:
        found: dict[tuple[str, str], dict[str, list[int]]] = {}
        for r in self.rb.rules:
            if r.enum is not None and r.kind in ("oblige", "forbid") and r.index in acts:
                for m in r.values:
                    found.setdefault((r.enum, m), {"oblige": [], "forbid": []})[r.kind].append(r.index)
        for rs in found.values():
            if rs["oblige"] and rs["forbid"]:
                o = np.zeros(batch.n, dtype=bool)
                f = np.zeros(batch.n, dtype=bool)
                for i in rs["oblige"]:
                    o |= _arr(_true(acts[i]), batch.n, bool)
                for i in rs["forbid"]:
                    f |= _arr(_true(acts[i]), batch.n, bool)
                batch.fallback |= o & f


class _Eval:
    """Evaluates expression nodes over a batch; `live` is the mask of rows where the scalar path evaluates the node."""

    def __init__(self, prog: ColumnProgram, batch: Batch, stretch: np.ndarray) -> None:
        self.prog = prog
        self.batch = batch
        self.n = batch.n
        self.stretch = stretch
        self.present = np.bincount(stretch, minlength=len(prog.reps)) > 0  # the stretches some row falls in
        self.defs: dict[int, Col] = {}
        self.memo: dict[Any, Col] = {}  # shape of an expression → its value (see expr)
        self.missing: dict[int, Any] = {}
        self.scaled: dict[int, np.ndarray] = {}

    def by_stretch(self, table: np.ndarray) -> Any:
        """A table of booleans by stretch, per row: None where true on every row, False on none, else the mask."""
        here = table[self.present]
        if here.all():
            return None
        if not here.any():
            return False
        return table[self.stretch]

    def missing_step(self, p: int) -> Any:
        """The rows on which parameter `p` has no step (None: no row)."""
        if p not in self.missing:
            m = self.by_stretch(self.prog.param_steps[p] < 0)
            self.missing[p] = None if m is False else np.ones(self.n, dtype=bool) if m is None else m
        return self.missing[p]

    def one_stretch(self, table: np.ndarray) -> int | None:
        """The stretch whose row of `table` every row of the batch reads (all present stretches have the same row), or None."""
        here = table[self.present]
        return int(np.flatnonzero(self.present)[0]) if (here == here[0]).all() else None

    def scaled_stretch(self, width: int) -> np.ndarray:
        """stretch × width, per row (an index into a [stretch, width] table flattened), computed once per width."""
        if width not in self.scaled:
            self.scaled[width] = self.stretch * width
        return self.scaled[width]

    def expr(self, e: ir.Expr, live: Any) -> Col:
        """The value of `e` over the batch; `live`: the rows where the scalar path evaluates it (its fallbacks are among them).

        An expression whose evaluation sent no row to the scalar path is computed once per batch
        and shared by every rule that writes it (its value does not depend on `live`); one that
        did is evaluated again where it recurs, so that its fallbacks follow each place's live rows.
        """
        key = self.prog.shape(e)
        col = self.memo.get(key)
        if col is None:
            falls = self.batch.falls
            col = getattr(self, "e_" + type(e).__name__)(e, live)
            if self.batch.falls == falls:
                self.memo[key] = col
        return col  # type: ignore[no-any-return]

    # ------------------------------------------------------------ fixed point
    def rescale(self, c: Col, scale: int, live: Any) -> Col:
        if c.scale == scale:
            return c
        assert scale > c.scale
        factor = 10 ** (scale - c.scale)
        val = c.val
        if factor >= I64_SAFE:  # scales piled up by products: nothing fits, those rows fall back
            self.batch.fall_back(c.known if c.known is not None else np.ones(self.n, dtype=bool), live)
            return Col(c.known, np.zeros(self.n, dtype=np.int64), scale, c.none)
        if isinstance(val, np.ndarray):
            over = np.abs(val) >= I64_SAFE // factor
            if over.any():
                self.batch.fall_back(_and(over, c.known), live)
                val = np.where(over, 0, val)
            return Col(c.known, val * factor, scale, c.none)
        v = int(val) * factor
        if abs(v) >= I64_SAFE:
            self.batch.fall_back(np.ones(self.n, dtype=bool), live)
            v = 0
        return Col(c.known, v, scale, c.none)

    def align(self, a: Col, b: Col, live: Any) -> tuple[Col, Col]:
        s = max(a.scale, b.scale)
        return self.rescale(a, s, live), self.rescale(b, s, live)

    # ------------------------------------------------------------ nodes
    def e_Const(self, e: ir.Const, live: Any) -> Col:
        v = self.prog._const(e.value, e.type)
        return Col(None, np.bool_(v) if e.type.kind == "bool" else np.int64(v), _SCALE.get(e.type.kind, 0))

    def e_FactRef(self, e: ir.FactRef, live: Any) -> Col:
        return self.batch.facts[e.index]

    def e_DefRef(self, e: ir.DefRef, live: Any) -> Col:
        c = self.defs[e.index]
        if c.none is not None:
            self.batch.fall_back(c.none, live)  # reading a definition that has no value: the scalar path fails there
        return c

    def e_ParamRef(self, e: ir.ParamRef, live: Any) -> Col:
        _, _, sizes = self.prog.params[e.index]
        missing = self.missing_step(e.index)
        if missing is not None:
            self.batch.fall_back(missing, live)
        args = [self.expr(a, live) for a in e.args]
        values = self.prog.param_values[e.index]  # [stretch, key combination]
        one = self.one_stretch(values)
        idx: Any = 0
        for a, size in zip(args, sizes, strict=True):
            idx = idx * size + a.val
        if one is not None:
            val = values[one, 0] if not e.args else values[one][idx]
        elif not e.args:
            val = values[:, 0][self.stretch]
        else:
            val = values.ravel()[self.scaled_stretch(values.shape[1]) + idx]
        return Col(_known_all(*args), val, _SCALE.get(e.type.kind, 0))

    def e_LocalRef(self, e: ir.LocalRef, live: Any) -> Col:
        raise NotColumnar("variable locale hors d'un agrégat")  # pragma: no cover - only inside aggregate bodies

    def e_Field(self, e: ir.Field, live: Any) -> Col:
        raise NotColumnar("champ hors d'un agrégat")  # pragma: no cover - only inside aggregate bodies

    def e_Not(self, e: ir.Not, live: Any) -> Col:
        x = self.expr(e.operand, live)
        return Col(x.known, ~x.val)

    def e_BoolOp(self, e: ir.BoolOp, live: Any) -> Col:
        stop_is_false = e.op == "and"
        stopped: Any = None  # rows where an operand already decided (None: none yet)
        all_go: Any = None  # rows where every operand so far is known to go on
        for operand in e.operands:
            x = self.expr(operand, live if stopped is None else _and(live, ~stopped))
            stop = _false(x) if stop_is_false else _true(x)
            go = _true(x) if stop_is_false else _false(x)
            stopped = stop if stopped is None else stopped | stop
            all_go = go if all_go is None else all_go & go
        known = _arr(stopped | all_go, self.n, bool)
        val = _arr(all_go if stop_is_false else stopped, self.n, bool)
        return Col(None if known.all() else known, val)

    _CMP = {"=": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}

    def e_Compare(self, e: ir.Compare, live: Any) -> Col:
        a, b = self.expr(e.left, live), self.expr(e.right, live)
        if e.left.type.kind in _SCALE:
            a, b = self.align(a, b, live)
        return Col(_known_all(a, b), self._CMP[e.op](a.val, b.val))

    def e_Member(self, e: ir.Member, live: Any) -> Col:
        x = self.expr(e.operand, live)
        codes = self.prog.codes[e.operand.type.name]  # type: ignore[index]
        allowed = np.zeros(len(codes), dtype=bool)
        for m in e.values:
            allowed[codes[m]] = True
        return Col(x.known, allowed[x.val])

    def e_Arith(self, e: ir.Arith, live: Any) -> Col:
        a, b = self.expr(e.left, live), self.expr(e.right, live)
        known = _known_all(a, b)
        here = _and(live, known)
        if e.kind in ("add", "sub"):
            a, b = self.align(a, b, live)
            self._guard_big(a, b, here, 1)
            return Col(known, a.val + b.val if e.kind == "add" else a.val - b.val, a.scale)
        if e.kind in ("mul", "scale"):
            self._guard_big(a, b, here, 2)
            val = a.val * b.val
            return Col(known, val, a.scale + b.scale + (2 if e.kind == "scale" else 0))
        # div, ratio: Decimal division is rounded to 28 digits; not vectorised, the rows fall back
        self.batch.fall_back(np.ones(self.n, dtype=bool), here)
        return Col(known, np.zeros(self.n, dtype=np.int64), _SCALE["percent"] if e.kind == "ratio" else 2)

    def _guard_big(self, a: Col, b: Col, rows: Any, how: int) -> None:
        """Rows where a sum (how=1) or a product (how=2) could leave int64 fall back."""
        ma, mb = _magnitude(a.val), _magnitude(b.val)
        if (ma + mb if how == 1 else ma * mb) < I64_SAFE:  # the usual case, exactly (Python ints): no row to look at
            return
        fa = np.abs(np.asarray(a.val, dtype=np.float64))
        fb = np.abs(np.asarray(b.val, dtype=np.float64))
        big = (fa + fb if how == 1 else fa * fb) >= float(I64_SAFE)
        if np.any(big):
            self.batch.fall_back(np.broadcast_to(big, (self.n,)).copy(), rows)

    def e_Neg(self, e: ir.Neg, live: Any) -> Col:
        x = self.expr(e.operand, live)
        return Col(x.known, -x.val, x.scale)

    def e_If(self, e: ir.If, live: Any) -> Col:
        c = self.expr(e.cond, live)
        t, f = _true(c), _false(c)
        a = self.expr(e.then, _and(live, ~_arr(f, self.n, bool)))
        b = self.expr(e.otherwise, _and(live, ~_arr(t, self.n, bool)))
        numeric = e.type.kind in _SCALE
        if numeric:
            a, b = self.align(a, b, live)
        ak = _arr(a.known if a.known is not None else True, self.n, bool)
        bk = _arr(b.known if b.known is not None else True, self.n, bool)
        av, bv = _arr(a.val, self.n, np.asarray(a.val).dtype), _arr(b.val, self.n, np.asarray(b.val).dtype)
        t, f = _arr(t, self.n, bool), _arr(f, self.n, bool)
        unknown_c = ~(t | f)
        known = (t & ak) | (f & bk) | (unknown_c & ak & bk & (av == bv))
        val = np.where(f, bv, av)
        return Col(known, val, a.scale if numeric else 0)

    def e_Aggregate(self, e: ir.Aggregate, live: Any) -> Col:
        src = self.expr(e.source, live)
        if src.known is not None:
            self.batch.fall_back(src.known, live)  # a given list: decided one at a time
        else:
            self.batch.fall_back(np.ones(self.n, dtype=bool), live)
        val: Any = np.zeros(self.n, dtype=bool if e.type.kind == "bool" else np.int64)
        return Col(np.zeros(self.n, dtype=bool), val, _SCALE.get(e.type.kind, 0))

    def e_MinMax(self, e: ir.MinMax, live: Any) -> Col:
        args = [self.expr(a, live) for a in e.args]
        scale = max(a.scale for a in args)
        args = [self.rescale(a, scale, live) for a in args]
        f = np.minimum if e.op == "min" else np.maximum
        val = args[0].val
        for a in args[1:]:
            val = f(val, a.val)
        return Col(_known_all(*args), val, scale)


# ---------------------------------------------------------------- statuses
PERMISSIONS = (None, "allowed", "forbidden", "not_allowed", "undetermined")
OBLIGATIONS = (None, "mandatory", "not_mandatory", "undetermined")


def _status_code(item: Any, pT: bool, pU: bool, fT: bool, fU: bool, oT: bool, oU: bool, maybe: bool) -> tuple[int, int]:
    """Permission and obligation codes of a member from what its rules say on one row, as decision.compute_status.

    pT / pU: a permitting rule applies / may apply (unknown); fT / fU the same for forbidding
    rules, oT / oU for obliging ones; maybe: a `non encodé` rule applies or may apply.
    """
    if item.permits:
        perm = 3  # not_allowed
        if pT or pU or fU:
            perm = 4  # undetermined
        if pT and not fU:
            perm = 1  # allowed
    else:
        perm = 4 if fU else 0
    if fT:
        perm = 2  # forbidden
    obl = 0
    if item.obliges:
        obl = 3 if oU else 2
        if oT:
            obl = 1
    if maybe and getattr(item, "unencoded", ()):  # never a certain answer
        if item.permits or item.forbids or not item.obliges:
            perm = 4
        if item.obliges:
            obl = 3
    return perm, obl


_TABLES: dict[tuple[bool, bool, bool, bool], np.ndarray] = {}
_PAIR = np.dtype("<u2")  # a member's two codes side by side in a row: the permission's byte first, then the obligation's


def _status_table(item: Any) -> np.ndarray:
    """The codes of `_status_code` for the 128 combinations of its seven conditions (bit 0 pT … bit 6 maybe)."""
    shape = (bool(item.permits), bool(item.forbids), bool(item.obliges), bool(getattr(item, "unencoded", ())))
    if shape not in _TABLES:
        _TABLES[shape] = np.array([p | o << 8 for p, o in (_status_code(item, *(bool(k >> b & 1) for b in range(7))) for k in range(128))], dtype=_PAIR)
    return _TABLES[shape]


def status_matrix(items: Sequence[Any], acts: dict[int, Col], n: int) -> np.ndarray:
    """Per row, the permission then obligation code of each member of `items` (int8 [rows, 2 × members]).

    Each member's seven conditions (see `_status_code`) are packed as bits of one byte per row,
    which a table of 128 entries turns into its two codes: a few array operations per member,
    the same answer as decision.compute_status on every combination.
    """
    true: dict[int, np.ndarray] = {}
    unknown: dict[int, np.ndarray | None] = {}
    for r in {r for item in items for r in (*item.permits, *item.forbids, *item.obliges, *getattr(item, "unencoded", ()))}:
        a = acts[r]
        true[r] = _arr(_true(a), n, bool)
        unknown[r] = None if a.known is None else ~_arr(a.known, n, bool)

    def any_of(masks: Iterable[np.ndarray | None]) -> np.ndarray | None:
        out = None
        for m in masks:
            if m is not None:
                out = m if out is None else out | m
        return out

    out = np.empty((n, 2 * len(items)), dtype=np.int8)
    pairs = out.view(_PAIR)  # [rows, members]: a member's two codes written at once
    for k, item in enumerate(items):
        une = getattr(item, "unencoded", ())
        conditions = (
            any_of(true[r] for r in item.permits),
            any_of(unknown[r] for r in item.permits),
            any_of(true[r] for r in item.forbids),
            any_of(unknown[r] for r in item.forbids),
            any_of(true[r] for r in item.obliges),
            any_of(unknown[r] for r in item.obliges),
            any_of([*(true[r] for r in une), *(unknown[r] for r in une)]),
        )
        code = None
        for bit, m in enumerate(conditions):
            if m is not None:
                v = m.view(np.uint8) if bit == 0 else m.view(np.uint8) << bit
                code = v if code is None else code | v
        table = _status_table(item)
        pairs[:, k] = table[0] if code is None else table.take(code)
    return out


def activation_codes(rules: Sequence[int], acts: dict[int, Col], n: int) -> np.ndarray:
    """Per row and rule of `rules`: 0 false, 1 true, 2 unknown (batch.ACT_*), as int8 [rows, rules]."""
    out = np.zeros((n, len(rules)), dtype=np.int8)
    for k, r in enumerate(rules):
        a = acts[r]
        out[:, k] = _arr(_true(a), n, bool)
        if a.known is not None:
            out[~_arr(a.known, n, bool), k] = 2
    return out
