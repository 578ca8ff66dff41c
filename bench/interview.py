"""How many questions until procedures and publicity are settled: the interview's order against a naive one.

    PYTHONPATH=src python bench/interview.py            # 100 random + 100 realistic starts (DECP), seed 2026
    PYTHONPATH=src python bench/interview.py --n 30     # fewer

A *start* is what a buyer knows first: who buys (`type_acheteur`, as the buyer says it), nature,
estimated value, date. Behind it a
*truth* gives every other fact (rare exceptions true 5 % of the time, the procedure the buyer
retains among those the law allows it, the rest drawn at random); a simulated buyer answers
each question from the truth. Counted: the questions asked until no conclusion on procedures
and publicity is undetermined (deciding strictly; conclusions the rulebook declares not
encoded cannot be settled and are not waited for).

* interview: `Interview(…, focus=("procédure", "publicité")).next()` — ranked, rare
  exceptions as one checklist (one question);
* naive: the facts an undetermined conclusion lacks, asked one by one in the rulebook's
  order of declaration (as docassemble asks the first undefined variable it meets).

Realistic starts come from the real DECP records in ../shared/data/decp (nature from the CPV
code, who buys from the SIREN prefix, value and notification date as
published); nothing is timed. Goal (issue 10): ≤ 6 questions for 90 % of starts, fewer
than naive on average.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import random
import statistics
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpc_rules import default_rulebook
from cpc_rules.interview import Interview, not_encoded, undetermined

FOCUS = ("procédure", "publicité")
MAX_QUESTIONS = 60
DECP = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "decp" / "decp_flat_v1v2.csv.gz"


def truth(rb: Any, start: dict[str, Any], at: dt.date, rng: random.Random, retained: str | None) -> dict[str, Any]:
    """Every fact: the start, rare exceptions mostly false, the rest drawn; the procedure retained is one the law allows."""
    c = rb.checked
    t: dict[str, Any] = dict(start)
    if "type_acheteur" not in t:  # who buys, consistent with the category when only that is known
        t["type_acheteur"] = rng.choice(TYPES.get(t.get("acheteur"), c.enums["qualité_acheteur"].members))
        if t.get("acheteur") in ("autorité_centrale", "défense_sécurité"):
            t["marché_de_défense_ou_de_sécurité"] = t["acheteur"] == "défense_sécurité"
    for f in c.facts:
        if f.name in t or f.name == "procédure_retenue" or f.name in DERIVED:
            continue
        k = f.type.kind
        if k == "bool":
            t[f.name] = rng.random() < (0.05 if f.name in RARE else 0.5)
        elif k == "enum":
            t[f.name] = rng.choice(c.enums[f.type.name].members)
        elif k == "money":
            t[f.name] = str(Decimal(int(10 ** rng.uniform(3, 6.5))))
        elif k == "percent":
            t[f.name] = str(rng.randrange(0, 101))
        elif k == "int":
            t[f.name] = rng.randrange(1, 60)
        elif k == "date":
            t[f.name] = (at + dt.timedelta(days=rng.randrange(30, 400))).isoformat()
        elif k == "list":
            t[f.name] = []
    t["examen_d_un_lot"] = False  # the decision is on the whole purchase (its lots are in its value)
    t.pop("valeur_lot", None)
    for name in ("montant_de_base", "montant_options", "montant_reconductions", "primes_candidats", "montant_douze_mois", "montant_maximum_accord_cadre"):
        t.pop(name, None)  # the parts of a value the buyer gave as a total: never asked
    d = _decide_consistent(rb, t, at)
    allowed = [s.member for s in d.statuses if s.enum == "procédure" and s.permission == "allowed"]
    t["procédure_retenue"] = retained if retained in allowed else (rng.choice(allowed) if allowed else "appel_d_offres")
    return t


def _decide_consistent(rb: Any, t: dict[str, Any], at: dt.date) -> Any:
    """Decide the truth; a declared fact drawn against what the rulebook derives (E402: `soumis_au_livre_iv` given
    false for a commune) is dropped from the truth (the buyer would not contradict the law on it)."""
    from cpc_rules.engine.runtime import EvaluationError
    from cpc_rules.ir import FactRef

    c = rb.checked
    declared = [c.facts[r.value.index].name for r in c.rules if r.define is not None and r.condition is None and isinstance(r.value, FactRef)]
    while True:
        try:
            return rb.decide(t, at, presumptions=False) if _has_presumptions(rb) else rb.decide(t, at)
        except EvaluationError:
            drop = next((f for f in declared if f in t), None)
            if drop is None:
                raise
            t.pop(drop)


def _has_presumptions(rb: Any) -> bool:
    import inspect

    return "presumptions" in inspect.signature(rb.decide).parameters


RARE: set[str] = set()
DERIVED = ("acheteur", "acheteur_état_ou_collectivité")  # derived from type_acheteur: drawn, they could contradict it
TYPES = {  # the types of buyer of each category (00-prologue.cpc)
    "autorité_centrale": ["état_administration_centrale", "état_service_déconcentré", "établissement_public_national_listé"],
    "défense_sécurité": ["état_administration_centrale", "état_service_déconcentré"],
    "autre_pouvoir_adjudicateur": ["commune", "département", "région", "epci", "établissement_public_local", "établissement_public_de_santé", "office_public_de_l_habitat", "sem", "organisme_privé_pouvoir_adjudicateur"],
    "entité_adjudicatrice": ["collectivité_opérateur_de_réseau", "entreprise_opérateur_de_réseau"],
}
SIREN_TYPES = {"21": "commune", "22": "département", "23": "région", "24": "epci", "25": "epci", "20": "établissement_public_local", "26": "établissement_public_local", "27": "établissement_public_local", "28": "établissement_public_local"}


def settled(rb: Any, situation: dict[str, Any], at: dt.date) -> bool:
    return not undetermined(rb, situation, at, FOCUS)


def run_interview(rb: Any, start: dict[str, Any], at: dt.date, t: dict[str, Any]) -> int:
    iv = Interview(rb, start, at, FOCUS)
    n = 0
    while not settled(rb, iv.situation, at) and n < MAX_QUESTIONS:
        q = iv.next()
        if q is None:
            break
        n += 1
        iv.answer(q, {f: t[f] for f in q.facts if f in t} or None)
    return n


def run_naive(rb: Any, start: dict[str, Any], at: dt.date, t: dict[str, Any]) -> int:
    situation = dict(start)
    order = [f.name for f in rb.checked.facts]
    skipped: set[str] = set()
    n = 0
    while n < MAX_QUESTIONS:
        d = rb.decide(situation, at, presumptions=False) if _has_presumptions(rb) else rb.decide(situation, at)
        lacking: set[str] = set()
        for s in d.statuses:
            if s.enum in FOCUS and "undetermined" in (s.permission, s.obligation):
                lacking |= {m.split("[", 1)[0].split(".", 1)[0] for m in s.missing}
        todo = [f for f in order if f in lacking and f not in situation and f not in skipped]
        if not todo or settled(rb, situation, at):
            break
        n += 1
        f = todo[0]
        if f in t:
            situation[f] = t[f]
        else:
            skipped.add(f)
    return n


def random_starts(rng: random.Random, n: int, rb: Any) -> list[tuple[dict[str, Any], dt.date, str | None]]:
    c = rb.checked
    out = []
    for _ in range(n):
        at = dt.date(2019, 4, 1) + dt.timedelta(days=rng.randrange((dt.date(2027, 12, 31) - dt.date(2019, 4, 1)).days))
        value = Decimal(int(10 ** rng.uniform(3, 7.3)))
        out.append(
            (
                {
                    "type_acheteur": rng.choice(c.enums["qualité_acheteur"].members),
                    "nature": rng.choice(c.enums["nature_achat"].members),
                    "valeur_estimée_besoin": str(value),
                },
                at,
                None,
            )
        )
    return out


PROCEDURES = {
    "Procédure adaptée": "procédure_adaptée",
    "Appel d'offres ouvert": "appel_d_offres",
    "Appel d'offres restreint": "appel_d_offres",
    "Marché négocié sans publicité ni mise en concurrence préalable": "sans_publicité_ni_mise_en_concurrence",
    "Marché public négocié sans publicité ni mise en concurrence préalable": "sans_publicité_ni_mise_en_concurrence",
    "Procédure concurrentielle avec négociation": "procédure_avec_négociation",
    "Procédure négociée avec mise en concurrence préalable": "procédure_avec_négociation",
    "Dialogue compétitif": "dialogue_compétitif",
}


def decp_starts(rng: random.Random, n: int) -> list[tuple[dict[str, Any], dt.date, str | None]]:
    """Real records: CPV 45 → travaux, under 45 (and 48) → fournitures, else services; who buys from the SIREN prefix
    (1… State service, 21 commune, 22 département, 23 région, 24/25 EPCI or syndicate, 20/26–28 local public body:
    INSEE usage, à confirmer), else only the category « autre pouvoir adjudicateur » (the interview asks who)."""
    if not DECP.exists():
        print(f"(pas de données DECP à {DECP} : départs réalistes ignorés)", file=sys.stderr)
        return []
    rows = []
    with gzip.open(DECP, "rt", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            try:
                value = Decimal(r["montant"])
                at = dt.date.fromisoformat(r["dateNotification"][:10]) - dt.timedelta(days=90)  # launched ~3 months before
                cpv = int(r["codeCPV"][:2])
            except (ValueError, ArithmeticError):
                continue
            if not (dt.date(2019, 4, 1) <= at < dt.date(2028, 1, 1)) or not (0 < value < Decimal("1e9")) or r["nature"] not in ("Marché", "Accord-cadre"):
                continue
            nature = "travaux" if cpv == 45 else "fournitures" if cpv < 45 or cpv == 48 else "services"
            sid = r["acheteur_id"]
            who = {"type_acheteur": "état_service_déconcentré"} if sid.startswith("1") else {"type_acheteur": SIREN_TYPES[sid[:2]]} if sid[:2] in SIREN_TYPES else {"acheteur": "autre_pouvoir_adjudicateur"}
            rows.append(({**who, "nature": nature, "valeur_estimée_besoin": str(value.quantize(Decimal("0.01")))}, at, PROCEDURES.get(r["procedure"])))
    rng.shuffle(rows)
    return rows[:n]


def summary(counts: list[int]) -> str:
    s = sorted(counts)
    p90 = s[min(len(s) - 1, int(0.9 * len(s) + 0.999) - 1)]
    share = sum(1 for c in s if c <= 6) / len(s)
    return f"moyenne {statistics.mean(s):.2f}, p90 {p90}, max {s[-1]}, ≤ 6 questions : {share:.0%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="starts of each kind (random, realistic)")
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rb = default_rulebook()
    RARE.update(f.name for f in rb.checked.facts if f.presumed is not None)
    kinds = {"aléatoires": random_starts(rng, args.n, rb), "réalistes (DECP)": decp_starts(rng, args.n)}
    print(f"questions jusqu'à ce que procédures et publicité soient réglées (seed {args.seed})")
    for kind, starts in kinds.items():
        if not starts:
            continue
        ours, naive, open_ = [], [], 0
        for start, at, retained in starts:
            t = truth(rb, start, at, rng, retained)
            ours.append(run_interview(rb, start, at, t))
            naive.append(run_naive(rb, start, at, t))
            open_ += bool(not_encoded(rb, t, at, FOCUS))
        print(f"départs {kind} ({len(starts)}) :")
        print(f"  entretien (classé, liste à cocher) : {summary(ours)}")
        print(f"  ordre naïf (ordre du recueil)      : {summary(naive)}")
        print(f"  moins de questions que l'ordre naïf : {sum(a < b for a, b in zip(ours, naive, strict=True))}, autant : {sum(a == b for a, b in zip(ours, naive, strict=True))}, plus : {sum(a > b for a, b in zip(ours, naive, strict=True))}")
        print(f"  départs dont une conclusion est déclarée non encodée : {open_}")


if __name__ == "__main__":
    main()
