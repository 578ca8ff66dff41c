"""Livre III (défense ou sécurité): no conclusion of Livre I leaks onto a défense contract.

The route choice of a défense buyer is encoded in rulebooks/ccp/30-defense.cpc, which beats the
Livre I rules on procedures and publicity by `exception à`. A rule added later to Livre I would
leak onto défense contracts unless it is added to that exception: this property finds it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cpc_rules import default_rulebook

RB = default_rulebook()
RULES = RB.checked.rules
ARTICLES = RB.checked.articles

# Livre III articles (30-defense.cpc) and the texts outside the code that address every buyer (with their
# variants: « Décret n° 2020-893, art. 1 (consultation lancée avant le 24 juillet 2020) »…).
BOOK_III = {"L2320-1", "L2322-1", "R2322-14", "R2322-14 et s. : achat innovant de défense ou de sécurité", "R2323-1", "R2323-2", "L2324-1", "R2324-2", "R2324-3", "R2324-4", "R2331-8"}
TEMPORARY_TEXTS = {"Décret n° 2020-893, art. 1", "Décret n° 2020-893, art. 2", "Loi n° 2020-1525, art. 142", "Décret n° 2022-1683, art. 6", "Décret n° 2018-1225, art. 1er"}
PROCEDURES = ["sans_publicité_ni_mise_en_concurrence", "procédure_adaptée", "appel_d_offres", "appel_d_offres_ouvert", "appel_d_offres_restreint",
              "procédure_avec_négociation", "dialogue_compétitif", "concours", "partenariat_d_innovation"]
LIVRE_I_FACTS = ["urgence_impérieuse", "procédure_infructueuse", "opérateur_unique", "livraisons_complémentaires", "matières_premières_cotées",
                 "attribution_au_lauréat_d_un_concours", "prestations_similaires", "livres_non_scolaires", "conditions_particulièrement_avantageuses",
                 "motif_entité_adjudicatrice_r2122_11", "achat_innovant", "besoin_non_couvert_par_le_marché", "services_sociaux_spécifiques", "solution_innovante",
                 "négociation_préalable_nécessaire", "maîtrise_d_œuvre", "autre_cas_sans_publicité_défense", "services_défense_hors_liste"]


def _article(rule: int) -> str:
    return ARTICLES[RULES[rule].article].ref


situations = st.fixed_dictionaries(
    {
        "date": st.dates(dt.date(2019, 4, 1), dt.date(2027, 12, 31)),
        "nature": st.sampled_from(["travaux", "fournitures", "services"]),
        "valeur": st.integers(0, 8_000_000),
        "retenue": st.sampled_from([None, *PROCEDURES]),
        "who": st.sampled_from([{"acheteur": "défense_sécurité"}, {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True},
                                {"type_acheteur": "établissement_public_national_industriel_commercial", "marché_de_défense_ou_de_sécurité": True}]),
        "flags": st.dictionaries(st.sampled_from(LIVRE_I_FACTS), st.booleans()),
    }
)


@given(situations)
def test_defence_conclusions_rest_on_book_iii_only(s: dict) -> None:  # type: ignore[type-arg]
    facts = {**s["who"], **s["flags"], "nature": s["nature"], "valeur_estimée_besoin": str(Decimal(s["valeur"])), "date_conclusion": s["date"].isoformat()}
    if s["retenue"]:
        facts["procédure_retenue"] = s["retenue"]
    if facts.get("maîtrise_d_œuvre"):
        facts["objet_maîtrise_d_œuvre"] = "construction_neuve"
    d = RB.decide(facts, at=s["date"].isoformat())
    for status in d.statuses:
        if status.enum not in ("procédure", "publicité"):
            continue
        leaked = {a for a in map(_article, status.grounds) if a not in BOOK_III and not a.startswith(tuple(TEMPORARY_TEXTS))}
        assert not leaked, f"{status.enum} {status.member} : {status.permission or status.obligation} fondé sur {sorted(leaked)} (livre Ier) pour un marché de défense"
        if status.enum == "procédure" and status.member == "appel_d_offres_ouvert":
            assert status.permission in ("forbidden", "undetermined")


def test_book_iii_replaces_the_information_that_said_it_was_not_encoded() -> None:
    d = RB.decide({"acheteur": "défense_sécurité", "nature": "fournitures", "valeur_estimée_besoin": "500000", "procédure_retenue": "appel_d_offres"}, at="2025-03-01")
    text = d.explain()
    assert "livre III de la deuxième partie du code (L2320-1)" in text
    assert "il n'est pas encodé ici" not in text  # the old information (10-procedures.cpc) is beaten
    assert d.status("procédure", "appel_d_offres_restreint").permission == "allowed"  # type: ignore[union-attr]
    assert d.status("procédure", "appel_d_offres_ouvert").permission == "forbidden"  # type: ignore[union-attr]
    assert d.status("publicité", "joue").obligation == "mandatory"  # type: ignore[union-attr]
