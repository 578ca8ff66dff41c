"""The bundled rulebook's generated code shipped with the wheel (engine/prebuilt.py, hatch_build.py; issue 11 point 4).

An installed load takes each generated function from the shipped module instead of
`compile()`-ing its text, but only for a text of the same sha256 whose block the module's
source holds unchanged; the shipped code is the compiler's output compiled (compared here
code object by code object); a planted, foreign, stale, corrupt or others-writable module,
or `CPC_RULES_CACHE=off`, leaves every text to `compile()`, with the same answers.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpc_rules import api, resources
from cpc_rules.engine import prebuilt

ROOT = Path(__file__).resolve().parent.parent
KNOWN = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "215999.99"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The two modules as the wheel build writes them (once for this file), and every text the build generated."""
    out = tmp_path_factory.mktemp("built")
    saved = (prebuilt._recording, prebuilt._codes, prebuilt._pending, os.environ.get("CPC_RULES_CACHE"))
    os.environ["CPC_RULES_CACHE"] = "off"  # as hatch_build.py: everything from the texts
    try:
        prebuilt._codes, prebuilt._pending = None, []
        counts = api.write_shipped_code(out)
        texts = list(prebuilt._recording or [])
    finally:
        prebuilt._recording, prebuilt._codes, prebuilt._pending, setting = saved
        if setting is not None:
            os.environ["CPC_RULES_CACHE"] = setting
    assert counts[0] > 30 and counts[1] >= 3  # run, run_known and the readers; the traced functions and the trace builder
    return out, texts


