"""The audit's throughput and memory (bench/README.md, section "Audit"; docs/audit.md).

    PYTHONPATH=src python bench/audit.py sample  [DATA…] [--jobs 1 2]      # the shared DECP sample
    PYTHONPATH=src python bench/audit.py million [--n 1000000]             # decisions/s, procédure + publicité
    PYTHONPATH=src python bench/audit.py memory  [--sizes 100000 200000] [--tmp DIR]  # peak RSS of `cpc-rules audit`
    PYTHONPATH=src python bench/audit.py memory --leads [--sizes 20000 60000]      # …where every pair of records is a lead

Run from the repository root. Nothing in CI runs this file. The machine is shared: rates are in
CPU time of the process (and its children) unless said, and ratios are taken within one run.

* `sample`: the whole audit (read, map, de-duplicate, link lots, decide, patterns, responsible
  purchasing; no report written) of ../shared/data/decp, through the batch path (`decide_many`,
  one call per round of questions for 4 096 records) and through the one-at-a-time path
  (`Rulebook.decide` per question), and with each `--jobs`; the verdicts of every run must be
  identical (checked here), then records/s and records decided/s.
* `million`: N generated audit-like situations (bench/columns_agreement.audit_like: buyer,
  nature, amount as a Decimal, declared procedure, nine booleans, a date in the coverage) decided
  on the procédure + publicité focus by `Rulebook.decide_many` (100 000 per call), a sample
  one at a time by `Rulebook.decide`; and, on the shared anchors' "procedure choice" decision
  (bench/reference), the hand-written Python function `impl_plain.decide` beside
  `decide_many` on the project's encoding of it, on the same N situations.
* `memory`: generates synthetic DECP 2.0 records as JSON Lines in a temporary folder (never in
  git), runs `cpc-rules audit FILE --out DIR` on them in a child process, and reports the
  child's peak resident memory per size: the slope says what a national file would take. On
  Linux, the child also notes its resident memory and peak every 100 000 records read and
  decided (`étapes`), to show where the peak is reached. With `--leads`, the records come in
  pairs, each pair a new buyer with two contracts of 30 000 € passed without publicity in 2024
  (a splitting lead and a row per buyer and year per pair: what a national file has by the
  hundred thousand), and the child also notes its peak when the passes are over
  (`pic_avant_la_fin_mio`): what the end of the audit (leads, rows, summary) adds is the rest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from cpc_rules.api import default_rulebook  # noqa: E402
from cpc_rules.audit import run_audit  # noqa: E402

FOCUS = ("procédure", "publicité")


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _machine() -> dict[str, object]:
    return {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "python": platform.python_version(), "cpu": os.cpu_count(), "charge_1min": os.getloadavg()[0]}


# ---------------------------------------------------------------- the shared sample
def sample(data: list[str], jobs: list[int]) -> None:
    rb = default_rulebook()
    rb.decide({}, "2024-01-01")  # compiled and warm before timing
    rows = []
    reference = None
    for batch, jobs_n in [(True, j) for j in jobs] + [(False, 1)]:
        with tempfile.TemporaryDirectory() as tmp:
            c0, t0 = _cpu(), time.perf_counter()
            s = run_audit(data, rulebook=rb, out_dir=tmp, jobs=jobs_n, batch=batch)
            wall, cpu = time.perf_counter() - t0, _cpu() - c0
            verdicts = (Path(tmp) / "verdicts.jsonl").read_text(encoding="utf-8")
        reference = reference or verdicts
        v = s["verdicts"]
        decided = v["conforme"] + v["a_justifier"] + v["non_autorise"] + v["indetermine"]
        row = {
            "chemin": "decide_many (lots de questions)" if batch else "decide, une question à la fois",
            "processus": jobs_n,
            "enregistrements": s["enregistrements"],
            "décidés": decided,
            "verdicts_identiques": verdicts == reference,
            "secondes_horloge": round(wall, 1),
            "secondes_cpu": round(cpu, 1),
            "enregistrements_par_seconde_cpu": round(s["enregistrements"] / cpu),
            "décidés_par_seconde_cpu": round(decided / cpu),
            "enregistrements_par_seconde_horloge": round(s["enregistrements"] / wall),
            "étapes_horloge": s["mesures"],
        }
        rows.append(row)
        print(
            f"{row['chemin']}, jobs={jobs_n}: {s['enregistrements']} enregistrements ({decided} décidés) en {wall:.1f} s d'horloge, {cpu:.1f} s CPU — "
            f"{row['enregistrements_par_seconde_cpu']} enregistrements/s CPU, {row['décidés_par_seconde_cpu']} décidés/s CPU ; verdicts identiques : {row['verdicts_identiques']}",
            flush=True,
        )
    print(json.dumps({"machine": _machine(), "mesures": rows}, ensure_ascii=False, indent=2))
    if not all(r["verdicts_identiques"] for r in rows):
        sys.exit("les verdicts diffèrent d'un chemin ou d'un nombre de processus à l'autre")


# ---------------------------------------------------------------- one million situations
def million(n: int, one: int, seed: int) -> None:
    from columns_agreement import audit_like

    rb = default_rulebook()
    rb.decide_many(audit_like(rb, 200, seed), focus=FOCUS)  # compiled (scalar and columns) before timing
    clock = time.process_time
    step = 100_000
    spent = 0.0
    answered = 0
    for lo in range(0, n, step):
        items = audit_like(rb, min(step, n - lo), seed + lo)
        t0 = clock()
        answers = rb.decide_many(items, focus=FOCUS)
        for a in answers:  # read as a caller would: the permission of the declared procedure
            if a.ok and not a.out_of_period:
                a.permission("procédure", a.situation["procédure_retenue"])
        spent += clock() - t0
        answered += len(answers)
    many_rate = answered / spent
    items = audit_like(rb, one, seed + 7)
    t0 = clock()
    for s, d in items:
        dec = rb.decide(s, d, focus=FOCUS)
        dec.status("procédure", s["procédure_retenue"])
    one_rate = one / (clock() - t0)
    print(f"recueil CCP, {n} situations générées (audit), focus procédure + publicité, temps CPU :", flush=True)
    print(f"  Rulebook.decide_many : {many_rate:,.0f} décisions/s", flush=True)
    print(f"  Rulebook.decide une à une ({one} situations) : {one_rate:,.0f} décisions/s ; rapport {many_rate / one_rate:.0f}×", flush=True)

    ref = _reference(n, seed)
    print(json.dumps({"machine": _machine(), "ccp": {"situations": n, "decide_many_par_s": round(many_rate), "decide_par_s": round(one_rate)}, "référence": ref}, ensure_ascii=False, indent=2))


def _reference(n: int, seed: int) -> dict[str, object]:
    """The shared anchors' decision: the hand-written function beside decide_many on the same N situations."""
    from reference import adapter  # bench/reference: needs ../shared/bench-anchors

    import common
    import impl_plain

    from cpc_rules.api import load_rulebook

    rb = load_rulebook(adapter.RULEBOOK)
    cols = common.generate(n, seed)
    rows = common.to_python(cols)
    clock = time.process_time
    t0 = clock()
    hand = [impl_plain.decide(*r) for r in rows]
    hand_rate = n / (clock() - t0)
    step = 100_000
    spent = 0.0
    agree = 0
    for lo in range(0, n, step):
        part = rows[lo : lo + step]
        items = [(adapter.situation(b, na, v, i, u), d) for b, na, v, i, u, d in part]
        t0 = clock()
        answers = rb.decide_many(items, focus=FOCUS)
        allowed = [[p for p in adapter.PROCEDURES if a.permission("procédure", p) == "allowed"] for a in answers]
        spent += clock() - t0
        agree += sum(1 for k, al in enumerate(allowed) if sorted(al) == sorted(hand[lo + k][0]))
    many_rate = n / spent
    print(f"décision de référence (bench-anchors), {n} situations, temps CPU :", flush=True)
    print(f"  impl_plain.decide (écrit à la main) : {hand_rate:,.0f} décisions/s", flush=True)
    print(f"  Rulebook.decide_many (procedure.cpc) : {many_rate:,.0f} décisions/s ({hand_rate / many_rate:.1f}× le temps de la fonction écrite à la main)", flush=True)
    print(f"  procédures autorisées identiques : {agree} / {n}", flush=True)
    return {"situations": n, "écrit_à_la_main_par_s": round(hand_rate), "decide_many_par_s": round(many_rate), "accords": agree}


