"""Reading DECP files as published: v1/v2 JSON, JSON Lines, the flat and tabular CSV forms, gzip or not.

Streaming and tolerant: every record that comes out of a file is yielded once, either with its
data or with the reason it could not be read, so the audit can account for all of them.
Values are kept raw (no cleaning here): numbers with a decimal point come out as `Decimal`,
`NaN`/`Infinity` as floats (so the mapping can name them), everything else as JSON gives it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from cpc_rules.record import frozen

DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv")


@frozen
class Raw:
    """One record as read: where it is, which form it came in, its data or why it could not be read."""

    file: str
    loc: str  # "ligne 12" / "enregistrement 3" : where to find it in the file
    form: str  # json | csv-flat | csv-tabular | csv
    data: dict[str, Any] | None
    error: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}, {self.loc}"


@frozen
class Skipped:
    """A file given (or found in a folder) that holds no records: a schema, a README…"""

    file: str
    reason: str


def _constant(name: str) -> float:
    return float(name)  # NaN, Infinity, -Infinity: kept as floats so the mapping can say what they are


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=_constant)


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")  # type: ignore[return-value]
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def _stem(path: Path) -> str:
    name = path.name.lower()
    return name.removesuffix(".gz")


def data_files(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """The files to read: each file given, and the data files of each folder (in name order)."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.iterdir()):
                if f.is_file() and _stem(f).endswith(DATA_SUFFIXES):
                    yield f
                elif f.is_file():
                    yield Skipped(str(f), "pas un fichier de données (.json, .jsonl, .csv, éventuellement .gz)")
        elif p.is_file():
            yield p
        else:
            yield Skipped(str(p), "fichier introuvable")


def read(paths: Iterable[str | Path]) -> Iterator[Raw | Skipped]:
    """Every record of every file, in order; a file that is not DECP data is reported as Skipped."""
    for f in data_files(paths):
        if isinstance(f, Skipped):
            yield f
            continue
        n = 0
        try:
            for r in _read_file(f):
                n += 1
                yield r
        except OSError as e:  # unreadable from the start: a skipped file; cut off midway: one unreadable record says so
            yield Raw(str(f), "suite du fichier", "json", None, f"lecture interrompue : {e}") if n else Skipped(str(f), f"lecture impossible : {e}")
        except EOFError:
            yield Raw(str(f), "fin du fichier", "json", None, "fichier gzip tronqué : la suite du fichier est perdue")
        except zlib.error as e:
            yield Raw(str(f), "suite du fichier", "json", None, f"fichier gzip corrompu ({e}) : la suite du fichier est perdue")


def _read_file(path: Path) -> Iterator[Raw | Skipped]:
    stem = _stem(path)
    name = str(path)
    if stem.endswith(".csv"):
        yield from _read_csv(path, name)
        return
    with _open_text(path) as fh:
        if stem.endswith((".jsonl", ".ndjson")):
            yield from _read_lines(fh, name)
            return
        text = fh.read()
    # a .json file is either one document or, in practice, sometimes JSON Lines
    try:
        doc = _loads(text)
    except ValueError:
        yield from _read_lines(io.StringIO(text), name)
        return
    if isinstance(doc, dict) and "$schema" in doc:
        yield Skipped(name, "schéma JSON, pas des données")
        return
    records = _records_of(doc)
    if records is None:
        yield Raw(name, "document", "json", None, 'structure inconnue : ni liste, ni {"marches": …}')
        return
    for i, (kind, rec) in enumerate(records, 1):
        if isinstance(rec, dict):
            data = dict(rec)
            if kind and "_type" not in data:
                data["_type"] = kind
            yield Raw(name, f"enregistrement {i}", "json", data)
        else:
            yield Raw(name, f"enregistrement {i}", "json", None, "l'enregistrement n'est pas un objet JSON")


def _records_of(doc: Any) -> list[tuple[str | None, Any]] | None:
    """The records of a JSON document: v1 {"marches": [...]}, v2 {"marches": {"marche": [...], "contrat-concession": [...]}}, or a list."""
    if isinstance(doc, list):
        return [(None, r) for r in doc]
    if isinstance(doc, dict):
        m = doc.get("marches")
        if isinstance(m, list):
            return [(None, r) for r in m]
        if isinstance(m, dict):
            out: list[tuple[str | None, Any]] = [("Marché", r) for r in _as_list(m.get("marche"))]
            out += [("Contrat de concession", r) for r in _as_list(m.get("contrat-concession"))]
            return out
        if "id" in doc and ("acheteur" in doc or "autoriteConcedante" in doc):
            return [(None, doc)]
    return None


def _as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [] if x is None else [x]


def _read_lines(fh: Iterable[str], name: str) -> Iterator[Raw]:
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            rec = _loads(line)
        except ValueError as e:
            yield Raw(name, f"ligne {n}", "json", None, f"JSON illisible : {e}")
            continue
        if isinstance(rec, dict):
            yield Raw(name, f"ligne {n}", "json", rec)
        else:
            yield Raw(name, f"ligne {n}", "json", None, "la ligne n'est pas un objet JSON")


def _no_nul(fh: Iterable[str]) -> Iterator[str]:
    """NUL bytes (seen in exports) would stop the csv module for the rest of the file: dropped."""
    for line in fh:
        yield line.replace("\0", "") if "\0" in line else line


def _read_csv(path: Path, name: str) -> Iterator[Raw]:
    csv.field_size_limit(2**31 - 1)  # a long object or modification list is data, not an error
    with _open_text(path) as fh:
        reader = csv.DictReader(_no_nul(fh))
        cols = set(reader.fieldnames or ())
        if "modifications_json" in cols and "acheteur_id" in cols:
            form = "csv-flat"
        elif "uid" in cols and "titulaire_id" in cols:
            form = "csv-tabular"
        else:
            form = "csv"
        try:
            for row in reader:
                n = reader.line_num
                if None in row:  # more cells than columns
                    yield Raw(name, f"ligne {n}", form, None, f"{len(row[None]) if row[None] else 0} cellule(s) de trop")  # type: ignore[index]
                    continue
                if any(v is None for v in row.values()):
                    yield Raw(name, f"ligne {n}", form, None, "cellules manquantes (ligne tronquée)")
                    continue
                yield Raw(name, f"ligne {n}", form, row)
        except csv.Error as e:
            yield Raw(name, f"ligne {reader.line_num}", form, None, f"CSV illisible : {e}")
