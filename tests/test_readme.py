"""The README shows real behaviour: each worked-example excerpt, cut at `…` lines, is found as is in what
`cpc-rules decide` prints, and the Python snippet runs and gives what it says."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from conftest import ROOT

from cpc_rules.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"```sh\ncpc-rules (decide [^\n]+)\n```.*?```text\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_worked_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(("command", "excerpt"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_excerpt_is_real_output(command: str, excerpt: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, command.split())
    assert result.exit_code == 0, result.output
    for chunk in re.split(r"^…\n", excerpt, flags=re.MULTILINE):
        assert chunk.strip("\n") in result.output, chunk


def test_readme_python_snippet() -> None:
    code = re.search(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert code is not None
    scope: dict[str, object] = {}
    exec(code.group(1), scope)  # noqa: S102 - our own README
    d = scope["d"]
    assert d.status("procédure", "procédure_adaptée").permission == "allowed"  # type: ignore[attr-defined]
    assert d.permission("procédure", "procédure_adaptée") == "allowed"  # type: ignore[attr-defined]
    assert d.obligation("formalité", "données_essentielles_portail_national") == d.status("formalité", "données_essentielles_portail_national").obligation == "mandatory"  # type: ignore[attr-defined]