@pytest.fixture
def shipped(cache_dir: Path, built: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The modules where an installed package keeps them (modes as installed), found by a fresh process state."""
    folder = tmp_path / "prebuilt"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    for name in resources.SHIPPED_CODE:
        shutil.copy(built[0] / name, folder / name)
        os.chmod(folder / name, 0o644)
    monkeypatch.setattr(resources, "shipped_code_paths", lambda: [folder / n for n in resources.SHIPPED_CODE])
    return folder


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts `define` had to compile()."""
    seen: list[str] = []

    def counting(text: str, filename: str, mode: str, **kw: Any) -> Any:
        seen.append(text)
        return compile(text, filename, mode, **kw)

    monkeypatch.setattr(prebuilt, "compile", counting, raising=False)
    return seen


def _bundled() -> api.Rulebook:
    return api.load_rulebook(resources.bundled_rulebook_path(), tests=False)


def _answers(rb: api.Rulebook) -> list[Any]:
    """A known situation and one with facts left unknown (strictly), each without and with the trace."""
    out = []
    for situation, presume in ((KNOWN, True), ({"nature": "travaux"}, False)):
        for trace in (False, True):
            out.append(rb.decide(situation, "2026-03-01", presumptions=presume, trace=trace).to_json(trace=trace))
    return out


def _inner(code: types.CodeType) -> list[types.CodeType]:
    return [c for c in code.co_consts if isinstance(c, types.CodeType)]


def _same(a: types.CodeType, b: types.CodeType) -> bool:
    """The same function: bytecode, constants (nested code too), names, arguments, flags, file, lines (only the columns differ: the shipped text is indented)."""
    fields = (
        "co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars", "co_argcount", "co_posonlyargcount", "co_kwonlyargcount",
        "co_nlocals", "co_flags", "co_name", "co_qualname", "co_stacksize", "co_filename", "co_firstlineno", "co_exceptiontable",
    )
    if any(getattr(a, f) != getattr(b, f) for f in fields) or list(a.co_lines()) != list(b.co_lines()):
        return False
    consts_a = [c for c in a.co_consts if not isinstance(c, types.CodeType)]
    consts_b = [c for c in b.co_consts if not isinstance(c, types.CodeType)]
    return consts_a == consts_b and len(_inner(a)) == len(_inner(b)) and all(_same(x, y) for x, y in zip(_inner(a), _inner(b), strict=True))


def test_shipped_code_is_the_compilers_output_compiled(shipped: Path, built: tuple[Path, list[str]]) -> None:
    """Every text the build generated is shipped, and each function bound from the module is the text's own compile()."""
    _, texts = built
    assert len(set(texts)) > 40
    for text in dict.fromkeys(texts):
        ours: dict[str, Any] = {"__builtins__": {}}
        prebuilt.define(text, "<x>", ours)
        theirs: dict[str, Any] = {"__builtins__": {}}
        exec(compile(text, "<x>", "exec", dont_inherit=True), theirs)  # noqa: S102 - the generator's own text
        assert set(ours) == set(theirs)
        for name, fn in theirs.items():
            if isinstance(fn, types.FunctionType):
                assert _same(ours[name].__code__, fn.__code__), name
                assert ours[name].__code__ is not fn.__code__ and ours[name].__globals__ is ours


def test_installed_load_compiles_nothing_and_answers_the_same(shipped: Path, compiles: list[str]) -> None:
    """The bundled rulebook as installed: no compile() at all, even to trace, and the decisions of a compiled load."""
    rb = _bundled()
    rb.decide(KNOWN, "2026-03-01").verdict()
    assert compiles == []
    assert [p.name for p in prebuilt._pending] == ["ccp_code_trace.py"]  # the traced code is read only to trace
    got = _answers(rb)
    assert compiles == [] and prebuilt._pending == []
    prebuilt._codes, prebuilt._pending = {}, []  # nothing shipped: everything compiled
    assert _answers(_bundled()) == got and compiles


def test_another_rulebook_is_compiled(shipped: Path, compiles: list[str]) -> None:
    """The shipped texts are the bundled rulebook's: any other text is compiled, as without them."""
    from helpers import with_rules

    rb = with_rules('fait x : montant "x"\n', "  règle r : autorise proc mapa si x < 40 000 €\n")
    assert compiles and rb.decide({"x": "39999.99"}, "2024-01-01").status("proc", "mapa").permission == "allowed"  # type: ignore[union-attr]


def _generated_now() -> list[str]:
    """Every text a load of the bundled rulebook generates (the code is not bound anywhere)."""
    texts = prebuilt.record()
    try:
        _bundled()
    finally:
        prebuilt._recording = None
    return texts


def _planted(folder: Path) -> None:
    """A reader's body edited, its hash kept: the module no longer holds the text under that hash."""
    path = folder / resources.SHIPPED_CODE[0]
    source = path.read_text(encoding="utf-8")
    assert "return 'allowed'" in source
    path.write_text(source.replace("return 'allowed'", "return 'forbidden'"), encoding="utf-8")


def _redefined(folder: Path) -> None:
    """The genuine block of `run` kept, the same wrapper defined again below it with another body."""
    path = folder / resources.SHIPPED_CODE[0]
    source = path.read_text(encoding="utf-8")
    key = next(k for k in _keys(source) if f"def _{k}():\n    def run(F, P, ACT, NEED):" in source)
    path.write_text(source.replace("CODES = {", f"def _{key}():\n    def run(F, P, ACT, NEED):\n        return (), ()\nCODES = {{"), encoding="utf-8")


def _extended(folder: Path) -> None:
    """A statement added at the end of the first wrapper (`run`'s), after the genuine text."""
    path = folder / resources.SHIPPED_CODE[0]
    source = path.read_text(encoding="utf-8")
    second = source.index("\ndef _", source.index("\ndef _") + 1)
    path.write_text(source[:second] + "\n    raise SystemExit" + source[second:], encoding="utf-8")


def _rebound(folder: Path) -> None:
    """The genuine block of `run` kept, its name bound again to a function defined elsewhere (not from that `def`)."""
    path = folder / resources.SHIPPED_CODE[0]
    source = path.read_text(encoding="utf-8")
    key = next(k for k in _keys(source) if f"def _{k}():\n    def run(F, P, ACT, NEED):" in source)
    evil = f"exec({f'def _{key}():{chr(10)}    def run(F, P, ACT, NEED):{chr(10)}        return (), ()'!r})\n"
    path.write_text(source.replace("CODES = {", evil + "CODES = {"), encoding="utf-8")


def _foreign(folder: Path) -> None:
    """A well-formed module written for other texts (another rulebook, another engine): no hash matches."""
    for name in resources.SHIPPED_CODE:
        path = folder / name
        source = path.read_text(encoding="utf-8")
        for key in _keys(source):
            source = source.replace(key, hashlib.sha256(key.encode()).hexdigest())
        path.write_text(source, encoding="utf-8")


def _keys(source: str) -> list[str]:
    return [line[5:-3] for line in source.split("\n") if line.startswith("def _") and line.endswith("():")]


def _edit(old: str, new: str) -> Any:
    def edit(folder: Path) -> None:
        for name in resources.SHIPPED_CODE:
            path = folder / name
            path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")

    return edit


@pytest.mark.parametrize(
    "edit",
    [
        _planted,
        _redefined,
        _foreign,
        _extended,
        _rebound,
        _edit("def _", "def _0"),  # CODES names wrappers that do not exist
        _edit("FORMAT = 2", "FORMAT = 1"),  # stale: another layout
        _edit("CODES = {", "CODES = None and {"),
        lambda folder: (folder / resources.SHIPPED_CODE[0]).write_text((folder / resources.SHIPPED_CODE[0]).read_text(encoding="utf-8")[:5000], encoding="utf-8"),  # corrupt
        lambda folder: (folder / resources.SHIPPED_CODE[0]).write_text("import no_such_module_here\n", encoding="utf-8"),
    ],
    ids=["planted", "redefined", "foreign", "extended", "rebound", "unnamed", "stale", "no-codes", "truncated", "raises"],
)
def test_planted_foreign_stale_or_corrupt_module_is_compiled_instead(shipped: Path, compiles: list[str], edit: Any) -> None:
    edit(shipped)
    rb = _bundled()
    assert compiles  # what the module no longer holds as written is compiled from its text
    if edit is _planted:
        assert all("return 'allowed'" not in t or t in compiles for t in _generated_now())
    assert rb.decide(KNOWN, "2026-03-01").status("procédure", "procédure_adaptée").permission == "allowed"  # type: ignore[union-attr]
    assert rb.decide({**KNOWN, "valeur_estimée_besoin": "216000"}, "2026-03-01").status("procédure", "procédure_adaptée").permission == "not_allowed"  # type: ignore[union-attr]


@pytest.mark.parametrize("what", ["file", "folder"])
def test_module_others_can_write_is_ignored(shipped: Path, compiles: list[str], capsys: pytest.CaptureFixture[str], what: str) -> None:
    target = shipped / resources.SHIPPED_CODE[0] if what == "file" else shipped
    os.chmod(target, 0o666 if what == "file" else 0o777)
    _bundled()
    assert any(text.startswith("def run(") for text in compiles)
    assert "code précompilé" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
def test_module_of_another_user_is_ignored(shipped: Path, compiles: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    os.chown(shipped / resources.SHIPPED_CODE[0], 54321, 54321)
    _bundled()
    assert any(text.startswith("def run(") for text in compiles)
    assert "autre utilisateur" in capsys.readouterr().err


def test_module_off_with_the_cache(shipped: Path, compiles: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    _bundled()
    assert any(text.startswith("def run(") for text in compiles)


def test_only_plain_definitions_are_shipped() -> None:
    """What `define` binds must be what executing the text does: a statement, a default, a decorator or a multi-line string stays out."""
    assert prebuilt._plain_definitions("def f(a, b):\n    return a\ndef g(c):\n    return 'x'")
    for text in ("x = 1\ndef f(a):\n    return a", "def f(a=1):\n    return a", "@d\ndef f(a):\n    return a", "def f(a: int):\n    return a", 'def f(a):\n    return """x\ny"""', "def f(:"):
        assert not prebuilt._plain_definitions(text)
        assert "CODES = {}" in prebuilt.module_text([text])


def test_functions_calling_each_other_are_compiled(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrapped, a function that calls its sibling would read it from a cell of the wrapper, not from the namespace: such a text is compiled."""
    text = "def f(a):\n    return g(a) + 1\ndef g(a):\n    return a * 2"
    path = tmp_path / "m.py"
    path.write_text(prebuilt.module_text([text]), encoding="utf-8")
    monkeypatch.setattr(prebuilt, "_codes", prebuilt._read(path))
    monkeypatch.setattr(prebuilt, "_pending", [])
    key = hashlib.sha256(text.encode()).hexdigest()
    assert prebuilt._lookup(key, text) is not None  # shipped, and found…
    seen: list[str] = []
    monkeypatch.setattr(prebuilt, "compile", lambda t, *a, **k: seen.append(t) or compile(t, *a, **k), raising=False)
    ns: dict[str, Any] = {}
    prebuilt.define(text, "<x>", ns)
    assert seen == [text] and ns["f"](3) == 7  # … but compiled
    ns["g"] = lambda a: 0
    assert ns["f"](3) == 1  # a global of the namespace, as exec() binds it


def test_a_checkout_has_no_shipped_code() -> None:
    """Nothing generated in the source tree: the modules exist only inside a built wheel."""
    assert all(ROOT not in p.parents for p in resources.shipped_code_paths())


def test_installed_decide_imports_neither_parser_nor_checker(shipped: Path, built: tuple[Path, list[str]], cache_dir: Path, tmp_path: Path) -> None:
    """`cpc-rules decide` as installed (the IR and the code shipped, an empty user cache): no Lark, checker or YAML, and no compile() of generated code."""
    ir_file = tmp_path / "ir" / resources.SHIPPED_IR
    ir_file.parent.mkdir()
    api.write_shipped_ir(ir_file)
    probe = (
        "import sys, runpy, builtins\n"
        "from pathlib import Path\n"
        "from cpc_rules import resources\n"
        "from cpc_rules.engine import prebuilt\n"
        "ir_file, code = Path(sys.argv[2]), Path(sys.argv[3])\n"
        "resources.shipped_ir_path = lambda: ir_file\n"
        "resources.shipped_code_paths = lambda: [code / n for n in resources.SHIPPED_CODE]\n"
        "seen = []\n"
        "prebuilt.compile = lambda *a, **k: seen.append(a) or compile(*a, **k)\n"
        "sys.argv = ['cpc-rules', 'decide', sys.argv[1], '--format', 'json']\n"
        "try:\n"
        "    runpy.run_module('cpc_rules.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MODULES', 'lark' in sys.modules, 'cpc_rules.check.checker' in sys.modules, 'yaml' in sys.modules, len(seen), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": str(cache_dir)}
    situation = ROOT / "examples" / "fournitures-collectivite-2026.json"
    r = subprocess.run([sys.executable, "-c", probe, str(situation), str(ir_file), str(shipped)], env=env, capture_output=True, text=True, check=False)
    assert r.stdout.startswith("{"), r.stderr
    assert "MODULES False False False 0" in r.stderr
    assert not list(cache_dir.iterdir())  # nothing written to the user's cache either


def test_threads_defining_at_once(shipped: Path, built: tuple[Path, list[str]]) -> None:
    """The service decides in worker threads: several first uses at once each get their functions (read from the modules, or compiled)."""
    import threading

    texts = list(dict.fromkeys(built[1]))
    errors: list[BaseException] = []
    spaces: list[dict[str, Any]] = []

    def work() -> None:
        try:
            for text in reversed(texts):  # the traced ones first: the second module is read by whichever thread comes first
                ns: dict[str, Any] = {"__builtins__": {}}
                prebuilt.define(text, "<x>", ns)
                spaces.append(ns)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(spaces) == 8 * len(texts)
    assert all(any(isinstance(v, types.FunctionType) for v in ns.values()) for ns in spaces)


def test_an_installed_wheel_ships_what_the_compiler_generates_now(built: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run against an install (CI tests the installed package): its modules hold, as `define` takes them, every text generated now."""
    paths = resources.shipped_code_paths()
    if not paths:
        pytest.skip("a checkout: no code shipped with a wheel (CI runs this against the install)")
    monkeypatch.setenv("CPC_RULES_CACHE", str(tmp_path))  # the suite runs with it off, which turns the shipped code off
    codes: dict[str, Any] = {}
    for path in paths:
        codes.update(prebuilt._read(path))
    monkeypatch.setattr(prebuilt, "_codes", codes)
    monkeypatch.setattr(prebuilt, "_pending", [])
    missing = [t[:40] for t in dict.fromkeys(built[1]) if prebuilt._lookup(hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest(), t) is None]
    assert missing == []


_FRAGMENTS = ["\n", "def _", "a" * 64, "0123456789abcdef" * 4, "():", "():\n", "    x = 1\n", "def _x():\n", " ", "\ndef _" + "f" * 64 + "():\n"]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30))
def test_wrapper_lines_are_found_as_the_pattern_finds_them(parts: list[str]) -> None:
    """`_wrappers` (str.find, then the pattern where a line starts with `def _`) finds what `_WRAPPER.finditer` finds, at the same places."""
    source = "".join(parts)
    assert [(m.start(), m.group(1)) for m in prebuilt._wrappers(source)] == [(m.start(), m.group(1)) for m in prebuilt._WRAPPER.finditer(source)]
