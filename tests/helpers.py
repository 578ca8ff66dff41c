"""Small helpers shared by the unit tests: build a rulebook from text."""

from __future__ import annotations

import itertools
import tempfile
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
