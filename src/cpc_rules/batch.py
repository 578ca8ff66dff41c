"""Deciding many situations at once: `Rulebook.decide_many`.

A batch audit (a year of DECP records, the national file) asks the same few questions
of millions of situations. Three things make that cheap and safe:

* errors are returned per item (`Failure`, with its diagnostics), never raised mid-batch;
* only the conclusions of the `focus` are computed and returned (`Answer`, a light
  result that reads them by name). Besides the permission and obligation codes, an
  answer keeps the activation (true, false, unknown) of every rule its focus rests on,
  so `Answer.status` gives the same `decision.Status` as `decide` (grounds, refused and
  pending rules, hence the articles) without recomputing; only a conclusion left open by
  an unknown activation (its missing facts) or the presumptions a conclusion rests on
  recompute the full Decision, once, on demand (`Answer.decision()`);
* the columnar backend (engine/columns.py) decides the batch as NumPy columns; the rows it
  cannot decide exactly (a list given, a division, an error of the rulebook) are decided
  one at a time by the scalar path, so every answer equals what `decide` gives.

`jobs` > 1 splits the batch over processes (fork, where the system has it).
"""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import os
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from cpc_rules import decision as _decision
from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.engine.columns import OBLIGATIONS, PERMISSIONS, ColumnProgram, NotColumnar, activation_codes, status_matrix
from cpc_rules.engine.runtime import EvaluationError, Unknown

if TYPE_CHECKING:
    from cpc_rules.decision import Decision
    from cpc_rules.engine.evaluate import Item

Rulebook = Any  # cpc_rules.api.Rulebook: api imports this module (decide_many), not the other way round

MIN_COLUMNS = 32  # below this many rows, one at a time is as fast as building columns


class Conclusion(NamedTuple):
    """What a decision says of one enumeration member, without its grounds (see decision.Status)."""

    permission: str | None
    obligation: str | None


class Focus:
    """The enumeration members a batch answers for, in the order of Program.items."""

    def __init__(self, items: Sequence[Item], names: tuple[str, ...] | None, labels: Sequence[str] = ()) -> None:
        self.names = names  # the enumerations, as Decision.focus; None: all
        self.items = tuple(items)
        self.keys = tuple((i.enum, i.member) for i in self.items)
        self.position = {k: n for n, k in enumerate(self.keys)}
        self.permission_at = {k: 2 * n for n, k in enumerate(self.keys)}  # where a member's codes start in an answer's row
        self.rules = sorted({r for i in self.items for r in (*i.permits, *i.forbids, *i.obliges, *getattr(i, "unencoded", ()), *_below(i))})
        self.rule_position = {r: n for n, r in enumerate(self.rules)}  # column of a rule in an answer's activations
        self.labels = tuple(labels) or tuple(i.member for i in self.items)  # as Decision labels a Status
        # per member, (rule, column) of the rules below its permissions, then of its own rules (Answer.status)
        pos = self.rule_position
        self.plans = tuple(
            (tuple((r, pos[r]) for r in sorted(_below(i))), tuple((r, pos[r]) for r in (*i.permits, *i.forbids, *i.obliges, *getattr(i, "unencoded", ()))))
            for i in self.items
        )


def _below(item: Any) -> set[int]:
    """The rules that may displace a permission of the member (decision.refusals reads them)."""
    return {e for chain in getattr(item, "permit_exceptions", ()) for e in chain}


def make_focus(rb: Rulebook, focus: Iterable[str] | str | None) -> Focus:
    """`focus`: enumeration names ("procédure", "publicité"), checked as `decide` checks them (E421); None: every one."""
    names = rb.focus(focus)
    items = [i for i in rb.program.items if names is None or i.enum in names]
    enums = rb.checked.enums
    return Focus(items, names, [enums[i.enum].labels.get(i.member) or i.member for i in items])


