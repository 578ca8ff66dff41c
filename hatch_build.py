"""Wheel build hook: ship the bundled rulebook's checked IR, so that the first load after `pip install` is a warm one.

The IR (validated JSON data, never code: check/serial.py) is written to a temporary
folder and added to the wheel as `cpc_rules/prebuilt/ccp-ir.json`; nothing is written
to the source tree. At load, api.py uses it only if it was built for the rulebook's
texts, this engine and this grammar (else it checks the texts, as without it).
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
        out = Path(self._tmp) / "ccp-ir.json"
        root = Path(self.root)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(root / "src"), os.environ.get("PYTHONPATH", "")) if p), "CPC_RULES_CACHE": "off"}
        code = "import sys; from cpc_rules.api import write_shipped_ir; write_shipped_ir(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, str(out)], cwd=root, env=env, check=True)  # the tree's code, in a fresh interpreter
        build_data["force_include"][str(out)] = "cpc_rules/prebuilt/ccp-ir.json"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
