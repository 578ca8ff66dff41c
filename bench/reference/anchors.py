"""Where the shared benchmark anchors are: `../shared/bench-anchors/` beside the checkout.

The reference (SPEC.md, the hand-written `impl_plain.py`, `impl_numpy.py` and the situation
generator `common.py`) is read where it is published, never copied into this repository;
CPC_RULES_BENCH_ANCHORS names another folder. `importable()` puts it on `sys.path`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ANCHORS = Path(os.environ.get("CPC_RULES_BENCH_ANCHORS") or ROOT.parent / "shared" / "bench-anchors")


def importable() -> bool:
    """True (and the anchors importable) when the folder holds the reference."""
    if not (ANCHORS / "impl_plain.py").exists():
        return False
    if str(ANCHORS) not in sys.path:
        sys.path.insert(0, str(ANCHORS))
    return True
