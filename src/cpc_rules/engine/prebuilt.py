"""Generated code compiled when the wheel is built: an installed load imports it instead of calling `compile()`.

Every function the engine generates (engine/compile.py, engine/trace.py) goes through
`define(text, filename, namespace)`: it binds the functions that `text` defines in
`namespace`, as `exec(compile(text, filename, "exec"), namespace)` does. Python's
`compile()` of the bundled rulebook's ~300 KB of generated text was most of a warm
load (~30 ms for `run` alone, in every process).

The wheel ships `cpc_rules/prebuilt/ccp_code.py` and `ccp_code_trace.py` (`api.write_shipped_code`, called by
hatch_build.py; never in git): each text the bundled rulebook generates, wrapped in a function named after
the text's sha256. pip compiles it to bytecode at install, like the package's own modules,
so a code object here is the compiled text itself. `define` takes the code of a text only
under its exact hash, so whatever the compiler generates now (another engine, another
rulebook, a stale wheel) a text that differs is compiled as before: the module can only
ever save time. It is trusted like the code beside it, no more (`_trusted`: owned by the
user, root or the package's owner, writable by no one else), ignored when it cannot be
imported or is not what `api.write_shipped_code` writes, and `CPC_RULES_CACHE=off` turns it off.
Nothing is read from the user's cache here: no code is ever stored there.

Generating the whole rulebook's text only to hash it was most of what a load still did
(~10 ms): the modules also key those functions (`BUILT`) by the IR's digest, the function
and a fingerprint of the compiler (`built_key`), with the constants they were generated
with. A load that holds the digest (the wheel's IR carries it) takes them by that key
(`built`); an unchanged IR and an unchanged compiler generate the very same text, which
tests/test_prebuilt_built.py and the CI's installed check verify against a fresh generation.
"""

from __future__ import annotations

import ast as pyast
import builtins
import datetime as dt
import functools
import hashlib
import re
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

FORMAT = 2  # bump when the module's layout below changes
_WRAPPER = re.compile(r"^def _([0-9a-f]{64})\(\):$", re.MULTILINE)
_NESTED = 0x10  # CO_NESTED: set on a function defined inside another; the wrapper's only trace

_recording: list[str] | None = None  # the texts defined while `record()` is on (the wheel build)
_recording_built: list[tuple[Any, str, tuple[Any, ...], str]] = []  # and, of those, a whole rulebook's functions: (IR, name, constants, text)
_codes: dict[str, Any] | None = None  # sha256 of a text -> its wrapper, from the shipped modules read so far
_built: dict[str, tuple[str, tuple[Any, ...]]] = {}  # key of (IR digest, function, compiler) -> (sha256 of its text, its constants), from the modules read so far
_pending: list[Path] = []  # the shipped modules not read yet


def define(text: str, filename: str, namespace: dict[str, Any], built_as: tuple[Any, str, tuple[Any, ...]] | None = None) -> None:
    """`exec(compile(text, filename, "exec"), namespace)`, from the shipped bytecode when it holds this very text.

    `built_as`: (IR, function name, constants) when the text is one of a whole rulebook's
    functions (compile.compile_rulebook): recorded by the wheel build so that a load can
    find the function by the IR's digest, without generating the text (`built`).
    """
    if _recording is not None:
        _recording.append(text)
        if built_as is not None:
            _recording_built.append((*built_as, text))
    wrapper = _lookup(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(), text)
    if wrapper is None or not _bind(wrapper, filename, namespace):
        exec(compile(text, filename, "exec", dont_inherit=True), namespace)  # noqa: S102 - the caller builds the text from the IR only; no __future__ of this module


def _bind(wrapper: Any, filename: str, namespace: dict[str, Any]) -> bool:
    """Bind in `namespace` the functions the wrapper's text defines, as exec() of the text does; False (nothing bound) if they are not plain functions."""
    if not _plain(wrapper):
        return False
    outer = wrapper.__code__
    codes = [c for c in outer.co_consts if isinstance(c, types.CodeType)]
    namespace.setdefault("__builtins__", builtins.__dict__)  # as exec() does
    for code in codes:
        code = _as_compiled(code, filename, outer.co_firstlineno, outer.co_qualname + ".<locals>.").replace(co_flags=code.co_flags & ~_NESTED)
        namespace[code.co_name] = types.FunctionType(code, namespace, code.co_name)
    return True


def _plain(wrapper: Any) -> bool:
    """Whether the wrapper's text defines plain functions only: one calling its sibling holds a cell of the wrapper (a global once compiled), which binding would lose."""
    outer = wrapper.__code__
    return not outer.co_cellvars and not any(isinstance(c, types.CodeType) and c.co_freevars for c in outer.co_consts)


