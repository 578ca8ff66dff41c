"""The docs show real behaviour: every `$ cpc-rules …` example of docs/cli.md is run, and what it shows is found in
the real output; every ```cpc example of docs/language.md that declares a whole rulebook is checked.

An example's expected output is matched in order: a line `…` stands for any lines, a `…` inside a line for any
text on that line (so that counts and paths that change with the rulebook need not be copied).
"""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner
from conftest import ROOT

from cpc_rules.cli import main

DOCS = ROOT / "docs"


def _examples(text: str) -> list[tuple[str, str]]:
    """(command line, expected output) for each `$ cpc-rules …` line of the ```sh blocks."""
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL):
        parts = re.split(r"^\$ ", block, flags=re.MULTILINE)
        for part in parts[1:]:
            command, _, expected = part.partition("\n")
            out.append((command, expected.strip("\n")))
    return out


CLI_EXAMPLES = _examples((DOCS / "cli.md").read_text(encoding="utf-8"))


def _pattern(expected: str) -> re.Pattern[str]:
    pieces = []
    for line in expected.split("\n"):
        if line.strip() == "…":
            pieces.append(r"(?:.*\n)*?")
            continue
        pieces.append("[^\n]*?".join(re.escape(p) for p in line.split("…")) + r"\n")
    return re.compile("".join(pieces))


def test_cli_doc_has_examples() -> None:
    commands = [c for c, _ in CLI_EXAMPLES]
    for needed in ("decide", "explain", "check", "test", "--focus", "--no-presumptions", "--detail"):
        assert any(needed in c for c in commands), needed


@pytest.mark.parametrize(("command", "expected"), CLI_EXAMPLES, ids=[c[:80] for c, _ in CLI_EXAMPLES])
def test_cli_doc_example_is_real(command: str, expected: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    command = command.split("  #", 1)[0].strip()
    stdin = None
    if command.startswith("echo "):
        echo, _, command = command.partition(" | ")
        stdin = shlex.split(echo)[1] + "\n"
    args = shlex.split(command)
    assert args[0] == "cpc-rules", command
    result = CliRunner().invoke(main, args[1:], input=stdin)
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert _pattern(expected).search(result.output + "\n"), f"{command}\n--- expected\n{expected}\n--- got\n{result.output}"


def test_the_matcher_can_fail() -> None:
    assert _pattern("a\n…\nc").search("a\nb\nc\n")
    assert not _pattern("a\n…\nc").search("a\nb\nd\n")
    assert _pattern("ok : … tests").search("ok : 5 tests\n")
    assert not _pattern("ok : … tests").search("ok : 5 règles\n")


def test_docs_quote_no_path_of_a_machine() -> None:
    for path in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *DOCS.rglob("*.md")]:
        text = path.read_text(encoding="utf-8")
        found = re.findall(r"(?<![\w.])/(?:work|home|root|tmp|Users)/[^\s`)]*", text)
        assert not found, (path.relative_to(ROOT), found)


LANGUAGE = (DOCS / "language.md").read_text(encoding="utf-8")
WHOLE_RULEBOOKS = [b for b in re.findall(r"```cpc\n(.*?)```", LANGUAGE, flags=re.DOTALL) if re.match(r"(#[^\n]*\n)*(couverture|coverage) ", b) and "\ntest " in b]


def test_language_doc_has_complete_examples() -> None:
    assert len(WHOLE_RULEBOOKS) >= 2
    assert "présumé" in WHOLE_RULEBOOKS[0] and "avec présomptions" in WHOLE_RULEBOOKS[0]


@pytest.mark.parametrize("text", WHOLE_RULEBOOKS, ids=[f"rulebook{i}" for i in range(len(WHOLE_RULEBOOKS))])
def test_language_doc_rulebook_checks_and_its_tests_pass(text: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cpc_rules import load_rulebook
    from cpc_rules.testing import run_tests

    path = tmp_path / "exemple.cpc"
    path.write_text(text, encoding="utf-8")
    results = run_tests(load_rulebook(path))
    assert results and [r.failures for r in results if r.failures] == []
