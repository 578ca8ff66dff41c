"""Responsible purchasing as a SPASER reports it (L2111-3), from the considerations DECP v2 records declare.

Per buyer and year: share of contracts, in number and in value, with a social consideration, an
environmental one, and reserved; the national plan's targets beside them as information (policy, not
law); the buyers whose purchases would make a SPASER mandatory (an estimate: DECP amounts are contract
totals, not a year's expenditure); and, from the loi Climat dates the rulebook encodes, the contracts
that declare no environmental consideration although one was owed (leads).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpc_rules.audit.mapping import Contract, fold
from cpc_rules.audit.spill import Rows
from cpc_rules.audit.verdicts import LAUNCH_WINDOW_DAYS

SOCIAL = {"CLAUSE SOCIALE", "CRITERE SOCIAL", "MARCHE RESERVE", "CONCESSION RESERVEE"}
RESERVED = {"MARCHE RESERVE", "CONCESSION RESERVEE"}
ENVIRONMENTAL = {"CLAUSE ENVIRONNEMENTALE", "CRITERE ENVIRONNEMENTAL"}
# Buyer kinds that are territorial authorities or their groupings (L2111-3 before the loi industrie verte);
# for the others the status "fixed by law" is not in the data and stays unknown.
TERRITORIAL = {"commune", "département", "région", "EPCI", "syndicat"}
ENV_DUE = ("condition_exécution_environnementale", "critère_environnemental")


def _share(n: int | Decimal, d: int | Decimal) -> float | None:
    return round(float(Decimal(n) * 100 / Decimal(d)), 1) if d else None


def indicators(contracts: Iterable[Contract]) -> dict[str, Any]:
    """SPASER indicators per buyer and year, and in total per year, over records that carry the considerations."""
    acc = Indicators()
    for c in contracts:
        acc.add(c)
    return acc.result()


class Indicators:
    """`indicators` one contract at a time (`add`): its memory is per buyer and year, a compact cell each.

    A cell is a list of ints (counts, and sums in cents: amounts are quantized to the cent by the
    mapping) with the name and kind of the cell's first contract: about a third of the dicts of
    Decimals it replaced, for the same result (the sums come back as the same Decimals).
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[str, int], list[Any]] = {}
        self.totals: dict[int, list[Any]] = {}

    def add(self, c: Contract) -> None:
        if c.social is None and c.environmental is None or c.year is None:
            return
        soc = {fold(x) for x in c.social or ()}
        env = {fold(x) for x in c.environmental or ()}
        flags = (bool(soc & SOCIAL), bool(env & ENVIRONMENTAL), bool(soc & RESERVED))
        cents = None if c.amount is None else int(c.amount * 100)
        key = (c.buyer_id, c.year)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = [0] * _CELL + [c.buyer_name, c.buyer.kind]
        total = self.totals.get(c.year)
        if total is None:
            total = self.totals[c.year] = [0] * _CELL
        for x in (cell, total):
            x[0] += 1
            if cents is not None:
                x[1] += cents
            for k, on in enumerate(flags):
                if on:
                    x[2 + 2 * k] += 1
                    if cents is not None:
                        x[3 + 2 * k] += cents

    def result(self) -> dict[str, Any]:
        """The rows per buyer and year as spill.Rows, written as they are made (a national file has hundreds
        of thousands: as dicts they were the largest thing an audit held); the rows per year, a list."""
        order = sorted(self.cells, key=lambda k: (k[1], -self.cells[k][0]))
        return {
            "par_acheteur_et_année": Rows.of(_finish(self.cells[k], buyer=k[0], year=k[1]) for k in order),
            "par_année": [_finish(v, year=y) for y, v in sorted(self.totals.items())],
        }


_CELL = 8  # contracts, value, then (count, value) social, environmental, reserved
_KINDS = ("social", "environnemental", "réservé")


def _euros(cents: int) -> Decimal:
    """A sum in cents as the Decimal the sum of the amounts would be (0 when no amount was added)."""
    return Decimal(cents).scaleb(-2) if cents else Decimal(0)


