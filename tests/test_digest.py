"""The decision's digest (`rulebook.digest`) is of what was evaluated, not of the texts (issue 8, point 1).

`ir.Rulebook.digest` hashes the checked IR in its canonical encoding (files named inside their
common folder, without the syntax trees, the test cases or the texts' own digest). So a cache
entry that its owner edited (the parse entry, the checked-IR entry, Lark's tables) and that
changes the answer changes the digest too; and a genuine load gives the same digest however it
was made: cold, warm, shipped, cache off, another hash seed, a copy of the folder elsewhere.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import strategies as S
from conftest import GOLDEN, ROOT
from helpers import ship
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpc_rules import api, ir, resources
from cpc_rules.check import checker
from cpc_rules.check import serial as ir_serial
from cpc_rules.diagnostics import CpcError
from cpc_rules.syntax import ast
from cpc_rules.syntax import format as fmt
from cpc_rules.syntax.parse import parse_text

SITUATION_300K = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "300000", "services_sociaux_spécifiques": False}
TITLE = "Code de la commande publique"


def _answer(path: Path | None = None, **kw: Any) -> tuple[str, str]:
    """The adapted procedure's permission at 300 000 € (genuinely `not_allowed`) and the digest of the rulebook that gave it."""
    rb = api.load_rulebook(path or resources.bundled_rulebook_path(), tests=False, **kw)
    status = rb.decide(SITUATION_300K, at="2026-03-01").status("procédure", "procédure_adaptée")
    assert status is not None
    return str(status.permission), rb.digest


def _changed_answer_changes_digest(genuine: tuple[str, str], forged: tuple[str, str]) -> None:
    """The property the issue asks for: whatever was loaded, an answer that moved comes with another digest."""
    assert forged[0] == genuine[0] or forged[1] != genuine[1], (genuine, forged)


# ---------------------------------------------------------------- forged cache entries


def test_parse_entry_with_flipped_comparisons_changes_the_digest(cache_dir: Path) -> None:
    genuine = _answer()
    assert genuine[0] == "not_allowed"
    for entry in cache_dir.glob("ir-*.json"):
        entry.unlink()  # the parse entries only
    forged = 0
    for entry in cache_dir.glob("ast-*.json"):
        text = entry.read_text(encoding="utf-8")
        edited = text.replace('"op":"<"', '"op":">="').replace('"op": "<"', '"op": ">="')
        if edited != text:
            entry.write_text(edited, encoding="utf-8")
            forged += 1
    assert forged
    _changed_answer_changes_digest(genuine, _answer())


def test_checked_entry_with_flipped_comparisons_changes_the_digest(cache_dir: Path) -> None:
    genuine = _answer()
    (entry,) = cache_dir.glob("ir-*.json")
    text = entry.read_text(encoding="utf-8")
    forged = re.sub(r'"(ast\.Compare)","<"', r'"\1",">="', text)
    forged = re.sub(r'(\["ir\.Compare",\d+,\{"#":\d+\},\{"#":\d+\}),"<"', r'\1,">="', forged)
    assert forged != text
    entry.write_text(forged, encoding="utf-8")
    _changed_answer_changes_digest(genuine, _answer())


def test_parser_tables_with_swapped_rules_change_the_digest(cache_dir: Path) -> None:
    from cpc_rules.syntax import parse as P

    P.parser.cache_clear()
    try:
        genuine = _answer()
        (entry,) = cache_dir.glob("lark-*.json")
        text = entry.read_text(encoding="utf-8")
        forged = text.replace('"or_expr"', '"@@"').replace('"and_expr"', '"or_expr"').replace('"@@"', '"and_expr"')
        assert forged != text
        entry.write_text(forged, encoding="utf-8")
        for other in [*cache_dir.glob("ast-*.json"), *cache_dir.glob("ir-*.json")]:
            other.unlink()  # parsed again, with the tables read from the cache
        P.parser.cache_clear()
        _changed_answer_changes_digest(genuine, _answer())
    finally:
        P.parser.cache_clear()  # never leave a forged parser to the tests that follow


