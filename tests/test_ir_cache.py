"""The checked rulebook kept in the cache (issue 11 point 4): data validated when read, never code; bound to the texts.

A warm load neither parses nor checks; a changed file, a corrupt, forged or foreign entry
is ignored and the rulebook checked again. The planted entries mirror
../shared/repro/reliability/cache/ (a threshold changed in a valid-looking entry).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import strategies as S
from helpers import ship
from hypothesis import HealthCheck, given, settings

from cpc_rules import api, ir, record, resources
from cpc_rules.check import checker
from cpc_rules.check import serial as ir_serial
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine import compile as engine_compile
from cpc_rules.syntax import ast
from cpc_rules.syntax import format as fmt
from cpc_rules.syntax.parse import parse_text

ROOT = Path(__file__).resolve().parent.parent
SITUATION_300K = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "300000", "services_sociaux_spécifiques": False}
SMALL = (
    'couverture depuis 2019-04-01\nénumération proc "p" { mapa "m", ao "a" }\nénumération nat "n" { f "f", t "t" }\n'
    'fait x : montant "x"\nfait inutile : booléen "jamais lu"\nfait urgent : booléen "u"\n  présumé faux "rare" (R1)\n'
    'paramètre seuil : montant "s" selon nat\n  depuis 2019-04-01 :\n    f : 40 000 €\n    t : 100 000 €\n    source "d"\n'
    'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : autorise proc mapa si x < seuil[f] et non urgent\n'
)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times the checker and the parser ran."""
    calls = {"check": 0, "parse": 0}
    real_check, real_parse = checker.check, api._parse_text

    def check(*a: Any, **k: Any) -> Any:
        calls["check"] += 1
        return real_check(*a, **k)

    def parse(*a: Any, **k: Any) -> Any:
        calls["parse"] += 1
        return real_parse(*a, **k)

    monkeypatch.setattr(checker, "check", check)
    monkeypatch.setattr(api, "_parse_text", parse)
    return calls


def _answer(rb: api.Rulebook) -> str:
    status = rb.decide(SITUATION_300K, at="2026-03-01").status("procédure", "procédure_adaptée")
    assert status is not None
    return str(status.permission)


def _bundled() -> api.Rulebook:
    return api.load_rulebook(resources.bundled_rulebook_path(), tests=False)


def _ir_entry(cache_dir: Path) -> Path:
    (entry,) = cache_dir.glob("ir-*.json")
    return entry


def _round_trip(texts: dict[str, str]) -> None:
    modules = [parse_text(t, p) for p, t in texts.items()]
    rb, warnings = checker.check(modules, texts, "t")
    data = json.loads(json.dumps(ir_serial.dump(rb, warnings), ensure_ascii=False))
    back, back_warnings = ir_serial.load(data, texts, lambda: modules)
    assert back == rb and back_warnings == warnings
    assert ir_serial.dump(back, back_warnings) == data


def test_bundled_rulebook_round_trips_exactly() -> None:
    """With its 700 test cases too; the warnings come back with the IR."""
    for tests in (False, True):
        _, texts = api.read_files(api.rulebook_files(resources.bundled_rulebook_path(), tests))
        _round_trip(texts)


def test_warnings_round_trip() -> None:
    texts = {"small.cpc": SMALL}
    _, warnings = checker.check([parse_text(SMALL, "small.cpc")], texts, "t")
    assert "W313" in [w.code for w in warnings]  # `inutile` is never read
    _round_trip(texts)


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(S.modules)
def test_generated_rulebooks_round_trip(module: ast.Module) -> None:
    """Whatever a rulebook that checks holds, the entry gives back the same IR (or refuses itself; never another one)."""
    text = fmt.module(module)
    try:
        parsed = parse_text(text, "gen.cpc")
        checker.check([parsed], {"gen.cpc": text}, "t")
    except CpcError:
        return
    _round_trip({"gen.cpc": text})


