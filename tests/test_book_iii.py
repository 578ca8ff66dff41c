"""Livre III (défense ou sécurité): no conclusion of Livre I leaks onto a défense contract.

The route choice of a défense buyer is encoded in rulebooks/ccp/30-defense.cpc, which beats the
Livre I rules on procedures and publicity by `exception à`. A rule added later to Livre I would
leak onto défense contracts unless it is added to that exception: this property finds it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpc_rules import default_rulebook
from cpc_rules.diagnostics import CpcError

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


def _decide(s: dict, extra: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    """The decision for a drawn situation (`situations`), with `extra` facts."""
    facts = {**s["who"], **s["flags"], **(extra or {}), "nature": s["nature"], "valeur_estimée_besoin": str(Decimal(s["valeur"])), "date_conclusion": s["date"].isoformat()}
    if s["retenue"]:
        facts["procédure_retenue"] = s["retenue"]
    if facts.get("maîtrise_d_œuvre"):
        facts.setdefault("objet_maîtrise_d_œuvre", "construction_neuve")
    return RB.decide(facts, at=s["date"].isoformat())


@given(situations)
def test_defence_conclusions_rest_on_book_iii_only(s: dict) -> None:  # type: ignore[type-arg]
    d = _decide(s)
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


def _concerns_routes(r) -> bool:  # type: ignore[no-untyped-def]
    """A rule that concludes on a procedure or a publicity, or declares one of them not encoded."""
    return r.enum in ("procédure", "publicité") or any(e.partition(".")[0] in ("procédure", "publicité") for e in r.scope)


def _rules_named(enum_kinds: tuple[str, ...], articles: set[str]) -> set[str]:
    return {r.name for r in RULES if r.kind in enum_kinds and _concerns_routes(r) and _article(r.index) in articles}


@given(situations)
def test_defence_refusals_cite_book_iii_only(s: dict) -> None:  # type: ignore[type-arg]
    """A route of Livre Ier is displaced for a défense contract, not refused: `why_not` cites Livre III (or a temporary text)."""
    d = _decide(s)
    for status in d.statuses:
        if status.enum in ("procédure", "publicité"):
            leaked = {a for a in map(_article, status.refused) if a not in BOOK_III and not a.startswith(tuple(TEMPORARY_TEXTS))}
            assert not leaked, f"{status.member} : non autorisé, conditions de {sorted(leaked)} (livre Ier) citées pour un marché de défense"
            leaked = {a for a in map(_article, status.unencoded) if a not in BOOK_III}
            assert not leaked, f"{status.member} : non encodé selon {sorted(leaked)} (livre Ier) pour un marché de défense"


CIVIL_BUYERS = [{"type_acheteur": t} for t in ("commune", "département", "région", "epci", "établissement_public_local", "établissement_public_de_santé",
                                               "office_public_de_l_habitat", "sem", "organisme_privé_pouvoir_adjudicateur", "collectivité_opérateur_de_réseau",
                                               "entreprise_opérateur_de_réseau")]
CIVIL_BUYERS += [{"acheteur": a} for a in ("autorité_centrale", "autre_pouvoir_adjudicateur", "entité_adjudicatrice")]
CIVIL_BUYERS += [{"type_acheteur": t, "marché_de_défense_ou_de_sécurité": False}
                 for t in ("état_administration_centrale", "établissement_public_national_administratif", "établissement_public_national_industriel_commercial")]

civil_situations = situations.flatmap(lambda s: st.sampled_from(CIVIL_BUYERS).map(lambda who: {**s, "who": who}))


@given(civil_situations)
def test_a_civil_buyer_never_sees_book_iii(s: dict) -> None:  # type: ignore[type-arg]
    """Livre III concerns défense contracts only (L1113-1): for any other buyer its rules are neither met nor refused
    nor pending — no conclusion (of any enumeration) cites them, in the text report or in the JSON `why_not`."""
    d = _decide(s)
    for status in d.statuses:
        for kind, rules in (("fondement", status.grounds), ("en attente", status.pending), ("refus", status.refused), ("non encodé", status.unencoded)):
            leaked = {a for a in map(_article, rules) if a in BOOK_III}
            assert not leaked, f"{status.enum} {status.member} ({kind}) : {sorted(leaked)} (livre III) pour {s['who']}"
    assert d.value("régime_de_passation") == "livre_ier"


def test_every_book_iii_route_is_displaced_for_a_civil_buyer() -> None:
    """A Livre III rule added later must join the exception of `régime_livre_ier` (or a civil buyer would see it refused)."""
    book_iii = _rules_named(("permit", "forbid", "oblige"), BOOK_III)  # its `non encodé` rules are conditioned on défense
    displaced = {RULES[e].name for e in next(r for r in RULES if r.name == "régime_livre_ier").exceptions}
    assert book_iii and book_iii <= displaced, sorted(book_iii - displaced)
    book_i = _rules_named(("permit", "forbid", "oblige", "unencoded"), {a.ref for a in ARTICLES} - BOOK_III) - {r.name for r in RULES if _article(r.index).startswith(tuple(TEMPORARY_TEXTS))}
    displaced_i = {RULES[e].name for e in next(r for r in RULES if r.name == "livre_iii_écarte_livre_ier").exceptions}
    assert book_i <= displaced_i, sorted(book_i - displaced_i)


def test_the_decp_mapa_lot_record_cites_only_book_i() -> None:
    """The DECP audit's « non autorisé » record (a 110 237 € supplies lot of a 669 655 € allotted contract, 2024, MAPA):
    refused by R2123-1 alone (not a small lot: ≥ 80 000 €), no Livre III article among the failed conditions."""
    d = RB.decide({"type_acheteur": "établissement_public_local", "nature": "fournitures", "valeur_estimée_besoin": "669655", "examen_d_un_lot": True,
                   "valeur_lot": "110237", "lots": [{"valeur": "110237", "petit_lot": True}, {"valeur": "559418", "petit_lot": False}],
                   "procédure_retenue": "procédure_adaptée"}, at="2024-05-21")
    s = d.status("procédure", "procédure_adaptée")
    assert s is not None and s.permission == "not_allowed"
    assert sorted({_article(r) for r in s.refused}) == ["R2123-1"]
    c = next(c for c in d.to_json()["conclusions"] if c["enum"] == "procédure" and c["member"] == "procédure_adaptée")
    assert c["why_not"] and all("R23" not in str(w) for w in c["why_not"])


# ---- The seven examples at the top of issue 9, each with its legally right answer (docs/rulebook/ccp.md).
def _perm(d, member: str) -> str | None:  # type: ignore[no-untyped-def]
    s = d.status("procédure", member)
    return s.permission if s else None


def test_issue_9_example_1_defence_buyer_routes() -> None:
    """Défense above its threshold: the open appel d'offres is forbidden (R2324-2), the restricted one and the negotiated
    procedure are allowed; below R2322-14's amount the direct award is allowed (not « non autorisé »)."""
    above = RB.decide({"acheteur": "défense_sécurité", "nature": "fournitures", "valeur_estimée_besoin": "500000"}, at="2025-03-01")
    assert (_perm(above, "appel_d_offres_ouvert"), _perm(above, "appel_d_offres_restreint"), _perm(above, "procédure_avec_négociation")) == ("forbidden", "allowed", "allowed")
    assert _perm(above, "procédure_adaptée") == "not_allowed"
    low = RB.decide({"acheteur": "défense_sécurité", "nature": "fournitures", "valeur_estimée_besoin": "99999.99"}, at="2025-03-01")
    assert _perm(low, "sans_publicité_ni_mise_en_concurrence") == "allowed"
    assert {_article(r) for r in low.status("procédure", "sans_publicité_ni_mise_en_concurrence").grounds} == {"R2322-14"}  # type: ignore[union-attr]
    at_threshold = RB.decide({"acheteur": "défense_sécurité", "nature": "fournitures", "valeur_estimée_besoin": "100000"}, at="2025-03-01")
    assert _perm(at_threshold, "sans_publicité_ni_mise_en_concurrence") == "not_allowed"


