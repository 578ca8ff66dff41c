"""The disk cache can save time, never change the law nor run code (issue 8 point 1).

The planted entries mirror ../shared/repro/reliability/cache/: a pickle with a payload,
a valid-looking entry whose threshold was changed, a folder another user can write.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import ship

from cpc_rules import api, resources
from cpc_rules.syntax import ast, cache, serial
from cpc_rules.syntax import parse as P
from cpc_rules.syntax.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
SITUATION_300K = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "300000", "services_sociaux_spécifiques": False}


def _counting() -> tuple[list[str], object]:
    calls: list[str] = []

    def parse(text: str, path: str) -> ast.Module:
        calls.append(path)
        return parse_text(text, path)

    return calls, parse


def test_hit_miss_and_binding(cache_dir: Path) -> None:
    calls, parse = _counting()
    text = 'fait x : montant\narticle R1 règle r : autorise proc a si x > 25 000 € et vrai\n'
    first = cache.cached(parse, text, "a.cpc")  # type: ignore[arg-type]
    again = cache.cached(parse, text, "a.cpc")  # type: ignore[arg-type]
    assert again == first and calls == ["a.cpc"]  # a hit
    assert serial.dump(again) == serial.dump(first)  # spans included
    cache.cached(parse, text + "fait y : montant\n", "a.cpc")  # type: ignore[arg-type]  # another text: a miss
    cache.cached(parse, text, "b.cpc")  # type: ignore[arg-type]  # another path (spans name it): a miss
    assert calls == ["a.cpc", "a.cpc", "b.cpc"]
    entries = list(cache_dir.iterdir())
    assert entries and all(e.suffix == ".json" for e in entries)
    assert all(stat.S_IMODE(e.stat().st_mode) == 0o600 for e in entries)


def test_every_bundled_file_round_trips_exactly() -> None:
    for f in sorted(resources.bundled_rulebook_path().rglob("*.cpc")):
        text = f.read_text(encoding="utf-8")
        module = parse_text(text, str(f))
        data = json.loads(json.dumps(serial.dump(module)))
        back = serial.load(data, text, str(f))
        assert back == module and serial.dump(back) == serial.dump(module)


@pytest.mark.parametrize("setting", ["off", "OFF", "Off", " off "])
def test_off_in_any_case(setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CPC_RULES_CACHE", setting)
    calls, parse = _counting()
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    assert len(calls) == 2 and not list(tmp_path.iterdir())  # no folder named "OFF" either


def _fill(cache_dir: Path) -> None:
    """Parse entries only: the checked-IR entries (tests/test_ir_cache.py) would answer before them."""
    api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
    assert list(cache_dir.glob("ast-*.json"))
    for entry in cache_dir.glob("ir-*.json"):
        entry.unlink()


def test_planted_pickle_never_runs(cache_dir: Path, tmp_path: Path) -> None:
    """Every entry replaced by a pickle whose loading would write a marker file."""
    _fill(cache_dir)
    marker = tmp_path / "PWNED"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.system, (f"touch {marker}",))

    planted = pickle.dumps(Payload())
    for entry in cache_dir.iterdir():
        entry.write_bytes(planted)
        entry.with_suffix(".pickle").write_bytes(planted)  # the old entry name, too
    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
    assert not marker.exists()
    assert _answer(rb) == "not_allowed"


def _answer(rb: api.Rulebook) -> str:
    status = rb.decide(SITUATION_300K, at="2026-03-01").status("procédure", "procédure_adaptée")
    assert status is not None
    return str(status.permission)


def _genuine_answer() -> str:
    return _answer(api.load_rulebook(resources.bundled_rulebook_path(), tests=False))


def _forged_rulebook(tmp_path: Path, old: str, new: str) -> api.Rulebook:
    """The rulebook as the forged entry would make it: proof that the tests below can fail."""
    import shutil

    copy = tmp_path / "forged"
    shutil.copytree(resources.bundled_rulebook_path(), copy)
    prologue = copy / "00-prologue.cpc"
    prologue.write_text(prologue.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return api.load_rulebook(copy, tests=False)


def test_poisoned_threshold_is_not_loaded(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid entry, under the genuine text's name, made from a text with another threshold."""
    _fill(cache_dir)
    f = resources.bundled_rulebook_path() / "00-prologue.cpc"
    text = f.read_text(encoding="utf-8")
    genuine, forged_text = "fournitures | services : 216 000 €", "fournitures | services : 2 160 000 €"
    assert genuine in text
    forged = serial.dump(parse_text(text.replace(genuine, forged_text), str(f)))
    hits = 0
    for entry in cache_dir.glob("ast-*.json"):
        data = json.loads(entry.read_text(encoding="utf-8"))
        if data["binding"]["path"] == str(f):
            data["payload"] = forged
            entry.write_text(json.dumps(data), encoding="utf-8")
            hits += 1
    assert hits == 1
    digest = api.load_rulebook(resources.bundled_rulebook_path(), tests=False).digest
    assert _genuine_answer() == "not_allowed"
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    forged_rb = _forged_rulebook(tmp_path, genuine, forged_text)
    assert _answer(forged_rb) == "allowed" and forged_rb.digest != digest


