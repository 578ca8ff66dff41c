"""`cpc-rules replay` (src/cpc_rules/replay.py): a recorded decision re-decided from its own facts and date.

The invariant: replaying any decision with the rulebook that made it matches (the facts the
trace records are all the answer depends on). A changed fact, digest or rulebook is listed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import GOLDEN, ROOT
from hypothesis import given, settings
from situation_strategies import decision_dates, facts_for

from cpc_rules.api import default_rulebook, load_rulebook
from cpc_rules.cli import main
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.replay import replay

RB = default_rulebook()
MINI = GOLDEN / "rulebooks" / "mini.cpc"


def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def recorded(facts: dict[str, Any], at: str, rb: Any = RB) -> Any:
    return json.loads(json.dumps(rb.decide(facts, at=at).to_json(trace=True), ensure_ascii=False))


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.json")), ids=lambda p: p.name)
def test_examples_replay_identically(example: Path, tmp_path: Path) -> None:
    """The docs/cli.md example: decide --format json --trace > decision.json, then replay it."""
    r = run("decide", str(example), "--format", "json", "--trace")
    assert r.exit_code == 0
    decision = tmp_path / "decision.json"
    decision.write_text(r.stdout, encoding="utf-8")
    r = run("replay", str(decision))
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"rejeu de {decision} : même décision (")
    assert RB.digest in r.stdout
    j = json.loads(run("replay", str(decision), "--format", "json").stdout)
    assert j["match"] is True and j["differences"] == [] and j["rulebook"] == {"recorded": RB.digest, "replayed": RB.digest}


@settings(max_examples=40)
@given(facts_for(RB.checked), decision_dates())
def test_every_decision_replays_identically(facts: dict[str, Any], at: Any) -> None:
    try:
        doc = recorded(facts, at.isoformat())
    except EvaluationError:
        return  # the facts contradict each other (E402): nothing was decided
    result = replay(doc, RB)
    assert result.match, ([d.to_json() for d in result.differences], facts, at)


def test_out_of_period_replays() -> None:
    doc = recorded({"nature": "travaux"}, "2010-01-01")
    assert doc["status"] == "out_of_period"
    assert replay(doc, RB).match


def test_a_given_fact_the_evaluation_did_not_read_is_replayed() -> None:
    """Found by the invariant above: `objet_maîtrise_d_œuvre` is given but not read (maîtrise_d_œuvre, presumed false,
    short-cuts it), yet the strict decision reads it, and so which presumptions `sans_publicité…` rests on depends on it."""
    # a civil buyer: for a défense buyer (or one not given) `maîtrise_d_œuvre` is read by Livre III anyway (30-defense.cpc)
    doc = recorded({"acheteur": "autre_pouvoir_adjudicateur", "objet_maîtrise_d_œuvre": "construction_neuve"}, "2019-04-01")
    assert "objet_maîtrise_d_œuvre" not in doc["trace"]["facts"]
    assert doc["given_facts"] == {"acheteur": "autre_pouvoir_adjudicateur", "objet_maîtrise_d_œuvre": "construction_neuve"}  # presumed facts are not given
    sans_pub = next(c for c in doc["conclusions"] if c["member"] == "sans_publicité_ni_mise_en_concurrence")
    assert "maîtrise_d_œuvre" not in sans_pub["presumed"]
    assert replay(doc, RB).match
    without = copy.deepcopy(doc)
    del without["given_facts"]["objet_maîtrise_d_œuvre"]  # not given: the strict decision lacks it too
    paths = [d.path for d in replay(without, RB).differences]
    assert "conclusions[procédure/sans_publicité_ni_mise_en_concurrence].presumed" in paths


def test_an_older_record_replays_from_its_trace() -> None:
    """A record without `given_facts` (before it was added) is re-decided from the facts its trace read."""
    doc = recorded({"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "215999.99", "urgence_impérieuse": False}, "2026-03-01")
    older = copy.deepcopy(doc)
    del older["given_facts"]
    assert replay(older, RB).match
    older["trace"]["facts"]["valeur_estimée_besoin"] = "216000"
    assert "values[valeur_estimée].value" in {d.path for d in replay(older, RB).differences}
    del older["trace"]
    with pytest.raises(CpcError) as e:
        replay(older, RB)
    assert e.value.diagnostics[0].code == "E420"


def test_a_changed_fact_is_listed() -> None:
    doc = recorded({"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "215999.99"}, "2026-03-01")
    changed = copy.deepcopy(doc)
    changed["given_facts"]["valeur_estimée_besoin"] = "216000"
    result = replay(changed, RB)
    assert not result.match
    paths = {d.path for d in result.differences}
    assert "values[valeur_estimée].value" in paths
    assert "conclusions[procédure/procédure_adaptée].permission" in paths
    d = next(d for d in result.differences if d.path == "values[valeur_estimée].value")
    assert (d.recorded, d.replayed) == ("215999.99", "216000")


def test_a_changed_answer_or_digest_is_listed() -> None:
    doc = recorded({"nature": "travaux"}, "2026-03-01")
    tampered = copy.deepcopy(doc)
    tampered["rulebook"]["digest"] = "sha256:" + "0" * 64
    tampered["conclusions"][0]["permission"] = "forbidden"
    tampered["information"] = []
    paths = [d.path for d in replay(tampered, RB).differences]
    assert paths[0] == "rulebook.digest"
    assert any(p.startswith("conclusions[") and p.endswith(".permission") for p in paths)
    assert "information" in paths or any(p.startswith("information[") for p in paths) or not doc["information"]


def test_another_rulebook(tmp_path: Path, golden) -> None:  # type: ignore[no-untyped-def]
    """Replayed with a rulebook that does not know the facts: the refusal is the difference, exit 1."""
    mini = load_rulebook(MINI)
    doc = recorded({"nature": "travaux", "montant_besoin": "39999.99", "urgence": True}, "2025-06-01", mini)
    p = tmp_path / "d.json"
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert run("replay", str(p), "-r", str(MINI)).exit_code == 0
    r = run("replay", str(p))  # the bundled rulebook
    assert r.exit_code == 1
    lines = r.stdout.replace(str(p), "d.json").replace(RB.digest, "sha256:<bundled>").splitlines()
    assert lines[0] == "rejeu de d.json : 2 différence(s) (2025-06-01)"
    assert lines[1] == f'  rulebook.digest : enregistré "{mini.digest}" ; rejoué "sha256:<bundled>"'
    assert lines[2].startswith('  status : enregistré "decided" ; rejoué "erreur : [E410] fait inconnu `montant_besoin`')
    changed = copy.deepcopy(doc)
    changed["given_facts"]["urgence"] = False
    p.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    r = run("replay", str(p), "-r", str(MINI))
    assert r.exit_code == 1
    golden.check(GOLDEN / "replay" / "mini_changed_fact.txt", r.stdout.replace(str(p), "d.json"))
    j = json.loads(run("replay", str(p), "-r", str(MINI), "--format", "json").stdout)
    assert j["match"] is False and {"path", "recorded", "replayed"} == set(j["differences"][0])


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"faits": {}}, "pas de « trace_format »"),
        ([], "pas de « trace_format »"),
        ({"trace_format": 2}, "format de trace 2 inconnu"),
        ({"trace_format": 1, "status": "peut-être"}, "statut"),
        ({"trace_format": 1, "status": "decided", "rulebook": {}, "engine": {"version": "0"}}, "rulebook.digest"),
    ],
)
def test_not_a_decision_E420(document: Any, message: str) -> None:
    with pytest.raises(CpcError) as e:
        replay(document, RB)
    [d] = e.value.diagnostics
    assert d.code == "E420" and message in d.message


def test_untraced_decision_and_bad_files(tmp_path: Path) -> None:
    untraced = json.loads(json.dumps(RB.decide({"nature": "travaux"}, at="2026-03-01").to_json(trace=False)))
    with pytest.raises(CpcError) as e:
        replay(untraced, RB)
    assert e.value.diagnostics[0].code == "E420" and "--trace" in (e.value.diagnostics[0].hint or "")
    for text, code in [("{", "E414"), ('{"trace_format": 1, "trace_format": 1}', "E415"), ("[]", "E420")]:
        r = run("replay", "-", "--format", "json", input=text)
        assert r.exit_code == 1
        assert json.loads(r.stdout)["diagnostics"][0]["code"] == code, text
    r = run("replay", str(tmp_path / "absent.json"))
    assert r.exit_code == 1 and "E420" in r.stderr


@pytest.mark.parametrize("presumptions", [True, False])
def test_mode_and_focus_are_replayed(presumptions: bool) -> None:
    facts = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "services", "valeur_estimée_besoin": "100000"}
    doc = json.loads(json.dumps(RB.decide(facts, at="2026-03-01", presumptions=presumptions, focus=["procédure"]).to_json(trace=True)))
    assert doc["mode"] == ("presumptions" if presumptions else "strict") and doc["focus"] == ["procédure"]
    assert replay(doc, RB).match
    other = copy.deepcopy(doc)
    other["mode"] = "strict" if presumptions else "presumptions"
    assert not replay(other, RB).match  # the mode is what was decided, not a default


@pytest.mark.parametrize("presumptions", ["--presumptions", "--no-presumptions"])
@pytest.mark.parametrize(
    "facts",
    [
        {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True, "nature": "fournitures", "valeur_estimée_besoin": "100000"},
        {"type_acheteur": "état_service_déconcentré", "marché_de_défense_ou_de_sécurité": True, "nature": "travaux", "valeur_estimée_besoin": "30000"},
        {"type_acheteur": "commune", "nature": "services", "valeur_estimée_besoin": "59999.99"},
    ],
    ids=["défense-fournitures", "défense-travaux", "commune"],
)
def test_todays_buyers_replay_through_the_cli(facts: dict[str, Any], presumptions: str, tmp_path: Path) -> None:
    """Buyers given by type_acheteur (the category derived), défense buyers of Livre III, presumptions on and off."""
    situation = tmp_path / "s.json"
    situation.write_text(json.dumps({"date": "2026-04-01", "faits": facts}, ensure_ascii=False), encoding="utf-8")
    decided = run("decide", str(situation), "--format", "json", "--trace", presumptions)
    assert decided.exit_code == 0, decided.output
    doc = json.loads(decided.stdout)
    assert doc["mode"] == ("presumptions" if presumptions == "--presumptions" else "strict")
    assert bool(doc["presumptions"]) is (presumptions == "--presumptions")
    (tmp_path / "d.json").write_text(decided.stdout, encoding="utf-8")
    again = run("replay", str(tmp_path / "d.json"), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["match"] is True, again.output
    changed = json.loads(decided.stdout)
    changed["given_facts"]["valeur_estimée_besoin"] = "20000000"
    (tmp_path / "changed.json").write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    assert run("replay", str(tmp_path / "changed.json"), "--format", "json").exit_code == 1  # the replay can fail