def test_issue_9_example_2_project_management_needs_a_design_contest() -> None:
    """Maîtrise d'œuvre of a new building above the threshold (R2172-2): concours, not an appel d'offres."""
    d = RB.decide({"type_acheteur": "commune", "nature": "services", "valeur_estimée_besoin": "300000", "maîtrise_d_œuvre": True,
                   "objet_maîtrise_d_œuvre": "construction_neuve"}, at="2025-03-01")
    assert _perm(d, "concours") == "allowed"
    assert _perm(d, "appel_d_offres") in ("forbidden", "not_allowed") and _perm(d, "appel_d_offres_ouvert") in ("forbidden", "not_allowed")


def test_issue_9_example_3_regular_need_counts_its_renewals() -> None:
    """60 000 € a year renewable three times (R2121-1, R2121-7): 240 000 €, formalised procedure, BOAMP and JOUE."""
    d = RB.decide({"acheteur": "autre_pouvoir_adjudicateur", "acheteur_état_ou_collectivité": True, "nature": "services", "montant_de_base": "60000",
                   "montant_options": "0", "montant_reconductions": "180000", "primes_candidats": "0", "besoin_régulier": True, "montant_douze_mois": "60000",
                   "accord_cadre": False, "lots": [], "procédure_retenue": "appel_d_offres"}, at="2025-03-01")
    assert d.value("valeur_estimée") == Decimal("240000")
    assert _perm(d, "procédure_adaptée") == "not_allowed"
    assert d.status("publicité", "boamp_et_joue").obligation == "mandatory"  # type: ignore[union-attr]


