# Copied unchanged from the shared benchmark anchors (bench-anchors/common.py): the reference
# implementation that bench/reference.py measures cpc-rules against.
"""Shared pieces of the procedure-choice anchors (see SPEC.md).

This module holds the encodings, the seeded situation generator, the
binary situation file that Node reads too, the data folder and the
timing statistics. It does *not* hold the rules themselves: each
implementation codes the rules and parameters in its own way.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import resource
import statistics
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent

BUYERS = ("etat", "collectivite", "entite_adjudicatrice")
NATURES = ("travaux", "fournitures", "services")
PROCEDURES = ("sans_publicite", "mapa", "appel_offres", "negociee")
PUBLICITIES = ("aucune", "libre", "boamp_ou_jal", "boamp_et_joue")
TRACE_RULES = (
    "sans_publicite.dispense_seuil",
    "sans_publicite.innovation",
    "sans_publicite.urgence",
    "mapa.sous_seuil_ue",
    "appel_offres.toujours",
    "negociee.entite_adjudicatrice",
    "negociee.urgence",
    "publicite.aucune",
    "publicite.libre",
    "publicite.boamp_ou_jal",
    "publicite.boamp_et_joue",
)
PROC_BIT = {p: 1 << i for i, p in enumerate(PROCEDURES)}
PUB_CODE = {p: i for i, p in enumerate(PUBLICITIES)}
TRACE_BIT = {r: 1 << i for i, r in enumerate(TRACE_RULES)}

DEFAULT_SEED = 20240601
EPOCH = _dt.date(1970, 1, 1)
DOMAIN_START = _dt.date(2019, 1, 1)
DOMAIN_END = _dt.date(2027, 12, 31)
BOUNDARIES = (
    _dt.date(2020, 1, 1),
    _dt.date(2022, 1, 1),
    _dt.date(2022, 12, 23),
    _dt.date(2024, 1, 1),
    _dt.date(2025, 1, 1),
    _dt.date(2026, 1, 1),
)


def day(d: _dt.date) -> int:
    return (d - EPOCH).days


def from_day(n: int) -> _dt.date:
    return EPOCH + _dt.timedelta(days=int(n))


# --------------------------------------------------------------------------
# Generator. It needs the thresholds that apply to a situation (step 4 of
# SPEC.md section 7), so it has its own small copy of the parameter tables.
# This copy is used only to place values on thresholds, never to decide.
# --------------------------------------------------------------------------
_EU_STARTS = np.array([day(_dt.date(2022, 1, 1)), day(_dt.date(2024, 1, 1)), day(_dt.date(2026, 1, 1))])
# rows: period 0..3 ; cols: etat F/S, collectivite F/S, EA F/S, works
_EU_TABLE = np.array(
    [
        [139_000, 214_000, 428_000, 5_350_000],
        [140_000, 215_000, 431_000, 5_382_000],
        [143_000, 221_000, 443_000, 5_538_000],
        [140_000, 216_000, 432_000, 5_404_000],
    ],
    dtype=np.float64,
)


def _gen_thresholds(buyer, nature, days):
    period = np.searchsorted(_EU_STARTS, days, side="right")
    col = np.where(nature == 0, 3, buyer)
    eu = _EU_TABLE[period, col]
    general = np.where(days < day(_dt.date(2020, 1, 1)), 25_000.0, 40_000.0)
    works_derog = (days >= day(_dt.date(2022, 12, 23))) & (days <= day(_dt.date(2024, 12, 31)))
    dt = np.where((nature == 0) & works_derog, 100_000.0, general)
    return dt, eu


def generate(n: int, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    """Return n situations as NumPy columns (SPEC.md section 7)."""
    rng = np.random.default_rng(seed)
    buyer = rng.integers(0, 3, n).astype(np.int8)
    nature = rng.integers(0, 3, n).astype(np.int8)
    innovative = rng.random(n) < 0.30
    urgent = rng.random(n) < 0.10
    d0, d1 = day(DOMAIN_START), day(DOMAIN_END)
    days = rng.integers(d0, d1 + 1, n).astype(np.int32)
    on_boundary = rng.random(n) < 0.05
    bnd = np.array([day(b) + off for b in BOUNDARIES for off in (-1, 0)], dtype=np.int32)
    days = np.where(on_boundary, bnd[rng.integers(0, len(bnd), n)], days).astype(np.int32)
    value = np.exp(rng.uniform(np.log(1_000.0), np.log(10_000_000.0), n))
    value = np.round(value, 2)
    on_threshold = rng.random(n) < 0.20
    dt, eu = _gen_thresholds(buyer, nature, days)
    choices = np.stack([dt, np.full(n, 100_000.0), np.full(n, 90_000.0), eu], axis=1)
    pick = choices[np.arange(n), rng.integers(0, 4, n)]
    delta = rng.integers(-1, 2, n).astype(np.float64)
    value = np.where(on_threshold, pick + delta, value)
    return {
        "buyer": buyer,
        "nature": nature,
        "value": value.astype(np.float64),
        "innovative": innovative,
        "urgent": urgent,
        "days": days,
    }


def to_python(cols: dict[str, np.ndarray]) -> list[tuple]:
    """Situations as Python tuples: (buyer str, nature str, value float,
    innovative bool, urgent bool, datetime.date)."""
    dates = {}
    out = []
    for b, n, v, i, u, d in zip(
        cols["buyer"].tolist(),
        cols["nature"].tolist(),
        cols["value"].tolist(),
        cols["innovative"].tolist(),
        cols["urgent"].tolist(),
        cols["days"].tolist(),
    ):
        dd = dates.get(d)
        if dd is None:
            dd = dates[d] = from_day(d)
        out.append((BUYERS[b], NATURES[n], v, i, u, dd))
    return out


def subset(cols, n):
    return {k: v[:n].copy() for k, v in cols.items()}


# --------------------------------------------------------------------------
# Data folder (outside the repository) and the binary situation file.
# --------------------------------------------------------------------------
def data_dir() -> Path:
    d = Path(os.environ.get("PERF_ANCHORS_DATA") or Path(tempfile.gettempdir()) / "perf-anchors-data")
    d.mkdir(parents=True, exist_ok=True)
    return d


def situations_file(n: int, seed: int = DEFAULT_SEED) -> Path:
    """Write (once) and return the binary file for (n, seed).

    Layout, little-endian: uint64 n, float64 value[n], int32 days[n],
    int8 buyer[n], int8 nature[n], uint8 innovative[n], uint8 urgent[n].
    """
    path = data_dir() / f"situations-{n}-{seed}.bin"
    if not path.exists():
        cols = generate(n, seed)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", n))
            f.write(cols["value"].astype("<f8").tobytes())
            f.write(cols["days"].astype("<i4").tobytes())
            f.write(cols["buyer"].astype("i1").tobytes())
            f.write(cols["nature"].astype("i1").tobytes())
            f.write(cols["innovative"].astype("u1").tobytes())
            f.write(cols["urgent"].astype("u1").tobytes())
        tmp.replace(path)
    return path


def load_situations(n: int, seed: int = DEFAULT_SEED) -> dict[str, np.ndarray]:
    path = situations_file(n, seed)
    raw = path.read_bytes()
    (m,) = struct.unpack_from("<Q", raw, 0)
    assert m == n
    off = 8
    value = np.frombuffer(raw, "<f8", n, off).copy(); off += 8 * n
    days = np.frombuffer(raw, "<i4", n, off).copy(); off += 4 * n
    buyer = np.frombuffer(raw, "i1", n, off).copy(); off += n
    nature = np.frombuffer(raw, "i1", n, off).copy(); off += n
    innovative = np.frombuffer(raw, "u1", n, off).astype(bool); off += n
    urgent = np.frombuffer(raw, "u1", n, off).astype(bool); off += n
    return {"buyer": buyer, "nature": nature, "value": value,
            "innovative": innovative, "urgent": urgent, "days": days}


# --------------------------------------------------------------------------
# Encodings of outputs (for agreement).
# --------------------------------------------------------------------------
def encode_result(allowed, publicity, trace=None):
    mask = 0
    for p in allowed:
        mask |= PROC_BIT[p]
    t = 0
    if trace is not None:
        for r in trace:
            t |= TRACE_BIT[r]
    return mask, PUB_CODE[publicity], t


# --------------------------------------------------------------------------
# Statistics and reporting helpers.
# --------------------------------------------------------------------------
def summary(xs):
    xs = sorted(xs)
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "n": len(xs)}


def peak_rss_mib() -> float:
    """Peak resident set size of this process, in MiB (Linux: ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mib() -> float:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def versions() -> dict:
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("numpy", "OpenFisca-Core", "business-rules", "clingo", "cpc-rules"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def write_json(name: str, obj) -> Path:
    path = data_dir() / name
    path.write_text(json.dumps(obj, indent=2, default=str))
    return path
