"""Dated periods: gaps and overlaps between consecutive steps, and coverage of one period set by another."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence

from cpc_rules.diagnostics import Diagnostic, Span
from cpc_rules.syntax import ast


def check_steps(periods: Sequence[ast.Period], what: str, span: Span | None) -> list[Diagnostic]:
    """Steps must follow each other in time, without overlap (E305) or gap (E306).

    A step without an end lasts until the next one starts.
    """
    out: list[Diagnostic] = []
    for prev, nxt in itertools.pairwise(periods):
        if nxt.start <= prev.start:
            out.append(
                Diagnostic(
                    "E305",
                    f"{what} : la période depuis {nxt.start} chevauche celle depuis {prev.start}",
                    nxt.span or span,
                    hint="rangez les périodes dans l'ordre des dates, sans chevauchement",
                )
            )
        elif prev.end is not None and prev.end > nxt.start:
            out.append(
                Diagnostic(
                    "E305",
                    f"{what} : la période [{prev.start}, {prev.end}) chevauche celle qui commence le {nxt.start}",
                    nxt.span or span,
                    hint=f"la fin est exclue : terminez la première période `jusqu'au {nxt.start} exclu`",
                )
            )
        elif prev.end is not None and prev.end < nxt.start:
            out.append(
                Diagnostic(
                    "E306",
                    f"{what} : aucune valeur du {prev.end} au {nxt.start - dt.timedelta(days=1)} inclus",
                    nxt.span or span,
                    hint=f"la fin est exclue : `jusqu'au {nxt.start} exclu` rejoint la période suivante",
                )
            )
    return out


def union(periods: Sequence[ast.Period]) -> list[tuple[dt.date, dt.date | None]]:
    """Merge periods into disjoint [start, end) intervals (end None = open)."""
    spans = sorted(((p.start, p.end) for p in periods), key=lambda s: s[0])
    merged: list[tuple[dt.date, dt.date | None]] = []
    for start, end in spans:
        if merged and (merged[-1][1] is None or merged[-1][1] >= start):
            last_start, last_end = merged[-1]
            new_end = None if (last_end is None or end is None) else max(last_end, end)
            merged[-1] = (last_start, new_end)
        else:
            merged.append((start, end))
    return merged


def uncovered(need: Sequence[ast.Period], have: Sequence[ast.Period]) -> tuple[dt.date, dt.date | None] | None:
    """The first interval of `need` that `have` does not cover, or None."""
    have_u = union(have)
    for start, end in union(need):
        cursor: dt.date | None = start
        for h_start, h_end in have_u:
            if cursor is None:
                break
            if h_end is not None and h_end <= cursor:
                continue
            if h_start > cursor:
                return (cursor, min(h_start, end) if end else h_start)
            cursor = h_end
        if cursor is not None and (end is None or cursor < end):
            return (cursor, end)
    return None


def intersect(a: ast.Period, b: ast.Period | None) -> ast.Period | None:
    if b is None:
        return a
    start = max(a.start, b.start)
    ends = [e for e in (a.end, b.end) if e is not None]
    end = min(ends) if ends else None
    if end is not None and end <= start:
        return None
    return ast.Period(start, end)


def closed(steps: Sequence[ast.Period]) -> list[ast.Period]:
    """Each step ends where the next begins, unless it says otherwise."""
    out = []
    for i, p in enumerate(steps):
        end = p.end
        if end is None and i + 1 < len(steps) and steps[i + 1].start > p.start:
            end = steps[i + 1].start
        out.append(ast.Period(p.start, end, p.span))
    return out