class _Rows:
    """What the answers of one batch share: their codes, their rules' activations, the focus, the rulebook.

    An answer is its row of these (read on demand), so a batch builds one small object per
    situation, not its codes and activations. `codes`: bytes, per row the permission and
    obligation code of each focused member; `cols`: the activation columns of the focus's
    rules (engine.columns.Col), turned into a matrix on first read (`acts`); `full`: the
    full Decisions already computed, by row.
    """

    __slots__ = ("focus", "at", "rb", "presume", "codes", "cols", "n", "mat", "acts", "full")

    def __init__(self, focus: Focus, rb: Rulebook, presume: bool, codes: bytes, cols: dict[int, Any] | None = None, n: int = 0) -> None:
        self.focus = focus
        self.at = focus.permission_at  # (enum, member) → where its codes start in a row
        self.rb = rb
        self.presume = presume
        self.codes = codes
        self.cols = cols
        self.n = n
        self.mat: np.ndarray | None = None
        self.acts: dict[int, list[int]] = {}  # row → per rule of focus.rules: 0 false, 1 true, 2 unknown (ACT_*)
        self.full: dict[int, Decision] = {}

    def activations(self, row: int) -> list[int] | None:
        acts = self.acts.get(row)
        if acts is None:
            if self.mat is None:
                if self.cols is None:
                    return None
                self.mat = activation_codes(self.focus.rules, self.cols, self.n)
                self.cols = None
            acts = self.acts[row] = self.mat[row].tolist()
        return acts


