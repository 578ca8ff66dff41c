"""Run the test cases written beside the rules (`test "…" : date … faits {…} attendu {…}`)."""

from __future__ import annotations

from typing import Any

from cpc_rules import values
from cpc_rules.api import Rulebook
from cpc_rules.diagnostics import CpcError, Span
from cpc_rules.engine.runtime import EvaluationError, Unknown
from cpc_rules.record import frozen
from cpc_rules.syntax import ast
from cpc_rules.syntax import format as fmt


@frozen
class CaseResult:
    name: str
    span: Span | None
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def situation_of(case: ast.TestCase) -> dict[str, Any]:
    """The facts of a case as plain Python values, as a user would pass them."""
    return {a.name: ast.plain_value(a.value) for a in case.facts}


def run_case(rb: Rulebook, case: ast.TestCase) -> CaseResult:
    failures: list[str] = []
    expected_errors = [x.code for x in case.expectations if isinstance(x, ast.ExpectError)]
    try:
        decision = rb.decide(situation_of(case), at=case.date, presumptions=case.presumptions)
    except (CpcError, EvaluationError) as e:
        diags = e.diagnostics if isinstance(e, CpcError) else [e.diagnostic]
        codes = [d.code for d in diags]
        if expected_errors and all(c in codes for c in expected_errors):
            return CaseResult(case.name, case.span, ())
        return CaseResult(case.name, case.span, tuple(f"erreur inattendue [{d.code}] {d.message}" for d in diags))
    for code in expected_errors:
        failures.append(f"attendu l'erreur {code}, la décision a été rendue sans erreur")
    for x in case.expectations:
        if isinstance(x, ast.ExpectOutOfPeriod):
            if not decision.out_of_period:
                failures.append("attendu : hors période ; obtenu : une décision")
            continue
        if decision.out_of_period:
            if not isinstance(x, ast.ExpectError):
                failures.append(f"{fmt._expectation(x)} : la date {case.date} est hors de la période du recueil")
            continue
        if isinstance(x, ast.ExpectStatus):
            s = decision.status(x.enum, x.value)
            got = None if s is None else (s.obligation if x.status in ("mandatory", "not_mandatory") else s.permission)
            if x.status in ("undetermined", "unencoded") and s is not None:
                got = "undetermined" if "undetermined" in (s.permission, s.obligation) else got
                if x.status == "unencoded" and got == "undetermined" and s.unencoded:
                    got = "unencoded"
            if got != x.status:
                detail = f" (manque : {', '.join(sorted(s.missing))})" if s is not None and s.missing else ""
                failures.append(f"{x.enum} {x.value} : attendu {values.STATUS_WORDS[x.status]}, obtenu {values.STATUS_WORDS[got]}{detail}")
        elif isinstance(x, ast.ExpectValue):
            df = next(d for d in rb.checked.definitions if d.name == x.name)
            got_value = decision.value(x.name)
            want = situation_of(ast.TestCase("", case.date, (ast.Assignment(x.name, x.value),), ()))[x.name]
            want = values.coerce(want, df.type, rb.checked.enums, rb.checked.records, x.name)
            if isinstance(got_value, Unknown) or got_value != want:
                failures.append(f"valeur {x.name} : attendu {values.display(want, df.type)}, obtenu {values.display(got_value, df.type)}")
        elif isinstance(x, ast.ExpectInformed):
            certain = {rb.checked.rules[r].name for r, sure in decision.information if sure}
            if (x.rule in certain) != x.informed:
                failures.append(f"information {x.rule} : attendue {'donnée' if x.informed else 'absente'}, obtenue {'donnée' if x.rule in certain else 'absente ou incertaine'}")
        elif isinstance(x, ast.ExpectMissing):
            for name in x.names:
                if name not in decision.missing:
                    failures.append(f"attendu « {name} » parmi les faits manquants ; manquants : {', '.join(decision.missing) or 'aucun'}")
    return CaseResult(case.name, case.span, tuple(failures))


def run_tests(rb: Rulebook, name_filter: str | None = None) -> list[CaseResult]:
    import re

    pattern = re.compile(name_filter) if name_filter else None
    return [run_case(rb, c) for c in rb.checked.tests if pattern is None or pattern.search(c.name)]
