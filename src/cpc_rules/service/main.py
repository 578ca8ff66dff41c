"""The application factory uvicorn starts in each worker (`cpc-rules serve`).

The rulebook is named by CPC_RULES_RULEBOOK (set by `serve`), so that every worker
process loads the same one; unset, the bundled rulebook. CPC_RULES_TIME_LIMIT (seconds)
replaces the time limit of a request (10 s), for a slow or crowded machine. Each worker
decides one situation with its trace and verdict, and ranks its questions, before it listens, so that the first
buyer does not pay for compiling them (about 1.5 s, much more on a busy machine).
"""

from __future__ import annotations

import math
import os
import sys

from starlette.applications import Starlette

from cpc_rules.api import Rulebook, default_rulebook, load_rulebook
from cpc_rules.render.json import decision_json
from cpc_rules.service import catalogue
from cpc_rules.service.app import Limits, create_app


def limits_from_env() -> Limits:
    """The default limits, with CPC_RULES_TIME_LIMIT if it is a number of seconds (else said, and ignored)."""
    raw = os.environ.get("CPC_RULES_TIME_LIMIT")
    if raw is None:
        return Limits()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        print(f"cpc-rules : CPC_RULES_TIME_LIMIT « {raw[:40]} » n'est pas un nombre de secondes positif : limite par défaut ({Limits().seconds:g} s)", file=sys.stderr)
        return Limits()
    return Limits(seconds=seconds)


def warm_up(rb: Rulebook) -> None:
    """Decide one situation with its trace and verdict, and rank its questions: what is compiled on first use is
    compiled now."""
    coverage = rb.checked.coverage
    if coverage is not None:
        decision_json(rb.decide({}, at=coverage.start, trace=True), with_trace=True, with_verdict=True)
        catalogue.questions_json(rb, {}, coverage.start.isoformat(), None, ())


def app() -> Starlette:
    path = os.environ.get("CPC_RULES_RULEBOOK")
    rb = load_rulebook(path, tests=False) if path else default_rulebook()
    warm_up(rb)
    return create_app(rb, limits_from_env())
