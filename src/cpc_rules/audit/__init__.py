"""Audit published contract data (DECP) against the rulebook: every record accounted for.

Stages, one module each, data flowing one way: read (files → raw records) → mapping (raw → contracts
with facts, de-duplication, lots) → verdicts (the engine's answer per record) → patterns and
responsible (leads over many records) → report (JSON Lines, summary, HTML). See docs/audit.md.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from cpc_rules.audit import mapping, patterns, read, report, responsible, spill, verdicts
from cpc_rules.diagnostics import CpcError, Diagnostic

KEEP = 50_000  # records kept mapped between the passes (about 2 KB each); beyond, the files are read twice
LEADS_FILE = "loi_climat.jsonl"  # every loi Climat lead, when there are more than the summary keeps
REPORT_FILES = ("verdicts.jsonl", LEADS_FILE, "summary.txt", "report.html", "summary.json")  # moved into --out in this order


class AuditInterrupted(CpcError):
    """The audit was stopped (SIGTERM, SIGINT / Ctrl-C): no report written, the temporary files deleted (E003)."""

    def __init__(self, name: str, out: Path | None) -> None:
        where = f" ; ce qui était déjà dans {out} est inchangé" if out else ""
        super().__init__(
            [
                Diagnostic(
                    "E003",
                    f"audit interrompu ({name}) : aucun rapport écrit, les fichiers temporaires sont supprimés{where}",
                    hint="relancez l'audit pour obtenir le rapport",
                )
            ]
        )
        self.signal = name


def run_audit(
    paths: Iterable[str | Path],
    rulebook: Any = None,
    out_dir: str | Path | None = None,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    batch: bool = True,
) -> dict[str, Any]:
    """Audit the DECP files (or folders) at `paths`; write the report to `out_dir` if given; return the summary.

    Two passes over the files, streaming: the first maps every record and keeps what de-duplication
    and lot linking need (a digest per contract, mapping.Linker); the second decides the records a
    chunk at a time, writing each verdict in input order and adding the record to the patterns and
    responsible-purchasing tallies. Up to KEEP records, the first pass keeps them mapped for the
    second; beyond, the second reads and maps the files again: memory does not grow with the records.
    `jobs`: processes deciding the verdicts (0: one per core). `batch`: the questions of 4 096 records
    at a time go to `Rulebook.decide_many` (the columnar batch path); False asks `Rulebook.decide`
    one question at a time (the reference path; the same verdicts, tested).
    """
    from cpc_rules.api import default_rulebook

    rb = rulebook or default_rulebook()
    paths = list(paths)
    out = Path(out_dir) if out_dir else None
    stop = _Stop()
    store = None
    try:
        try:
            store = spill.Store(out)  # what is kept per contract, and the report while it is written; deleted at the end
            summary = _run(paths, rb, store, out, jobs, progress, batch)
            stop.done = True  # the report is in place: a signal now only cuts the cleanup short, it is not an interruption
            return summary
        finally:
            if store is not None:
                store.close()
    except KeyboardInterrupt:
        if store is not None:
            store.close()  # again (it does nothing twice): the first may have been cut short by the signal
        raise AuditInterrupted(stop.name or "SIGINT", out) from None
    finally:
        stop.restore()


class _Stop:
    """SIGTERM (and SIGINT, unless ignored) raise KeyboardInterrupt once in the main thread, so the audit
    unwinds through its `finally` blocks: the temporary store and the report being written are deleted.
    A second signal while it cleans up is ignored. The previous handlers are put back by `restore`."""

    def __init__(self) -> None:
        self.name: str | None = None
        self.done = False
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return  # signals are only delivered to the main thread: nothing to catch here
        for sig in (signal.SIGTERM, signal.SIGINT):
            current = signal.getsignal(sig)
            if sig == signal.SIGINT and current is not signal.default_int_handler:
                continue  # SIGINT ignored or handled by the caller: left as it is
            self._previous[sig] = current
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.name is None and not self.done:
            self.name = signal.Signals(signum).name
            raise KeyboardInterrupt(self.name)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def _run(
    paths: list[str | Path], rb: Any, store: spill.Store, out: Path | None, jobs: int, progress: Callable[[str], None] | None, batch: bool
) -> dict[str, Any]:
    today = dt.date.today()  # the same in both passes: a record maps the same way twice
    t0 = time.perf_counter()
    files: dict[str, dict[str, Any]] = {}
    skipped: list[dict[str, str]] = []
    linker = mapping.Linker(store)
    kept: list[mapping.Contract | dict[str, Any]] | None = []  # the mapped records while they are few (KEEP)
    n = 0
    for r in read.read(paths):  # pass 1: count, and what links the records
        if isinstance(r, read.Skipped):
            skipped.append({"fichier": r.file, "motif": r.reason})
            continue
        f = files.setdefault(r.file, {"fichier": r.file, "enregistrements": 0, "formes": []})
        f["enregistrements"] += 1
        if r.form not in f["formes"]:
            f["formes"].append(r.form)
        if progress and (n + 1) % 2000 == 0:
            progress(f"{n + 1} enregistrements lus")
        c = _map(r, today)
        if not isinstance(c, dict):
            linker.see(n, c)
        if kept is not None:
            kept.append(c)
            if len(kept) > KEEP:
                kept = None  # a large input: pass 2 reads and maps the files again
        n += 1
    linker.finish()

    def again() -> Iterator[mapping.Contract | dict[str, Any]]:
        if kept is not None:
            yield from kept
            return
        for r in read.read(paths):
            if not isinstance(r, read.Skipped):
                yield _map(r, today)

    t_read = time.perf_counter()

    tally = report.Tally()
    bunch, split = patterns.Bunching(rb), patterns.Splitting(rb, store)
    ind, spaser = responsible.Indicators(), responsible.Spaser(rb)
    work = Path(store.dir)  # the report is written here, then moved into `out` once whole
    climate = responsible.Leads(work / LEADS_FILE if out else None)
    years: set[int] = set()
    sink = None
    if out:
        sink = open(work / "verdicts.jsonl", "w", encoding="utf-8")  # noqa: SIM115 - closed below
    pending: list[dict[str, Any] | int] = []  # verdicts in input order, or the place of a contract in `todo`
    todo: list[mapping.Contract] = []

    def flush() -> None:
        decided = decider.decide(todo)
        for item in pending:
            v = decided[item] if isinstance(item, int) else item
            tally.add(v)
            if sink:
                sink.write(report.dumps(v) + "\n")
            if progress and tally.total % 2000 == 0:
                progress(f"{tally.total} verdicts sur {n}")
        pending.clear()
        todo.clear()

    try:
        with verdicts.Decider(rb, jobs, batch) as decider:
            pos = 0
            for c in again():  # pass 2: decide, write, tally
                pos += 1
                if isinstance(c, dict):
                    pending.append(c)
                    continue
                dup = linker.apply(pos - 1, c)
                if dup is not None:
                    pending.append(verdicts.duplicate(c, dup[1]))
                    continue
                for acc in (bunch, split, ind, spaser):
                    acc.add(c)
                climate.add(responsible.climate_lead(rb, c))
                if c.year:
                    years.add(c.year)
                pending.append(len(todo))
                todo.append(c)
                if len(todo) >= verdicts.CHUNK * decider.jobs:
                    flush()
            flush()
    finally:
        if sink:
            sink.close()
        climate.close()
        linker.close()
    t_decide = time.perf_counter()
    made: list[spill.Rows] = []  # the summary's long lists, on disk (spill.Rows): deleted if the audit stops here
    try:
        split_leads = split.result()
        made.append(split_leads)
        indicators = ind.result()
        made.append(indicators["par_acheteur_et_année"])
        spaser_rows = spaser.result()
        made.append(spaser_rows)
        extra = {
            "recueil": {"titre": rb.checked.title if hasattr(rb.checked, "title") else "", "empreinte": rb.digest},
            "motifs": {"concentration_sous_les_seuils": bunch.result(), "fractionnement": split_leads},
            "achats_responsables": {
                "indicateurs": indicators,
                "objectifs_nationaux": responsible.national_targets(rb, sorted(years)),
                "spaser": spaser_rows,
                **climate.result(),
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
            report.write_json(s, work / "summary.json")
            (work / "summary.txt").write_text(report.text_summary(s), encoding="utf-8")
            (work / "report.html").write_text(report.html_report(s, tally), encoding="utf-8")
            for name in REPORT_FILES:  # each file whole, or not at all: a stopped audit leaves none half-written
                os.replace(work / name, out / name)
    except BaseException:
        for rows in made:
            rows.discard()
        raise
    return s


def _map(r: read.Raw, today: dt.date) -> mapping.Contract | dict[str, Any]:
    """The contract of a record, or the verdict « illisible » (with the reason) when it has none."""
    if r.data is None:
        return verdicts.unreadable(r.file, r.loc, r.error or "illisible")
    try:
        return mapping.map_record(r, today=today)
    except Exception as e:  # noqa: BLE001 - a record the mapping cannot take is reported, never lost
        return verdicts.unreadable(r.file, r.loc, f"enregistrement inexploitable ({type(e).__name__} : {e})")