class Answer:
    """The focused conclusions of one situation of a batch.

    `conclusion` / `permission` / `obligation` read the codes; `status` gives the full
    `decision.Status` (grounds, pending, refused, missing facts) exactly as `decide` would;
    `activation(r)` the outcome of a rule of the focus; `presumed_for` the presumptions a
    conclusion rests on; `decision()` the full Decision (recomputed once, then kept).
    """

    __slots__ = ("index", "date", "_situation", "_b", "_at", "_row")
    ok = True
    diagnostics: tuple[Diagnostic, ...] = ()

    def __init__(
        self,
        index: int,
        date: dt.date,
        codes: Sequence[int] | None,
        focus: Focus,
        rb: Rulebook,
        situation: Mapping[str, Any],
        presume: bool = True,
        acts: Sequence[int] | None = None,
        full: Decision | None = None,
    ) -> None:
        """One answer on its own (the scalar path, another process): `codes` None out of the coverage."""
        self.index = index  # position in the input
        self.date = date
        self._situation = situation
        self._b = _Rows(focus, rb, presume, bytes(codes or ()))
        self._at = -1 if codes is None else 0  # where its codes start in _b.codes; -1: out of the coverage
        self._row = 0
        if acts is not None:
            self._b.acts[0] = list(acts)
        if full is not None:
            self._b.full[0] = full

    @property
    def out_of_period(self) -> bool:
        return self._at < 0

    @property
    def situation(self) -> Mapping[str, Any]:
        return self._situation

    @property
    def presumptions(self) -> bool:
        """Whether the rulebook's presumptions completed the situation (as `decide(presumptions=…)`)."""
        return self._b.presume

    def conclusion(self, enum: str, member: str) -> Conclusion | None:
        """None out of the coverage, or for a member outside the focus or that no rule concludes on."""
        k = self._b.focus.position.get((enum, member))
        at = self._at
        if k is None or at < 0:
            return None
        codes = self._b.codes
        return Conclusion(PERMISSIONS[codes[at + 2 * k]], OBLIGATIONS[codes[at + 2 * k + 1]])

    def permission(self, enum: str, member: str) -> str | None:
        b = self._b
        k = b.at.get((enum, member))
        return None if k is None or self._at < 0 else PERMISSIONS[b.codes[self._at + k]]

    def obligation(self, enum: str, member: str) -> str | None:
        b = self._b
        k = b.at.get((enum, member))
        return None if k is None or self._at < 0 else OBLIGATIONS[b.codes[self._at + k + 1]]

    @property
    def conclusions(self) -> dict[tuple[str, str], Conclusion]:
        return {k: c for k in self._b.focus.keys if (c := self.conclusion(*k)) is not None}

    def _code_list(self) -> list[int] | None:
        """Per focused member, its permission code then its obligation code (PERMISSIONS, OBLIGATIONS); None out of the coverage."""
        if self._at < 0:
            return None
        return list(self._b.codes[self._at : self._at + 2 * len(self._b.focus.items)])

    def activation(self, rule: int) -> bool | None:
        """The outcome of a rule of the focus: True, False, or None when unknown (KeyError for a rule outside it)."""
        if self._at < 0:
            raise KeyError(rule)
        pos = self._b.focus.rule_position[rule]
        acts = self._activations()
        if acts is None:
            a = self.decision().activations[rule]
            return a if a is True or a is False else None
        c = acts[pos]
        return None if c == ACT_UNKNOWN else c == ACT_TRUE

    def status(self, enum: str, member: str, *, missing: bool = True) -> _decision.Status | None:
        """The conclusion on one member, equal to `decide(...).status(enum, member)` (None where that is None).

        Computed from the kept activations when every rule of the member is settled; when one
        is unknown, its missing facts come from the full Decision (recomputed once), unless
        `missing=False`: then the Status is the same but for `missing`, left empty, and nothing
        is recomputed (for a caller that reads the permission, obligation and rules only).
        """
        fo = self._b.focus
        k = fo.position.get((enum, member))
        if k is None or self._at < 0:
            return None
        item = fo.items[k]
        acts = self._activations()
        if acts is None:
            return self.decision().status(enum, member)
        below, own = fo.plans[k]
        a: dict[int, Any] = {r: acts[p] == ACT_TRUE for r, p in below}  # what may displace a permission: only `is True` is read
        for r, p in own:
            c = acts[p]
            if c == ACT_UNKNOWN:
                if missing:
                    return self.decision().status(enum, member)
                a[r] = _NO_MISSING
            else:
                a[r] = c == ACT_TRUE
        return _decision.compute_status(item, a, fo.labels[k])  # type: ignore[arg-type]

    def _activations(self) -> Sequence[int] | None:
        return self._b.activations(self._row)

    def statuses_of(self, enum: str | None = None, *, missing: bool = True) -> tuple[_decision.Status, ...]:
        """The conclusions of the focus (of one enumeration if given), in the rulebook's order; `missing` as for `status`."""
        if self._at < 0:
            return ()
        return tuple(s for k in self._b.focus.keys if (enum is None or k[0] == enum) and (s := self.status(*k, missing=missing)) is not None)

    @property
    def statuses(self) -> tuple[_decision.Status, ...]:
        """Every conclusion of the focus, in the rulebook's order (as `Decision.statuses`)."""
        return self.statuses_of()

    def presumed_for(self, status: _decision.Status) -> tuple[str, ...]:
        """The presumed facts a conclusion rests on (`Decision.presumed_for`): needs the full Decision."""
        if not self._b.presume or self._at < 0:
            return ()
        return self.decision().presumed_for(status)

    def decision(self, trace: bool = False) -> Decision:
        """The full Decision (statuses with their grounds, missing facts, presumptions relied on, trace), recomputed once."""
        b = self._b
        if trace:
            return b.rb.decide(self._situation, self.date, trace=True, presumptions=b.presume, focus=b.focus.names)
        d = b.full.get(self._row)
        if d is None:
            d = b.full[self._row] = b.rb.decide(self._situation, self.date, presumptions=b.presume, focus=b.focus.names)
        return d

    def __repr__(self) -> str:
        return f"Answer(#{self.index}, {self.date}, {'hors période' if self.out_of_period else self.conclusions})"


ACT_FALSE, ACT_TRUE, ACT_UNKNOWN = 0, 1, 2
_NO_MISSING = Unknown(frozenset())  # an unknown activation whose missing facts were not asked for


class Failure:
    """A situation of a batch that could not be decided, and why (E41x input errors, E40x rulebook faults)."""

    __slots__ = ("index", "diagnostics")
    ok = False
    out_of_period = False

    def __init__(self, index: int, diagnostics: Sequence[Diagnostic]) -> None:
        self.index = index
        self.diagnostics = tuple(diagnostics)

    def __repr__(self) -> str:
        return f"Failure(#{self.index}, {[d.code for d in self.diagnostics]})"


def _date(at: Any) -> dt.date:
    """The decision date as `decide` reads it (api._as_date; batch is below api, so it reads it the same way)."""
    from cpc_rules.situation import parse_date

    if at is None:
        raise CpcError([Diagnostic("E413", "date de la décision manquante", hint="donnez `at` à decide_many, ou des paires (situation, date)")])
    if isinstance(at, dt.datetime):
        return at.date()
    return parse_date(at, "date de décision")


