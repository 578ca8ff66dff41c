"""The docs show real behaviour: every `$ cpc-rules …` example of docs/cli.md is run, and what it shows is found in
the real output; every ```cpc example of docs/language.md that declares a whole rulebook is checked.

An example's expected output is matched in order: a line `…` stands for any lines, a `…` inside a line for any
text on that line (so that counts and paths that change with the rulebook need not be copied).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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


def _redirect(args: list[str]) -> tuple[list[str], str | None]:
    """`cpc-rules … > FILE`: the arguments, and the file the output goes to."""
    if len(args) >= 2 and args[-2] == ">":
        return args[:-2], args[-1]
    return args, None


# the files the examples write (`> decision.json`) and the rulebook `other-rulebook/` of the replay example:
# the bundled one with the 2026 threshold of the other contracting authorities' supplies at 215 000 € instead of 216 000 €
WRITTEN = {f for c, _ in CLI_EXAMPLES if (f := _redirect(shlex.split(c.split("  #", 1)[0]))[1])}
OTHER = "other-rulebook"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A folder like the repository root (its entries linked) where the examples can write their files."""
    d = tmp_path_factory.mktemp("docs")
    for entry in ROOT.iterdir():
        if not entry.name.startswith("."):
            (d / entry.name).symlink_to(entry)
    other = d / OTHER
    other.mkdir()
    line = "autre_pouvoir_adjudicateur, fournitures | services : 216 000 €"
    for src in sorted((ROOT / "rulebooks" / "ccp").glob("*.cpc")):
        if not src.name.endswith(".test.cpc"):
            other.joinpath(src.name).write_text(src.read_text(encoding="utf-8").replace(line, line.replace("216", "215")), encoding="utf-8")
    assert line.replace("216", "215") in (other / "00-prologue.cpc").read_text(encoding="utf-8")
    for command, _ in CLI_EXAMPLES:  # the files first, whatever the order the examples are run in
        args, target = _redirect(shlex.split(command.split("  #", 1)[0]))
        if target:
            r = CliRunner().invoke(main, args[1:], catch_exceptions=False)
            assert r.exit_code == 0, r.output
            (d / target).write_text(r.stdout, encoding="utf-8")
    return d


@pytest.mark.parametrize(("command", "expected"), CLI_EXAMPLES, ids=[c[:80] for c, _ in CLI_EXAMPLES])
def test_cli_doc_example_is_real(command: str, expected: str, monkeypatch, request) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    command = command.split("  #", 1)[0].strip()
    stdin = None
    if command.startswith("echo "):
        echo, _, command = command.partition(" | ")
        stdin = shlex.split(echo)[1] + "\n"
    args, target = _redirect(shlex.split(command))
    if target or any(a in WRITTEN or a.rstrip("/") == OTHER for a in args):
        monkeypatch.chdir(request.getfixturevalue("scratch"))
    assert args[0] == "cpc-rules", command
    result = CliRunner().invoke(main, args[1:], input=stdin)
    assert result.exit_code in (0, 1), (result.exit_code, result.output)
    assert _pattern(expected).search((Path(target).read_text(encoding="utf-8") if target else result.output) + "\n"), f"{command}\n--- expected\n{expected}\n--- got\n{result.output}"


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
