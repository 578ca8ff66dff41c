"""Wheel build hook: ship the bundled rulebook's checked IR and the parser's tables, so that the first run after `pip install` is a warm one.

Both are JSON data, never code (check/serial.py, syntax/parse.py), written to a temporary
folder and added to the wheel as `cpc_rules/prebuilt/ccp-ir.json` and `lark-tables.json`;
nothing is written to the source tree. At load they are used only if they were built for
the rulebook's texts (the IR), this engine, this grammar and this Lark; else the texts are
parsed and checked, as without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class ShippedIR(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":  # an editable install reads the checkout: nothing to ship
            return
        self._tmp = tempfile.mkdtemp(prefix="cpc-rules-build-")
        tmp, root = Path(self._tmp), Path(self.root)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root / "src"), os.environ.get("PYTHONPATH", "")) if p), "CPC_RULES_CACHE": "off"}
        code = (
            "import sys\n"
            "from cpc_rules.api import write_shipped_ir\n"
            "from cpc_rules.syntax.parse import write_shipped_tables\n"
            "write_shipped_ir(sys.argv[1])\n"
            "write_shipped_tables(sys.argv[2])\n"
        )
        ir, tables = tmp / "ccp-ir.json", tmp / "lark-tables.json"
        subprocess.run([sys.executable, "-c", code, str(ir), str(tables)], cwd=root, env=env, check=True)  # the tree's code, in a fresh interpreter
        build_data["force_include"][str(ir)] = "cpc_rules/prebuilt/ccp-ir.json"
        build_data["force_include"][str(tables)] = "cpc_rules/prebuilt/lark-tables.json"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
