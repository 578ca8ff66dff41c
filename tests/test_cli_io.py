"""The CLI's input/output faults exit cleanly, never 3 (issue 8 point 5; ../shared/repro/reliability/cli).

A closed pipe (`| head`), a full disk (/dev/full), a bad `-k` regular expression, and
`fmt --write` on a full disk: the original rulebook is never truncated, no temporary
file is left behind.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from cpc_rules import cli
from cpc_rules.cli import main

SITUATION = str(ROOT / "tests" / "repro" / "situations" / "travaux-commune-2026.json")
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": "off"}


def cpc(*args: str, **kwargs):  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "cpc_rules.cli", *args], env=ENV, stderr=subprocess.PIPE, **kwargs)


def test_broken_pipe_exits_1_without_traceback() -> None:
    """repro cli/broken-pipe.sh: the reader closes the pipe before ~190 kB of JSON are written."""
    p = cpc("explain", SITUATION, "--format", "json", stdout=subprocess.PIPE)
    assert p.stdout is not None
    p.stdout.close()
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    assert b"Traceback" not in err and b"Exception ignored" not in err and b"erreur interne" not in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_disk_on_stdout_exits_1_with_message() -> None:
    with open("/dev/full", "w") as full:
        p = cpc("decide", SITUATION, stdout=full)
        _, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    text = err.decode()
    assert "E002" in text and "plus de place sur le disque" in text
    assert "Traceback" not in text and "Exception ignored" not in text


def test_bad_name_filter_is_a_usage_error() -> None:
    r = CliRunner().invoke(main, ["test", "-k", "("], catch_exceptions=False)
    assert r.exit_code == 2
    assert "expression régulière invalide" in r.output


def _rulebook(tmp_path: Path) -> Path:
    p = tmp_path / "rules.cpc"
    p.write_text("fait x:montant\n", encoding="utf-8")
    p.chmod(0o640)
    return p


def test_fmt_write_renames_a_temporary_file(tmp_path: Path) -> None:
    p = _rulebook(tmp_path)
    inode = p.stat().st_ino
    r = CliRunner().invoke(main, ["fmt", "--write", str(p)], catch_exceptions=False)
    assert r.exit_code == 0
    assert p.read_text(encoding="utf-8") == "fait x : montant\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640  # permissions kept
    assert p.stat().st_ino != inode  # a new file renamed over the old one, not a rewrite in place
    assert sorted(f.name for f in tmp_path.iterdir()) == ["rules.cpc"]


@pytest.mark.parametrize("failing", ["write", "fsync", "replace"])
def test_fmt_write_on_full_disk_keeps_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str) -> None:
    """repro cli/fmt-write-full-disk.sh, simulated: the write, the sync or the rename fails with ENOSPC."""
    p = _rulebook(tmp_path)
    original = p.read_bytes()

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if failing == "write":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, f):  # type: ignore[no-untyped-def]
                self.f = f

            def __enter__(self):  # type: ignore[no-untyped-def]
                return self

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                self.f.close()

            def write(self, text: str) -> int:
                self.f.write(text[: len(text) // 2])  # half is written, then the disk is full
                self.f.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(cli.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(cli.os, failing, full)
    r = CliRunner().invoke(main, ["fmt", "--write", str(p)], catch_exceptions=False)
    assert r.exit_code == 1, r.output
    assert "E002" in r.output and "plus de place sur le disque" in r.output and "intact" in r.output
    assert p.read_bytes() == original
    assert sorted(f.name for f in tmp_path.iterdir()) == ["rules.cpc"]  # no orphan temporary file


def test_fmt_unreadable_file_is_located(tmp_path: Path) -> None:
    p = tmp_path / "latin1.cpc"
    p.write_bytes("fait é : montant\n".encode("latin-1"))
    r = CliRunner().invoke(main, ["fmt", str(p)], catch_exceptions=False)
    assert r.exit_code == 1 and "E001" in r.output
