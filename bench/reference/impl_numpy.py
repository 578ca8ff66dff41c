# Copied unchanged from the shared benchmark anchors (bench-anchors/impl_numpy.py): the reference
# implementation that bench/reference.py measures cpc-rules against.
"""(b) Hand-written vectorised NumPy: the lower bound for batch evaluation.

decide(cols, trace=False) -> (allowed_mask uint8[n], publicity int8[n][, trace_mask uint16[n]])
cols: buyer int8 (0 etat, 1 collectivite, 2 entite_adjudicatrice),
      nature int8 (0 travaux, 1 fournitures, 2 services), value float64,
      innovative bool, urgent bool, days int32 (days since 1970-01-01).
"""

import datetime as _dt

import numpy as np


def _d(y, m, dd):
    return (_dt.date(y, m, dd) - _dt.date(1970, 1, 1)).days


D_2018_12_25 = _d(2018, 12, 25)
D_2020_01_01 = _d(2020, 1, 1)
D_2022_12_23 = _d(2022, 12, 23)
D_2024_12_31 = _d(2024, 12, 31)

# EU thresholds: period starts (the first period covers every earlier date)
EU_STARTS = np.array([_d(2022, 1, 1), _d(2024, 1, 1), _d(2026, 1, 1)], dtype=np.int32)
# [period, column]; columns: etat F/S, collectivite F/S, EA F/S, works
EU_TABLE = np.array(
    [
        [139_000, 214_000, 428_000, 5_350_000],
        [140_000, 215_000, 431_000, 5_382_000],
        [143_000, 221_000, 443_000, 5_538_000],
        [140_000, 216_000, 432_000, 5_404_000],
    ],
    dtype=np.float64,
)
EU_FLAT = EU_TABLE.ravel()

TRAVAUX = 0
EA = 2


def decide(cols, trace=False):
    buyer = cols["buyer"]
    nature = cols["nature"]
    value = cols["value"]
    days = cols["days"]
    urgent = cols["urgent"]
    is_works = nature == TRAVAUX

    period = np.searchsorted(EU_STARTS, days, side="right")
    col = np.where(is_works, 3, buyer)
    eu = EU_FLAT[period * 4 + col]

    general = np.where(days < D_2020_01_01, 25_000.0, 40_000.0)
    derog = is_works & (days >= D_2022_12_23) & (days <= D_2024_12_31)
    dispense_thr = np.where(derog, 100_000.0, general)

    r_dispense = value < dispense_thr
    r_innov = cols["innovative"] & (value < 100_000.0) & (days >= D_2018_12_25)
    r_mapa = value < eu
    r_ea = buyer == EA
    by_value = r_dispense | r_innov

    allowed = (
        (by_value | urgent).astype(np.uint8)
        | (r_mapa.astype(np.uint8) << 1)
        | np.uint8(4)
        | ((r_ea | urgent).astype(np.uint8) << 3)
    )
    publicity = np.where(by_value, 0, np.where(value < 90_000.0, 1, np.where(r_mapa, 2, 3))).astype(np.int8)
    if not trace:
        return allowed, publicity
    t = (
        r_dispense.astype(np.uint16)
        | (r_innov.astype(np.uint16) << 1)
        | (urgent.astype(np.uint16) << 2)
        | (r_mapa.astype(np.uint16) << 3)
        | np.uint16(1 << 4)
        | (r_ea.astype(np.uint16) << 5)
        | (urgent.astype(np.uint16) << 6)
        | (np.uint16(1) << (publicity.astype(np.uint16) + 7))
    )
    return allowed, publicity, t
