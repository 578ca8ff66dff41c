"""`cpc-rules diff` on changes that happened, on identical rulebooks, and on random mutations.

The older rulebooks are derived from today's bundled one by removing, in the text, the steps,
versions and articles a text added (helpers below). The helpers fail loudly when what they
remove is no longer there, so the fixtures follow the rulebook instead of rotting.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import rulebook
from hypothesis import given, settings
from hypothesis import strategies as st

from cpc_rules import diff as diffmod
from cpc_rules import load_rulebook, resources
from cpc_rules.cli import main

BUNDLED = resources.bundled_rulebook_path()


# ---------------------------------------------------------------- text transformations


def _param_block(text: str, name: str) -> tuple[int, int]:
    m = re.search(rf"^paramètre {re.escape(name)} :.*$", text, re.MULTILINE)
    assert m, f"paramètre {name} introuvable"
    end = re.search(r"^\S", text[m.end() + 1 :], re.MULTILINE)
    return m.start(), m.end() + 1 + (end.start() if end else len(text) - m.end() - 1)


def drop_step(text: str, param: str, start: str) -> str:
    """Remove the step of `param` starting at `start`; the step before it takes its end."""
    a, b = _param_block(text, param)
    block = text[a:b]
    m = re.search(rf"^  depuis {start}(?: jusqu'au (\S+) exclu)? :.*\n(?:    .*\n)*", block, re.MULTILINE)
    assert m, f"{param} : pas de période depuis {start}"
    end = m.group(1)
    block = block[: m.start()] + block[m.end() :]
    block = block.replace(f" jusqu'au {start} exclu", f" jusqu'au {end} exclu" if end else "")
    return text[:a] + block + text[b:]


def drop_articles_from(text: str, start: str) -> str:
    """Remove every article whose first version starts at `start` (with its rules); open the versions ending there."""
    parts = re.split(r"(?=^article )", text, flags=re.MULTILINE)
    kept, removed = [], set()
    for p in parts:
        first = re.search(r"^  version depuis (\S+)", p, re.MULTILINE)
        if p.startswith("article ") and first and first.group(1) == start:
            removed.add(re.match(r'article ("[^"]*"|\S+)', p).group(1))
            tail = re.search(r"^# ", p, re.MULTILINE)  # keep the comment that introduces the next section
            kept.append(p[tail.start() :] if tail else "")
            continue
        kept.append(p)
    out = "".join(kept).replace(f" jusqu'au {start} exclu", "")
    # a presumption resting on a removed article goes with it
    cites = re.compile(r"^  présumé .*\((.*)\)$")
    lines = [line for line in out.splitlines(keepends=True) if not ((m := cites.match(line.rstrip("\n"))) and {x.strip() for x in m.group(1).split(",")} & removed)]
    return "".join(lines)


def drop_version(text: str, ref: str, start: str) -> str:
    """Remove the version of article `ref` starting at `start`; the version before it takes its end."""
    m = re.search(rf"^article {re.escape(ref)} .*\n", text, re.MULTILINE)
    assert m, f"article {ref} introuvable"
    v = re.compile(rf"^  version depuis {start}(?: jusqu'au (\S+) exclu)?.*\n(?:    .*\n)*", re.MULTILINE).search(text, m.end())
    assert v, f"{ref} : pas de version depuis {start}"
    end = v.group(1)
    text = text[: v.start()] + text[v.end() :]
    head = text[m.start() : v.start()]
    return text[: m.start()] + head.replace(f" jusqu'au {start} exclu", f" jusqu'au {end} exclu" if end else "") + text[v.start() :]


def older(tmp_path: Path, edits: dict[str, list]) -> Path:
    """A copy of the bundled rules (without test files) with text edits per file."""
    out = tmp_path / "old"
    out.mkdir()
    for f in sorted(BUNDLED.glob("*.cpc")):
        if f.name.endswith(resources.TEST_SUFFIX):
            continue
        text = f.read_text(encoding="utf-8")
        for fn, *args in edits.get(f.name, []):
            text = fn(text, *args)
        (out / f.name).write_text(text, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def new_rb():
    return load_rulebook(BUNDLED, tests=False)


def run_diff(old_path: Path, new_rb, budget: int = 1500) -> diffmod.Report:
    return diffmod.diff(load_rulebook(old_path, tests=False), new_rb, str(old_path), str(BUNDLED), budget=budget)


def confirm(report: diffmod.Report, old_path: Path, new_rb) -> None:
    """Every witness gives, on each version, the answer the report says."""
    old_rb = load_rulebook(old_path, tests=False)
    for c in report.semantic:
        for r in c.regions:
            w = r.witness
            date = dt.date.fromisoformat(w["date"])
            a = diffmod.outcome(old_rb, w["faits"], date)
            b = diffmod.outcome(new_rb, w["faits"], date)
            x, y = diffmod.pair_status(a, b, (c.enum, c.member))
            assert diffmod.change_kind(x, y) == c.kind, (c.enum, c.member, w)
            assert diffmod._status_json(x) == r.old and diffmod._status_json(y) == r.new


def witness_dates(report: diffmod.Report) -> set[dt.date]:
    return {dt.date.fromisoformat(r.witness["date"]) for c in report.semantic for r in c.regions}


# ---------------------------------------------------------------- identical rulebooks


def test_identical_rulebooks_differ_in_nothing(new_rb):
    report = diffmod.diff(load_rulebook(BUNDLED, tests=False), new_rb)
    assert report.structural == () and report.semantic == () and report.explored == ()


# ---------------------------------------------------------------- décret n° 2025-1386


@pytest.fixture(scope="module")
def decree_2025_1386_fs(tmp_path_factory):
    """Before the décret: no 60 000 € step for fournitures/services (R2122-8) nor for the DCE (R2132-2)."""
    tmp = tmp_path_factory.mktemp("d1386")
    return older(
        tmp,
        {
            "12-dispense.cpc": [(drop_step, "seuil_dispense", "2026-04-01"), (drop_version, "R2122-8", "2026-04-01")],
            "13-publicity.cpc": [(drop_step, "seuil_dce_profil_acheteur", "2026-04-01"), (drop_version, "R2132-2", "2026-04-01")],
        },
    )


def test_decree_2025_1386_supplies_and_services(decree_2025_1386_fs, new_rb):
    report = run_diff(decree_2025_1386_fs, new_rb, budget=4000)  # R2196-1 exhaustive
    st_names = {(c.what, c.change, c.name.split(",")[0]) for c in report.structural}
    assert ("step", "added", "seuil_dispense") in st_names and ("step", "added", "seuil_dce_profil_acheteur") in st_names
    assert ("version", "added", "R2122-8") in st_names and ("version", "added", "R2132-2") in st_names
    # every answer that changes changes on or after 2026-04-01 and for fournitures or services
    assert witness_dates(report) and min(witness_dates(report)) == dt.date(2026, 4, 1)
    for c in report.semantic:
        for r in c.regions:
            assert r.witness["faits"].get("nature") != "travaux"
    by = {(c.enum, c.member, c.kind): c for c in report.semantic}
    # R2132-2: the free DCE is no longer mandatory in [40 000 ; 60 000[ € (exhaustive)
    dce = by["formalité", "dce_profil_acheteur", "no-longer-mandatory"]
    assert dce.exhaustive
    assert [r.text for r in dce.regions] == [
        (
            "acheteur = autorité_centrale ou autre_pouvoir_adjudicateur ou entité_adjudicatrice, avis_d_appel_à_la_concurrence = vrai,"
            " valeur_estimée_besoin dans [40 000 ; 60 000[ €, consultation à partir du 2026-04-01"
        )
    ]  # a defence buyer (Livre III, not encoded) stays undetermined on both sides
    assert dce.regions[0].witness == {"date": "2026-04-01", "faits": {"acheteur": "autorité_centrale", "avis_d_appel_à_la_concurrence": True, "valeur_estimée_besoin": "40000"}}
    # the edges, one day and one cent on each side: the change holds exactly on [40 000 ; 60 000[ € from 2026-04-01
    old_rb = load_rulebook(decree_2025_1386_fs, tests=False)
    base = {"acheteur": "autorité_centrale", "avis_d_appel_à_la_concurrence": True}
    for day, value, changes in (
        ("2026-03-31", "40000", False),
        ("2026-04-01", "39999.99", False),
        ("2026-04-01", "40000", True),
        ("2026-04-01", "59999.99", True),
        ("2026-04-01", "60000", False),
        ("2027-12-31", "59999.99", True),
    ):
        s = {**base, "valeur_estimée_besoin": value}
        d = dt.date.fromisoformat(day)
        x, y = diffmod.pair_status(diffmod.outcome(old_rb, s, d), diffmod.outcome(new_rb, s, d), ("formalité", "dce_profil_acheteur"))
        assert (diffmod.change_kind(x, y) == "no-longer-mandatory") is changes, (day, value)
    # R2122-8: a purchase without publicity is now allowed (found, though guided)
    widened = by["procédure", "sans_publicité_ni_mise_en_concurrence", "widened"]
    assert "R2122-8" in widened.articles
    for r in widened.regions:  # the value of the need, or of the lot examined, is in [40 000 ; 60 000[ €
        amounts = [Decimal(r.witness["faits"][k]) for k in ("valeur_estimée_besoin", "valeur_lot") if k in r.witness["faits"]]
        assert any(Decimal(40000) <= v < Decimal(60000) for v in amounts), r.witness
    # R2196-1 reads the dispense threshold: the essential data obligation moves with it (exhaustive)
    portal = by["formalité", "données_essentielles_portail_national", "no-longer-mandatory"]
    assert portal.exhaustive and "dans [40 000 ; 60 000[ €" in portal.regions[0].text
    confirm(report, decree_2025_1386_fs, new_rb)


def test_decree_2025_1386_works(tmp_path, new_rb):
    """The whole décret: works at 100 000 € from 2026-01-01, supplies and services at 60 000 € from 2026-04-01."""
    old = older(tmp_path, {"12-dispense.cpc": [(drop_step, "seuil_dispense", "2026-04-01"), (drop_step, "seuil_dispense", "2026-01-01")]})
    report = run_diff(old, new_rb, budget=4000)  # R2196-1: 3 600 cells, exhaustive
    assert witness_dates(report) and min(witness_dates(report)) == dt.date(2026, 1, 1)
    natures = {r.witness["faits"].get("nature") for c in report.semantic for r in c.regions if r.witness["date"] < "2026-04-01"}
    assert natures <= {"travaux", None}
    portal = next(c for c in report.semantic if (c.member, c.kind) == ("données_essentielles_portail_national", "no-longer-mandatory"))
    assert [r.text for r in portal.regions] == [
        (
            "acheteur = autorité_centrale ou autre_pouvoir_adjudicateur ou entité_adjudicatrice, nature = travaux, procédure_retenue = sans_publicité_ni_mise_en_concurrence,"
            " valeur_estimée_besoin dans [40 000 ; 100 000[ €, consultation à partir du 2026-01-01"
        ),
        (
            "acheteur = autorité_centrale ou autre_pouvoir_adjudicateur ou entité_adjudicatrice, nature = fournitures ou services,"
            " procédure_retenue = sans_publicité_ni_mise_en_concurrence, valeur_estimée_besoin dans [40 000 ; 60 000[ €, consultation à partir du 2026-04-01"
        ),
    ]
    confirm(report, old, new_rb)


# ---------------------------------------------------------------- seuils européens 2026


def test_eu_thresholds_2026(tmp_path, new_rb):
    """Lower EU thresholds from 2026-01-01: the adapted procedure closes between the 2026 and the 2024 thresholds."""
    old = older(tmp_path, {"00-prologue.cpc": [(drop_step, "seuil_procédure_formalisée", "2026-01-01")]})
    report = run_diff(old, new_rb)
    assert [(c.what, c.change) for c in report.structural] == [("step", "changed"), ("step", "added")]
    assert min(witness_dates(report)) == dt.date(2026, 1, 1)
    narrowed = next(c for c in report.semantic if (c.member, c.kind) == ("procédure_adaptée", "narrowed"))
    bands = {  # (acheteur, natures) → [2026 threshold ; 2024 threshold[
        ("autorité_centrale", "fs"): (140000, 143000),
        ("autre_pouvoir_adjudicateur", "fs"): (216000, 221000),
        ("entité_adjudicatrice", "fs"): (432000, 443000),
        ("autorité_centrale", "t"): (5404000, 5538000),
        ("autre_pouvoir_adjudicateur", "t"): (5404000, 5538000),
        ("entité_adjudicatrice", "t"): (5404000, 5538000),
        ("défense_sécurité", "fs"): (432000, 443000),  # Livre III encoded for the route choice (R2323-1, 30-defense.cpc)
        ("défense_sécurité", "t"): (5404000, 5538000),
    }
    seen = set()
    for r in narrowed.regions:  # every witness lies in a band the avis moved
        f = r.witness["faits"]
        key = (f["acheteur"], "t" if f["nature"] == "travaux" else "fs")
        lo, hi = bands[key]
        assert lo <= Decimal(f["valeur_estimée_besoin"]) < hi, r.witness
        assert r.witness["date"] == "2026-01-01"
        seen.add(key)
    assert seen == set(bands)  # and every band is found
    confirm(report, old, new_rb)


# ---------------------------------------------------------------- loi Climat (août 2026)


def test_loi_climat_august_2026(tmp_path, new_rb):
    old = older(tmp_path, {"22-clauses-criteria.cpc": [(drop_articles_from, "2026-08-21"), (drop_articles_from, "2026-08-22")]})
    report = run_diff(old, new_rb)
    assert {c.name for c in report.structural if c.what == "article" and c.change == "added"} >= {"R2152-7", "L2112-2", "L2111-2", "L2152-7"}
    by = {(c.member, c.kind): c for c in report.semantic}
    assert ("critère_prix_unique", "narrowed") in by
    assert min(dt.date.fromisoformat(r.witness["date"]) for r in by["critère_prix_unique", "narrowed"].regions) == dt.date(2026, 8, 21)
    for member in ("condition_exécution_environnementale", "spécifications_développement_durable", "critère_environnemental"):
        c = by[member, "newly-mandatory"]
        assert c.exhaustive
        assert min(dt.date.fromisoformat(r.witness["date"]) for r in c.regions) in (dt.date(2026, 8, 21), dt.date(2026, 8, 22))
    assert min(witness_dates(report)) == dt.date(2026, 8, 21)
    confirm(report, old, new_rb)


# ---------------------------------------------------------------- SPASER (2023)


def test_spaser_threshold_2023(tmp_path, new_rb):
    """D2111-3: 100 M€ → 50 M€ on 2023-01-01; every buyer from 2023-10-25 (loi Industrie verte), not changed here."""
    old = older(tmp_path, {"23-spaser.cpc": [(drop_step, "seuil_spaser", "2023-01-01")]})
    report = run_diff(old, new_rb)
    assert [(c.what, c.change, c.name) for c in report.structural] == [
        ("step", "changed", "seuil_spaser, depuis 2019-04-01 jusqu'au 2023-01-01 exclu"),
        ("step", "added", "seuil_spaser, depuis 2023-01-01"),
    ]
    got = {(c.member, c.kind): [r.text for r in c.regions] for c in report.semantic}
    assert all(c.exhaustive for c in report.semantic)
    assert got == {
        ("adoption_spaser", "newly-mandatory"): [
            "collectivité_ou_statut_légal = vrai, montant_annuel_achats dans ]50 000 000 ; 100 000 000] €, consultation à partir du 2023-01-01",
            "collectivité_ou_statut_légal = faux ou non donné, montant_annuel_achats dans ]50 000 000 ; 100 000 000] €, consultation à partir du 2023-10-25",
        ],
        ("adoption_spaser", "undetermined"): [
            "collectivité_ou_statut_légal non donné, montant_annuel_achats dans ]50 000 000 ; 100 000 000] €, consultation du 2023-01-01 au 2023-10-25 exclu"
        ],
    }
    confirm(report, old, new_rb)


# ---------------------------------------------------------------- the command


def test_cli_diff_json_fail_on_and_situations(decree_2025_1386_fs, tmp_path):
    situations = tmp_path / "s.jsonl"
    lines = [
        {"date": "2026-05-01", "faits": {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "50000", "avis_d_appel_à_la_concurrence": True}},
        {"date": "2026-03-31", "faits": {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "50000"}},
        {"date": "2026-05-01", "faits": {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "60000"}},
    ]
    situations.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["diff", str(decree_2025_1386_fs), str(BUNDLED), "--format", "json", "--situations", str(situations), "--fail-on", "no-longer-mandatory", "--budget", "1500"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)
    assert data["situations"]["situations"] == 3 and data["situations"]["changed"] == 1
    assert data["situations"]["list"][0]["line"] == 1
    res = runner.invoke(main, ["diff", str(decree_2025_1386_fs), str(BUNDLED), "--format", "markdown", "--fail-on", "error", "--budget", "1500"])
    assert res.exit_code == 0 and res.output.startswith("# Changements de règles")
    res = runner.invoke(main, ["diff", str(BUNDLED), str(BUNDLED), "--fail-on", "narrowed,newly-mandatory,structural"])
    assert res.exit_code == 0 and "aucun" in res.output


def test_cli_diff_usage_errors(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["diff", str(BUNDLED)]).exit_code == 2
    assert runner.invoke(main, ["diff", str(BUNDLED), str(BUNDLED), "--fail-on", "bogus"]).exit_code == 2
    res = runner.invoke(main, ["diff", str(BUNDLED), str(tmp_path / "nope")])
    assert res.exit_code == 1 and "introuvable" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{pas du json\n", encoding="utf-8")
    res = runner.invoke(main, ["diff", str(BUNDLED), str(BUNDLED), "--situations", str(bad)])
    assert res.exit_code == 1 and "E414" in res.output


def test_cli_diff_git(tmp_path, monkeypatch):
    """--git reads both revisions with git archive; the same revision twice differs in nothing."""
    if shutil.which("git") is None:
        pytest.skip("git absent")
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(BUNDLED, repo / "rb", ignore=shutil.ignore_patterns("*" + resources.TEST_SUFFIX))
    shutil.move(repo / "rb" / "23-spaser.cpc", repo / "rb" / "23.cpc")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True, capture_output=True)

    git("init", "-q")
    (repo / "rb" / "23.cpc").write_text(drop_step((repo / "rb" / "23.cpc").read_text(encoding="utf-8"), "seuil_spaser", "2023-01-01"), encoding="utf-8")
    git("add", "-A")
    git("commit", "-qm", "old")
    shutil.copy(BUNDLED / "23-spaser.cpc", repo / "rb" / "23.cpc")
    git("commit", "-qam", "new")
    monkeypatch.chdir(repo)
    runner = CliRunner()
    res = runner.invoke(main, ["diff", "--git", "HEAD~1", "HEAD", "rb", "--format", "json", "--fail-on", "newly-mandatory"])
    assert res.exit_code == 1, res.output
    data = json.loads(res.stdout)
    assert any(c["conclusion"]["member"] == "adoption_spaser" for c in data["semantic"])
    line = 1 + (repo / "rb" / "23.cpc").read_text(encoding="utf-8").splitlines().index("  depuis 2023-01-01 : 50 000 000 €")
    assert [c["location"] for c in data["structural"] if c["change"] == "added"] == [f"23.cpc:{line}"]  # relative to the rulebook folder
    res = runner.invoke(main, ["diff", "--git", "HEAD", "HEAD", "rb"])
    assert res.exit_code == 0 and "aucune réponse ne change" in res.output
    res = runner.invoke(main, ["diff", "--git", "HEAD", "pas-une-révision", "rb"])
    assert res.exit_code == 1 and "pas-une-révision" in res.output


# ---------------------------------------------------------------- regions


def test_merge_boxes_and_intervals():
    iv = diffmod.Interval
    assert diffmod.normalize([iv(Decimal(0), True, Decimal(10), False), iv(Decimal(10), True, Decimal(10), True), iv(Decimal(10), False, None, False)]) == (
        iv(Decimal(0), True, None, False),
    )
    assert len(diffmod.normalize([iv(Decimal(0), True, Decimal(10), False), iv(Decimal(10), False, None, False)])) == 2  # 10 itself is missing
    cells = diffmod.ordered_cells("money", [Decimal(40000), Decimal(60000)])
    assert [c.rep for c in cells] == [Decimal("39999.99"), Decimal(40000), Decimal("40000.01"), Decimal(60000), Decimal("60000.01")]
    a = (frozenset({"x"}), (( iv(1, True, 2, False),), False))
    b = (frozenset({"y"}), ((iv(1, True, 2, False),), False))
    c = (frozenset({"x"}), ((iv(2, True, 3, False),), False))
    merged = diffmod.merge_boxes([a, b, c])
    assert (frozenset({"x", "y"}), ((iv(1, True, 2, False),), False)) in merged


def test_a_changed_presumption_is_a_change(tmp_path):
    """A fact's presumption (`présumé`) decides when the fact is not given: changing it changes answers."""
    base = TEMPLATE.format(t1=40000, t2=40000, t3=40000, t4=40000, d="2025-01-01", cond="valeur < seuil[nature] et non urgence")
    a = rulebook(base)
    b = rulebook(base.replace("fait urgence : booléen", 'fait urgence : booléen\n  présumé faux "exception à établir" (R1)'))
    report = diffmod.diff(a, b)
    assert [(c.what, c.change, c.name) for c in report.structural] == [("fact", "changed", "urgence")]
    assert "présomption aucune → faux" in report.structural[0].detail
    (change,) = [c for c in report.semantic if c.member == "dispense"]
    assert change.kind == "widened" and change.exhaustive
    assert [r.text for r in change.regions] == ["nature donné (toute valeur), urgence non donné, valeur dans [0 ; 40 000[ €, consultation à partir du 2020-01-01"]


