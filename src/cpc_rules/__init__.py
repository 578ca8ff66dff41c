"""cpc-rules: the French Code de la commande publique as checked, traced rules."""

__version__ = "0.1.0"

from cpc_rules.api import Rulebook, default_rulebook, load_rulebook
from cpc_rules.decision import Decision
from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.engine.runtime import EvaluationError, Unknown

__all__ = ["CpcError", "Decision", "Diagnostic", "EvaluationError", "Rulebook", "Unknown", "__version__", "default_rulebook", "load_rulebook"]
