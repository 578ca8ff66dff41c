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
from server import running_server

from cpc_rules import default_rulebook
from cpc_rules.render.text import verdict

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
    elsewhere: list[str] = []  # offline: every request the page makes goes to the service itself
    page.on("request", lambda r: None if r.url.startswith((base + "/", "data:", "blob:")) else elsewhere.append(r.url))
    page.goto(base + "/")
    page.fill("#f-date", doc["date"])
    page.dispatch_event("#f-date", "change")
    answered = _answer_questions(page, doc["faits"])
    assert answered, "the page asked no question"
    # a web user clicks a choice: the terminal's way of answering (« le numéro d'un choix ») is not said beside buttons
    assert "le numéro d'un choix" not in page.inner_text("#questions") and " --" not in page.inner_text("#questions")
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
    assert _lines(shown) == _lines(verdict(decision, hints=False))  # the terminal's lines, without its options (« --detail »)
    assert "--" not in shown
    assert len(_lines(shown)) >= 4
    assert any(s.enum == "procédure" and s.permission == "allowed" for s in decision.statuses) and "✔ " in shown
    assert page.locator("#grounds a[href^='https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI']").count() >= 1
    assert not errors, errors
    assert elsewhere == []
    if example == "défense":  # Livre III: what is not encoded is said first, the procedures grouped by publicity
        assert "⚠ indéterminé, non encodé" in shown and "(pour ces " in shown
    if example == EXAMPLES[0]:  # the README shows this verdict as a screen reader reads it
        readme = (ROOT / "README.md").read_text(encoding="utf-8")
        told = readme.split("sous la forme que lit un lecteur")[1].split("```text\n")[1].split("\n```")[0]
        assert page.locator("#verdict-body").aria_snapshot().strip() == told.strip()
    page.close()


# The elements the Tab key must reach, in document order: what is shown and focusable, and for a group of radio
# buttons only the one Tab lands on (the checked one, else the first; the arrows move inside the group).
TABBABLE = """() => {
  const seen = new Set();
  const out = [...document.querySelectorAll("a[href], button, input, select, textarea, summary, [tabindex]")].filter((e) => {
    if (e.tabIndex < 0 || e.disabled || !e.getClientRects().length || getComputedStyle(e).visibility === "hidden") return false;
    if (e.closest("[hidden]") || (e.closest("details:not([open])") && e.tagName !== "SUMMARY")) return false;
    if (e.type === "radio") {
      if (seen.has(e.name)) return false;
      const group = [...document.getElementsByName(e.name)];
      const lands = group.find((r) => r.checked) || group[0];
      if (lands !== e) return false;
      seen.add(e.name);
    }
    return true;
  });
  out.forEach((e, i) => (e.dataset.tabOrder = String(i)));
  return out.length;
}"""


def _tab_through(page: Any, fresh: bool = True) -> tuple[list[int], int]:
    """Press Tab until the last tabbable element got the focus; return the order in which they got it, and how many
    there are. `fresh`: from the top of the page; else from where the focus is.

    Tab walks inside a date field (day, month, year, its calendar button) before leaving it: repeats are one.
    """
    n = page.evaluate(TABBABLE)
    if fresh:
        page.evaluate("document.activeElement && document.activeElement.blur()")
    got: list[int] = []
    for _ in range(6 * n):
        page.keyboard.press("Tab")
        k = page.evaluate("document.activeElement && document.activeElement.dataset.tabOrder !== undefined ? Number(document.activeElement.dataset.tabOrder) : -1")
        if not got or got[-1] != k:
            got.append(k)
        if k == n - 1:
            break
    return got, n


# WCAG 2.1 contrast of every visible text against its background (4.5:1, or 3:1 for large text)
CONTRAST = """() => {
  const lum = (c) => {
    const [r, g, b] = c.match(/[0-9.]+/g).slice(0, 3).map(Number).map((v) => v / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const alpha = (c) => { const p = c.match(/[0-9.]+/g); return p.length > 3 ? Number(p[3]) : 1; };
  const background = (e) => {
    for (let x = e; x; x = x.parentElement) { const c = getComputedStyle(x).backgroundColor; if (alpha(c) > 0) return c; }
    return "rgb(255, 255, 255)";
  };
  const bad = [];
  let checked = 0;
  for (const e of document.querySelectorAll("body *")) {
    const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !e.getClientRects().length || e.closest("[hidden]")) continue;
    const st = getComputedStyle(e);
    if (st.visibility === "hidden" || parseFloat(st.left) < -1000) continue;  // the skip link, shown on focus only
    const l1 = lum(st.color), l2 = lum(background(e));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    checked += 1;
    if (ratio < need) bad.push(e.tagName + "." + e.className + " " + e.textContent.trim().slice(0, 40) + " : " + ratio.toFixed(2));
  }
  return { checked, bad };
}"""