# ---------------------------------------------------------------- peak memory on a national-scale file
_BUYERS = [("21750001600019", "Commune de Paris"), ("11000001500011", "Ministère"), ("26690002400014", "Centre hospitalier"), ("55555555500000", "Société X")]
_CPV = ["45210000", "30192000", "85311000", "72000000", "79713000", "90910000", "33600000"]
_PROCS = ["Procédure adaptée", "Appel d'offres ouvert", "Marché passé sans publicité ni mise en concurrence préalable", "Procédure avec négociation", "Dialogue compétitif"]


def write_pairs(path: Path, n: int) -> None:
    """n records in pairs (see `memory --leads`): one buyer per pair, two contracts of 30 000 € without publicity."""
    with open(path, "w", encoding="utf-8") as f:
        for k in range(n):
            j, half = divmod(k, 2)
            rec = {
                "id": f"P{j}-{half}",
                "acheteur": {"id": f"21{j:07d}00019", "nom": f"Commune {j}"},
                "nature": "Marché",
                "objet": "Fournitures de bureau",
                "codeCPV": "30192000",
                "procedure": _PROCS[2],
                "dateNotification": f"2024-{3 + 3 * half:02d}-10",
                "montant": 30000,
                "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
                "considerationsEnvironnementales": {"considerationEnvironnementale": ["Pas de considération environnementale"]},
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def write_records(path: Path, n: int, seed: int = 1) -> None:
    """n synthetic DECP 2.0 records (JSON Lines) shaped like the real ones: 2 000 buyers of four kinds,
    amounts log-uniform from 1 000 € to 10 M€, notified 2019-2027, the procedure mostly the one the
    amount calls for (3 % another), one in five a lot of an operation, 3 % republished (duplicates)."""
    r = random.Random(seed)
    start = dt.date(2019, 4, 1).toordinal()
    with open(path, "w", encoding="utf-8") as f:
        prev = None
        for k in range(n):
            if prev is not None and r.random() < 0.03:
                f.write(prev)  # a republished version: a duplicate
                continue
            bid, name = _BUYERS[k % len(_BUYERS)]
            amount = round(10 ** r.uniform(3, 7), 2)
            if r.random() < 0.03:
                proc = r.choice(_PROCS)
            elif amount < 40_000:
                proc = r.choice(_PROCS[:3:2])  # MAPA or without publicity
            elif amount < 221_000:
                proc = _PROCS[0]
            else:
                proc = _PROCS[1]  # appel d'offres
            rec = {
                "id": f"{2019 + k % 9}-{k}",
                "acheteur": {"id": bid[:-4] + f"{k % 2000:04d}", "nom": name},
                "nature": "Marché",
                "objet": f"Opération {k // 3} : Lot {k % 3 + 1}" if r.random() < 0.2 else "Fournitures et services",
                "codeCPV": r.choice(_CPV),
                "procedure": proc,
                "dateNotification": dt.date.fromordinal(start + r.randrange(3000)).isoformat(),
                "montant": amount,
                "considerationsSociales": {"considerationSociale": [r.choice(["Pas de considération sociale", "Clause sociale"])]},
                "considerationsEnvironnementales": {"considerationEnvironnementale": [r.choice(["Pas de considération environnementale", "Critère environnemental"])]},
                "modifications": [],
            }
            prev = json.dumps(rec, ensure_ascii=False) + "\n"
            f.write(prev)


def memory(sizes: list[int], jobs: int, where: str | None = None, leads: bool = False) -> None:
    rows = []
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cpc-audit-bench-", dir=where) as tmp:
        for n in sizes:
            data = Path(tmp) / f"decp_{n}.jsonl"
            (write_pairs if leads else write_records)(data, n)
            cmd = [sys.executable, "-c", _CHILD, str(data), str(Path(tmp) / f"out_{n}"), str(jobs)]
            t0 = time.perf_counter()
            out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, check=True)
            wall = time.perf_counter() - t0
            m = json.loads(out.stdout.strip().splitlines()[-1])
            m.update(enregistrements=n, octets=data.stat().st_size, secondes_horloge=round(wall, 1))
            rows.append(m)
            print(
                f"{n} enregistrements ({data.stat().st_size / 2**20:.0f} Mio) : pic {m['pic_rss_mio']} Mio (à la fin des passages : {m['pic_avant_la_fin_mio']} Mio), "
                f"{m['pistes']} pistes de fractionnement, {m['lignes_acheteur_année']} lignes par acheteur et année, {m['secondes_cpu']} s CPU, {wall:.0f} s d'horloge, jobs={jobs}",
                flush=True,
            )
            data.unlink()
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        slope = (b["pic_rss_mio"] - a["pic_rss_mio"]) / (b["enregistrements"] - a["enregistrements"]) * 2**20
        print(f"pente : {slope:,.0f} octets par enregistrement en plus", flush=True)
    print(json.dumps({"machine": _machine(), "mesures": rows}, ensure_ascii=False, indent=2))