def _read_until(have: Any) -> None:
    """Read the shipped modules not read yet, in order, until `have()` (or none is left)."""
    global _codes, _pending
    if _codes is None:
        _codes, _pending = {}, _modules()
        _built.clear()
    while not have():
        try:
            path = _pending.pop(0)  # atomic: two threads never read the same module; one that finds none left compiles
        except IndexError:
            return
        _codes.update(_read(path))


@functools.cache
def compiler_fingerprint() -> str:
    """What the generated text of an IR depends on besides the IR: this engine's version and the source of the compiler (compile.py, the IR's classes, the runtime its code calls, this module)."""
    from cpc_rules import __version__

    h = hashlib.sha256(f"{__version__}\0{FORMAT}".encode())
    pkg = Path(__file__).resolve().parent.parent
    for f in (pkg / "ir.py", pkg / "engine" / "compile.py", pkg / "engine" / "runtime.py", pkg / "engine" / "prebuilt.py"):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def built_key(digest: str, name: str) -> str:
    """The key of a whole rulebook's function in the shipped modules: the IR's digest, the function, the compiler."""
    return hashlib.sha256(f"{digest}\0{name}\0{compiler_fingerprint()}".encode()).hexdigest()


def built(digest: str, name: str) -> tuple[tuple[Any, ...], Any] | None:
    """(constants, bind) of function `name` that the wheel generated for the IR of this digest with this very compiler, else None.

    The same IR and the same compiler generate the same text (tests/test_prebuilt.py and
    the CI's installed check compare them): the shipped bytecode of that text is taken
    without generating it. `bind(filename, namespace)` binds its functions; the caller gives
    `constants` as `K`. Trusted as `define`'s modules are (`_trusted`, off with the cache).
    """
    if _off():
        return None
    try:
        key = built_key(digest, name)
    except OSError:  # pragma: no cover - the package's own files unreadable
        return None
    _read_until(lambda: key in _built)
    hit = _built.get(key)
    found = _codes.get(hit[0]) if hit is not None and _codes is not None else None
    if found is None or not _plain(found[0]):
        return None
    wrapper, constants = found[0], hit[1]  # type: ignore[index]

    def bind(filename: str, namespace: dict[str, Any]) -> None:
        _bind(wrapper, filename, namespace)

    return constants, bind


def _as_compiled(code: types.CodeType, filename: str, offset: int, prefix: str) -> types.CodeType:
    """The code as `compile(text, filename)` names it: its file, its lines in the text, its name without the wrapper's (nested code too)."""
    consts = tuple(_as_compiled(c, filename, offset, prefix) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_firstlineno=code.co_firstlineno - offset, co_qualname=code.co_qualname.removeprefix(prefix), co_consts=consts)


def _lookup(key: str, text: str) -> Any:
    """The wrapper of `text` (of hash `key`) in the modules read so far, else in the next shipped one (the traced code is read only by a process that traces).

    Taken only if its module's source holds `text` itself as that wrapper's whole body,
    defined once: the bytecode is what Python compiled from that source (importlib checks
    it against the file).
    """
    if _off():
        return None
    _read_until(lambda: key in _codes)  # type: ignore[operator]
    found = _codes.get(key) if _codes is not None else None
    if found is None:
        return None
    wrapper, source, at = found
    block = f"def _{key}():\n{_indent(text)}\n"
    if not source.startswith(block, at) or source[at + len(block) : at + len(block) + 1] in (" ", "\t", "\n"):
        return None  # another body, or more in it than the text
    return wrapper


def _indent(text: str) -> str:
    """The text as the body of a function (a blank line gets four spaces: still blank to Python)."""
    return "    " + text.replace("\n", "\n    ")


def record() -> list[str]:
    """Start recording every text defined in this process (hatch_build.py); the list fills as they are (and `_recording_built`)."""
    global _recording
    _recording = []
    _recording_built.clear()
    return _recording


def _off() -> bool:
    """`CPC_RULES_CACHE=off`, asked at every use: set in the middle of a process, it still turns the shipped code off."""
    from cpc_rules.syntax import cache

    return cache.disabled()


def _modules() -> list[Path]:
    """The shipped modules this process may read, in order (none from a checkout, with `CPC_RULES_CACHE=off`, or untrusted)."""
    from cpc_rules import resources
    from cpc_rules.syntax import cache

    if cache.disabled():
        return []
    return [p for p in resources.shipped_code_paths() if _trusted(p)]


