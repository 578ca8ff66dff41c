"""The benchmark's encoding of the reference decision (bench/reference/) agrees with its hand-written function.

bench/reference.py checks 100 000 generated situations before it times anything; the
suite checks the golden cases of SPEC.md and a smaller seeded sample, so that a change
of the engine that breaks the benchmark's premise (same answers) fails here first.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REF = Path(__file__).resolve().parent.parent / "bench" / "reference"
sys.path.insert(0, str(REF))

import anchors  # noqa: E402

if not anchors.importable():
    pytest.skip(f"the shared benchmark anchors are not beside the checkout ({anchors.ANCHORS})", allow_module_level=True)

import adapter  # noqa: E402
import common  # noqa: E402

from cpc_rules.api import load_rulebook  # noqa: E402


@pytest.fixture(scope="module")
def rb():  # type: ignore[no-untyped-def]
    return load_rulebook(adapter.RULEBOOK)


def test_golden_cases_of_the_spec(rb) -> None:  # type: ignore[no-untyped-def]
    cases = adapter.golden_cases()
    assert len(cases) == 19
    for args, expected in cases:
        assert tuple(adapter.reference(args)) == expected, args
        assert adapter.outputs(rb.decide(adapter.situation(*args[:5]), at=args[5])) == expected, args
        assert adapter.outputs_decider(rb.decider(adapter.FOCUS)(adapter.situation(*args[:5]), args[5]))[:2] == expected[:2], args


@pytest.mark.parametrize("under", [False, True], ids=["generated", "0.01 € under a threshold"])
def test_generated_situations_agree(rb, under: bool) -> None:  # type: ignore[no-untyped-def]
    cols = common.generate(1500, seed=7)
    if under:
        cols = adapter.under_thresholds(cols)
    decide = rb.decider(adapter.FOCUS)
    for s in common.to_python(cols):
        d = rb.decide(adapter.situation(*s[:5]), at=s[5])
        assert adapter.outputs(d) == tuple(adapter.reference(s)), s
        assert adapter.read_enumerations(d) == adapter.read_conclusions(d), s  # a whole enumeration in one call: the same
        allowed, owed = adapter.read_decider(decide(adapter.situation(*s[:5]), s[5]))  # the fast way: the same
        assert (list(allowed), list(owed)) == adapter.read_conclusions(d), s


def test_a_threshold_and_a_cent_on_each_side(rb) -> None:  # type: ignore[no-untyped-def]
    """The EU threshold of a collectivité for supplies in 2024 (221 000 €): 1 cent under is MAPA, at it is not."""
    import datetime as dt

    for value, mapa in ((220_999.99, True), (221_000.0, False), (221_000.01, False)):
        allowed, _, _ = adapter.outputs(rb.decide(adapter.situation("collectivite", "fournitures", value, False, False), at=dt.date(2024, 6, 1)))
        assert ("mapa" in allowed) is mapa, value