def test_warm_load_neither_parses_nor_checks(cache_dir: Path, counted: dict[str, int]) -> None:
    cold = _bundled()
    assert counted["check"] == 1 and counted["parse"] > 0
    parsed = counted["parse"]
    warm = _bundled()
    assert counted == {"check": 1, "parse": parsed}
    assert warm.checked == cold.checked and warm.warnings == cold.warnings and warm.digest == cold.digest
    assert _answer(warm) == _answer(cold) == "not_allowed"
    assert list(warm.checked.modules) == list(cold.checked.modules)  # the syntax trees, read on demand
    assert counted["parse"] == parsed  # … from the parse cache
    assert pickle.loads(pickle.dumps(warm.checked)) == cold.checked  # sent to another process: the trees as a tuple


def test_a_changed_file_is_checked_again(cache_dir: Path, tmp_path: Path, counted: dict[str, int]) -> None:
    copy = tmp_path / "rb"
    shutil.copytree(resources.bundled_rulebook_path(), copy)
    assert _answer(api.load_rulebook(copy, tests=False)) == "not_allowed"
    prologue = copy / "00-prologue.cpc"
    text = prologue.read_text(encoding="utf-8")
    genuine, changed = "fournitures | services : 216 000 €", "fournitures | services : 2 160 000 €"
    assert genuine in text
    prologue.write_text(text.replace(genuine, changed), encoding="utf-8")
    assert _answer(api.load_rulebook(copy, tests=False)) == "allowed"
    assert counted["check"] == 2
    assert len(list(cache_dir.glob("ir-*.json"))) == 2
    api.load_rulebook(copy, title="autre titre", tests=False)  # the title is in the IR: another entry
    assert counted["check"] == 3


def test_test_files_and_title_make_other_entries(cache_dir: Path, counted: dict[str, int]) -> None:
    api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
    with_tests = api.load_rulebook(resources.bundled_rulebook_path(), tests=True)
    assert counted["check"] == 2 and with_tests.checked.tests
    again = api.load_rulebook(resources.bundled_rulebook_path(), tests=True)
    assert counted["check"] == 2 and again.checked.tests == with_tests.checked.tests


def _poisoned(cache_dir: Path, edit: Any) -> None:
    """Fill the cache, edit the IR entry's payload with `edit`, and check that the genuine rulebook is what loads."""
    _bundled()
    entry = _ir_entry(cache_dir)
    data = json.loads(entry.read_text(encoding="utf-8"))
    edit(data["payload"])
    entry.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert _answer(_bundled()) == "not_allowed"
    assert json.loads(_ir_entry(cache_dir).read_text(encoding="utf-8"))["payload"] != data["payload"]  # rebuilt


def _replace(old: str, new: str, everywhere: bool) -> Any:
    def edit(payload: dict[str, Any]) -> None:
        raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        assert old in raw
        payload.clear()
        payload.update(json.loads(raw.replace(old, new) if everywhere else raw.replace(old, new, 1)))

    return edit


@pytest.mark.parametrize("everywhere", [False, True])
def test_edited_threshold_is_refused(cache_dir: Path, everywhere: bool) -> None:
    """216 000 € made 2 160 000 € in the table only, or also in the literal it comes from (re-read from the text)."""
    _poisoned(cache_dir, _replace('{"#d":"216000"}', '{"#d":"2160000"}', everywhere))


