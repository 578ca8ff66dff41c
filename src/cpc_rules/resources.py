"""Where the grammar and the bundled rulebook live, installed or in a source checkout.

A wheel carries them inside the package (`cpc_rules/grammar`, `cpc_rules/rulebooks`);
an editable install or a source checkout finds them at the top of the repository.
"""

from __future__ import annotations

from pathlib import Path

TEST_SUFFIX = ".test.cpc"  # test files: read by `check` and `test`, not by `decide`, not in the digest

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _find(name: str) -> Path:
    for base in (_PACKAGE, _CHECKOUT):
        candidate = base / name
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"cpc-rules: '{name}' is missing from the installation")


def grammar_path() -> Path:
    return _find("grammar") / "cpc.lark"


def bundled_rulebook_path() -> Path:
    return _find("rulebooks") / "ccp"


SHIPPED = "prebuilt"  # inside the installed package only: written when the wheel is built (hatch_build.py), never in git
SHIPPED_IR = "ccp_ir.py"  # the bundled rulebook's checked IR, as a Python module that builds it (check/serial.py module_text), compiled to bytecode by pip
SHIPPED_TABLES = "lark-tables.json"  # the parser's LALR tables
SHIPPED_CODE = ("ccp_code.py", "ccp_code_trace.py")  # the bundled rulebook's generated code (engine/prebuilt.py), compiled to bytecode by pip; the traced part apart


def _shipped(name: str) -> Path | None:
    candidate = _PACKAGE / SHIPPED / name
    return candidate if candidate.is_file() else None


def shipped_ir_path() -> Path | None:
    """The bundled rulebook's checked IR built with the wheel, if this installation has one (a checkout has none)."""
    return _shipped(SHIPPED_IR)


def shipped_tables_path() -> Path | None:
    """The parser's tables built with the wheel, if this installation has them (a checkout has none)."""
    return _shipped(SHIPPED_TABLES)


def shipped_code_paths() -> list[Path]:
    """The bundled rulebook's generated code built with the wheel (two modules), those this installation has (a checkout has none)."""
    return [p for p in map(_shipped, SHIPPED_CODE) if p is not None]
