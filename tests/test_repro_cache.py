"""Where the caches' guarantee stops (issue 8 point 1), pinned so that it is seen, not assumed.

tests/test_cache.py and tests/test_ir_cache.py show what holds: a pickle never runs, a folder or
entry another user can write is refused, an entry whose literal or name differs from the text is
refused. What a cache cannot refuse without checking the rulebook again: an entry rebuilt by the
cache's own user from a text whose *structure* differs (here every `<` of a comparison written `>=`,
in the syntax tree and, for the checked-rulebook entry, in the IR too), or parser tables whose `et`
and `ou` rules swapped names. Another user cannot plant it (the folder would be refused); the owner
can, as they can edit the rulebook itself. Such an entry changes the law (the adapted procedure
"allowed" at 300 000 €), so the decision must say so: its digest hashes the checked rulebook that
was evaluated (docs/trace-format.md), not the texts, and differs from the genuine one:
tests/test_digest.py forges the three entries and checks it. Here, the reproducer's edit made in
the text itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cpc_rules import api, resources

SITUATION_300K = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "300000", "services_sociaux_spécifiques": False}


def _answer() -> tuple[str, str]:
    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
    status = rb.decide(SITUATION_300K, at="2026-03-01").status("procédure", "procédure_adaptée")
    assert status is not None
    return str(status.permission), rb.digest


def test_the_same_edit_in_the_text_changes_the_answer_and_the_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forgery above matters: made in the text, the edit changes the answer (and then the digest changes too)."""
    import shutil

    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    genuine = _answer()
    copy = tmp_path / "rb"
    shutil.copytree(resources.bundled_rulebook_path(), copy)
    for f in copy.glob("*.cpc"):
        f.write_text(re.sub(r" < (?=[\w(])", " >= ", f.read_text(encoding="utf-8")), encoding="utf-8")
    rb = api.load_rulebook(copy, tests=False)
    status = rb.decide(SITUATION_300K, at="2026-03-01").status("procédure", "procédure_adaptée")
    assert status is not None and str(status.permission) != genuine[0] and rb.digest != genuine[1]