# ---------------------------------------------------------------- property: random rulebooks, random mutation

TEMPLATE = """couverture depuis 2020-01-01 jusqu'au 2030-01-01 exclu

énumération nature_achat {{ travaux, fournitures, services }}
énumération proc {{ dispense, mapa }}

fait nature : nature_achat
fait valeur : montant
fait urgence : booléen

paramètre seuil : montant selon nature_achat
  depuis 2020-01-01 :
    travaux : {t1} €
    fournitures | services : {t2} €
    source "test"
  depuis {d} :
    travaux : {t3} €
    fournitures | services : {t4} €
    source "test"

article R1 "Dispense"
  version depuis 2020-01-01
    source "test"

  règle dispense "Sous le seuil" :
    autorise proc dispense
    si {cond}

  règle mapa "Toujours" :
    autorise proc mapa
"""

# 25 mutations in CI (each is decided on thousands of situations); a tenth of the profile's count beyond it
# (HYPOTHESIS_PROFILE=medium: 200, deep: 1 000), so that a longer profile does explore more
MUTATIONS = max(25, (settings.default.max_examples or 0) // 10)

CONDS = ("valeur < seuil[nature]", "valeur < seuil[nature] et non urgence", "urgence ou valeur <= seuil[nature]")

amounts = st.integers(min_value=1, max_value=200).map(lambda k: k * 1000)
dates = st.integers(min_value=1, max_value=3000).map(lambda n: dt.date(2020, 1, 1) + dt.timedelta(days=n))


@st.composite
def rulebook_and_mutation(draw):
    p = {"t1": draw(amounts), "t2": draw(amounts), "t3": draw(amounts), "t4": draw(amounts), "d": draw(dates), "cond": draw(st.sampled_from(CONDS))}
    q = dict(p)
    kind = draw(st.sampled_from(("threshold", "date", "negate", "none")))
    if kind == "threshold":
        key = draw(st.sampled_from(("t1", "t2", "t3", "t4")))
        q[key] = p[key] + draw(st.sampled_from((-1000, 1000, 5000)))
        if q[key] <= 0:
            q[key] = p[key] + 1000
    elif kind == "date":
        q["d"] = p["d"] + dt.timedelta(days=draw(st.sampled_from((-1, 1, 30))))
    elif kind == "negate":
        q["cond"] = f"non ({p['cond']})"
    return p, q


def _text(p):
    return TEMPLATE.format(**{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in p.items()})


def _brute_force_differs(a, b, p, q) -> bool:
    """Decide a grid around every threshold and date of both versions: does any answer change?"""
    ts = {p[k] for k in ("t1", "t2", "t3", "t4")} | {q[k] for k in ("t1", "t2", "t3", "t4")}
    vals = sorted({Decimal(t) + e for t in ts for e in (Decimal("-0.01"), 0, Decimal("0.01"))} | {Decimal(0), Decimal(999999)})
    days = sorted({x + dt.timedelta(days=e) for x in (p["d"], q["d"], dt.date(2020, 1, 1)) for e in (-1, 0, 1)})
    for day in days:
        if not dt.date(2020, 1, 1) <= day < dt.date(2030, 1, 1):
            continue
        for nature in ("travaux", "fournitures", "services", None):
            for urg in (True, False, None):
                for v in [*vals, None]:
                    s = {k: x for k, x in (("nature", nature), ("urgence", urg), ("valeur", str(v) if v is not None else None)) if x is not None}
                    if diffmod.outcome(a, s, day) != diffmod.outcome(b, s, day):
                        return True
    return False


def _in_region(box: dict, situation: dict, day: dt.date) -> bool:
    """Whether a situation lies in a region, read from its JSON box (facts absent from the box are free)."""

    def inside(iv: dict, v) -> bool:
        lo, hi = iv["from"], iv["to"]
        conv = (lambda x: dt.date.fromisoformat(x)) if isinstance(v, dt.date) else Decimal
        lo_ok = lo is None or v > conv(lo) or (iv["from_included"] and v == conv(lo))
        hi_ok = hi is None or v < conv(hi) or (iv["to_included"] and v == conv(hi))
        return lo_ok and hi_ok

    if not any(inside(iv, day) for iv in box["date"]):
        return False
    for name, spec in box.items():
        if name == "date":
            continue
        v = situation.get(name)
        if "values" in spec:
            ok = spec["not_given"] if v is None else v in spec["values"]
        else:
            ok = spec["not_given"] if v is None else any(inside(iv, Decimal(v)) for iv in spec["intervals"])
        if not ok:
            return False
    return True


@settings(max_examples=MUTATIONS, deadline=None)
@given(rulebook_and_mutation())
def test_regions_are_exact_on_random_situations(pm):
    """Exhaustive exploration: a random situation changes answer (and how) exactly when it lies in a reported region of that kind."""
    p, q = pm
    a, b = rulebook(_text(p)), rulebook(_text(q))
    report = diffmod.diff(a, b)
    rng = random.Random(str(p) + str(q))
    thresholds = [p[k] for k in ("t1", "t2", "t3", "t4")] + [q[k] for k in ("t1", "t2", "t3", "t4")]
    for _ in range(40):
        t = rng.choice(thresholds)
        value = rng.choice([None, Decimal(rng.randrange(0, 300000)), Decimal(t) + Decimal(rng.choice((-1, 0, 1))) / 100])
        day = rng.choice([p["d"], q["d"], dt.date(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 3650))]) + dt.timedelta(days=rng.choice((-1, 0, 0, 1)))
        if not dt.date(2020, 1, 1) <= day < dt.date(2030, 1, 1):
            continue
        s = {"nature": rng.choice(["travaux", "fournitures", "services", None]), "urgence": rng.choice([True, False, None]), "valeur": None if value is None else str(value)}
        s = {k: v for k, v in s.items() if v is not None}
        oa, ob = diffmod.outcome(a, s, day), diffmod.outcome(b, s, day)
        for item in (("proc", "dispense"), ("proc", "mapa")):
            kind = diffmod.change_kind(*diffmod.pair_status(oa, ob, item))
            hits = {c.kind for c in report.semantic if (c.enum, c.member) == item for r in c.regions if _in_region(r.box, s, day)}
            assert hits == ({kind} if kind else set()), (s, day, kind, hits)