def _read(path: Path) -> dict[str, Any]:
    """The texts of one shipped module by hash; {} if it is not as `api.write_shipped_code` writes it."""
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("cpc_rules._prebuilt_" + path.stem, path)
        assert spec is not None and spec.loader is not None
        source = path.read_text(encoding="utf-8")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        codes, built_here = module.CODES, module.BUILT
        if module.FORMAT != FORMAT or not isinstance(codes, dict) or not isinstance(built_here, dict):
            return {}
        starts: dict[str, tuple[int, int] | None] = {}  # wrapper -> (offset, line) of its `def` in the source
        line, last = 1, 0
        for m in _wrappers(source):
            line, last = line + source.count("\n", last, m.start()), m.start()
            starts[m.group(1)] = None if m.group(1) in starts else (m.start(), line)  # a wrapper defined twice is never taken
        found = {
            k: (v, source, where[0])
            for k, v in codes.items()
            if isinstance(k, str) and isinstance(v, types.FunctionType) and v.__name__ == "_" + k
            and (where := starts.get(k)) is not None and v.__code__.co_firstlineno == where[1]  # the function compiled from that very `def`
        }
        for k, v in built_here.items():
            if isinstance(k, str) and isinstance(v, tuple) and len(v) == 2 and v[0] in found and isinstance(v[1], tuple):
                _built.setdefault(k, v)
        return found
    except Exception:  # noqa: BLE001 - a module that does not import as written is ignored: it only saves time
        return {}


def _wrappers(source: str) -> Any:
    """The `def _<sha256>():` lines of a module's source, in order: `_WRAPPER.finditer`, but a line is matched only where one starts with `def _` (found by `str.find`, ~5× faster)."""
    pos = 0 if source.startswith("def _") else source.find("\ndef _") + 1
    while pos > 0 or (pos == 0 and source.startswith("def _")):
        m = _WRAPPER.match(source, pos)
        if m is not None:
            yield m
        pos = source.find("\ndef _", pos) + 1
        if pos == 0:
            return


def _trusted(path: Path) -> bool:
    """As the shipped IR (cache.shipped_file_trusted): the file and its folder owned by the user, root or the package's owner, writable by no one else."""
    from cpc_rules.syntax import cache

    return cache.shipped_file_trusted(path, "code précompilé")


def module_text(texts: list[str], built_as: list[tuple[str, str, tuple[Any, ...], str]] = ()) -> str:  # type: ignore[assignment]
    """The shipped module's source: each distinct text indented inside `def _<sha256>():`, `CODES` by hash, and `BUILT`.

    Only a text that is nothing but plain function definitions (no decorator, default or
    annotation: what the generator writes) is shipped, so that binding its functions in a
    namespace is exactly what executing it does; any other is left to `compile()` at load.
    `built_as`: (IR digest, function name, constants, text) of a whole rulebook's functions
    among `texts`: `BUILT` maps their key (`built_key`) to their text's hash and constants,
    spelt as Python values (a function whose constants are not of these kinds is left out).
    """
    from cpc_rules import __version__

    lines = [
        f'"""The generated code of the bundled rulebook, built with the wheel by hatch_build.py (engine {__version__}); never in git. See engine/prebuilt.py."""',
        "from datetime import date as _T",
        "from decimal import Decimal as _D",
        f"FORMAT = {FORMAT}",
    ]
    names = []
    for text in dict.fromkeys(texts):
        if not _plain_definitions(text):
            continue
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        lines.append(f"def _{key}():")
        lines.append(_indent(text))
        names.append(key)
    lines.append("CODES = {" + ", ".join(f"{k!r}: _{k}" for k in names) + "}")
    entries = []
    for digest, name, constants, text in built_as:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        spelt = _constants_text(constants)
        if key in names and spelt is not None:
            entries.append(f"{built_key(digest, name)!r}: ({key!r}, {spelt})")
    lines.append("BUILT = {" + ", ".join(entries) + "}")
    return "\n".join(lines) + "\n"


def _constants_text(constants: tuple[Any, ...]) -> str | None:
    """The constants of a generated function as a Python expression of the module (None: a kind not spelt)."""
    out = []
    for v in constants:
        c = v.__class__
        if v is None or c in (bool, int, str):
            out.append(repr(v))
        elif c is Decimal and v.is_finite():
            out.append(f"_D({str(v)!r})")
        elif c is dt.date:
            out.append(f"_T.fromisoformat({v.isoformat()!r})")
        elif c is frozenset and all(x.__class__ is str for x in v):
            out.append("frozenset((" + "".join(f"{x!r}, " for x in sorted(v)) + "))")
        else:
            return None
    return "(" + "".join(x + ", " for x in out) + ")"


def _plain_definitions(text: str) -> bool:
    try:
        tree = pyast.parse(text)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return False
    for node in tree.body:
        if not isinstance(node, pyast.FunctionDef) or node.decorator_list or node.returns is not None:
            return False
        a = node.args
        if a.defaults or a.kw_defaults or a.vararg or a.kwarg or a.posonlyargs or a.kwonlyargs or any(x.annotation is not None for x in a.args):
            return False
    # a multi-line string would be changed by the indentation: the generator writes none
    return not any(isinstance(n, pyast.Constant) and isinstance(n.value, str) and "\n" in n.value for n in pyast.walk(tree))
