"""Small helpers shared by the unit tests: build a rulebook from text."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cpc_rules import load_rulebook
from cpc_rules.api import Rulebook

_counter = itertools.count()
_TMP = Path(tempfile.mkdtemp(prefix="cpc-tests-"))

HEADER = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu

énumération proc "Procédures" { mapa "MAPA", ao "Appel d'offres", négo "Négociation" }
"""

ARTICLE = """
article R1 "Article de test"
  version depuis 2020-01-01
    source "Décret test"
"""


def rulebook(text: str, name: str | None = None) -> Rulebook:
    """Write `text` to a fresh file and load it (parse, check, compile)."""
    path = _TMP / f"{name or 'rb'}_{next(_counter)}.cpc"
    path.write_text(text, encoding="utf-8")
    return load_rulebook(path)


def with_rules(decls: str, rules: str) -> Rulebook:
    """HEADER + declarations + one article holding `rules`."""
    return rulebook(HEADER + decls + ARTICLE + rules)


def ship(folder: Path, name: str, write: Callable[[Path], None]) -> Path:
    """A file as the wheel build writes it into `cpc_rules/prebuilt/` (hatch_build.py), with the modes an installed package has."""
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    out = folder / name
    write(out)
    os.chmod(out, 0o644)
    return out
