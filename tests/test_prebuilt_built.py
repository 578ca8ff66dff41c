"""An installed load finds the bundled rulebook's functions by the IR's digest, without generating them (engine/prebuilt.py `built`; issue 11 point 4).

With the wheel's IR (check/serial.py `module_text`, which carries its digest) and the wheel's
code (`BUILT`, keyed by the IR's digest, the function and a fingerprint of the compiler), a
load neither generates nor compiles `run`, `run_known`, `run_traced` or `run_known_traced`.
What it takes must be what a fresh generation gives: the same code objects, the same
constants, the same text (`Compiled.source`, generated when read). Another compiler, another
IR, no known digest, or `CPC_RULES_CACHE=off`: the text is generated, as before.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import ship
from test_prebuilt import KNOWN, _answers, _same

from cpc_rules import api, resources
from cpc_rules.engine import compile as engine_compile
from cpc_rules.engine import prebuilt

NAMES = ("run", "run_known", "run_traced", "run_known_traced")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The IR module and the two code modules as the wheel build writes them (hatch_build.py), once for this file."""
    out = tmp_path_factory.mktemp("wheel")
    saved = (prebuilt._recording, prebuilt._codes, prebuilt._pending, os.environ.get("CPC_RULES_CACHE"))
    os.environ["CPC_RULES_CACHE"] = "off"  # as hatch_build.py: everything from the texts
    try:
        prebuilt._codes, prebuilt._pending = None, []
        api.write_shipped_ir(out / resources.SHIPPED_IR)
        api.write_shipped_code(out)
    finally:
        prebuilt._recording, prebuilt._codes, prebuilt._pending, setting = saved
        prebuilt._recording_built.clear()
        if setting is None:
            del os.environ["CPC_RULES_CACHE"]
        else:
            os.environ["CPC_RULES_CACHE"] = setting
    return out