def _column_program(rb: Rulebook) -> ColumnProgram | None:
    prog = rb.program
    cp = getattr(prog, "_columns", False)
    if cp is False:
        try:
            cp = ColumnProgram(prog.rb, lambda d: prog.at(d).needed)
        except NotColumnar:
            cp = None
        prog._columns = cp  # type: ignore[attr-defined]
    return cp  # type: ignore[return-value]


def decide_many(
    rb: Rulebook,
    situations: Iterable[Any],
    at: dt.date | str | None = None,
    *,
    focus: Iterable[str] | str | None = None,
    presumptions: bool = True,
    jobs: int = 1,
    columns: bool | None = None,
) -> list[Answer | Failure]:
    """Decide every situation; see Rulebook.decide_many."""
    fo = make_focus(rb, focus)
    items = list(situations)
    if jobs != 1 and len(items) > 1:
        return _parallel(rb, items, at, fo, presumptions, jobs, columns)
    # a batch allocates an answer per situation and no reference cycle: the cyclic collector, which
    # would scan the growing heap again and again, is paused meanwhile (a quarter of the time on 100 000)
    paused = gc.isenabled()
    gc.disable()
    try:
        return _decide_range(rb, items, 0, at, fo, presumptions, columns)
    finally:
        if paused:
            gc.enable()


def _decide_range(rb: Rulebook, items: list[Any], offset: int, at: Any, fo: Focus, presumptions: bool, columns: bool | None) -> list[Answer | Failure]:
    prog = rb.program
    out: list[Answer | Failure | None] = [None] * len(items)
    rows: Sequence[int] = []  # items with a situation and a date, by position in `items`
    dates: Sequence[dt.date] = []
    sits: Sequence[Mapping[str, Any]] = []
    default_date = None
    if at is not None:
        try:
            default_date = _date(at)
        except CpcError as e:
            return [Failure(offset + i, e.diagnostics) for i in range(len(items))]
    if default_date is None and items and set(map(type, items)) == {tuple} and set(map(len, items)) == {2}:
        s_, d_ = zip(*items)
        if set(map(type, s_)) == {dict} and set(map(type, d_)) == {dt.date}:  # the usual form, without the checks below
            rows, sits, dates = range(len(items)), s_, d_
            items = []
    elif default_date is not None and items and set(map(type, items)) == {dict}:
        rows, sits, dates = range(len(items)), items, [default_date] * len(items)
        items = []
    if items:
        rows, dates, sits = [], [], []
    for i, item in enumerate(items):
        try:
            if default_date is not None:
                situation, date = item, default_date
            elif (item.__class__ is tuple or isinstance(item, tuple | list)) and len(item) == 2:
                situation, date = item
                if date.__class__ is not dt.date:
                    date = _date(date)
            else:
                raise CpcError([Diagnostic("E413", "date de la décision manquante", hint="donnez `at` à decide_many, ou des paires (situation, date)")])
            if situation.__class__ is not dict and not isinstance(situation, Mapping):
                raise CpcError([Diagnostic("E410", f"une situation est un objet (faits par nom), pas un {type(situation).__name__}")])
        except CpcError as e:
            out[i] = Failure(offset + i, e.diagnostics)
            continue
        rows.append(i)  # type: ignore[attr-defined]
        dates.append(date)  # type: ignore[attr-defined]
        sits.append(situation)  # type: ignore[attr-defined]
    cp = _column_program(rb) if columns is not False else None
    if cp is not None and rows and (columns or len(rows) >= MIN_COLUMNS):
        n = len(rows)
        days = np.fromiter(map(dt.date.toordinal, dates), dtype=np.int64, count=n)
        batch, slow = cp.ingest(sits, days, prog._fact_index, presume=presumptions)
        batch.stretch = cp.stretches(days)
        acts = cp.run(batch, fo.names)
        width = 2 * len(fo.items)
        mat = status_matrix(fo.items, acts, n)
        covered = None if cp.coverage is None else cp.covered(batch.stretch)
        at_ = np.arange(0, n * width, width, dtype=np.int64)  # where each row's codes start; -1 out of the coverage
        if covered is not None:
            at_[~covered] = -1
        shared = _Rows(fo, rb, presumptions, mat.tobytes(), {r: acts[r] for r in fo.rules}, n)  # the activations: read per row only when asked
        fallback = batch.fallback if covered is None else (batch.fallback & covered) | slow  # a bad value: its error even out of the coverage
        answers = list(map(Answer.__new__, repeat(Answer, n)))  # Answer.__init__ without its call: this runs once per situation
        for j, a, i, date, situation, start in zip(range(n), answers, rows, dates, sits, at_.tolist(), strict=True):
            a.index, a.date, a._situation, a._b, a._at, a._row = offset + i, date, situation, shared, start, j
            out[i] = a
        if fallback.any():
            for j in np.flatnonzero(fallback).tolist():
                out[rows[j]] = _one(rb, offset + rows[j], dates[j], sits[j], fo, presumptions)
    else:
        for j, i in enumerate(rows):
            out[i] = _one(rb, offset + i, dates[j], sits[j], fo, presumptions)
    return out  # type: ignore[return-value]