def test_edited_literal_in_place_is_not_loaded(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same entry with only the amount changed (same span): re-read from the text, it differs."""
    _fill(cache_dir)
    changed = 0
    for entry in cache_dir.glob("ast-*.json"):
        raw = entry.read_text(encoding="utf-8")
        if '{"#d":"216000"}' in raw:
            entry.write_text(raw.replace('{"#d":"216000"}', '{"#d":"2160000"}'), encoding="utf-8")
            changed += 1
    assert changed
    assert _genuine_answer() == "not_allowed"
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    assert _answer(_forged_rulebook(tmp_path, " 216 000 €", " 2 160 000 €")) == "allowed"


@pytest.mark.parametrize("bad", [{"@": "Module", "path": "x", "items": [{"@": "Popen", "args": "id"}]}, {"@": "Module"}, [1, 2], "x", {"#d": "NaN"}])
def test_malformed_payloads_are_invalid(bad: object) -> None:
    with pytest.raises(serial.Invalid):
        serial.load(bad, "", "x")


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_folder_others_can_write_is_refused(mode: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "shared"
    d.mkdir()
    os.chmod(d, mode)
    monkeypatch.setenv("CPC_RULES_CACHE", str(d))
    cache._warned.clear()
    calls, parse = _counting()
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    assert len(calls) == 2 and not list(d.iterdir())
    err = capsys.readouterr().err
    assert "avertissement" in err and "ignoré" in err and err.count("avertissement") == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to give a folder to another user")
def test_folder_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "theirs"
    d.mkdir(mode=0o700)
    os.chown(d, 65534, 65534)  # nobody
    monkeypatch.setenv("CPC_RULES_CACHE", str(d))
    cache._warned.clear()
    calls, parse = _counting()
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    assert calls and not list(d.iterdir()) and "autre utilisateur" in capsys.readouterr().err


def test_entry_others_can_write_is_ignored(cache_dir: Path) -> None:
    calls, parse = _counting()
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    for e in cache_dir.iterdir():
        os.chmod(e, 0o666)
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    assert len(calls) == 2


def test_no_orphan_temporaries(cache_dir: Path) -> None:
    """Every entry replaced by a folder: writes fail, and leave nothing behind (cache/orphan-tmp.sh)."""
    calls, parse = _counting()
    cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    for e in list(cache_dir.iterdir()):
        e.unlink()
        e.mkdir()
    for _ in range(3):
        cache.cached(parse, "fait x : montant\n", "a.cpc")  # type: ignore[arg-type]
    assert len(calls) == 4
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []


def test_a_syntax_error_is_raised_never_cached(cache_dir: Path) -> None:
    from cpc_rules.diagnostics import CpcError

    calls, parse = _counting()
    for _ in range(2):
        with pytest.raises(CpcError):
            cache.cached(parse, "fait x montant\n", "c.cpc")  # type: ignore[arg-type]
    assert len(calls) == 2 and not list(cache_dir.iterdir())


def test_parser_tables_cached_as_json(cache_dir: Path) -> None:
    P.parser.cache_clear()
    try:
        built = P.parser()
        tables = list(cache_dir.glob("lark-*.json"))
        assert len(tables) == 1
        json.loads(tables[0].read_text(encoding="utf-8"))  # plain JSON
        P.parser.cache_clear()
        loaded = P.parser()
        text = (resources.bundled_rulebook_path() / "00-prologue.cpc").read_text(encoding="utf-8")
        assert loaded is not built and loaded.parse(text) == built.parse(text)
        tables[0].write_text('{"binding": 1}', encoding="utf-8")  # damaged: rebuilt
        P.parser.cache_clear()
        assert P.parser().parse(text) == built.parse(text)
    finally:
        P.parser.cache_clear()


def test_no_pickle_is_ever_loaded(cache_dir: Path) -> None:
    """A whole cold-then-warm load in a fresh process with every unpickling entry point disabled."""
    program = (
        "import pickle\n"
        "def refuse(*a, **k): raise AssertionError('pickle used')\n"
        "pickle.load = pickle.loads = refuse\n"
        "pickle.Unpickler = refuse\n"
        "from cpc_rules import api, resources\n"
        "for _ in range(2):\n"
        "    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)\n"
        "print(rb.digest)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": str(cache_dir)}
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert list(cache_dir.glob("lark-*.json")) and list(cache_dir.glob("ast-*.json"))
    assert not [p for p in cache_dir.iterdir() if not p.name.endswith(".json")]


def test_no_prebuilt_binary_parser_in_the_tree() -> None:
    assert not resources.grammar_path().with_suffix(".lark.parser").exists()


def test_warm_load_imports_neither_lark_nor_the_checker(cache_dir: Path) -> None:
    """Start-up (issue 11 point 4): with the cache filled, deciding needs no parser and no checker (networkx, once
    checked here too, is no longer a dependency: tests/test_graph.py)."""
    program = (
        "import sys\n"
        "from cpc_rules import api, resources\n"
        "rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)\n"
        "rb.decide({'nature': 'fournitures'}, at='2024-05-01')\n"
        "print('lark' in sys.modules, 'cpc_rules.check.checker' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": str(cache_dir)}
    first = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["True", "True"]  # cold: Lark parses, the checker checks (and both are cached)
    warm = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=False)
    assert warm.returncode == 0, warm.stderr
    assert warm.stdout.split() == ["False", "False"]


def _shipped_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The parser's tables as the wheel build writes them, where an installed package keeps them."""
    out = ship(tmp_path / "prebuilt", "lark-tables.json", P.write_shipped_tables)
    monkeypatch.setattr(resources, "shipped_tables_path", lambda: out)
    return out


def test_shipped_parser_tables_spare_the_build(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After `pip install`, with an empty user cache: the parser comes from the wheel's tables, parses alike, and is not built."""
    text = (resources.bundled_rulebook_path() / "00-prologue.cpc").read_text(encoding="utf-8")
    P.parser.cache_clear()
    try:
        reference = P.parser().parse(text)
        for entry in cache_dir.glob("lark-*.json"):
            entry.unlink()
        _shipped_tables(tmp_path, monkeypatch)
        built: list[int] = []
        real = P._build_unchecked
        monkeypatch.setattr(P, "_build_unchecked", lambda g: built.append(1) or real(g))
        P.parser.cache_clear()
        assert P.parser().parse(text) == reference and not built
        assert not list(cache_dir.glob("lark-*.json"))
    finally:
        P.parser.cache_clear()


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["binding"].__setitem__("lark", "0.0.1"),  # another Lark's
        lambda d: d["binding"].__setitem__("grammar", "0" * 64),  # another grammar's
        lambda d: d.__setitem__("payload", ["X", 1]),  # not tables
        lambda d: d.__setitem__("payload", ["D", "data", ["D"], "memo", ["D"]]),  # tables Lark cannot load
    ],
    ids=["lark-version", "grammar", "tag", "empty"],
)
def test_foreign_or_damaged_shipped_tables_are_ignored(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Any) -> None:
    text = (resources.bundled_rulebook_path() / "00-prologue.cpc").read_text(encoding="utf-8")
    shipped = _shipped_tables(tmp_path, monkeypatch)
    data = json.loads(shipped.read_text(encoding="utf-8"))
    damage(data)
    shipped.write_text(json.dumps(data), encoding="utf-8")
    P.parser.cache_clear()
    try:
        assert P.parser().parse(text)  # built, and kept in the user's cache
        assert len(list(cache_dir.glob("lark-*.json"))) == 1
    finally:
        P.parser.cache_clear()


def test_shipped_tables_others_can_write_are_ignored(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    shipped = _shipped_tables(tmp_path, monkeypatch)
    os.chmod(shipped, 0o666)
    P.parser.cache_clear()
    try:
        P.parser()
        assert "ignorée" in capsys.readouterr().err and len(list(cache_dir.glob("lark-*.json"))) == 1  # built
    finally:
        P.parser.cache_clear()
