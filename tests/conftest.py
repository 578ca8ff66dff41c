"""Shared pytest setup for the cpc-rules suite.

Golden files
------------
Expected outputs (diagnostics, explanations, JSON traces) live beside their inputs
under tests/golden/. When the engine's output changes on purpose, re-record them:

    python -m pytest tests/test_goldens.py --update-goldens

then review the diff (`git diff tests/golden`) before committing.

Hypothesis profiles
-------------------
"ci" (default): ~200 examples per property, no deadline, derandomized (the same examples everywhere).
"deep": 10 000 examples; select it with `HYPOTHESIS_PROFILE=deep python -m pytest tests/test_properties.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"

# The parse cache (syntax/cache.py) is off for the suite, so that every test parses what it
# reads and nothing is written to the user's cache; test_parse_cache turns it on in a tmp dir.
os.environ["CPC_RULES_CACHE"] = "off"

# Loading raises Python's recursion limit once (syntax/ast.py deep_enough); do it before any test so
# that hypothesis does not see it change under its feet.
from cpc_rules.syntax.ast import deep_enough  # noqa: E402

deep_enough()

# "ci" (the default, what the README's test command runs) is derandomized: the same examples on every
# machine, so a red CI is a real regression, never a draw; "medium" and "deep" explore at random.
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("medium", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty private cache folder, turned on for the test (the suite runs with the cache off).

    The files an installed wheel ships (the bundled rulebook's IR and code, the parser's tables) are
    hidden, so that the user cache is what the test exercises, from a checkout as when
    installed; the tests of the shipped files put their own back.
    """
    from cpc_rules import resources
    from cpc_rules.engine import prebuilt
    from cpc_rules.syntax import cache

    d = tmp_path / "cache"
    d.mkdir(mode=0o700)
    os.chmod(d, 0o700)
    monkeypatch.setenv("CPC_RULES_CACHE", str(d))
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: None)
    monkeypatch.setattr(resources, "shipped_tables_path", lambda: None)
    monkeypatch.setattr(resources, "shipped_code_paths", list)
    monkeypatch.setattr(prebuilt, "_codes", None)  # the shipped code is looked for again, and not found
    monkeypatch.setattr(prebuilt, "_pending", [])
    cache._warned.clear()
    return d


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="re-record the golden files under tests/golden/ instead of comparing with them",
    )


class Golden:
    """Compare a text with a golden file, or (with --update-goldens) write it."""

    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, path: Path, actual: str) -> None:
        if not actual.endswith("\n"):
            actual += "\n"
        if self.update:
            path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"golden file missing: {path.relative_to(ROOT)} (run with --update-goldens to record it)")
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path.relative_to(ROOT)} (re-record with --update-goldens if intended)"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(request.config.getoption("--update-goldens"))


@pytest.fixture
def repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root so that diagnostic paths are relative (tests/golden/…)."""
    monkeypatch.chdir(ROOT)
    return ROOT
