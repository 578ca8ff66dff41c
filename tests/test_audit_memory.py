"""The audit's end (splitting leads, rows per buyer and year, the summary written) holds nothing per lead or row.

The two passes keep on disk what they need per record (spill.Store); the summary's long lists are
spill.Rows, JSON Lines files read back a row at a time by report.dump_json and the HTML report.
bench/audit.py memory measures the whole process; here, tracemalloc measures the Python memory
of the audit's end between two sizes of a synthetic input (never a time).
"""

from __future__ import annotations

import gc
import json
import os
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cpc_rules.audit as audit_mod
from cpc_rules.audit import patterns, report, responsible, run_audit, spill

FIXTURES = Path(__file__).parent / "audit"


def test_rows_are_a_sequence_kept_on_disk():
    rows = spill.Rows.of([{"a": 1, "b": [Decimal("1.50"), "é"]}, {"a": 2}, (3, None)])
    assert len(rows) == 3 and bool(rows) and not spill.Rows.of([])
    assert list(rows) == [{"a": 1, "b": ["1.50", "é"]}, {"a": 2}, [3, None]]  # as JSON reads them back
    assert rows[0] == {"a": 1, "b": ["1.50", "é"]} and rows[-1] == [3, None] and rows[1:] == [{"a": 2}, [3, None]]
    assert rows[::-1][0] == [3, None] and rows[5:] == []
    with pytest.raises(IndexError):
        rows[3]
    assert rows == list(rows) and rows != list(rows)[:2] and rows == spill.Rows.of(list(rows))
    path = rows.path
    assert os.path.exists(path) and Path(path).name.startswith("cpc-audit-rows-")
    del rows
    gc.collect()
    assert not os.path.exists(path)  # collected: its file is deleted
    other = spill.Rows.of([1])
    other.discard()
    assert not os.path.exists(other.path)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False).map(Decimal),
)
_keys = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.booleans(), st.none())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4) | st.tuples(inner, inner), max_leaves=25)


def _with_rows(v):
    """The same value, its lists turned into spill.Rows where JSON reads them back unchanged."""
    if isinstance(v, dict):
        return {k: _with_rows(x) for k, x in v.items()}
    if isinstance(v, list):
        items = [_with_rows(x) for x in v]
        if json.loads(json.dumps(v, default=str)) == v:
            return spill.Rows.of(items)
        return items
    return v


@settings(deadline=None)
@given(_values)
def test_dump_json_writes_what_json_dump_writes(v):
    """The streaming writer gives json.dump(…, indent=2)'s text, with or without spill.Rows inside."""
    import io

    expected = json.dumps(v, ensure_ascii=False, default=report._json_default, indent=2) + "\n"
    for value in (v, _with_rows(v)):
        f = io.StringIO()
        report.dump_json(value, f)
        assert f.getvalue() == expected
        assert report.dumps(value) == json.dumps(v, ensure_ascii=False, default=report._json_default)


def _pairs(path: Path, n: int) -> None:
    """n pairs of contracts passed without publicity, 30 000 € each (under the 40 000 € dispense threshold
    of 2024) by one buyer each, in one CPV group: a splitting lead and a row per buyer and year per pair."""
    with open(path, "w", encoding="utf-8") as f:
        for j in range(n):
            for half in (0, 1):
                rec = {
                    "id": f"P{j}-{half}",
                    "acheteur": {"id": f"21{j:07d}00019", "nom": f"Commune {j}"},
                    "nature": "Marché",
                    "objet": "Fournitures de bureau",
                    "codeCPV": "30192000",
                    "procedure": "Marché passé sans publicité ni mise en concurrence préalable",
                    "dateNotification": f"2024-{3 + 3 * half:02d}-10",
                    "montant": 30000,
                    "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
                    "considerationsEnvironnementales": {"considerationEnvironnementale": ["Pas de considération environnementale"]},
                }
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")


@pytest.mark.skipif(tracemalloc.is_tracing(), reason="tracemalloc already tracing (python -X tracemalloc)")
def test_the_end_of_an_audit_holds_nothing_per_lead(tmp_path, monkeypatch):
    """From the first splitting lead to the summary returned (JSON, text, HTML written), the Python memory an
    audit takes grows by far less than a row's worth per record: the leads and the rows per buyer and year
    are on disk. Held in lists, as before, they took about 1.5 KB per record here (a lead and a row per pair)."""
    peaks = {}
    start = patterns.Splitting.result

    def traced(self, *args, **kwargs):
        tracemalloc.start()  # the end of the audit: the passes are measured by bench/audit.py memory
        return start(self, *args, **kwargs)

    monkeypatch.setattr(patterns.Splitting, "result", traced)
    monkeypatch.setattr(spill, "FETCH", 16)  # batches (of query rows, of SPASER questions) are bounded: here, smaller than the sizes compared
    monkeypatch.setattr(responsible, "SPASER_CHUNK", 16)
    for n in (10, 100, 400):  # the first warms what the rulebook compiles once (the SPASER question's batch path)
        data = tmp_path / f"pairs{n}.jsonl"
        _pairs(data, n)
        try:
            s = run_audit([data], out_dir=tmp_path / f"out{n}")
            peaks[n] = tracemalloc.get_traced_memory()[1]  # with the summary still held
        finally:
            tracemalloc.stop()
        assert len(s["motifs"]["fractionnement"]) == n and len(s["achats_responsables"]["indicateurs"]["par_acheteur_et_année"]) == n
        del s
    per_record = (peaks[400] - peaks[100]) / (2 * (400 - 100))
    assert per_record < 300, (peaks, per_record)


def test_a_stopped_summary_deletes_its_rows(tmp_path, monkeypatch):
    """Stopped after the splitting leads are on disk, before the summary is returned: their file is deleted."""
    made = []
    start = patterns.Splitting.result

    def kept(self, *args, **kwargs):
        made.append(start(self, *args, **kwargs))
        return made[-1]

    def stop(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(patterns.Splitting, "result", kept)
    monkeypatch.setattr(responsible.Spaser, "result", stop)
    with pytest.raises(audit_mod.AuditInterrupted):
        run_audit([FIXTURES], out_dir=tmp_path / "r")
    assert made and not os.path.exists(made[0].path)
    assert list((tmp_path / "r").iterdir()) == []