@settings(max_examples=MUTATIONS, deadline=None)
@given(rulebook_and_mutation())
def test_diff_finds_a_witness_whenever_one_exists(pm):
    p, q = pm
    a, b = rulebook(_text(p)), rulebook(_text(q))
    report = diffmod.diff(a, b)
    assert all(e.exhaustive for e in report.explored)
    assert bool(report.semantic) == _brute_force_differs(a, b, p, q)
    for c in report.semantic:
        for r in c.regions:
            w = r.witness
            day = dt.date.fromisoformat(w["date"])
            x, y = diffmod.pair_status(diffmod.outcome(a, w["faits"], day), diffmod.outcome(b, w["faits"], day), (c.enum, c.member))
            assert diffmod.change_kind(x, y) == c.kind


# ---------------------------------------------------------------- docs/audit-rules.md

AUDIT_DOC = (Path(__file__).resolve().parent.parent / "docs" / "audit-rules.md").read_text(encoding="utf-8")
DOC_EXAMPLES = re.findall(r"```sh\ncpc-rules ([^\n]+)\n```\n\n[^`]*?```(?:text|markdown|mermaid)\n(.*?)```", AUDIT_DOC, flags=re.DOTALL)


def test_audit_rules_doc_has_an_example_of_each_command():
    assert {c.split()[0] for c, _ in DOC_EXAMPLES} == {"diff", "coverage", "graph"}


@pytest.mark.parametrize(("command", "excerpt"), DOC_EXAMPLES, ids=[c for c, _ in DOC_EXAMPLES])
def test_audit_rules_examples_are_real_output(command, excerpt, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    result = CliRunner().invoke(main, command.split())
    assert result.exit_code in (0, 1), result.output
    assert (result.exit_code == 1) == ("--fail-on" in command), result.output
    for chunk in re.split(r"^…\n", excerpt, flags=re.MULTILINE):
        assert chunk.strip("\n") in result.output, chunk