def test_issue_9_example_4_mapa_above_the_threshold_is_never_silent() -> None:
    """Social services at 300 000 € in MAPA (2025): the publicity is undetermined with its reason, never « non obligatoire » everywhere."""
    d = RB.decide({"acheteur": "autre_pouvoir_adjudicateur", "acheteur_état_ou_collectivité": True, "nature": "services", "valeur_estimée_besoin": "300000",
                   "services_sociaux_spécifiques": True, "procédure_retenue": "procédure_adaptée"}, at="2025-03-01")
    pub = [s for s in d.statuses if s.enum == "publicité"]
    assert pub and all(s.obligation == "undetermined" and s.unencoded for s in pub)


def test_issue_9_example_5_no_award_criterion_without_competition() -> None:
    """A 5 000 € direct award (R2122-8) after 2026-08-21: no tenders to compare, no criterion obligation (R2152-7, L2152-7)."""
    d = RB.decide({"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "5000", "procédure_retenue": "sans_publicité_ni_mise_en_concurrence"},
                  at="2026-09-15")
    assert d.status("formalité_responsable", "critère_environnemental").obligation != "mandatory"  # type: ignore[union-attr]
    assert d.status("mode_attribution", "critère_prix_unique").permission != "forbidden"  # type: ignore[union-attr]
    mapa = RB.decide({"type_acheteur": "commune", "nature": "fournitures", "valeur_estimée_besoin": "5000", "procédure_retenue": "procédure_adaptée"}, at="2026-09-15")
    assert mapa.status("formalité_responsable", "critère_environnemental").obligation == "mandatory"  # type: ignore[union-attr]


def test_issue_9_example_6_innovative_purchase_that_is_not_a_lot() -> None:
    """An innovative purchase of 90 000 € that is not a lot: R2122-9-1 answers without asking for lot facts."""
    d = RB.decide({"type_acheteur": "commune", "nature": "services", "valeur_estimée_besoin": "90000", "achat_innovant": True}, at="2025-03-01", presumptions=False)
    s = d.status("procédure", "sans_publicité_ni_mise_en_concurrence")
    assert s is not None and s.permission == "allowed" and "R2122-9-1" in {_article(r) for r in s.grounds}


def test_issue_9_example_7_a_proportion_above_100_percent_is_refused() -> None:
    with pytest.raises(CpcError) as e:
        RB.decide({"type_acheteur": "commune", "nature": "services", "valeur_estimée_besoin": "90000", "proportion_travailleurs_protégés": "120"}, at="2025-03-01")
    assert [x.code for x in e.value.diagnostics] == ["E411"]


# Information lines a défense contract may show from outside Livre III: the SPASER and the national plan concern the
# buyer's whole purchasing (L2111-3), not one contract's regime; the hours of an insertion clause are a usage, not a
# rule of the code; R2162-4 (framework maximum) is read for every framework agreement, its Livre III counterpart is
# « à confirmer » (docs/research/legal-verification.md, point 15).
BUYER_LEVEL_INFORMATION = {"spaser_publication", "pnad_objectifs", "heures_insertion_pratique", "accord_cadre_maximum_obligatoire"}


@given(situations, st.fixed_dictionaries({}, optional={
    "réservation_envisagée": st.sampled_from(["réservation_handicap", "réservation_insertion", "réservation_pénitentiaire", "réservation_ess"]),
    "clause_insertion_envisagée": st.booleans(),
    "offres_irrégulières_après_appel_d_offres": st.booleans(),
    "objet_maîtrise_d_œuvre": st.sampled_from(["construction_neuve", "ouvrage_expérimental", "ouvrage_d_infrastructure"]),
}))
def test_defence_information_comes_from_book_iii_or_the_buyer(s: dict, extra: dict) -> None:  # type: ignore[type-arg]
    """A défense contract is told nothing from Livre Ier about its procedure, clauses, criteria or reservation (R2122-9-1's
    duties, R2152-7's criteria, L2112-2's clauses, R2172-2's exceptions): those are set aside or not encoded for it."""
    d = _decide(s, extra)
    told = {RULES[i].name for i, _ in d.information if _article(i) not in BOOK_III and not _article(i).startswith(tuple(TEMPORARY_TEXTS))}
    assert told <= BUYER_LEVEL_INFORMATION, sorted(told - BUYER_LEVEL_INFORMATION)
