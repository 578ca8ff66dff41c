"""Golden tests: what a user sees for each mistake, and full traces for small situations.

Inputs: tests/golden/errors/<name>.cpc (a rulebook with a mistake) or <name>.json (a situation,
with an optional "rulebook" key naming tests/golden/rulebooks/<rulebook>.cpc; otherwise the
bundled CCP rulebook). Expected output: <name>.expected, GNU-rendered diagnostics one per line.
Re-record with `python -m pytest tests/test_goldens.py --update-goldens`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import GOLDEN, ROOT

from cpc_rules import load_rulebook
from cpc_rules.api import default_rulebook
from cpc_rules.diagnostics import CpcError, Diagnostic, Sources, render_gnu, render_human
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.situation import decode, situation_from_value

ERRORS = sorted(p for p in (GOLDEN / "errors").iterdir() if p.suffix in (".cpc", ".json"))
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64  # in the trace goldens, for the rulebook's digest
TRACES = sorted(p for p in (GOLDEN / "traces").glob("*.json") if not p.name.endswith(".trace.json"))


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _rulebook_for(situation: Path):  # type: ignore[no-untyped-def]
    try:
        data = json.loads(situation.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        data = {}
    name = data.get("rulebook") if isinstance(data, dict) else None
    if name:
        return load_rulebook(_rel(GOLDEN / "rulebooks" / f"{name}.cpc"))
    return default_rulebook()


def load_situation(path: Path):  # type: ignore[no-untyped-def]
    """A golden situation: a situation document whose "rulebook" key (for this test only) names its rulebook."""
    data = decode(path.read_text(encoding="utf-8"), _rel(path))  # refused documents (invalid JSON…) fail here, as in the CLI
    if isinstance(data, dict):
        data.pop("rulebook", None)
        data.pop("focus", None)
    return situation_from_value(data, _rel(path))


def _focus_for(path: Path) -> str | None:
    """The "focus" key of a golden situation (for this test only): the --focus of the decision."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    return data.get("focus") if isinstance(data, dict) else None


def diagnostics_for(path: Path) -> tuple[list[Diagnostic], Sources | None]:
    """The diagnostics a user gets for this input (none if it is accepted), and the texts they quote."""
    try:
        if path.suffix == ".cpc":
            load_rulebook(_rel(path))
        else:
            rb = _rulebook_for(path)
            s = load_situation(path)
            rb.decide(s.facts, at=s.date or "2024-01-01", focus=_focus_for(path))
    except CpcError as e:
        return list(e.diagnostics), getattr(e, "sources", None)
    except EvaluationError as e:
        return [e.diagnostic], e.sources
    return [], None


def test_enough_error_goldens() -> None:
    assert len(ERRORS) >= 22


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.name)
def test_error_golden(path: Path, golden, repo_root) -> None:  # type: ignore[no-untyped-def]
    diags, sources = diagnostics_for(path)
    assert diags, f"{path.name} should be rejected"
    assert any(d.severity == "error" for d in diags)
    golden.check(path.with_suffix(".expected"), "\n".join(render_gnu(d) for d in diags))
    golden.check(path.with_suffix(".human"), "\n\n".join(render_human(d, sources) for d in diags))


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.stem)
def test_trace_golden(path: Path, golden, repo_root) -> None:  # type: ignore[no-untyped-def]
    rb = _rulebook_for(path)
    s = load_situation(path)
    d = rb.decide(s.facts, at=s.date)
    # the digest hashes the checked IR (ir.Rulebook.digest): any change to the checker's output moves it,
    # so the goldens hold a placeholder (all zeros: still of the schema's form, test_json_contract
    # validates them); that it is the rulebook's digest is asserted here
    text, data = d.explain(full=True), d.to_json(trace=True)
    assert f"règles {rb.digest[:19]}\n" in text and data["rulebook"]["digest"] == rb.digest
    data["rulebook"]["digest"] = PLACEHOLDER_DIGEST
    golden.check(path.with_suffix(".explain.txt"), text.replace(f"règles {rb.digest[:19]}\n", "règles sha256:…\n"))
    golden.check(path.with_suffix(".trace.json"), json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
