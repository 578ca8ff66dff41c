"""The command line, through click's CliRunner: exit codes 0/1/2, formats, every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import GOLDEN

from cpc_rules.cli import main

MINI = str(GOLDEN / "rulebooks" / "mini.cpc")
BAD = str(GOLDEN / "errors" / "unknown_fact.cpc")


@pytest.fixture
def run():  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def situation(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(data: object, name: str = "s.json") -> str:
        p = tmp_path / name
        p.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return str(p)

    return write


def test_help_and_version(run) -> None:  # type: ignore[no-untyped-def]
    assert run("--help").exit_code == 0
    r = run("--version")
    assert r.exit_code == 0 and "cpc-rules" in r.output


def test_usage_error_exits_2(run) -> None:  # type: ignore[no-untyped-def]
    assert run("nonexistent-command").exit_code == 2
    assert run("check", "--format", "xml").exit_code == 2
    assert run("decide").exit_code == 2


def test_check_bundled_ok(run) -> None:  # type: ignore[no-untyped-def]
    r = run("check")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("ok")


def test_check_json(run) -> None:  # type: ignore[no-untyped-def]
    r = run("check", "--format", "json", MINI)
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["ok"] is True and data["rules"] == 6


def test_check_errors_exit_1(run) -> None:  # type: ignore[no-untyped-def]
    r = run("check", "--format", "gnu", BAD)
    assert r.exit_code == 1
    assert "error[E201]" in r.output
    r = run("check", "--format", "json", BAD)
    assert r.exit_code == 1
    codes = [d["code"] for d in json.loads(r.output)["diagnostics"]]
    assert "E201" in codes
    r = run("check", BAD)  # human form: source line and caret
    assert r.exit_code == 1 and "^" in r.output and "-->" in r.output


def test_check_missing_file_exit_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run("check", str(tmp_path / "nope.cpc"))
    assert r.exit_code == 1 and "E001" in r.output


def test_test_command(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run("test").exit_code == 0
    text = Path(MINI).read_text(encoding="utf-8")
    good = 'test "ok" :\n  date 2024-01-01\n  faits {\n    défense = vrai\n  }\n  attendu {\n    interdit proc mapa\n    autorisé proc ao\n  }\n'
    bad = 'test "faux" :\n  date 2024-01-01\n  attendu {\n    autorisé proc mapa\n  }\n'
    p = tmp_path / "t.cpc"
    p.write_text(text + "\n" + good, encoding="utf-8")
    r = run("test", str(p))
    assert r.exit_code == 0 and "1 passed, 0 failed" in r.output
    p.write_text(text + "\n" + good + "\n" + bad, encoding="utf-8")
    r = run("test", str(p))
    assert r.exit_code == 1 and "ÉCHEC" in r.output
    r = run("test", "--format", "json", str(p))
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert (data["passed"], data["failed"]) == (1, 1)
    assert run("test", "-k", "ok", str(p)).exit_code == 0


def test_decide_text_and_json(run, situation) -> None:  # type: ignore[no-untyped-def]
    s = situation({"date": "2024-01-01", "faits": {"nature": "services", "montant_besoin": 1000, "défense": True}})
    r = run("decide", s, "--rulebook", MINI)
    assert r.exit_code == 0 and "Appel d'offres" in r.output
    r = run("decide", s, "--rulebook", MINI, "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.output)
    statuses = {c["member"]: c["permission"] for c in data["conclusions"]}
    assert statuses["mapa"] == "forbidden" and statuses["ao"] == "allowed"
    assert run("decide", s, "--rulebook", MINI, "--lang", "en").exit_code == 0


def test_decide_at_overrides_and_is_required(run, situation) -> None:  # type: ignore[no-untyped-def]
    s = situation({"urgence": True})
    assert run("decide", s, "--rulebook", MINI).exit_code == 2  # no date anywhere: a usage error
    r = run("decide", s, "--rulebook", MINI, "--at", "2019-01-01", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.output)["status"] != "decided"


def test_decide_yaml_and_stdin(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "s.yaml"
    p.write_text("date: 2024-01-01\nfaits:\n  urgence: true\n  défense: false\n", encoding="utf-8")
    assert run("decide", str(p), "--rulebook", MINI).exit_code == 0
    r = run("decide", "-", "--rulebook", MINI, "--format", "json", input='{"date": "2024-01-01", "urgence": false}')
    assert r.exit_code == 0 and json.loads(r.output)["date"] == "2024-01-01"


def test_decide_bad_situation_exit_1(run, situation, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run("decide", situation({"date": "2024-01-01", "urgense": True}), "--rulebook", MINI, "--format", "json")
    assert r.exit_code == 1
    assert json.loads(r.output)["diagnostics"][0]["code"] == "E410"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    r = run("decide", str(bad), "--rulebook", MINI)
    assert r.exit_code == 1 and "E414" in r.output


def test_decide_runtime_conflict_exit_1(run, situation) -> None:  # type: ignore[no-untyped-def]
    rb = str(GOLDEN / "rulebooks" / "runtime.cpc")
    r = run("decide", situation({"date": "2024-01-01", "urgence": True, "défense": True}), "--rulebook", rb, "--format", "json")
    assert r.exit_code == 1
    assert json.loads(r.output)["diagnostics"][0]["code"] == "E402"


def test_explain(run, situation) -> None:  # type: ignore[no-untyped-def]
    s = situation({"date": "2024-01-01", "faits": {"nature": "services", "montant_besoin": 1000}})
    r = run("explain", s, "--rulebook", MINI)
    assert r.exit_code == 0 and "Trace complète" in r.output
    r = run("explain", s, "--rulebook", MINI, "--format", "json")
    assert r.exit_code == 0 and "trace" in json.loads(r.output)


def test_fmt_check(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.cpc"
    p.write_text("fait x:montant\n", encoding="utf-8")
    r = run("fmt", "--check", str(p))
    assert r.exit_code == 1 and "à reformater" in r.output
    r = run("fmt", str(p))
    assert r.exit_code == 0 and r.output == "fait x : montant\n"
    r = run("fmt", "--write", str(p))
    assert r.exit_code == 0 and p.read_text(encoding="utf-8") == "fait x : montant\n"
    assert run("fmt", "--check", str(p)).exit_code == 0


def test_fmt_syntax_error_exit_1(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "a.cpc"
    p.write_text("fait x montant\n", encoding="utf-8")
    r = run("fmt", "--check", str(p))
    assert r.exit_code == 1 and "E101" in r.output


def test_graph(run) -> None:  # type: ignore[no-untyped-def]
    r = run("graph", "--rulebook", MINI)
    assert r.exit_code == 0 and "digraph" in r.output
    r = run("graph", "--rulebook", MINI, "--format", "json")
    assert r.exit_code == 0
    json.loads(r.output)
    assert run("graph").exit_code == 0


def test_schema(run) -> None:  # type: ignore[no-untyped-def]
    r = run("schema", "--rulebook", MINI)
    assert r.exit_code == 0
    schema = json.loads(r.output)
    text = json.dumps(schema, ensure_ascii=False)
    for fact in ("nature", "montant_besoin", "urgence", "défense"):
        assert fact in text
    assert run("schema").exit_code == 0


def test_dump(run) -> None:  # type: ignore[no-untyped-def]
    for stage in ("ast", "ir", "python"):
        assert run("dump", stage, "--rulebook", MINI).exit_code == 0


def test_bundled_rulebook_is_canonical(run) -> None:  # type: ignore[no-untyped-def]
    r = run("fmt", "--check")
    assert r.exit_code == 0, r.output
