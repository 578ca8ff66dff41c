"""`cpc-rules ask` in a real pseudo-terminal (pexpect): what a buyer types, line by line, with
going back, « je ne sais pas », a typed mistake, Ctrl-C; then `decide` replays the file saved."""

from __future__ import annotations

import json
import os
import sys

import pytest
from click.testing import CliRunner
from conftest import ROOT

from cpc_rules.cli import main

pexpect = pytest.importorskip("pexpect")

SITUATION = {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "150000"}


def spawn(*args: str, cwd: str) -> object:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "CPC_RULES_CACHE": "off", "COLUMNS": "200", "LANG": "C.UTF-8"}
    child = pexpect.spawn(sys.executable, ["-m", "cpc_rules.cli", "ask", *args], cwd=cwd, env=env, encoding="utf-8", timeout=120)
    child.setwinsize(50, 200)
    return child


def test_interview_in_a_terminal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "s.json").write_text(json.dumps(SITUATION), encoding="utf-8")
    child = spawn("s.json", "--at", "2026-05-01", "--focus", "procédure,publicité", "--save", "out.json", cwd=str(tmp_path))
    child.expect("Question 1 — Une de ces circonstances particulières")
    child.expect("Urgence impérieuse")
    child.expect("> ")
    child.sendline("aucune")
    child.expect("Question 2 — La décision porte sur un lot")
    child.expect("> ")
    child.sendline("<")  # back to the checklist
    child.expect("Question 1 — Une de ces circonstances particulières")
    child.expect("> ")
    child.sendline("0")
    child.expect("Question 2 — La décision porte sur un lot")
    child.expect("> ")
    child.sendline("9")  # not a choice
    child.expect("Réponse non comprise : choisissez un numéro de 1 à 3")
    child.sendline("2")  # not a lot
    child.expect("Question 3 — Procédure que l'acheteur met en œuvre")
    child.expect("> ")
    child.sendline("2")  # procédure adaptée
    child.expect(r"Question 4 — Qui achète \(commune")  # the category is given: who buys, for R2131-12
    child.expect("> ")
    child.sendline("?")  # je ne sais pas: then the quality itself is asked
    child.expect("Question 5 — L'État, ses établissements publics")
    child.expect("> ")
    child.sendline("?")
    while child.expect([r"Question \d+ — ", "Plus aucune question"]) == 0:  # whatever remains: « je ne sais pas »
        child.expect("> ")
        child.sendline("?")
    child.expect("Situation enregistrée dans out.json ; `cpc-rules decide out.json --focus procédure,publicité` la rejoue.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    saved = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert saved["faits"]["procédure_retenue"] == "procédure_adaptée"
    assert saved["faits"]["type_acheteur"] is None and saved["faits"]["acheteur_état_ou_collectivité"] is None  # not known: null
    assert saved["faits"]["urgence_impérieuse"] is False
    # `decide` on the saved file prints the verdict the interview printed
    verdict = child.before.replace("\r\n", "\n")
    replay = CliRunner().invoke(main, ["decide", str(tmp_path / "out.json"), "--focus", "procédure,publicité"])
    assert replay.exit_code == 0
    assert replay.output.strip() == verdict.strip()  # the verdict the interview printed, replayed
    assert "Procédure adaptée (MAPA)" in verdict


def test_ctrl_c_saves_what_was_answered(tmp_path) -> None:  # type: ignore[no-untyped-def]
    child = spawn("--at", "2026-05-01", "--save", "out.json", cwd=str(tmp_path))
    child.expect(r"Question 1 — Qui achète \(commune")
    child.expect("> ")
    child.sendline("6")  # Commune
    child.expect("Question 2 — ")
    child.expect("> ")
    child.sendintr()
    child.expect("Entretien interrompu")
    child.expect("Situation enregistrée dans out.json")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    saved = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert saved == {"date": "2026-05-01", "faits": {"type_acheteur": "commune"}}
