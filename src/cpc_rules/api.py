"""The public Python face: load a rulebook once, decide many situations.

    from cpc_rules import default_rulebook
    rb = default_rulebook()
    decision = rb.decide({"nature": "fournitures", "valeur_besoin": "39999.99"}, at="2024-05-01")
    print(decision.explain())
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cpc_rules import __version__, resources
from cpc_rules.check.checker import check
from cpc_rules.decision import Decision
from cpc_rules.diagnostics import CpcError, Diagnostic, Sources
from cpc_rules.engine.evaluate import Program
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.ir import Rulebook as CheckedRulebook
from cpc_rules.syntax import ast, cache


def rulebook_files(path: Path | str, tests: bool = True) -> list[Path]:
    """A rulebook is one `.cpc` file or a folder of them (read in name order).

    Test files (`*.test.cpc`, like OPA's `_test.rego`) hold test cases beside the
    rules; deciding does not need them, so `tests=False` leaves them out of a folder.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.cpc") if tests or not f.name.endswith(resources.TEST_SUFFIX))
        if not files:
            raise CpcError([Diagnostic("E001", f"aucun fichier .cpc dans {p}")])
        return files
    if not p.exists():
        raise CpcError([Diagnostic("E001", f"fichier introuvable : {p}")])
    return [p]


def parse_files(files: Iterable[Path]) -> tuple[list[ast.Module], Sources, dict[str, str]]:
    """Parse every file, collecting the syntax errors of all of them."""
    modules, errors, sources, texts = [], [], Sources(), {}
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            errors.append(Diagnostic("E001", f"lecture impossible de {f} : {e}"))
            continue
        sources.add(str(f), text)
        texts[str(f)] = text
        try:
            modules.append(cache.cached(_parse_text, text, str(f)))
        except CpcError as e:
            errors.extend(e.diagnostics)
    if errors:
        err = CpcError(errors)
        err.sources = sources  # type: ignore[attr-defined]
        raise err
    return modules, sources, texts


def _parse_text(text: str, path: str) -> ast.Module:
    """Lark is imported only when a file must really be parsed (not found in the cache)."""
    from cpc_rules.syntax.parse import parse_text

    return parse_text(text, path)


def _as_date(at: dt.date | str) -> dt.date:
    if isinstance(at, dt.datetime):
        return at.date()
    if isinstance(at, dt.date):
        return at
    try:
        return dt.date.fromisoformat(str(at))
    except ValueError:
        raise CpcError([Diagnostic("E413", f"date invalide « {at} »", hint="une date s'écrit AAAA-MM-JJ")]) from None


class Rulebook:
    """A rulebook parsed, checked and compiled: ready to decide."""

    def __init__(self, checked: CheckedRulebook, warnings: list[Diagnostic], sources: Sources, path: Path | None = None) -> None:
        self.checked = checked
        self.warnings = warnings
        self.sources = sources
        self.path = path
        self.program = Program(checked)

    @property
    def digest(self) -> str:
        return self.checked.digest

    def decide(self, situation: Mapping[str, Any], at: dt.date | str, trace: bool = False) -> Decision:
        """Decide a situation (facts by name) for a consultation launched at `at`.

        Raises CpcError (E41x) for a situation that does not fit the declared facts,
        and EvaluationError (E40x) for a fault of the rulebook met on the way.
        """
        date = _as_date(at)
        facts = self.program.facts_vector(situation)
        if not self.program.in_coverage(date):
            return Decision(self.program, date, facts, None, None, __version__)
        at_date = self.program.at(date)
        try:
            result = self.program.run(facts, at_date, trace)
        except EvaluationError as e:
            e.sources = self.sources  # so that the message can quote the rule's line
            raise
        return Decision(self.program, date, facts, result, at_date, __version__)


def load_rulebook(path: Path | str, title: str | None = None, tests: bool = True) -> Rulebook:
    """Parse, check and compile the rulebook at `path` (a file or a folder); `tests=False` skips its test files."""
    p = Path(path)
    modules, sources, texts = parse_files(rulebook_files(p, tests))
    try:
        checked, warnings = check(modules, texts, title or _title(p))
    except CpcError as e:
        e.sources = sources  # type: ignore[attr-defined]
        raise
    return Rulebook(checked, warnings, sources, p)


def _title(path: Path) -> str:
    return "Code de la commande publique" if path.resolve() == resources.bundled_rulebook_path().resolve() else path.stem


@functools.cache
def default_rulebook(tests: bool = False) -> Rulebook:
    """The bundled CCP rulebook, loaded once per process (without its test files unless asked)."""
    return load_rulebook(resources.bundled_rulebook_path(), tests=tests)