def test_forged_entry_under_the_genuine_binding_is_refused(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid entry checked from a text with another threshold, planted under the genuine text's name."""
    _bundled()
    entry = _ir_entry(cache_dir)
    genuine = json.loads(entry.read_text(encoding="utf-8"))
    copy = tmp_path / "forged"
    shutil.copytree(resources.bundled_rulebook_path(), copy)
    prologue = copy / "00-prologue.cpc"
    prologue.write_text(prologue.read_text(encoding="utf-8").replace(": 216 000 €", ": 2 160 000 €"), encoding="utf-8")
    forged_rb = api.load_rulebook(copy, title="Code de la commande publique", tests=False)
    assert _answer(forged_rb) == "allowed"  # the forgery would change the answer
    forged = ir_serial.dump(forged_rb.checked, forged_rb.warnings)
    forged["files"] = [f.replace(str(copy), str(resources.bundled_rulebook_path())) for f in forged["files"]]
    entry.write_text(json.dumps({"binding": genuine["binding"], "payload": forged}, ensure_ascii=False), encoding="utf-8")
    assert _answer(_bundled()) == "not_allowed"


def test_edited_presumption_is_refused(cache_dir: Path) -> None:
    def edit(payload: dict[str, Any]) -> None:
        lit = payload["table"][payload["presumed"][0][1]["#"]]
        assert lit[:3] == ["ast.Lit", "bool", False]
        lit[2] = True  # `présumé vrai` now: not what the text says
        presumed = next(e for e in payload["table"] if e[0] == "ir.Presumed")
        presumed[1] = True  # and the IR agrees with the edited syntax

    _poisoned(cache_dir, edit)


@pytest.mark.parametrize(
    "edit",
    [
        lambda p: p["table"].append(["os.system", "id"]),
        lambda p: p["table"].__setitem__(0, ["ir.Type", "bool"]),  # a field missing
        lambda p: p.__setitem__("root", {"#": 10**9}),  # a reference forward
        lambda p: p.update(extra=1),
        lambda p: p["table"].__setitem__(next(i for i, e in enumerate(p["table"]) if e[0] == "ir.FactRef"), ["ir.FactRef", 0, {"#": 0}, None, 10**6]),
        lambda p: p["table"].__setitem__(next(i for i, e in enumerate(p["table"]) if e[0] == "ir.Compare"), [*next(e for e in p["table"] if e[0] == "ir.Compare")[:4], "__import__", *next(e for e in p["table"] if e[0] == "ir.Compare")[5:]]),
    ],
    ids=["unknown-class", "fields", "forward-reference", "shape", "fact-index", "operator"],
)
def test_malformed_entries_are_refused(cache_dir: Path, edit: Any) -> None:
    _poisoned(cache_dir, edit)


def _flip_first(kind: str, field: int, old: str, new: str) -> Any:
    def edit(payload: dict[str, Any]) -> None:
        entry = next(e for e in payload["table"] if e[0] == kind and e[field] == old)
        entry[field] = new

    return edit


@pytest.mark.parametrize(
    "edit",
    [_flip_first("ir.Compare", 4, "<", ">="), _flip_first("ir.BoolOp", 4, "and", "or")],
    ids=["comparison", "connective"],
)
def test_operator_differing_from_the_syntax_is_refused(cache_dir: Path, edit: Any) -> None:
    """`<` made `>=` in the IR only: the checked operator must be the one of the syntax tree it was checked from."""
    _poisoned(cache_dir, edit)


def test_order_that_reads_before_computing_is_refused(cache_dir: Path) -> None:
    def edit(payload: dict[str, Any]) -> None:
        root = payload["table"][payload["root"]["#"]]
        order_field = [f.name for f in record.fields(ir.Rulebook)].index("order") + 1
        order = root[order_field]
        first_def = next(i for i, (kind, _) in enumerate(order) if kind == "def")
        order.insert(0, order.pop(first_def))  # a definition before the rules that compute it

    _poisoned(cache_dir, edit)


def test_corrupt_entry_is_rebuilt(cache_dir: Path, counted: dict[str, int]) -> None:
    _bundled()
    entry = _ir_entry(cache_dir)
    entry.write_bytes(entry.read_bytes()[:1000])
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 2
    _bundled()
    assert counted["check"] == 2  # the rebuilt entry is used


def test_entry_others_can_write_is_ignored(cache_dir: Path, counted: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    _bundled()
    os.chmod(_ir_entry(cache_dir), 0o666)
    _bundled()
    assert counted["check"] == 2 and "ignorée" in capsys.readouterr().err


def test_operations_known_to_the_compiler() -> None:
    assert ir_serial.COMPARE_OPS == frozenset(engine_compile._Gen._CMP)


def test_decide_imports_neither_parser_nor_checker(cache_dir: Path) -> None:
    """`cpc-rules decide` on JSON with the cache filled: no Lark, no checker, no YAML (a subprocess, so imports are fresh)."""
    situation = ROOT / "examples" / "fournitures-collectivite-2026.json"
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['cpc-rules', 'decide', sys.argv[1], '--format', 'json']\n"
        "try:\n"
        "    runpy.run_module('cpc_rules.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MODULES', 'lark' in sys.modules, 'cpc_rules.check.checker' in sys.modules, 'yaml' in sys.modules, file=sys.stderr)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": str(cache_dir)}
    runs = [subprocess.run([sys.executable, "-c", probe, str(situation)], env=env, capture_output=True, text=True, check=False) for _ in range(2)]
    for r in runs:
        assert '"décision"' in r.stdout or '"decision"' in r.stdout or r.stdout.startswith("{"), r.stderr
    assert runs[0].stdout == runs[1].stdout
    assert "MODULES True True False" in runs[0].stderr  # cold: parsed and checked
    assert "MODULES False False False" in runs[1].stderr  # warm: no parser, no checker, no YAML


def test_grammar_has_no_terminal_collision() -> None:
    """Built in strict mode, a collision between terminals is an error: the check that everyday builds skip (syntax/parse.py)."""
    from cpc_rules.syntax import parse as P

    strict = P.parser.__wrapped__(strict=True)
    text = (resources.bundled_rulebook_path() / "00-prologue.cpc").read_text(encoding="utf-8")
    assert strict.parse(text) == P._build_unchecked(resources.grammar_path().read_text(encoding="utf-8")).parse(text)


def _checking_files() -> list[Path]:
    """Every single-file rulebook of the repository and of the shared reproducers that checks (warnings allowed)."""
    found = sorted(p for base in (ROOT / "tests", ROOT / "bench", ROOT.parent / "shared" / "repro") if base.exists() for p in base.rglob("*.cpc"))
    out = []
    for p in found:
        try:
            text = p.read_text(encoding="utf-8")
            checker.check([parse_text(text, str(p))], {str(p): text}, "t")
        except (CpcError, UnicodeDecodeError, OSError, RecursionError):
            continue
        out.append(p)
    return out


def test_every_rulebook_that_checks_round_trips() -> None:
    """Beyond the bundled one: the golden, sample, benchmark and reproducer rulebooks (aggregates, records, lists, tables, exceptions…)."""
    files = _checking_files()
    assert len(files) >= 5
    for p in files:
        _round_trip({str(p): p.read_text(encoding="utf-8")})


@pytest.mark.parametrize("args", [["dump", "ast"], ["dump", "ir"], ["check", "--format", "json"], ["test", "--format", "json"], ["decide", str(ROOT / "examples" / "fournitures-collectivite-2026.json"), "--format", "json", "--trace"]])
def test_commands_answer_the_same_from_the_cache(cache_dir: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    """The syntax trees (read back on demand), the IR, the warnings, the tests and a traced decision: as without the cache."""
    from click.testing import CliRunner

    from cpc_rules.cli import main

    def run() -> Any:
        api.default_rulebook.cache_clear()
        return CliRunner().invoke(main, args, catch_exceptions=False)

    cold, warm = run(), run()
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    off = run()
    assert list(cache_dir.glob("ir-*.json"))
    assert cold.exit_code == warm.exit_code == off.exit_code == 0, off.output
    assert cold.output == warm.output == off.output


# ---------------------------------------------------------------- the IR shipped in the wheel (hatch_build.py)


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The bundled rulebook's IR as the wheel build writes it (a Python module), where an installed package keeps it."""
    out = ship(tmp_path / "prebuilt", resources.SHIPPED_IR, api.write_shipped_ir)
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: out)
    return out


def _module(path: Path) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("shipped_ir_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh_answer() -> tuple[Any, str]:
    """The bundled rulebook checked from its texts, and its answer (no cache, no shipped entry)."""
    from cpc_rules.syntax.parse import parse_text as parse

    _, texts = api.read_files(api.rulebook_files(resources.bundled_rulebook_path(), tests=False))
    checked, _ = checker.check([parse(t, p) for p, t in texts.items()], texts, "Code de la commande publique")
    return checked, "not_allowed"


def test_shipped_ir_makes_the_first_load_warm(cache_dir: Path, shipped: Path, counted: dict[str, int]) -> None:
    """After `pip install`, with an empty user cache: neither parsed nor checked, the same IR, no IR written to the cache."""
    module = _module(shipped)
    assert all(not Path(f).is_absolute() and "/" not in f for f in module.FILES)  # named inside the rulebook's folder
    assert module.BINDING["kind"] == "ir-shipped"
    rb = _bundled()
    assert counted == {"check": 0, "parse": 0}
    fresh, answer = _fresh_answer()
    assert rb.checked == fresh and _answer(rb) == answer
    assert rb.digest == fresh.digest
    for got, want in zip(rb.checked.nodes, fresh.nodes, strict=True):  # built as the checker builds it, down to a member set's iteration order
        if isinstance(got, ir.Member):
            assert list(got.values) == list(want.values)
    assert [w.code for w in rb.warnings] == [w.code for w in checker.check(list(fresh.modules), api.read_files(api.rulebook_files(resources.bundled_rulebook_path(), tests=False))[1], "Code de la commande publique")[1]]
    assert {s.file for s in (r.span for r in rb.checked.rules)} <= {str(f) for f in api.rulebook_files(resources.bundled_rulebook_path(), tests=False)}
    assert not list(cache_dir.glob("ir-*"))  # no entry of the user's cache: the shipped one served
    assert list(rb.checked.modules) == list(fresh.modules)  # the syntax trees, parsed on demand


def test_shipped_ir_is_only_for_its_files(cache_dir: Path, shipped: Path, counted: dict[str, int], tmp_path: Path) -> None:
    """With the test files, under another title, or one file changed: another binding, checked from the texts."""
    api.load_rulebook(resources.bundled_rulebook_path(), tests=True)
    assert counted["check"] == 1
    api.load_rulebook(resources.bundled_rulebook_path(), title="autre", tests=False)
    assert counted["check"] == 2
    copy = tmp_path / "copy"
    shutil.copytree(resources.bundled_rulebook_path(), copy)
    moved = api.load_rulebook(copy, title="Code de la commande publique", tests=False)
    assert counted["check"] == 2  # the same texts under the same names: the entry holds wherever they are
    assert moved.digest == _bundled().digest and _answer(moved) == "not_allowed"
    assert {r.span.file for r in moved.checked.rules} <= {str(f) for f in copy.glob("*.cpc")}  # named where they are
    prologue = copy / "00-prologue.cpc"
    prologue.write_text(prologue.read_text(encoding="utf-8").replace(": 216 000 €", ": 2 160 000 €"), encoding="utf-8")
    assert _answer(api.load_rulebook(copy, title="Code de la commande publique", tests=False)) == "allowed"
    assert counted["check"] == 3


def test_an_edited_installed_text_gives_the_edited_law(cache_dir: Path, shipped: Path, counted: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user who edits a .cpc file of the installed rulebook gets the edited law: the shipped IR is bound to the texts, and set aside."""
    installed = tmp_path / "installed" / "ccp"
    shutil.copytree(resources.bundled_rulebook_path(), installed)
    monkeypatch.setattr(resources, "bundled_rulebook_path", lambda: installed)
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 0  # as installed: the shipped IR
    prologue = installed / "00-prologue.cpc"
    prologue.write_text(prologue.read_text(encoding="utf-8").replace(": 216 000 €", ": 2 160 000 €"), encoding="utf-8")
    assert _answer(_bundled()) == "allowed" and counted["check"] == 1


def _edit_module(path: Path, old: str, new: str) -> None:
    """Replace `old` (present) in the module's source; its time moved on, so that no bytecode compiled before is taken for it."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    st = path.stat()
    os.utime(path, (st.st_atime + 10, st.st_mtime + 10))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("CLASSES = ('", "CLASSES = ('os.system', '"),  # a class outside the fixed table
        ("FILES = ['", "FILES = ['../../etc/passwd', '"),  # a file this rulebook does not have
        ("FILES = ['", "FILES = [['not', 'a', 'name'], '"),
        ("FILES = [", "FILES = ['00-prologue.cpc'] + ["),  # one file too many
        ("'files': [['00-prologue.cpc', '", "'files': [['00-prologue.cpc', '0"),  # built from another text
        ("'engine': '", "'engine': '0.0.0"),  # another engine's
        ("'code': '", "'code': '0"),  # another checker's
        ("FORMAT = ", "FORMAT = 9 + "),  # another layout
        ("def build(", "def built("),
        ("    return o", "    return None, ()  # o"),  # builds no IR
        ("\ndef build(", "\nraise ImportError\ndef build("),
    ],
    ids=["unknown-class", "foreign-file", "bad-file", "more-files", "foreign-text", "foreign-engine", "foreign-checker", "format", "no-build", "no-ir", "raises"],
)
def test_foreign_or_stale_shipped_ir_is_ignored(cache_dir: Path, shipped: Path, counted: dict[str, int], old: str, new: str) -> None:
    """A shipped module written for other texts, another engine or checker, or not as `write_shipped_ir` writes it: checked from the texts, then the user's cache."""
    _edit_module(shipped, old, new)
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1
    _bundled()
    assert counted["check"] == 1  # … and the user's cache serves the next load


def test_corrupt_shipped_ir_is_ignored(cache_dir: Path, shipped: Path, counted: dict[str, int]) -> None:
    shipped.write_bytes(shipped.read_bytes()[:1000])
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1


@pytest.mark.parametrize("what", ["file", "folder"])
def test_shipped_ir_others_can_write_is_ignored(cache_dir: Path, shipped: Path, counted: dict[str, int], capsys: pytest.CaptureFixture[str], what: str) -> None:
    os.chmod(shipped if what == "file" else shipped.parent, 0o666 if what == "file" else 0o777)
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1
    assert "ignoré" in capsys.readouterr().err


def test_shipped_ir_through_a_link_is_ignored(cache_dir: Path, shipped: Path, counted: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    link = shipped.parent / "link.py"
    link.symlink_to(shipped)
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: link)
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file to another user needs root")
def test_shipped_ir_of_another_user_is_ignored(cache_dir: Path, shipped: Path, counted: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    os.chown(shipped, 54321, 54321)
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1
    assert "autre utilisateur" in capsys.readouterr().err


def test_shipped_ir_off_with_the_cache(shipped: Path, counted: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """CPC_RULES_CACHE=off: everything parsed and checked, the shipped entry too is left aside."""
    monkeypatch.setenv("CPC_RULES_CACHE", "off")
    assert _answer(_bundled()) == "not_allowed" and counted["check"] == 1


def test_a_checkout_has_no_shipped_ir() -> None:
    """Nothing generated in the source tree: the entry exists only inside a built wheel."""
    assert resources.shipped_ir_path() is None or ROOT not in resources.shipped_ir_path().parents  # type: ignore[union-attr]
    assert not (ROOT / "src" / "cpc_rules" / "prebuilt").exists()
