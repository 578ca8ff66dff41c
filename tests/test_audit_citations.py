"""The presumptions a flag rests on are cited as the renderers cite them: with the articles of the buyer's regime."""

from __future__ import annotations

import re

import pytest

from cpc_rules.api import default_rulebook
from cpc_rules.audit import mapping, verdicts
from cpc_rules.audit.read import Raw
from cpc_rules.render.readers import presumption_articles

LIVRE_IER_ROUTES = re.compile(r"^[LR]21(?:2[2-4]|3[1-2])")  # procedures and publicity of Livre Ier (as tests/test_citations.py)
RB = default_rulebook()


def _record(nature: str, amount: int) -> mapping.Contract:
    data = {
        "id": "D1",
        "acheteur": {"id": "11000001500011", "nom": "Ministère des Armées"},
        "nature": nature,
        "objet": "Achat de fournitures",
        "codeCPV": "35300000",
        "procedure": "Marché passé sans publicité ni mise en concurrence préalable",
        "dateNotification": "2025-05-02",
        "montant": amount,
    }
    return mapping.map_record(Raw("t.jsonl", "ligne 1", "json", data))


@pytest.mark.parametrize("amount", [500_000, 3_000_000])
def test_a_defence_flag_cites_its_presumptions_with_livre_iii(amount):
    """A défense contract passed without publicity: urgency, a single operator… are presumed absent, and for it they
    decide L2322-1, not R2122-1 to -7 (the articles the presumptions declare, which the audit cited before)."""
    c = _record("Marché de défense ou de sécurité", amount)
    assert c.buyer.category == "défense_sécurité"
    v = verdicts.verdict(RB, c)
    assert v["verdict"] == "a_justifier", v
    cited = {p["fait"]: p["articles"] for p in v["présomptions"]}
    assert cited["urgence_impérieuse"] == ["L2322-1"] and cited["opérateur_unique"] == ["L2322-1"]
    assert not [(f, a) for f, arts in cited.items() for a in arts if LIVRE_IER_ROUTES.match(a)], cited


def test_a_civil_flag_still_cites_the_livre_ier_routes():
    v = verdicts.verdict(RB, _record("Marché", 500_000))
    assert v["verdict"] == "a_justifier", v
    cited = {p["fait"]: p["articles"] for p in v["présomptions"]}
    assert cited["urgence_impérieuse"] == ["R2122-1"] and cited["opérateur_unique"] == ["R2122-3"]


def test_the_audit_cites_what_the_renderers_cite(monkeypatch):
    """One function for both: the articles of each presumption in a verdict are presumption_articles(decision)'s,
    the function render.text and render.json call, on the decision the verdict rests on."""
    seen = []
    real = verdicts.presumption_articles

    def spy(d):
        got = real(d)
        seen.append((d, got))
        return got

    monkeypatch.setattr(verdicts, "presumption_articles", spy)
    for nature in ("Marché de défense ou de sécurité", "Marché"):
        v = verdicts.verdict(RB, _record(nature, 500_000))
        d, got = seen[-1]
        assert {p["fait"]: p["articles"] for p in v["présomptions"]} == {p.fact: list(got[p.fact]) for p in d.applied if p.fact in {q["fait"] for q in v["présomptions"]}}
        assert presumption_articles(d) == got


def test_render_text_uses_the_shared_function():
    from cpc_rules.render import json as render_json
    from cpc_rules.render import text

    assert text.presumption_articles is presumption_articles is render_json.presumption_articles
