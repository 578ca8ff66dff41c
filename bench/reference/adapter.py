"""The reference decision (SPEC.md) in cpc-rules: situations in, (allowed, publicity, trace) out.

`procedure.cpc` encodes SPEC.md; this module maps a reference situation to the
facts of that rulebook and a decision back to the reference outputs, reads the
golden cases from SPEC.md, and checks agreement with the hand-written function
(`impl_plain.py`). The benchmark (bench/reference.py) and the test suite use it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import anchors

if not anchors.importable():
    raise ImportError(f"the shared benchmark anchors are missing: {anchors.ANCHORS}")

import common  # noqa: E402
import impl_plain  # noqa: E402

HERE = Path(__file__).resolve().parent
RULEBOOK = HERE / "procedure.cpc"
SPEC = anchors.ANCHORS / "SPEC.md"

PROCEDURES = common.PROCEDURES
PUBLICITIES = common.PUBLICITIES
# the SPEC's rule names, as rule names of procedure.cpc (a name has no dot)
RULE_NAMES = {r: r.replace(".", "_") for r in common.TRACE_RULES}
SPEC_NAME = {v: k for k, v in RULE_NAMES.items()}


def situation(buyer: str, nature: str, value: float | Decimal, innovative: bool, urgent: bool) -> dict[str, Any]:
    # the generator's amounts are floats of whole cents: their shortest repr is the exact amount
    # (the engine refuses floats, which could have been rounded on the way)
    amount = Decimal(repr(value)) if isinstance(value, float) else value
    return {"acheteur": buyer, "nature": nature, "valeur": amount, "innovant": innovative, "urgent": urgent}


_TRACE_INDEX: dict[str, tuple[tuple[str, int], ...]] = {}  # rulebook digest → (SPEC rule name, rule index), in SPEC order


def fired_rules(decision: Any) -> list[str]:
    """The rules that fired, in SPEC order, read from the decision's activations (True: the rule applies)."""
    rb = decision.rulebook
    index = _TRACE_INDEX.get(rb.digest)
    if index is None:
        position = {r.name: r.index for r in rb.rules}
        index = _TRACE_INDEX[rb.digest] = tuple((r, position[RULE_NAMES[r]]) for r in common.TRACE_RULES)
    a = decision.activations  # () out of the coverage: nothing fired
    return [name for name, i in index if a[i] is True] if a else []


def outputs(decision: Any) -> tuple[list[str], str | None, list[str]]:
    """allowed procedures, the publicity owed, the fired rules in SPEC order (SPEC.md section 4)."""
    allowed = [p for p in PROCEDURES if decision.permission("procédure", p) == "allowed"]
    owed = [p for p in PUBLICITIES if decision.obligation("publicité", p) == "mandatory"]
    return allowed, (owed[0] if len(owed) == 1 else None), fired_rules(decision)


_ABBREV = {"SP": "sans_publicite", "MAPA": "mapa", "AO": "appel_offres", "NEG": "negociee"}


def golden_cases() -> list[tuple[tuple[Any, ...], tuple[list[str], str, list[str]]]]:
    """The hand-computed cases of SPEC.md section 6: ((buyer, nature, value, innov, urgent, date), expected)."""
    out = []
    text = SPEC.read_text(encoding="utf-8").split("## 6.")[1].split("## 7.")[0]
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 10 or not cells[0].isdigit():
            continue
        _, buyer, nature, value, innov, urgent, date, allowed, pub, bits = cells
        args = (buyer, nature, float(value.replace(" ", "")), innov == "yes", urgent == "yes", dt.date.fromisoformat(date))
        procs = [_ABBREV[a.strip()] for a in allowed.split(",")]
        trace = [common.TRACE_RULES[int(b)] for b in re.split(r"\s*,\s*", bits)]
        out.append((args, (procs, pub, trace)))
    return out


def reference(args: tuple[Any, ...]) -> tuple[list[str], str, list[str]]:
    allowed, publicity, trace = impl_plain.decide_traced(*args)
    return allowed, publicity, trace


def under_thresholds(cols: dict[str, Any]) -> dict[str, Any]:
    """The same situations with the value moved 0.01 € under one threshold that applies to each."""
    import numpy as np

    dt_, eu = common._gen_thresholds(cols["buyer"], cols["nature"], cols["days"])
    n = len(cols["value"])
    choices = np.stack([dt_, np.full(n, 100_000.0), np.full(n, 90_000.0), eu], axis=1)
    pick = choices[np.arange(n), np.arange(n) % 4]
    out = dict(cols)
    out["value"] = np.round(pick - 0.01, 2)
    return out


def read_conclusions(decision: Any) -> tuple[list[str], list[str]]:
    """What a user reads from a decision: the allowed procedures and the publicity owed (Decision.permission
    and .obligation read them from the activations, without building the Status with its grounds)."""
    allowed = [p for p in PROCEDURES if decision.permission("procédure", p) == "allowed"]
    owed = [p for p in PUBLICITIES if decision.obligation("publicité", p) == "mandatory"]
    return allowed, owed


def read_enumerations(decision: Any) -> tuple[list[str], list[str]]:
    """The same, each enumeration read in one call (Decision.permissions, .obligations: member → its answer)."""
    permissions, obligations = decision.permissions("procédure"), decision.obligations("publicité")
    allowed = [p for p in PROCEDURES if permissions[p] == "allowed"]
    owed = [p for p in PUBLICITIES if obligations[p] == "mandatory"]
    return allowed, owed


def read_statuses(decision: Any) -> tuple[list[str], list[str]]:
    """The same through the full conclusions (Decision.status: grounds, pending rules, missing facts)."""
    allowed = [p for p in PROCEDURES if decision.status("procédure", p).permission == "allowed"]
    owed = [p for p in PUBLICITIES if decision.status("publicité", p).obligation == "mandatory"]
    return allowed, owed


def read_decider(answer: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The same from an answer of `Rulebook.decider(FOCUS)`: per enumeration (allowed, forbidden, mandatory,
    undetermined) member names, in the rulebook's order, which is SPEC's (None outside the coverage)."""
    return answer[0][0], answer[1][2]


def outputs_decider(answer: Any) -> tuple[list[str], str | None, list[str]]:
    """allowed procedures, the publicity owed, from a decider's answer (no trace there: [])."""
    allowed, owed = read_decider(answer)
    return list(allowed), (owed[0] if len(owed) == 1 else None), []


FOCUS = ("procédure", "publicité")  # the conclusions a batch returns
FOCUS_ALL = FOCUS


def outputs_light(answer: Any) -> tuple[list[str], str | None, list[str]]:
    """allowed procedures, the publicity owed, from an Answer of decide_many (no trace there: [])."""
    allowed = [p for p in PROCEDURES if answer.permission("procédure", p) == "allowed"]
    owed = [p for p in PUBLICITIES if answer.obligation("publicité", p) == "mandatory"]
    return allowed, (owed[0] if len(owed) == 1 else None), []


ORDINAL_1970 = 719163  # datetime.date(1970, 1, 1).toordinal(): the generator's days are since 1970


def columns(cols: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The generator's columns as typed columns of procedure.cpc (batch.decide_columns): the same
    member orders, amounts in cents (the generator's values are whole cents), day ordinals."""
    import numpy as np

    facts = {
        "acheteur": cols["buyer"].astype(np.int64),
        "nature": cols["nature"].astype(np.int64),
        "valeur": np.round(cols["value"] * 100).astype(np.int64),
        "innovant": cols["innovative"],
        "urgent": cols["urgent"],
    }
    return facts, cols["days"].astype(np.int64) + ORDINAL_1970
