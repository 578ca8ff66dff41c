"""Wheel build hook: ship the bundled rulebook's checked IR, its generated code and the parser's tables, so that the first run after `pip install` is a warm one.

The tables are JSON data (syntax/parse.py), added to the wheel as `cpc_rules/prebuilt/lark-tables.json`;
the IR is a Python module that builds it (`ccp_ir.py`, check/serial.py `module_text`), compiled
to bytecode by pip like the package's own modules. At load they are used only if they were
built for the rulebook's texts (the IR), this engine, this grammar and this Lark, else the
texts are parsed and checked, as without them. The generated code is Python, shipped like the
package's own modules (`ccp_code.py`, `ccp_code_trace.py`, engine/prebuilt.py): pip compiles it
to bytecode at install, and a load takes a function from it only for a text of the same sha256
as the one the compiler generates then, else it compiles the text. All are written to a
temporary folder by the tree's code in a fresh interpreter; nothing is written to the source tree.
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
            "from cpc_rules.api import write_shipped_code\n"
            "write_shipped_ir(sys.argv[1])\n"
            "write_shipped_tables(sys.argv[2])\n"
            "write_shipped_code(sys.argv[3])\n"
        )
        ir, tables = tmp / "ccp_ir.py", tmp / "lark-tables.json"
        subprocess.run([sys.executable, "-c", code, str(ir), str(tables), str(tmp)], cwd=root, env=env, check=True)  # the tree's code, in a fresh interpreter
        build_data["force_include"][str(ir)] = "cpc_rules/prebuilt/ccp_ir.py"  # resources.SHIPPED_IR
        build_data["force_include"][str(tables)] = "cpc_rules/prebuilt/lark-tables.json"
        for name in ("ccp_code.py", "ccp_code_trace.py"):  # resources.SHIPPED_CODE
            build_data["force_include"][str(tmp / name)] = f"cpc_rules/prebuilt/{name}"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
