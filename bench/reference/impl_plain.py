# Copied unchanged from the shared benchmark anchors (bench-anchors/impl_plain.py): the reference
# implementation that bench/reference.py measures cpc-rules against.
"""(a) Hand-written plain Python: the practical lower bound for one evaluation.

decide(buyer_kind, nature, value, innovative, urgent, date)
    -> (allowed: list[str], publicity: str)
decide_traced(...) -> (allowed, publicity, trace: list[str])
"""

from datetime import date

D_2018_12_25 = date(2018, 12, 25)
D_2020_01_01 = date(2020, 1, 1)
D_2022_01_01 = date(2022, 1, 1)
D_2022_12_23 = date(2022, 12, 23)
D_2024_01_01 = date(2024, 1, 1)
D_2024_12_31 = date(2024, 12, 31)
D_2026_01_01 = date(2026, 1, 1)

# EU thresholds per period: {buyer_kind: F/S threshold}, works threshold
EU_2020 = ({"etat": 139_000, "collectivite": 214_000, "entite_adjudicatrice": 428_000}, 5_350_000)
EU_2022 = ({"etat": 140_000, "collectivite": 215_000, "entite_adjudicatrice": 431_000}, 5_382_000)
EU_2024 = ({"etat": 143_000, "collectivite": 221_000, "entite_adjudicatrice": 443_000}, 5_538_000)
EU_2026 = ({"etat": 140_000, "collectivite": 216_000, "entite_adjudicatrice": 432_000}, 5_404_000)


def _eu_threshold(buyer_kind, nature, d):
    if d < D_2022_01_01:
        fs, works = EU_2020
    elif d < D_2024_01_01:
        fs, works = EU_2022
    elif d < D_2026_01_01:
        fs, works = EU_2024
    else:
        fs, works = EU_2026
    return works if nature == "travaux" else fs[buyer_kind]


def _dispense_threshold(nature, d):
    if nature == "travaux" and D_2022_12_23 <= d <= D_2024_12_31:
        return 100_000
    return 25_000 if d < D_2020_01_01 else 40_000


def decide(buyer_kind, nature, value, innovative, urgent, d):
    eu = _eu_threshold(buyer_kind, nature, d)
    by_value = value < _dispense_threshold(nature, d) or (
        innovative and value < 100_000 and d >= D_2018_12_25
    )
    allowed = []
    if by_value or urgent:
        allowed.append("sans_publicite")
    if value < eu:
        allowed.append("mapa")
    allowed.append("appel_offres")
    if urgent or buyer_kind == "entite_adjudicatrice":
        allowed.append("negociee")
    if by_value:
        publicity = "aucune"
    elif value < 90_000:
        publicity = "libre"
    elif value < eu:
        publicity = "boamp_ou_jal"
    else:
        publicity = "boamp_et_joue"
    return allowed, publicity


def decide_traced(buyer_kind, nature, value, innovative, urgent, d):
    trace = []
    eu = _eu_threshold(buyer_kind, nature, d)
    r_dispense = value < _dispense_threshold(nature, d)
    if r_dispense:
        trace.append("sans_publicite.dispense_seuil")
    r_innov = innovative and value < 100_000 and d >= D_2018_12_25
    if r_innov:
        trace.append("sans_publicite.innovation")
    if urgent:
        trace.append("sans_publicite.urgence")
    r_mapa = value < eu
    if r_mapa:
        trace.append("mapa.sous_seuil_ue")
    trace.append("appel_offres.toujours")
    r_ea = buyer_kind == "entite_adjudicatrice"
    if r_ea:
        trace.append("negociee.entite_adjudicatrice")
    if urgent:
        trace.append("negociee.urgence")
    allowed = []
    if r_dispense or r_innov or urgent:
        allowed.append("sans_publicite")
    if r_mapa:
        allowed.append("mapa")
    allowed.append("appel_offres")
    if r_ea or urgent:
        allowed.append("negociee")
    if r_dispense or r_innov:
        publicity = "aucune"
    elif value < 90_000:
        publicity = "libre"
    elif r_mapa:
        publicity = "boamp_ou_jal"
    else:
        publicity = "boamp_et_joue"
    trace.append("publicite." + publicity)
    return allowed, publicity, trace


def run_batch(situations, trace=False):
    """Batch = a loop over Python tuples; returns the list of results."""
    f = decide_traced if trace else decide
    return [f(*s) for s in situations]
