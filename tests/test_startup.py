"""The `cpc-rules` process (issue 11 point 4): what its start and its exit do, beside the loads (test_prebuilt, test_ir_cache)."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from cpc_rules import cli

ROOT = Path(__file__).resolve().parent.parent


def test_console_script_is_run() -> None:
    """The installed `cpc-rules` goes through `run` (the exit without the final collection), as `python -m cpc_rules.cli` does."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["cpc-rules"] == "cpc_rules.cli:run"


def test_run_freezes_at_exit_after_main(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr("atexit.register", lambda fn: calls.append(("atexit", fn)))
    monkeypatch.setattr(cli, "main", lambda: calls.append("main"))
    cli.run()
    assert calls == [("atexit", gc.freeze), "main"]


def test_import_leaves_the_collector_as_it_found_it() -> None:
    """The package pauses the cyclic collector while it imports, and gives it back (on, or off if it was off)."""
    for setup, expected in (("", "True"), ("import gc; gc.disable(); ", "False")):
        code = setup + "import gc, cpc_rules; print(gc.isenabled())"
        out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected


def test_a_whole_process_writes_everything(tmp_path: Path) -> None:
    """Through `run`: the whole JSON decision and the written files, exit 0; an error still exits 1 with its diagnostic."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    example = ROOT / "examples" / "fournitures-collectivite-2026.json"
    r = subprocess.run([sys.executable, "-m", "cpc_rules.cli", "decide", str(example), "--format", "json", "--trace"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["trace"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"date": "2026-03-01", "faits": {"nature": "rien"}}', encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "cpc_rules.cli", "decide", str(bad), "--format", "json"], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 1 and json.loads(r.stdout)["diagnostics"]