_CHILD = """
import json, resource, sys
from cpc_rules.audit import run_audit, patterns
stages = []
marks = {"pic_avant_la_fin_mio": None}
def status():
    d = {}
    with open("/proc/self/status") as f:  # Linux: resident memory now and its peak so far
        for line in f:
            if line.startswith(("VmRSS", "VmHWM")):
                d[line.split(":")[0]] = round(int(line.split()[1]) / 1024)
    return d
def progress(msg):
    k = int(msg.split()[0])
    if k % 100000 == 0:
        stages.append({"étape": msg, "rss_mio": status().get("VmRSS"), "pic_mio": status().get("VmHWM")})
end = patterns.Splitting.result
def result(self, *args, **kwargs):  # the passes are over: the peak so far is theirs
    marks["pic_avant_la_fin_mio"] = status().get("VmHWM")
    return end(self, *args, **kwargs)
try:
    status()
    patterns.Splitting.result = result
except OSError:
    progress = None
s = run_audit([sys.argv[1]], out_dir=sys.argv[2], jobs=int(sys.argv[3]), progress=progress)
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"pic_rss_mio": round(max(me.ru_maxrss, kids.ru_maxrss) / 1024), **marks, "pistes": len(s["motifs"]["fractionnement"]),
                  "lignes_acheteur_année": len(s["achats_responsables"]["indicateurs"]["par_acheteur_et_année"]),
                  "secondes_cpu": round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 1), "verdicts": s["verdicts"], "étapes": stages}, ensure_ascii=False))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    p = sub.add_parser("sample")
    p.add_argument("data", nargs="*", default=[str(ROOT.parent / "shared" / "data" / "decp")])
    p.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    p = sub.add_parser("million")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--one", type=int, default=20_000, help="situations decided one at a time (the rate is per situation)")
    p.add_argument("--seed", type=int, default=14)
    p = sub.add_parser("memory")
    p.add_argument("--sizes", nargs="+", type=int, default=[100_000, 200_000])
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--tmp", default=None, help="folder for the generated files and the reports (default: the system's temporary folder)")
    p.add_argument("--leads", action="store_true", help="records in pairs, each pair a splitting lead and a row per buyer and year")
    a = ap.parse_args()
    if a.what == "sample":
        sample(a.data, a.jobs)
    elif a.what == "million":
        million(a.n, a.one, a.seed)
    else:
        memory(a.sizes, a.jobs, a.tmp, a.leads)


if __name__ == "__main__":
    main()