def _one(rb: Rulebook, index: int, date: dt.date, situation: Mapping[str, Any], fo: Focus, presume: bool) -> Answer | Failure:
    """One situation by the scalar path (`Rulebook.decide`), its focused statuses read from the Decision."""
    try:
        d = rb.decide(situation, date, presumptions=presume, focus=fo.names)
    except CpcError as e:
        return Failure(index, e.diagnostics)
    except EvaluationError as e:
        return Failure(index, [e.diagnostic])
    if d.out_of_period:
        return Answer(index, date, None, fo, rb, situation, presume, full=d)
    codes: list[int] = []
    for item in fo.items:
        s = d.status(item.enum, item.member)
        assert s is not None
        codes += (_P_CODE[s.permission], _O_CODE[s.obligation])
    a = d.activations
    acts = [ACT_TRUE if a[r] is True else ACT_FALSE if a[r] is False else ACT_UNKNOWN for r in fo.rules]
    return Answer(index, date, codes, fo, rb, situation, presume, acts, full=d)


_P_CODE = {p: n for n, p in enumerate(PERMISSIONS)}
_O_CODE = {o: n for n, o in enumerate(OBLIGATIONS)}


# ---------------------------------------------------------------- several processes
_WORK: dict[str, Any] = {}


def _worker(bounds: tuple[int, int]) -> list[tuple[int, bool, Any, Any]]:
    w = _WORK
    lo, hi = bounds
    res = _decide_range(w["rb"], w["items"][lo:hi], lo, w["at"], w["focus"], w["presumptions"], w["columns"])
    return [(r.index, True, r._code_list(), r._activations()) if isinstance(r, Answer) else (r.index, False, r.diagnostics, None) for r in res]


