"""Every `curl` example of docs/http.md, run against a real server; its documented output must match.

In a documented output, "…" stands for any text (the digest, the long parts of a decision).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from conftest import ROOT
from server import running_server

DOC = (ROOT / "docs" / "http.md").read_text(encoding="utf-8")


def _examples() -> list[tuple[str, str | None]]:
    blocks = re.findall(r"```(sh|json)\n(.*?)```", DOC, flags=re.DOTALL)
    out = []
    for i, (lang, text) in enumerate(blocks):
        if lang == "sh" and "curl" in text:
            expected = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "json" else None
            out.append((text, expected))
    return out


def _pattern(expected: str) -> re.Pattern[str]:
    return re.compile("^" + ".*?".join(re.escape(part) for part in expected.strip().split("…")) + "$", re.DOTALL)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_every_curl_example_runs_and_prints_what_the_doc_says() -> None:
    examples = _examples()
    assert len(examples) >= 4
    with running_server() as base:
        for command, expected in examples:
            run = subprocess.run(["bash", "-c", command.replace("http://127.0.0.1:8000", base)], capture_output=True, text=True, timeout=60, check=False)
            assert run.returncode == 0, (command, run.stderr)
            assert run.stdout.strip(), command
            if expected is not None:
                assert _pattern(expected).match(run.stdout.strip()), (command, run.stdout[:500])
