"""Diagnostics: located messages with stable codes, rendered for humans, GNU tools and JSON.

A diagnostic is a value, not an exception: every stage collects all of them before
stopping, and `CpcError` carries the whole list to the caller. Codes are public API
(docs/error-messages.md): E1xx syntax, E2xx names, E3xx checks, E4xx evaluation and input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from cpc_rules.record import frozen

Severity = Literal["error", "warning"]


@frozen(order=True)
class Span:
    """Where a piece of source text lies: 1-based lines and columns, end inclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NO_SPAN = Span("<aucun>", 0, 0, 0, 0)


@frozen
class Diagnostic:
    code: str
    message: str
    span: Span | None = None
    hint: str | None = None
    notes: tuple[tuple[str, Span | None], ...] = ()
    severity: Severity = "error"

    def sort_key(self) -> tuple[str, int, int, str]:
        s = self.span or NO_SPAN
        return (s.file, s.line, s.col, self.code)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
        }
        if self.span is not None:
            out["location"] = _span_json(self.span)
        if self.hint:
            out["hint"] = self.hint
        if self.notes:
            out["notes"] = [
                {"message": m, **({"location": _span_json(s)} if s else {})} for m, s in self.notes
            ]
        return out


def _span_json(s: Span) -> dict[str, object]:
    return {"file": s.file, "line": s.line, "col": s.col, "end_line": s.end_line, "end_col": s.end_col}


class CpcError(Exception):
    """Raised when a stage found errors; carries every diagnostic it collected."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(f"[{first.code}] {first.message}" if first else "erreur")


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The 'did you mean' hint for a misspelt name, or None."""
    import difflib  # only for a misspelt name: a decision never needs it (~4 ms of every start)

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return None
    return "vouliez-vous dire " + " ou ".join(f"`{c}`" for c in close) + " ?"


# ---------------------------------------------------------------- rendering


class Sources:
    """Source texts by file name, to show the offending line under a message."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str]] = {}

    def add(self, file: str, text: str) -> None:
        # lines as the parser and editors count them: only \n ends a line (not U+2028, \f, \x1c…)
        self._lines[file] = [line.removesuffix("\r") for line in text.split("\n")]

    def line(self, file: str, n: int) -> str | None:
        lines = self._lines.get(file)
        if lines is None or not 1 <= n <= len(lines):
            return None
        return lines[n - 1]


def render_gnu(d: Diagnostic) -> str:
    where = f"{d.span}: " if d.span else ""
    hint = f" ({d.hint})" if d.hint else ""
    return f"{where}{d.severity}[{d.code}]: {d.message}{hint}"


def render_human(d: Diagnostic, sources: Sources | None = None) -> str:
    """The message, the source line with a caret under the fault, notes and hint."""
    out = [f"{d.severity}[{d.code}]: {d.message}"]
    if d.span is not None:
        out.append(f"  --> {d.span}")
        text = sources.line(d.span.file, d.span.line) if sources else None
        if text is not None:
            gutter = f"{d.span.line:>4} | "
            # a span over several lines (a whole rule) is underlined to the end of its first line
            width = (d.span.end_col - d.span.col + 1) if d.span.end_line == d.span.line else len(text.rstrip()) - d.span.col + 1
            width = max(1, min(width, len(text) - d.span.col + 2))
            out.append(gutter + text)
            out.append(" " * (len(gutter) + d.span.col - 1) + "^" * width)
    for message, span in d.notes:
        out.append(f"  = note: {message}" + (f" ({span})" if span else ""))
    if d.hint:
        out.append(f"  = aide: {d.hint}")
    return "\n".join(out)