def _parallel(rb: Rulebook, items: list[Any], at: Any, fo: Focus, presumptions: bool, jobs: int, columns: bool | None) -> list[Answer | Failure]:
    if "fork" not in multiprocessing.get_all_start_methods():
        return _decide_range(rb, items, 0, at, fo, presumptions, columns)
    jobs = (os.cpu_count() or 1) if jobs <= 0 else jobs
    jobs = max(1, min(jobs, len(items) // MIN_COLUMNS or 1))
    if jobs == 1:
        return _decide_range(rb, items, 0, at, fo, presumptions, columns)
    _column_program(rb)  # compiled once, before the fork
    step = -(-len(items) // jobs)
    bounds = [(lo, min(lo + step, len(items))) for lo in range(0, len(items), step)]
    _WORK.update(rb=rb, items=items, at=at, focus=fo, presumptions=presumptions, columns=columns)
    try:
        with multiprocessing.get_context("fork").Pool(len(bounds)) as pool:
            parts = pool.map(_worker, bounds)
    finally:
        _WORK.clear()
    out: list[Answer | Failure] = []
    default_date = _date(at) if at is not None else None
    for part in parts:
        for index, ok, payload, acts in part:
            if not ok:
                out.append(Failure(index, payload))
                continue
            item = items[index]
            situation, date = (item, default_date) if default_date is not None else (item[0], item[1] if item[1].__class__ is dt.date else _date(item[1]))
            out.append(Answer(index, date, payload, fo, rb, situation, presumptions, acts))  # type: ignore[arg-type]
    return out


# ---------------------------------------------------------------- situations already as columns
class ColumnAnswers(NamedTuple):
    """The answers of `decide_columns`: per row, permission and obligation codes of each focused member."""

    focus: Focus
    codes: np.ndarray  # int8 [rows, 2 × members]: PERMISSIONS index, then OBLIGATIONS index
    fallback: np.ndarray  # bool [rows]: rows the columns could not decide exactly (decide them with `decide`)
    covered: np.ndarray  # bool [rows]: the date is in the rulebook's coverage (else: out of period)

    def permission(self, enum: str, member: str) -> np.ndarray:
        """The permission codes of a member (indices in columns.PERMISSIONS)."""
        return self.codes[:, 2 * self.focus.position[enum, member]]

    def obligation(self, enum: str, member: str) -> np.ndarray:
        return self.codes[:, 2 * self.focus.position[enum, member] + 1]


def decide_columns(
    rb: Rulebook,
    columns: Mapping[str, Any],
    days: Any,
    *,
    focus: Iterable[str] | str | None = None,
    presumptions: bool = True,
) -> ColumnAnswers:
    """Decide situations given as typed NumPy columns, for data that is already columnar.

    `columns`: per fact name, an array of values typed as the columnar backend holds them
    (enumerations as member indices, amounts as int64 cents, percentages as int64
    millionths, dates and `days` as `date.toordinal()`, booleans), or a pair (values, known
    mask); a fact left out is not given (presumed, with `presumptions`). Values out of a
    fact's domain put their row in `fallback` rather than being decided. No per-row Python
    work: this is the path for millions of records; `decide_many` is the one for dicts.
    """
    from cpc_rules.engine.columns import Batch, Col

    cp = _column_program(rb)
    if cp is None:
        raise NotColumnar("this rulebook holds a constant the columns cannot hold exactly: use decide_many")
    fo = make_focus(rb, focus)
    days = np.asarray(days, dtype=np.int64)
    n = len(days)
    bad = np.zeros(n, dtype=bool)
    cols: list[Col] = []
    batch = Batch(n, cols, days)
    unknown = set(columns) - set(rb.program._fact_index)
    if unknown:
        raise CpcError([Diagnostic("E410", f"fait inconnu `{min(unknown)}`")])
    for f in rb.checked.facts:
        kind = f.type.kind
        scale = {"money": 2, "percent": 6}.get(kind, 0)
        given = columns.get(f.name)
        if given is None or kind == "list":
            col = Col(np.zeros(n, dtype=bool), np.zeros(n, dtype=bool if kind == "bool" else np.int64), scale)
            absent = np.ones(n, dtype=bool)
            if given is not None:  # lists are not columnar: those rows are decided one at a time
                bad |= True
        else:
            val, known = given if isinstance(given, tuple) else (given, None)
            val = np.asarray(val, dtype=bool if kind == "bool" else np.int64)
            known = np.ones(n, dtype=bool) if known is None else np.asarray(known, dtype=bool)
            if kind == "enum":
                bad |= known & ((val < 0) | (val >= len(rb.checked.enums[f.type.name].members)))  # type: ignore[index]
            elif kind == "money":
                bad |= known & ((val < 0) | (val >= 10**17))
            elif kind == "percent":
                bad |= known & ((val < 0) | (val > 100 * 10**6))
            elif kind == "int":
                bad |= known & ((val < 0) | (val >= 10**15))
            absent = ~known
            all_known = not absent.any()
            col = Col(None if all_known else known, val if all_known else np.where(known, val, 0).astype(val.dtype), scale)  # None: known on every row
        cols.append(cp._presume(col, f.presumed if presumptions else None, absent, batch, f.type))
    batch.fallback |= bad
    batch.stretch = cp.stretches(days)
    acts = cp.run(batch, fo.names)
    mat = status_matrix(fo.items, acts, n)
    covered = np.ones(n, dtype=bool) if cp.coverage is None else cp.covered(batch.stretch)
    return ColumnAnswers(fo, mat, batch.fallback & covered, covered)