@pytest.fixture
def installed(cache_dir: Path, wheel: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three modules where an installed package keeps them (modes as installed), found by a fresh process state."""
    folder = ship(tmp_path / "prebuilt", resources.SHIPPED_IR, lambda out: shutil.copy(wheel / resources.SHIPPED_IR, out)).parent
    for name in resources.SHIPPED_CODE:
        shutil.copy(wheel / name, folder / name)
        os.chmod(folder / name, 0o644)
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: folder / resources.SHIPPED_IR)
    monkeypatch.setattr(resources, "shipped_code_paths", lambda: [folder / n for n in resources.SHIPPED_CODE])
    return folder


@pytest.fixture
def generated(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The whole-rulebook functions whose text was generated (by name), and compile() calls recorded as "compile"."""
    seen: list[str] = []
    function = engine_compile._Gen.function

    def counting(self: Any, name: str) -> Any:
        if self.keep is None:
            seen.append(name)
        return function(self, name)

    def compiling(text: str, filename: str, mode: str, **kw: Any) -> Any:
        seen.append("compile")
        return compile(text, filename, mode, **kw)

    monkeypatch.setattr(engine_compile._Gen, "function", counting)
    monkeypatch.setattr(prebuilt, "compile", compiling, raising=False)
    return seen


def _bundled() -> api.Rulebook:
    return api.load_rulebook(resources.bundled_rulebook_path(), tests=False)


def _fresh(rb: api.Rulebook, monkeypatch: pytest.MonkeyPatch) -> engine_compile.Compiled:
    """The same IR generated and compiled from its text (no shipped code at all)."""
    with monkeypatch.context() as m:
        m.setattr(prebuilt, "_codes", {})
        m.setattr(prebuilt, "_pending", [])
        fresh = engine_compile.compile_rulebook(rb.checked, rb.program.faults)
        for name in NAMES[1:]:
            getattr(fresh, name)
    return fresh


def _same_constants(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(type(x) is type(y) and x == y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("order", [NAMES, ("run", "run_traced", "run_known_traced", "run_known")], ids=["wheel-order", "traced-first"])
def test_the_shipped_functions_are_a_fresh_generation(installed: Path, generated: list[str], monkeypatch: pytest.MonkeyPatch, order: tuple[str, ...]) -> None:
    """Taken by the IR's digest, in any order: nothing generated or compiled, and each is what generating and compiling gives."""
    rb = _bundled()
    assert rb.program.compiled._fast_source.__class__ is not str  # taken, not generated
    for name in order:
        getattr(rb.program.compiled, name)
    assert generated == []
    fresh = _fresh(rb, monkeypatch)
    for name in NAMES:
        ours, theirs = getattr(rb.program.compiled, name), getattr(fresh, name)
        assert _same(ours.__code__, theirs.__code__), name
        assert _same_constants(ours.__globals__["K"], theirs.__globals__["K"]), name
        assert set(ours.__globals__) == set(theirs.__globals__)
    assert generated.count("compile") == 4  # the fresh ones only
    assert rb.program.compiled.source == fresh.source  # generated when read: the very text whose bytecode was taken


def test_the_same_answers_as_a_generated_load(installed: Path, generated: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    got = _answers(_bundled())
    assert generated == []
    monkeypatch.setenv("CPC_RULES_CACHE", "off")  # nothing shipped is read: parsed, checked, generated and compiled
    assert _answers(_bundled()) == got
    assert {"run", "compile"} <= set(generated)


def test_another_compiler_generates(installed: Path, generated: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiler's sources changed since the wheel was built: its functions are not taken by the digest; generated, their texts are still found."""
    monkeypatch.setattr(prebuilt, "compiler_fingerprint", lambda: "0" * 64)
    rb = _bundled()
    assert generated == ["run"]
    assert rb.decide(KNOWN, "2026-03-01").status("procédure", "procédure_adaptée").permission == "allowed"  # type: ignore[union-attr]


def test_another_ir_generates(installed: Path, generated: list[str]) -> None:
    """The IR module carries another digest (another IR than the code was built for): generated."""
    path = installed / resources.SHIPPED_IR
    source = path.read_text(encoding="utf-8")
    start = source.index("\nDIGEST = 'sha256:") + len("\nDIGEST = 'sha256:")
    path.write_text(source[:start] + ("0" if source[start] != "0" else "1") + source[start + 1 :], encoding="utf-8")
    os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    rb = _bundled()
    assert generated == ["run"]
    assert rb.decide({**KNOWN, "valeur_estimée_besoin": "216000"}, "2026-03-01").status("procédure", "procédure_adaptée").permission == "not_allowed"  # type: ignore[union-attr]


def test_without_the_shipped_ir_generates(installed: Path, generated: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The IR from the texts (or the user's cache): its digest is not known without hashing it, so the text is generated."""
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: None)
    _bundled()
    assert generated == ["run"]


def test_off_with_the_cache(installed: Path, generated: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    _bundled()
    assert generated[:2] == ["run", "compile"]
    assert prebuilt.built(_bundled().digest, "run") is None


@pytest.mark.parametrize(
    ("old", "new"),
    [("BUILT = {", "BUILT = None and {"), ("FORMAT = 2", "FORMAT = 1")],
    ids=["no-built", "stale"],
)
def test_a_module_not_as_written_generates(installed: Path, generated: list[str], old: str, new: str) -> None:
    for name in resources.SHIPPED_CODE:
        path = installed / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
        os.utime(path, (path.stat().st_atime + 10, path.stat().st_mtime + 10))
    rb = _bundled()
    assert "run" in generated
    assert rb.decide(KNOWN, "2026-03-01").status("procédure", "procédure_adaptée").permission == "allowed"  # type: ignore[union-attr]


def test_constants_extend_only_as_numbered() -> None:
    c = engine_compile.Constants()
    assert c.extends((Decimal("40000"), "a"))
    assert c.values == [Decimal("40000"), "a"]
    assert c.extends((Decimal("40000"),))  # a prefix: nothing to add
    assert c.extends((Decimal("40000"), "a", dt.date(2024, 1, 1), frozenset({"x"})))
    assert c.name(frozenset({"x"})) == "k3" and len(c.values) == 4
    assert not c.extends((Decimal("40000"), "b"))  # numbered otherwise
    assert not c.extends((40000,))  # another type
    assert len(c.values) == 4


def test_constants_are_spelt_exactly() -> None:
    values = (None, True, 0, -3, "é'\"\\", Decimal("39999.99"), Decimal("1E+3"), dt.date(2026, 3, 1), frozenset({"b", "a"}))
    spelt = prebuilt._constants_text(values)
    assert spelt is not None
    got = eval(spelt, {"_D": Decimal, "_T": dt.date})  # noqa: S307 - our own writer's output
    assert _same_constants(got, values) and str(got[6]) == "1E+3"
    for other in ((1.5,), (Decimal("NaN"),), ((1, 2),), (frozenset({1}),)):
        assert prebuilt._constants_text(other) is None


def test_a_function_with_constants_not_spelt_is_not_keyed() -> None:
    text = "def run(F, P, ACT, NEED):\n    return (), ()"
    assert "BUILT = {}" in prebuilt.module_text([text], [("sha256:" + "0" * 64, "run", (1.5,), text)])
    assert "BUILT = {'" in prebuilt.module_text([text], [("sha256:" + "0" * 64, "run", (Decimal(1),), text)])
