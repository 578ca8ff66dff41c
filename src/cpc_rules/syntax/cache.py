"""A per-user disk cache of parsed files: parsing is most of a load, and rulebook files rarely change.

An entry is keyed by the file's path and text and by a fingerprint of the parser
(the grammar, the syntax modules, the package version), so any change to either
misses. Where: `CPC_RULES_CACHE` if set (`off` disables the cache), else
`$XDG_CACHE_HOME/cpc-rules`, else `~/.cache/cpc-rules`. A cache that cannot be
read or written is ignored: it only ever saves time.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path

from cpc_rules import __version__, resources
from cpc_rules.syntax import ast


def _directory() -> Path | None:
    setting = os.environ.get("CPC_RULES_CACHE")
    if setting == "off":
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cpc-rules"


@functools.cache
def _fingerprint() -> bytes:
    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for f in (resources.grammar_path(), here / "ast.py", here / "parse.py"):
        h.update(f.read_bytes())
    return h.digest()


def cached(parse: Callable[[str, str], ast.Module], text: str, path: str) -> ast.Module:
    """`parse(text, path)`, or the module parsed before from the same text by the same parser."""
    directory = _directory()
    if directory is None:
        return parse(text, path)
    key = hashlib.sha256(_fingerprint() + path.encode() + b"\0" + text.encode()).hexdigest()
    entry = directory / f"{key}.pickle"
    try:
        module = pickle.loads(entry.read_bytes())
        if isinstance(module, ast.Module):
            return module
    except Exception:  # noqa: BLE001, S110 - a missing or unreadable entry is a miss
        pass
    module = parse(text, path)  # a syntax error propagates and is not cached
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as tmp:
            tmp.write(pickle.dumps(module, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp.name, entry)
    except OSError:
        pass
    return module
