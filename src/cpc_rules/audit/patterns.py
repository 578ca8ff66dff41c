"""Patterns no single decision shows: amounts bunched under a threshold, needs possibly split (R2121-4).

These are leads to check, never verdicts: a buyer may have many small needs that are truly distinct,
and a density just under a threshold is a statistic, not a breach. The thresholds are the rulebook's,
read at each contract's date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from cpc_rules.audit.mapping import Contract

BAND = Decimal("0.10")  # "just below / just above": within 10 % of the threshold
HIST_LOW, HIST_HIGH, HIST_STEP = Decimal("0.5"), Decimal("1.5"), Decimal("0.05")  # histogram of amount / threshold
BUNCHING_MIN = 10  # at least this many contracts just below before comparing densities
BUNCHING_RATIO = 2  # a lead when just-below is at least twice just-above


def thresholds(rb: Any, c: Contract) -> list[tuple[str, str, Decimal]]:
    """(family, label, amount) of the thresholds that apply to this contract at its date."""
    if c.date is None or c.nature is None or not rb.program.in_coverage(c.date):
        return []
    ck, at = rb.checked, rb.program.at(c.date)
    out: list[tuple[str, str, Decimal]] = []
    for i, p in enumerate(ck.params):
        v = at.params[i]
        if v is None:
            continue
        if p.name == "seuil_dispense":
            out.append(("dispense", "Dispense de procédure (R2122-8)", v.get((c.nature,))))
        elif p.name == "seuil_publicité_boamp_jal":
            out.append(("boamp_jal", "Avis BOAMP ou JAL (R2131-12)", v))
        elif p.name == "seuil_procédure_formalisée" and c.buyer.category:
            out.append(("formalisée", "Procédure formalisée (seuil européen)", v.get((c.buyer.category, c.nature))))
    return [(f, lab, a) for f, lab, a in out if isinstance(a, Decimal)]


def _fmt(d: Decimal) -> str:
    return f"{int(d):,}".replace(",", " ") + " €"


def bunching(rb: Any, contracts: Iterable[Contract]) -> dict[str, Any]:
    """Per threshold (family and amount): contracts just below vs just above, and a histogram of amount / threshold."""
    acc = Bunching(rb)
    for c in contracts:
        acc.add(c)
    return acc.result()


class Bunching:
    """`bunching` one contract at a time (`add`), for a stream: its memory is per threshold, not per contract."""

    def __init__(self, rb: Any) -> None:
        self.rb = rb
        self.cells: dict[tuple[str, str, Decimal], dict[str, Any]] = {}
        self.hist: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, c: Contract) -> None:
        if c.amount is None:
            return
        for fam, label, t in thresholds(self.rb, c):
            cell = self.cells.setdefault(
                (fam, label, t),
                {
                    "famille": fam,
                    "seuil": label,
                    "montant_seuil": str(t),
                    "juste_en_dessous": 0,
                    "juste_au_dessus": 0,
                    "acheteurs_en_dessous": defaultdict(int),
                },
            )
            r = c.amount / t
            if 1 - BAND <= r < 1:
                cell["juste_en_dessous"] += 1
                cell["acheteurs_en_dessous"][c.buyer_id] += 1
            elif 1 <= r < 1 + BAND:
                cell["juste_au_dessus"] += 1
            if HIST_LOW <= r < HIST_HIGH:
                self.hist[fam][int((r - HIST_LOW) / HIST_STEP)] += 1

    def result(self) -> dict[str, Any]:
        rows = []
        for (fam, label, t), cell in sorted(self.cells.items(), key=lambda kv: (kv[0][0], kv[0][2])):
            cell = dict(cell)
            below, above = cell["juste_en_dessous"], cell["juste_au_dessus"]
            buyers = sorted(cell.pop("acheteurs_en_dessous").items(), key=lambda kv: -kv[1])
            cell["ratio"] = round(below / above, 2) if above else None
            cell["piste"] = below >= BUNCHING_MIN and (above == 0 or below >= BUNCHING_RATIO * above)
            cell["acheteurs_les_plus_concernés"] = [{"acheteur": b, "juste_en_dessous": n} for b, n in buyers[:5] if n >= 3]
            cell["libellé"] = f"{label} : {_fmt(t)}"
            rows.append(cell)
        bins = int((HIST_HIGH - HIST_LOW) / HIST_STEP)
        histogram = {fam: [h.get(i, 0) for i in range(bins)] for fam, h in self.hist.items()}
        return {
            "bande": f"{int(BAND * 100)} % de part et d'autre du seuil",
            "seuils": rows,
            "histogramme": {"de": str(HIST_LOW), "à": str(HIST_HIGH), "pas": str(HIST_STEP), "effectifs": histogram},
        }


def splitting(rb: Any, contracts: Iterable[Contract]) -> list[dict[str, Any]]:
    """R2121-4 leads: one buyer, one CPV group (3 digits), one year, one nature, several contracts each under a
    threshold whose sum reaches it. Dispense: contracts passed without publicity; formalised: MAPA contracts."""
    acc = Splitting(rb)
    for c in contracts:
        acc.add(c)
    return acc.result()


class Splitting:
    """`splitting` one contract at a time (`add`): per group, its count, total, first records and a name."""

    def __init__(self, rb: Any) -> None:
        self.rb = rb
        self.groups: dict[tuple[Any, ...], list[Any]] = {}  # key → [count, total, first 20 rids, name]
        self.seen_lots: set[tuple[Any, ...]] = set()

    def add(self, c: Contract) -> None:
        if c.amount is None or c.date is None or not c.cpv or c.nature is None or not c.buyer_id:
            return
        if c.lot is not None and c.group_size > 1:
            key = (c.buyer_id, c.lot[0], c.date)
            if key in self.seen_lots:
                return  # linked lots are one operation, already valued together
            self.seen_lots.add(key)
        for fam, label, t in thresholds(self.rb, c):
            if fam == "dispense" and c.procedure == "sans_publicité_ni_mise_en_concurrence" or fam == "formalisée" and c.procedure == "procédure_adaptée":
                amount = c.group_total if c.lot is not None and c.group_size > 1 and c.group_total is not None else c.amount
                if amount < t:
                    g = self.groups.setdefault((fam, label, t, c.buyer_id, c.cpv[:3], c.date.year, c.nature), [0, Decimal(0), [], ""])
                    g[0] += 1
                    g[1] += amount
                    if len(g[2]) < 20:
                        g[2].append(c.rid)
                    if not g[3] and c.buyer_name:
                        g[3] = c.buyer_name

    def result(self) -> list[dict[str, Any]]:
        leads = []
        for (fam, label, t, buyer, cpv3, year, nature), (n, total, rids, name) in self.groups.items():
            if n >= 2 and total >= t:
                leads.append(
                    {
                        "piste": "fractionnement possible (R2121-4)",
                        "seuil": f"{label} : {_fmt(t)}",
                        "acheteur": buyer,
                        "nom": name,
                        "groupe_cpv": cpv3,
                        "année": year,
                        "nature": nature,
                        "marchés": n,
                        "total": str(total),
                        "enregistrements": list(rids),
                        "motif": f"{n} marchés de moins de {_fmt(t)} (même acheteur, groupe CPV {cpv3}, {year}) totalisent {_fmt(total)} : besoin à vérifier (R2121-4, R2121-5 à R2121-7)",
                    }
                )
        leads.sort(key=lambda x: -Decimal(x["total"]))
        return leads