def test_a_forged_entry_that_moves_the_answer_today_moves_the_digest(cache_dir: Path) -> None:
    """Not vacuous: the checked-IR forgery above is loaded today (the answer moves), and the digest moves with it.

    If the loader comes to refuse it, the answer stays and this test says so: then drop it,
    the three above keep the property.
    """
    genuine = _answer()
    (entry,) = cache_dir.glob("ir-*.json")
    text = entry.read_text(encoding="utf-8")
    forged = re.sub(r'"(ast\.Compare)","<"', r'"\1",">="', text)
    forged = re.sub(r'(\["ir\.Compare",\d+,\{"#":\d+\},\{"#":\d+\}),"<"', r'\1,">="', forged)
    entry.write_text(forged, encoding="utf-8")
    answer, digest = _answer()
    assert answer != genuine[0], "the forged entry is refused now: this test has done its job"
    assert digest != genuine[1]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda rb: next(n for n in rb.nodes if isinstance(n, ir.Compare)), id="comparison"),
        pytest.param(lambda rb: next(n for n in rb.nodes if isinstance(n, ir.Const) and n.type.kind == "money"), id="constant"),
        pytest.param(lambda rb: next(n for n in rb.nodes if isinstance(n, ir.BoolOp)), id="connective"),
        pytest.param(lambda rb: rb.params[0].steps[0], id="parameter"),
        pytest.param(lambda rb: next(r for r in rb.rules if r.exceptions), id="exception"),
        pytest.param(lambda rb: rb.order, id="order"),
    ],
)
def test_any_change_to_what_is_evaluated_changes_the_digest(mutate: Any) -> None:
    """One field of the IR changed in a copy (what a forged entry could do): another digest."""
    rb = api.default_rulebook().checked
    other = copy.deepcopy(rb)
    target = mutate(other)
    if isinstance(target, ir.Compare):
        object.__setattr__(target, "op", ">=" if target.op == "<" else "<")
    elif isinstance(target, ir.Const):
        object.__setattr__(target, "value", target.value + 1)
    elif isinstance(target, ir.BoolOp):
        object.__setattr__(target, "op", "ou" if target.op == "et" else "et")
    elif isinstance(target, ir.StepInfo):
        object.__setattr__(target, "value", {k: v + 1 for k, v in target.value.items()} if isinstance(target.value, dict) else target.value + 1)
    elif isinstance(target, ir.RuleInfo):
        object.__setattr__(target, "exceptions", target.exceptions[1:])
    else:  # the evaluation order: the last two swapped
        object.__setattr__(other, "order", (*target[:-2], target[-1], target[-2]))
    assert other.digest != rb.digest


# ---------------------------------------------------------------- one digest for one IR, however loaded


def test_cold_warm_shipped_and_off_give_one_digest(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cold = _answer()
    assert list(cache_dir.glob("ir-*.json"))
    warm = _answer()  # from the IR entry
    for entry in cache_dir.glob("ir-*.json"):
        entry.unlink()
    from_parse_entries = _answer()
    out = ship(tmp_path / "prebuilt", resources.SHIPPED_IR, api.write_shipped_ir)
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: out)
    shipped = _answer()
    monkeypatch.setenv("CPC_RULES_CACHE", "OFF")
    off = _answer()
    assert cold == warm == from_parse_entries == shipped == off
    assert cold[1].startswith("sha256:") and len(cold[1]) == 71


