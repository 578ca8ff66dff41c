"""Audit published contract data (DECP) against the rulebook: every record accounted for.

Stages, one module each, data flowing one way: read (files → raw records) → mapping (raw → contracts
with facts, de-duplication, lots) → verdicts (the engine's answer per record) → patterns and
responsible (leads over many records) → report (JSON Lines, summary, HTML). See docs/audit.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cpc_rules.audit import mapping, patterns, read, report, responsible, verdicts


def run_audit(
    paths: Iterable[str | Path],
    rulebook: Any = None,
    out_dir: str | Path | None = None,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    batch: bool = True,
) -> dict[str, Any]:
    """Audit the DECP files (or folders) at `paths`; write the report to `out_dir` if given; return the summary.

    `jobs`: processes deciding the verdicts (0: one per core). `batch`: the questions of 4 096 records
    at a time go to `Rulebook.decide_many` (the columnar batch path); False asks `Rulebook.decide`
    one question at a time (the reference path; the same verdicts, tested).
    """
    from cpc_rules.api import default_rulebook

    rb = rulebook or default_rulebook()
    t0 = time.perf_counter()
    contracts: list[mapping.Contract] = []
    unreadable: list[dict[str, Any]] = []
    order: list[tuple[str, int]] = []  # ("c", index in contracts) or ("u", index in unreadable): input order
    files: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    n = 0
    for r in read.read(paths):
        if isinstance(r, read.Skipped):
            skipped.append({"fichier": r.file, "motif": r.reason})
            continue
        n += 1
        f = files.setdefault(r.file, {"fichier": r.file, "enregistrements": 0, "formes": []})
        f["enregistrements"] += 1
        if r.form not in f["formes"]:
            f["formes"].append(r.form)
        if progress and n % 2000 == 0:
            progress(f"{n} enregistrements lus")
        if r.data is None:
            order.append(("u", len(unreadable)))
            unreadable.append(verdicts.unreadable(r.file, r.loc, r.error or "illisible"))
            continue
        try:
            c = mapping.map_record(r)
        except Exception as e:  # noqa: BLE001 - a record the mapping cannot take is reported, never lost
            order.append(("u", len(unreadable)))
            unreadable.append(verdicts.unreadable(r.file, r.loc, f"enregistrement inexploitable ({type(e).__name__} : {e})"))
            continue
        order.append(("c", len(contracts)))
        contracts.append(c)
    t_read = time.perf_counter()
    dup = mapping.link(contracts)
    tally = report.Tally()
    out = Path(out_dir) if out_dir else None
    sink = None
    if out:
        out.mkdir(parents=True, exist_ok=True)
        sink = open(out / "verdicts.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        decided = verdicts.verdicts(rb, contracts, dup, jobs=jobs, batch=batch)
        by_index: dict[int, dict[str, Any]] = {}
        it = iter(decided)
        done = 0
        for kind, i in order:
            if kind == "u":
                v = unreadable[i]
            else:
                while i not in by_index:
                    by_index[done] = next(it)
                    done += 1
                v = by_index.pop(i)
            tally.add(v)
            if sink:
                sink.write(report.dumps(v) + "\n")
            if progress and tally.total % 2000 == 0:
                progress(f"{tally.total} verdicts sur {n}")
    finally:
        if sink:
            sink.close()
    t_decide = time.perf_counter()
    kept = [c for i, c in enumerate(contracts) if i not in dup]
    years = sorted({c.year for c in kept if c.year})
    extra = {
        "recueil": {"titre": rb.checked.title if hasattr(rb.checked, "title") else "", "empreinte": rb.digest},
        "motifs": {"concentration_sous_les_seuils": patterns.bunching(rb, kept), "fractionnement": patterns.splitting(rb, kept)},
        "achats_responsables": {
            "indicateurs": responsible.indicators(kept),
            "objectifs_nationaux": responsible.national_targets(rb, years),
            "spaser": responsible.spaser_estimate(rb, kept),
            "loi_climat": responsible.climate_leads(rb, kept),
        },
    }
    t_end = time.perf_counter()
    extra["mesures"] = {
        "secondes_lecture_et_correspondance": round(t_read - t0, 2),
        "secondes_verdicts": round(t_decide - t_read, 2),
        "secondes_motifs_et_achats_responsables": round(t_end - t_decide, 2),
        "secondes_total": round(t_end - t0, 2),
        "enregistrements_par_seconde": round(n / (t_end - t0)) if t_end > t0 else None,
        "processus": verdicts.processes(jobs),
    }
    s = report.summary(tally, list(files.values()), skipped, extra)
    if out:
        (out / "summary.json").write_text(report.dumps(s, indent=2) + "\n", encoding="utf-8")
        (out / "summary.txt").write_text(report.text_summary(s), encoding="utf-8")
        (out / "report.html").write_text(report.html_report(s, tally), encoding="utf-8")
    return s
