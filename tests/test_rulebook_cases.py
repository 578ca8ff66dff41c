"""The bundled CCP rulebook's own test cases (written beside the rules), one pytest case each."""

from __future__ import annotations

import pytest

from cpc_rules import default_rulebook
from cpc_rules.testing import run_case

RB = default_rulebook(tests=True)


@pytest.mark.parametrize("case", RB.checked.tests, ids=lambda c: c.name)
def test_rulebook_case(case) -> None:  # type: ignore[no-untyped-def]
    result = run_case(RB, case)
    assert result.passed, f"{case.span}: « {case.name} »\n" + "\n".join(result.failures)


def test_bundled_rulebook_has_cases() -> None:
    assert RB.checked.tests
