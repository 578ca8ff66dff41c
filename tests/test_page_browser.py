"""The buyer's page in a real headless Chromium (Debian's, driven by Playwright for Python).

The README's two examples are filled in as a buyer would: the page shows the questions one
after the other, and the test answers each one from the example's facts. Then it checks the
verdict on the page against the decision of the Python API. Screenshots are saved under
CPC_RULES_SCREENSHOTS (default: a temporary folder). The test is skipped when no Chromium is
installed; `.ci/run` installs Debian's package.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT
from cpc_rules import default_rulebook
from server import running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

EXAMPLES = ["travaux-commune-2026.json", "achat-responsable-2026.json"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _shots() -> Path:
    folder = Path(os.environ.get("CPC_RULES_SCREENSHOTS") or tempfile.mkdtemp(prefix="cpc-page-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def base() -> Any:
    with running_server() as url:
        yield url


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _answer_questions(page: Any, facts: dict[str, Any]) -> list[Any]:
    """Answer every question the page asks with the example's value; return the facts answered."""
    answered: list[Any] = []
    for _ in range(40):
        page.wait_for_selector("body:not([data-busy])")
        checklist = page.locator("#checklist:not([hidden])")
        if checklist.count():
            boxes = page.locator("#checklist-items input[type=checkbox]").all()
            names = tuple(b.get_attribute("name") for b in boxes)
            assert names not in answered, f"the same checklist was asked twice: {names}"
            for box in boxes:
                box.set_checked(bool(facts.get(box.get_attribute("name"))))
            page.click("#checklist-done")
            page.wait_for_selector("body:not([data-busy])")
            answered.append(names)
            continue
        names = [box.get_attribute("data-fact") for box in page.locator("#questions .field").all()]
        name = next((n for n in names if n not in answered), None)
        if name is None:
            return answered
        # by its fact, not its position: answering re-renders the fields in another order, and a
        # locator Playwright re-resolves after the click must still designate this question
        box = page.locator(f"#questions .field[data-fact='{name}']")
        if name not in facts:  # the example does not say: the buyer does not know
            box.get_by_text("Je ne sais pas").first.click()
            answered.append(name)
            continue
        value = facts[name]
        radios = box.locator("input[type=radio]")
        if radios.count():
            choice = box.locator(f"input[type=radio][value='{_as_text(value).lower() if isinstance(value, bool) else value}']")
            if choice.count():
                choice.check()
            else:  # the answers so far already rule this value out (the interview narrows its choices)
                box.get_by_text("Je ne sais pas").first.click()
        else:
            field = box.locator("input").first
            field.fill(_as_text(value))
            field.dispatch_event("change")
        answered.append(name)
    raise AssertionError("the page kept asking questions")


# the README's two examples, and a défense buyer (Livre III: procedures grouped by the publicity they owe, closed
# ones, what the rulebook does not encode)
DEFENCE = {"date": "2026-05-15", "faits": {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True, "nature": "fournitures", "valeur_estimée_besoin": "300000"}}
CASES = {**{e: None for e in EXAMPLES}, "défense": DEFENCE}


def _lines(text: str) -> list[str]:
    return [" ".join(line.replace("\u00a0", " ").split()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("example", list(CASES))
def test_the_page_says_what_decide_says(browser: Any, base: str, example: str) -> None:
    doc = CASES[example] or json.loads((ROOT / "examples" / example).read_text(encoding="utf-8"))
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(base + "/")
    page.fill("#f-date", doc["date"])
    page.dispatch_event("#f-date", "change")
    answered = _answer_questions(page, doc["faits"])
    assert answered, "the page asked no question"
    page.screenshot(path=str(_shots() / f"{example}-questions.png"), full_page=True)
    page.wait_for_selector("body:not([data-busy])")
    page.click("#decide-button")
    page.wait_for_selector("#verdict:not([hidden])")
    shown = page.inner_text("#verdict-body")
    page.screenshot(path=str(_shots() / f"{example}-verdict.png"), full_page=True)

    # what the page sent is what it shows: the page's verdict is, line for line, the text verdict `decide` prints
    # for the page's own situation (same grouping of procedures by publicity, same closed ones, same question)
    sent = json.loads(page.evaluate("JSON.stringify(situation())"))
    decision = default_rulebook().decide(sent["faits"], at=sent["date"])
    assert _lines(shown) == _lines(decision.verdict())
    assert len(_lines(shown)) >= 4
    assert any(s.enum == "procédure" and s.permission == "allowed" for s in decision.statuses) and "✔ " in shown
    assert page.locator("#grounds a[href^='https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI']").count() >= 1
    assert not errors, errors
    if example == "défense":  # Livre III: what is not encoded is said first, the procedures grouped by publicity
        assert "⚠ indéterminé, non encodé" in shown and "(pour ces 2 procédures)" in shown and "✘ non :" in shown
    if example == EXAMPLES[0]:  # the README shows this verdict as a screen reader reads it
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        told = readme.split("sous la forme que lit un lecteur")[1].split("```text\n")[1].split("\n```")[0]
        assert page.locator("#verdict-body").aria_snapshot().strip() == told.strip()
    page.close()


def test_the_page_is_usable_with_the_keyboard(browser: Any, base: str) -> None:
    page = browser.new_page()
    page.goto(base + "/")
    page.wait_for_load_state("networkidle")
    for _ in range(3):
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused  # focus moves to the form's controls, in order
    labels = page.evaluate("[...document.querySelectorAll('input')].filter(i => !i.labels || !i.labels.length).map(i => i.id)")
    assert labels == []  # every input has a label a screen reader reads
    page.close()
