"""The application factory uvicorn starts in each worker (`cpc-rules serve`).

The rulebook is named by CPC_RULES_RULEBOOK (set by `serve`), so that every worker
process loads the same one; unset, the bundled rulebook.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from cpc_rules.api import default_rulebook, load_rulebook
from cpc_rules.service.app import create_app


def app() -> Starlette:
    path = os.environ.get("CPC_RULES_RULEBOOK")
    return create_app(load_rulebook(path, tests=False) if path else default_rulebook())
