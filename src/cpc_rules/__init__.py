"""cpc-rules: the French Code de la commande publique as checked, traced rules."""

__version__ = "0.1.0"

import gc as _gc

_collecting = _gc.isenabled()
_gc.disable()  # the import creates ~100 classes and no garbage: no cyclic collection meanwhile (~8 ms of every start)
try:
    from cpc_rules.api import Rulebook, default_rulebook, load_rulebook
    from cpc_rules.decision import Decision
    from cpc_rules.diagnostics import CpcError, Diagnostic
    from cpc_rules.engine.runtime import EvaluationError, Unknown
finally:
    if _collecting:
        _gc.enable()

__all__ = ["CpcError", "Decision", "Diagnostic", "EvaluationError", "Rulebook", "Unknown", "__version__", "default_rulebook", "load_rulebook"]