def test_the_shipped_ir_brings_its_digest(cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The wheel's IR carries the digest the build computed from it (trusted like the code beside it): an installed load does not hash the IR again.

    Only a well-formed `sha256:` value is taken; else the digest is computed, as for any load.
    """
    genuine = _answer()[1]
    out = ship(tmp_path / "prebuilt", resources.SHIPPED_IR, api.write_shipped_ir)
    monkeypatch.setattr(resources, "shipped_ir_path", lambda: out)
    source = out.read_text(encoding="utf-8")
    assert f"\nDIGEST = {genuine!r}\n" in source
    encoder = ir.Encoder
    monkeypatch.setattr(ir, "Encoder", None)  # hashing the IR would fail
    assert api.load_rulebook(resources.bundled_rulebook_path(), tests=False).digest == genuine
    monkeypatch.setattr(ir, "Encoder", encoder)
    for n, bad in enumerate(("sha256:xyz", 12, None, "md5:" + "0" * 64)):
        out.write_text(source.replace(f"\nDIGEST = {genuine!r}\n", f"\nDIGEST = {bad!r}\n"), encoding="utf-8")
        os.utime(out, (out.stat().st_atime + 10 * (n + 1), out.stat().st_mtime + 10 * (n + 1)))  # no bytecode compiled before is taken for it
        rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
        with pytest.raises(AttributeError):  # not taken: computed when read
            object.__getattribute__(rb.checked, "digest")
        assert rb.digest == genuine


def test_a_copy_elsewhere_and_the_test_files_keep_the_digest(tmp_path: Path) -> None:
    """Files are named inside their folder: where the rulebook lies is not hashed; test files are not either."""
    genuine = _answer()
    here = tmp_path / "ailleurs" / "recueil"
    shutil.copytree(resources.bundled_rulebook_path(), here)
    assert _answer(here, title=TITLE) == genuine
    rel = Path(os.path.relpath(here, Path.cwd()))
    assert _answer(rel, title=TITLE) == genuine  # named relative to the working folder
    assert api.load_rulebook(resources.bundled_rulebook_path(), tests=True).digest == genuine[1]
    assert _answer(here)[1] != genuine[1]  # another title is another rulebook


def test_one_file_rulebook_digest_does_not_depend_on_its_folder(tmp_path: Path) -> None:
    src = GOLDEN / "rulebooks" / "mini.cpc"
    a, b = tmp_path / "a" / "mini.cpc", tmp_path / "b" / "c" / "mini.cpc"
    for p in (a, b):
        p.parent.mkdir(parents=True)
        shutil.copy(src, p)
    assert api.load_rulebook(a).digest == api.load_rulebook(b).digest == api.load_rulebook(src).digest


def test_digest_does_not_depend_on_the_hash_seed() -> None:
    code = "from cpc_rules import api, resources; print(api.load_rulebook(resources.bundled_rulebook_path(), tests=False).digest)"
    seen = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": "off"}
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        seen.add(r.stdout.strip())
    assert seen == {api.default_rulebook().digest}


def test_no_path_of_this_machine_is_hashed(tmp_path: Path) -> None:
    """The canonical encoding names files inside their folder: nothing of where they lie."""
    rb = api.default_rulebook().checked
    enc = ir.Encoder(skip=frozenset({"modules", "tests", "texts_digest"}))
    enc(rb)
    names = ir._relative_names(list(enc.files))
    assert names and all(not Path(n).is_absolute() and ".." not in Path(n).parts and n.endswith(".cpc") for n in names)
    assert sorted(names) == sorted(f.name for f in api.rulebook_files(resources.bundled_rulebook_path(), tests=False))


# ---------------------------------------------------------------- computed once, when read


def test_loading_and_deciding_do_not_compute_the_digest() -> None:
    """~20 ms CPU on the bundled rulebook: paid by what shows it (JSON, HTTP, audit, the detailed report's last line), not by a load or the verdict."""
    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
    d = rb.decide(SITUATION_300K, at="2026-03-01")
    d.status("procédure", "procédure_adaptée")
    d.verdict()  # what `decide` prints by default
    with pytest.raises(AttributeError):  # a record keeps a cached_property's value in a slot of its name: still empty
        object.__getattribute__(rb.checked, "digest")
    assert "règles sha256:" in d.explain()  # the detailed report's last line shows it: computed now
    first = object.__getattribute__(rb.checked, "digest")
    assert rb.digest is first  # memoised
    assert json.loads(json.dumps(d.to_json()))["rulebook"]["digest"] == first


def test_texts_digest_is_the_cache_label_not_the_decision_digest() -> None:
    rb = api.default_rulebook().checked
    _, texts = api.read_files(api.rulebook_files(resources.bundled_rulebook_path(), tests=False))
    assert rb.texts_digest == ir.texts_digest(texts, resources.TEST_SUFFIX)
    assert rb.texts_digest != rb.digest


# ---------------------------------------------------------------- any rulebook


@settings(deadline=None, suppress_health_check=list(HealthCheck))
@given(S.modules, st.sampled_from(["gen.cpc", "/srv/a/gen.cpc", "b/c/gen.cpc"]))
def test_generated_rulebooks_one_digest_however_loaded(module: ast.Module, where: str) -> None:
    """Whatever a rulebook that checks holds: the digest of its IR read back from a cache entry, or checked
    from the same text in another folder, is the digest of its IR checked from the text."""
    text = fmt.module(module)
    try:
        rb, warnings = checker.check([parse_text(text, "gen.cpc")], {"gen.cpc": text}, "t")
        elsewhere, _ = checker.check([parse_text(text, where)], {where: text}, "t")
    except CpcError:
        return
    data = json.loads(json.dumps(ir_serial.dump(rb, warnings), ensure_ascii=False))
    back, _ = ir_serial.load(data, {"gen.cpc": text}, list)
    assert back.digest == rb.digest == elsewhere.digest


def test_an_ir_entry_with_another_texts_digest_is_refused() -> None:
    """`texts_digest` names the generated code: an entry cannot bring another than its texts'."""
    text = (GOLDEN / "rulebooks" / "mini.cpc").read_text(encoding="utf-8")
    rb, warnings = checker.check([parse_text(text, "mini.cpc")], {"mini.cpc": text}, "t")
    data = json.loads(json.dumps(ir_serial.dump(rb, warnings), ensure_ascii=False))
    assert ir_serial.load(data, {"mini.cpc": text}, list)[0].texts_digest == rb.texts_digest
    raw = json.dumps(data, ensure_ascii=False)
    assert raw.count(rb.texts_digest) == 1
    forged = json.loads(raw.replace(rb.texts_digest, "sha256:" + "0" * 64))
    with pytest.raises(ir_serial.Invalid, match="texts digest"):
        ir_serial.load(forged, {"mini.cpc": text}, list)