def _decide_with_the_keyboard(page: Any) -> None:
    """Tab to the « Obtenir la réponse » button and press Enter (a bounded walk, not a wait)."""
    for _ in range(300):
        if page.evaluate("document.activeElement && document.activeElement.id") == "decide-button":
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("the Tab key never reached « Obtenir la réponse »")
    page.keyboard.press("Enter")
    page.wait_for_selector("#verdict:not([hidden])")


def test_the_page_is_usable_with_the_keyboard_alone(browser: Any, base: str) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"], accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector("#questions .field")
    page.wait_for_selector("body:not([data-busy])")
    # every input has a label a screen reader reads, every button a name, every group a legend
    unnamed = page.evaluate("""[...document.querySelectorAll('input')].filter(i => !i.labels || !i.labels.length).map(i => i.id)
      .concat([...document.querySelectorAll('button')].filter(b => !(b.getAttribute('aria-label') || b.textContent).trim()).map(b => b.outerHTML))
      .concat([...document.querySelectorAll('fieldset')].filter(f => !f.querySelector('legend')).map(f => f.outerHTML.slice(0, 80)))""")
    assert unnamed == []
    # the first Tab shows the skip link; then the focus follows the document's order, nothing skipped or out of order
    order, n = _tab_through(page)
    assert order == list(range(n)) and n >= 6
    assert page.evaluate("document.querySelector('[data-tab-order=\"0\"]').textContent") == "Aller au verdict"
    # answer a question with the arrow keys: the questions are re-rendered, the focus stays on the question
    page.focus("#decide-button")
    for _ in range(50):  # back to the first question's choices (Shift+Tab), by keys only
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.id") == "f-date":
            break
    for _ in range(60):  # forward to the first question that is a choice (out of the date's day, month, year)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.type") == "radio":
            break
    name = page.evaluate("document.activeElement.name")
    assert page.evaluate("document.activeElement.type") == "radio"
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("body:not([data-busy])")
    assert page.evaluate("document.activeElement.name") == name and page.evaluate("document.activeElement.checked")
    _decide_with_the_keyboard(page)
    assert page.evaluate("document.activeElement.id") == "verdict"  # the answer is announced: the focus moves to it
    assert page.locator("#verdict-body .verdict-title").count() == 1
    # the verdict's own controls, in order: the trace's toggle, the links, the copy button and the download link
    order, n = _tab_through(page, fresh=False)
    first = page.evaluate("Math.min(...[...document.querySelectorAll('#verdict [data-tab-order]')].map(e => Number(e.dataset.tabOrder)))")
    assert order == list(range(first, n)) and page.locator("#verdict [data-tab-order]").count() >= 4
    # copy the situation, with the keyboard: what is copied is the situation sent
    page.focus("#copy-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#copy-status:not(:empty)")
    sent = page.evaluate("JSON.stringify(situation(), null, 2)")
    assert page.evaluate("navigator.clipboard.readText()") == sent
    assert page.inner_text("#copy-status") == "Situation copiée."
    # download the decision, with the keyboard: it is the decision shown, as JSON
    page.focus("#download-link")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    assert download.suggested_filename == "decision.json"
    decision = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert decision["trace_format"] == 1 and decision["verdict"]["lines"][0]["text"] == page.inner_text("#verdict-body .verdict-title")
    assert decision == page.evaluate("state.decision")
    context.close()


def test_the_page_text_has_enough_contrast(browser: Any, base: str) -> None:
    page = browser.new_page()
    page.goto(base + "/")
    page.wait_for_selector("#questions .field")
    page.wait_for_selector("body:not([data-busy])")
    page.click("#decide-button")
    page.wait_for_selector("#verdict:not([hidden])")
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    found = page.evaluate(CONTRAST)
    assert found["checked"] > 30 and found["bad"] == []
    page.close()
