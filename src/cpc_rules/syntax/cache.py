"""A per-user disk cache of what parsing produces: data only, validated on load, never code.

Parsing (and building the parser) and checking are most of a load, and rulebook
files rarely change. Three kinds of entries, all JSON:

* a parsed file (`ast-*.json`): the AST (syntax/serial.py), bound to the sha256 of
  the file's text, its path, the grammar and the engine version, and re-checked
  against the text when read (serial.load);
* a checked rulebook (`ir-*.json`): the IR and the warnings (check/serial.py), bound
  to the path and sha256 of every file, the title, and a fingerprint of the grammar
  and of the code that parses and checks; validated when read (types, indices, the
  evaluation order, literals and names re-read from the texts);
* the parser's LALR tables (`lark-*.json`, see syntax/parse.py), bound to the
  grammar, the Lark version and the engine version.

A wheel also ships the bundled rulebook's checked IR (`cpc_rules/prebuilt/ccp_ir.py`,
written by hatch_build.py when the wheel is built, never in git): a Python module that
builds it (check/serial.py `module_text`), compiled to bytecode by pip like the package's
own modules, bound like an entry to every file's text (its files named inside the
rulebook's folder, `shipped_binding`), and taken only if it is trusted like the code
beside it (`import_shipped`); being the package's own, it is not validated field by field.

Nothing is unpickled or executed from the cache. Where: `CPC_RULES_CACHE` if set
(`off`, in any case, disables it), else `$XDG_CACHE_HOME/cpc-rules`, else
`~/.cache/cpc-rules`. Like ssh with `~/.ssh`, a folder (or entry) that another user
can write, or that the current user does not own, is refused: a warning on
stderr, and no cache. Writes go to a temporary file renamed over the entry, and
the temporary is removed on any failure. A cache that cannot be read or written
is otherwise ignored: it only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cpc_rules import __version__, resources
from cpc_rules.syntax import ast, serial

_MAX_ENTRY = 64 * 1024 * 1024  # bytes; an entry larger than this is not read


def _setting() -> str | None:
    return os.environ.get("CPC_RULES_CACHE")


def disabled() -> bool:
    setting = _setting()
    return setting is not None and setting.strip().lower() == "off"


def _location() -> Path | None:
    if disabled():
        return None
    setting = _setting()
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cpc-rules"


_warned: set[str] = set()


def _warn(message: str) -> None:
    """Once per process and message: the cache is an optimisation, a user must still know it is off."""
    if message not in _warned:
        _warned.add(message)
        print(f"avertissement : {message}", file=sys.stderr)


def _unsafe(st: os.stat_result, owners: frozenset[int] | None = None) -> str | None:
    """Why a file or folder with this status cannot be trusted (None: it can); `owners`: the accepted owners (default: the user)."""
    if not hasattr(os, "getuid"):  # pragma: no cover - no POSIX ownership (Windows): the user's profile protects it
        return None
    if st.st_uid not in (owners if owners is not None else (os.getuid(),)):
        return "il appartient à un autre utilisateur"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return "d'autres utilisateurs peuvent y écrire"
    return None


def directory(create: bool = False) -> Path | None:
    """The cache folder if it is safe to use (created, private, when `create`), else None."""
    where = _location()
    if where is None:
        return None
    try:
        st = os.stat(where)
    except FileNotFoundError:
        if not create:
            return None
        try:
            where.mkdir(parents=True, mode=0o700, exist_ok=True)
            st = os.stat(where)
        except OSError:
            return None
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    reason = _unsafe(st)
    if reason is not None:
        _warn(f"cache {where} ignoré : {reason} (chmod 700, ou CPC_RULES_CACHE=off)")
        return None
    return where


def read(name: str, binding: dict[str, Any]) -> Any:
    """The payload of entry `name` if it is a private regular file written for `binding`, else None."""
    where = directory()
    if where is None:
        return None
    return _read_entry(where / name, binding, None)


def _read_entry(path: Path, binding: dict[str, Any], owners: frozenset[int] | None) -> Any:
    """The payload of the entry at `path` if it is a regular file, owned by `owners`, that only they can write, written for `binding`."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_ENTRY:
            return None
        reason = _unsafe(st, owners)
        if reason is not None:
            _warn(f"entrée de cache {path} ignorée : {reason}")
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(_MAX_ENTRY + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    try:
        entry = json.loads(raw, parse_float=_no_float, parse_constant=_no_float)
    except (ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("binding") != binding or "payload" not in entry:
        return None
    return entry["payload"]


def _no_float(text: str) -> Any:
    raise ValueError("no floats in a cache entry")


def write(name: str, binding: dict[str, Any], payload: Any) -> None:
    """Write an entry atomically (temporary file, then rename); never leave the temporary behind."""
    where = directory(create=True)
    if where is None:
        return
    import tempfile  # only to write: a warm load does not import it

    tmp: str | None = None
    try:
        data = json.dumps({"binding": binding, "payload": payload}, ensure_ascii=False, separators=(",", ":")).encode()
        fd, tmp = tempfile.mkstemp(dir=where, prefix=".", suffix=".tmp")  # mode 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, where / name)
        tmp = None
    except (OSError, ValueError, TypeError, RecursionError):
        pass
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


@functools.cache
def grammar_hash() -> str:
    return hashlib.sha256(resources.grammar_path().read_bytes()).hexdigest()


@functools.cache
def _parser_fingerprint() -> str:
    """The parse depends on the grammar, the builder (parse.py) and the AST classes (record.py makes them) and their encoding."""
    h = hashlib.sha256(f"{__version__}\0{serial.FORMAT}\0{grammar_hash()}".encode())
    here = Path(__file__).parent
    for f in (here / "ast.py", here / "parse.py", here / "serial.py", here / "literals.py", here.parent / "record.py"):
        h.update(f.read_bytes())
    return h.hexdigest()


def ir_entry(texts: dict[str, str], title: str, fingerprint: Callable[[], str]) -> tuple[str | None, dict[str, Any]]:
    """The name and binding of the checked-IR entry of a rulebook (check/serial.py): its files and texts, its title, the code."""
    if _location() is None:
        return None, {}
    files = [[path, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()] for path, text in texts.items()]
    binding = {"kind": "ir", "engine": __version__, "code": fingerprint(), "title": title, "files": files}
    name = "ir-" + hashlib.sha256(json.dumps(binding, sort_keys=True, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest() + ".json"
    return name, binding


def shipped_binding(texts: dict[str, str], root: Path, title: str, fingerprint: Callable[[], str]) -> dict[str, Any] | None:
    """The binding of the checked-IR entry built with the wheel (hatch_build.py) for the rulebook in folder `root`.

    As `ir_entry`'s, but each file named by its path inside `root` (posix), so that the
    entry holds wherever the package is installed; None if a file is outside `root`.
    """
    files = []
    for path, text in texts.items():
        try:
            rel = Path(path).relative_to(root).as_posix()
        except ValueError:
            return None
        files.append([rel, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()])
    return {"kind": "ir-shipped", "engine": __version__, "code": fingerprint(), "title": title, "files": files}


def read_shipped(path: Path, binding: dict[str, Any]) -> Any:
    """The payload of the entry shipped inside the installed package, if it was written for `binding`.

    Trusted as the code beside it is, no more: the file and its folder must be owned by
    the user, by root or by the owner of this module's file, and writable by none other.
    `CPC_RULES_CACHE=off` turns it off too (everything is then parsed and checked).
    """
    if disabled():
        return None
    try:
        folder, code = os.stat(path.parent), os.stat(__file__)
    except OSError:
        return None
    owners = frozenset({os.getuid(), 0, code.st_uid}) if hasattr(os, "getuid") else None
    if not stat.S_ISDIR(folder.st_mode):
        return None
    reason = _unsafe(folder, owners)
    if reason is not None:
        _warn(f"recueil précompilé {path} ignoré : son dossier {reason}")
        return None
    return _read_entry(path, binding, owners)


def shipped_file_trusted(path: Path, what: str) -> bool:
    """A file the package ships (not a link), and its folder, owned by the user, root or the owner of this module's file, writable by no one else; warns why not (`what`: its name in the warning)."""
    try:
        st, folder, code = os.stat(path, follow_symlinks=False), os.stat(path.parent), os.stat(__file__)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or not stat.S_ISDIR(folder.st_mode):
        return False
    owners = frozenset({os.getuid(), 0, code.st_uid}) if hasattr(os, "getuid") else None
    for which, s in (("le fichier", st), ("son dossier", folder)):
        reason = _unsafe(s, owners)
        if reason is not None:
            _warn(f"{what} {path} ignoré : {which} : {reason}")
            return False
    return True


def import_shipped(path: Path, binding: dict[str, Any]) -> Any:
    """The Python module shipped inside the installed package at `path` (the bundled rulebook's IR, check/serial.py `module_text`), if it was written for `binding`; else None.

    Trusted as the code beside it is, no more (as `read_shipped`, the file itself too): owned
    by the user, root or the owner of this module's file, writable by none other; imported
    from its source, or the bytecode pip wrote beside it at install (importlib checks it
    against the source). Never from the user's cache. `CPC_RULES_CACHE=off` turns it off.
    """
    if disabled() or not shipped_file_trusted(path, "recueil précompilé"):
        return None
    import importlib.util

    try:
        spec = importlib.util.spec_from_file_location("cpc_rules._prebuilt_" + path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if module.BINDING != binding:
            return None
    except Exception:  # noqa: BLE001 - a module that does not import as written is ignored: it only saves time
        return None
    return module


def cached(parse: Callable[[str, str], ast.Module], text: str, path: str) -> ast.Module:
    """`parse(text, path)`, or the module parsed before from the same text by the same parser."""
    ast.deep_enough()
    if _location() is None:
        return parse(text, path)
    text_hash = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    binding = {"kind": "ast", "engine": __version__, "parser": _parser_fingerprint(), "path": path, "text": text_hash}
    name = "ast-" + hashlib.sha256(json.dumps(binding, sort_keys=True).encode("utf-8", "surrogatepass")).hexdigest() + ".json"
    payload = read(name, binding)
    if payload is not None:
        try:
            return serial.load(payload, text, path)
        except (serial.Invalid, TypeError, ValueError, RecursionError):
            pass  # not what this text parses to: parse it again, and overwrite the entry
    module = parse(text, path)  # a syntax error propagates and is not cached
    try:
        payload = serial.dump(module)
    except (TypeError, RecursionError):  # pragma: no cover - a node type serial does not know
        return module
    write(name, binding, payload)
    return module