def _finish(v: list[Any], buyer: str | None = None, year: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if buyer is not None:
        out["acheteur"] = buyer
        out["nom"] = v[_CELL]
        out["type"] = v[_CELL + 1]
    out["année"] = year
    out["marchés"] = v[0]
    value = _euros(v[1])
    out["valeur"] = str(value)
    for k, name in enumerate(_KINDS):
        n, part = v[2 + 2 * k], _euros(v[3 + 2 * k])
        out[name] = {
            "nombre": n,
            "valeur": str(part),
            "part_en_nombre": _share(n, v[0]),
            "part_en_valeur": _share(part, value),
        }
    return out


def national_targets(rb: Any, years: list[int]) -> list[dict[str, Any]]:
    """The PNAD's targets as the rulebook states them (an information rule), for the years it is in force."""
    ck = rb.checked
    out = []
    for r in ck.rules:
        if r.kind != "inform" or "PNAD" not in ck.articles[r.article].ref + str(r.label or "") + str(r.text or ""):
            continue
        art = ck.articles[r.article]
        in_force = [y for y in years if any(art.version_at(d) for d in (dt.date(y, 1, 1), dt.date(y, 12, 31)))]
        out.append(
            {"article": art.ref, "texte": str(r.text or ""), "années_concernées": in_force, "nature": "objectifs politiques, pas des obligations juridiques"}
        )
    return out


def spaser_estimate(rb: Any, contracts: Iterable[Contract]) -> Rows:
    """Buyers whose contracts notified in a year sum above the SPASER threshold, as the rulebook decides it (estimate)."""
    acc = Spaser(rb)
    for c in contracts:
        acc.add(c)
    return acc.result()


class Spaser:
    """`spaser_estimate` one contract at a time (`add`): a sum per buyer and year, a name and kind per buyer."""

    def __init__(self, rb: Any) -> None:
        self.rb = rb
        self.sums: dict[tuple[str, int], int] = defaultdict(int)  # in cents (amounts are quantized to the cent)
        self.meta: dict[str, tuple[str, str]] = {}  # buyer → (name, kind) of its first contract

    def add(self, c: Contract) -> None:
        if c.amount is None or c.year is None or not c.buyer_id or c.kind == "concession":
            return
        self.sums[(c.buyer_id, c.year)] += int(c.amount * 100)
        self.meta.setdefault(c.buyer_id, (c.buyer_name, c.buyer.kind))

    def result(self) -> Rows:
        """One question per buyer and year, put to Rulebook.decide_many SPASER_CHUNK at a time (the memory of
        a batch does not grow with the buyers); the full Decision only for a row kept; the rows kept as spill.Rows."""
        return Rows.of(self._rows())

    def _rows(self) -> Iterator[dict[str, Any]]:
        rb = self.rb
        enum = _enum_of(rb, "adoption_spaser")
        if not enum:
            return
        rows: list[tuple[Any, ...]] = []
        for buyer, year in sorted(self.sums):  # the keys only: the sums are read one at a time
            cents = self.sums[(buyer, year)]
            at = dt.date(year, 12, 31)
            if not rb.program.in_coverage(at):
                continue
            total = _euros(cents)
            name, kind = self.meta[buyer]
            facts: dict[str, Any] = {"montant_annuel_achats": total}
            if kind in TERRITORIAL:
                facts["collectivité_ou_statut_légal"] = True
            rows.append((buyer, year, total, name, kind, facts, at))
            if len(rows) >= SPASER_CHUNK:
                yield from self._kept(rows, enum)
                rows = []
        if rows:
            yield from self._kept(rows, enum)

    def _kept(self, rows: list[tuple[Any, ...]], enum: str) -> list[dict[str, Any]]:
        rb = self.rb
        answers = rb.decide_many([(r[5], r[6]) for r in rows], focus=enum)
        out = []
        for (buyer, year, total, name, kind, _, _), a in zip(rows, answers, strict=True):
            st = a.status(enum, "adoption_spaser", missing=False) if a.ok else None
            if st is None or st.obligation not in ("mandatory", "undetermined"):
                continue
            d = a.decision()
            out.append(
                {
                    "acheteur": buyer,
                    "nom": name,
                    "type": kind,
                    "année": year,
                    "montant_des_marchés_notifiés": str(total),
                    "spaser": "obligatoire (estimation)" if st.obligation == "mandatory" else "indéterminé (statut de l'acheteur inconnu)",
                    "fondement": [rb.checked.articles[rb.checked.rules[r].article].ref for r in st.grounds],
                    "à_confirmer": [x for r in st.grounds for x in d.to_confirm(r)],
                    "estimation": "somme des montants des marchés notifiés dans l'année (montants totaux, pluriannuels), pas la dépense de l'année : à confirmer sur les comptes de l'acheteur",
                }
            )
        return out


SPASER_CHUNK = 4096  # buyer-years decided together


def _enum_of(rb: Any, member: str) -> str:
    """The enumeration that holds a member (the rulebook may move it: read it, do not hard-code it)."""
    for r in rb.checked.rules:
        if member in r.values and r.enum:
            return str(r.enum)
    return ""


def climate_leads(rb: Any, contracts: Iterable[Contract]) -> list[dict[str, Any]]:
    """Contracts that declare no environmental consideration where the rulebook makes one mandatory (loi Climat)."""
    return [lead for c in contracts if (lead := climate_lead(rb, c)) is not None]


LEADS_KEPT = 1000  # loi Climat leads the summary holds; all of them go to a JSON Lines file beside it


class Leads:
    """The loi Climat leads as they come: the first LEADS_KEPT kept for the summary, every one written
    to `path` (JSON Lines) when given: a national file may have a lead per record, the memory does not."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.kept: list[dict[str, Any]] = []
        self.count = 0
        self._sink: Any = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115 - closed by close()

    def add(self, lead: dict[str, Any] | None) -> None:
        if lead is None:
            return
        self.count += 1
        if len(self.kept) < LEADS_KEPT:
            self.kept.append(lead)
        if self._sink:
            self._sink.write(json.dumps(lead, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._sink:
            self._sink.close()
            self._sink = None

    def result(self) -> dict[str, Any]:
        out: dict[str, Any] = {"loi_climat": self.kept, "loi_climat_nombre": self.count}
        if self.path is not None:
            out["loi_climat_fichier"] = self.path.name
        return out


def climate_lead(rb: Any, c: Contract) -> dict[str, Any] | None:
    """The lead of one contract, or None (see climate_leads).

    At most one decision per record: none when no loi Climat rule is in force at the notification
    (what every record before 21 August 2026 is), and the one decision at the notification date
    serves both to tell whether a consideration was owed and for the readings « à confirmer ». The
    launch date presumed earliest is decided only when the law differs between it and the
    notification and a loi Climat rule is in force at it (the same answers as asking every date,
    tested against that reference in tests/test_audit.py).
    """
    if c.environmental is None or c.date is None or c.kind != "marché" or not rb.program.in_coverage(c.date):
        return None
    env = {fold(x) for x in c.environmental}
    if env & ENVIRONMENTAL:
        return None
    rules = _climate_rules(rb)
    if not _in_force(rb, rules, c.date):
        return None  # no such rule applies before its entry into force: nothing was owed
    facts: dict[str, Any] = {}
    if c.buyer.category:
        facts["acheteur"] = c.buyer.category
    if c.nature:
        facts["nature"] = c.nature
    if c.amount is not None:
        facts["valeur_estimée_besoin"] = str(c.amount)
    d = rb.decide(facts, c.date)
    if not _env_due(rules, d):
        return None
    early = c.date - dt.timedelta(days=LAUNCH_WINDOW_DAYS)
    certain = rb.program.in_coverage(early) and _in_force(rb, rules, early)
    if certain and _law_differs(rb, early, c.date):
        certain = bool(_env_due(rules, rb.decide(facts, early)))
    confirm: list[str] = []
    refs: list[str] = []
    for r in rules:
        if d.activations and d.activations[r.index] is not False:
            refs.append(rb.checked.articles[r.article].ref)
            confirm += d.to_confirm(r.index)
    if not certain:
        confirm.append(
            f"consultation peut-être lancée avant l'entrée en vigueur (notifié le {c.date.isoformat()}, lancement présumé au plus tôt le {early.isoformat()})"
        )
    return {
        "enregistrement": c.rid,
        "acheteur": c.buyer_id,
        "nom": c.buyer_name,
        "date_notification": c.date.isoformat(),
        "montant": str(c.amount) if c.amount is not None else None,
        "piste": "considération environnementale obligatoire (L2112-2, L2152-7) non déclarée",
        "fondement": list(dict.fromkeys(refs)),
        "à_confirmer": list(dict.fromkeys(confirm)),
    }


CLIMATE_RULES = ("condition_environnementale_obligatoire", "critère_environnemental_obligatoire", "critère_environnemental_législatif")


def _climate_rules(rb: Any) -> list[Any]:
    """The loi Climat rules of the rulebook, in its order."""
    return [r for r in rb.checked.rules if r.name in CLIMATE_RULES]


def _in_force(rb: Any, rules: list[Any], at: dt.date) -> bool:
    """Whether one of these rules is in force at this date (a rule out of force never applies)."""
    active = rb.program.at(at).active
    return any(active[r.index] for r in rules)


def _law_differs(rb: Any, a: dt.date, b: dt.date) -> bool:
    """Whether the rules in force or the parameters differ between two dates (else a decision is the same at both)."""
    x, y = rb.program.at(a), rb.program.at(b)
    return x.params != y.params or x.active != y.active


def _env_due(rules: list[Any], d: Any) -> list[str]:
    """The loi Climat environmental obligations a decision says apply (or would, whatever the buyer's category)."""
    a = d.activations
    out: list[str] = []
    for r in rules:
        if not a:
            continue
        v = a[r.index]
        if v is True or (v is not False and set(getattr(v, "missing", ())) <= {"acheteur"}):
            out += [m for m in r.values if m not in out]
    return out
