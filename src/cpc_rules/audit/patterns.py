"""Patterns no single decision shows: amounts bunched under a threshold, needs possibly split (R2121-4).

These are leads to check, never verdicts: a buyer may have many small needs that are truly distinct,
and a density just under a threshold is a statistic, not a breach. The thresholds are the rulebook's,
read at each contract's date.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpc_rules.audit.mapping import Contract
from cpc_rules.audit.spill import Rows

BAND = Decimal("0.10")  # "just below / just above": within 10 % of the threshold
HIST_LOW, HIST_HIGH, HIST_STEP = Decimal("0.5"), Decimal("1.5"), Decimal("0.05")  # histogram of amount / threshold
BUNCHING_MIN = 10  # at least this many contracts just below before comparing densities
BUNCHING_RATIO = 2  # a lead when just-below is at least twice just-above
GROUP_CACHE = 10_000  # splitting groups remembered as already written (beyond, the table's key says it)


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


def splitting(rb: Any, contracts: Iterable[Contract]) -> Rows:
    """R2121-4 leads: one buyer, one CPV group (3 digits), one year, one nature, several contracts each under a
    threshold whose sum reaches it. Dispense: contracts passed without publicity; formalised: MAPA contracts."""
    acc = Splitting(rb)
    try:
        for c in contracts:
            acc.add(c)
        return acc.result()
    finally:
        acc.close()


class Splitting:
    """`splitting` one contract at a time (`add`), for a stream: each contract under a threshold is a row
    of a spill.Store on disk (its group's digest, amount in cents, id, buyer name), summed per group
    in SQL by `result`; memory does not grow with the contracts. `close()` deletes a store it made."""

    def __init__(self, rb: Any, store: Any = None) -> None:
        from cpc_rules.audit.spill import Store

        self.rb = rb
        self._own = store is None
        self.store = store if store is not None else Store()
        self.store.table("split_rows", "gk BLOB, seq INTEGER, cents INTEGER, rid TEXT, name TEXT")
        self.store.execute(
            "CREATE TABLE split_groups (gk BLOB PRIMARY KEY, fam TEXT, label TEXT, t TEXT, tc INTEGER, buyer TEXT, cpv3 TEXT, year INTEGER, nature TEXT)"
        )
        self.store.execute("CREATE TABLE split_seen_lots (g BLOB PRIMARY KEY)")
        self._groups: set[bytes] = set()  # group digests already written, for the current batch only
        self.seq = 0

    def add(self, c: Contract) -> None:
        from cpc_rules.audit.mapping import _digest

        if c.amount is None or c.date is None or not c.cpv or c.nature is None or not c.buyer_id:
            return
        if c.lot is not None and c.group_size > 1:
            seen = self.store.execute("INSERT OR IGNORE INTO split_seen_lots VALUES (?)", (_digest((c.buyer_id, c.lot[0], c.date)),))
            if seen.rowcount == 0:
                return  # linked lots are one operation, already valued together
        for fam, label, t in thresholds(self.rb, c):
            if fam == "dispense" and c.procedure == "sans_publicité_ni_mise_en_concurrence" or fam == "formalisée" and c.procedure == "procédure_adaptée":
                amount = c.group_total if c.lot is not None and c.group_size > 1 and c.group_total is not None else c.amount
                if amount < t:
                    key = (fam, label, t, c.buyer_id, c.cpv[:3], c.date.year, c.nature)
                    gk = _digest(key)
                    if gk not in self._groups:
                        if len(self._groups) > GROUP_CACHE:  # a cache, not a record of every group (the table's key is)
                            self._groups.clear()
                        self._groups.add(gk)
                        tc = math.ceil(t * 100)  # a sum in cents reaches t exactly when it reaches this
                        self.store.execute("INSERT OR IGNORE INTO split_groups VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (gk, fam, label, str(t), tc, *key[3:]))
                    self.store.add("split_rows", (gk, self.seq, int(amount * 100), c.rid, c.buyer_name))
                    self.seq += 1

    def result(self, where: str | Path | None = None) -> Rows:
        """The leads, the largest total first (ties: in the order their groups were met), as spill.Rows:
        selected, summed and sorted by sqlite, written a lead at a time: none is held in memory."""
        db = self.store
        db.flush("split_rows")
        db.execute("CREATE INDEX IF NOT EXISTS split_rows_gk ON split_rows (gk, seq)")
        leads = Rows(where)
        try:
            for gk, n, cents, label, t, buyer, cpv3, year, nature in db.rows(
                "SELECT s.gk, s.n, s.cents, g.label, g.t, g.buyer, g.cpv3, g.year, g.nature FROM "
                "(SELECT gk, COUNT(*) AS n, SUM(cents) AS cents, MIN(seq) AS first FROM split_rows GROUP BY gk HAVING COUNT(*) >= 2) s "
                "JOIN split_groups g ON g.gk = s.gk WHERE s.cents >= g.tc ORDER BY s.cents DESC, s.first"
            ):
                total, t = Decimal(cents).scaleb(-2), Decimal(t)
                rids = [r for (r,) in db.execute("SELECT rid FROM split_rows WHERE gk = ? ORDER BY seq LIMIT 20", (gk,))]
                named = db.execute("SELECT name FROM split_rows WHERE gk = ? AND name != '' ORDER BY seq LIMIT 1", (gk,)).fetchone()
                leads.append(
                    {
                        "piste": "fractionnement possible (R2121-4)",
                        "seuil": f"{label} : {_fmt(t)}",
                        "acheteur": buyer,
                        "nom": named[0] if named else "",
                        "groupe_cpv": cpv3,
                        "année": year,
                        "nature": nature,
                        "marchés": n,
                        "total": str(total),
                        "enregistrements": rids,
                        "motif": f"{n} marchés de moins de {_fmt(t)} (même acheteur, groupe CPV {cpv3}, {year}) totalisent {_fmt(total)} : besoin à vérifier (R2121-4, R2121-5 à R2121-7)",
                    }
                )
        except BaseException:
            leads.discard()
            raise
        return leads.seal()

    def close(self) -> None:
        if self._own:
            self.store.close()
