"""Fuzzing of rulebooks (issue 8 point 7, rulebook half): parse + check + compile either
succeed or return located diagnostics, never another exception.

Inputs: mutations of the bundled rulebook's files (one file mutated, the others as they
are) and rulebooks generated from syntax trees (tests/strategies.py), printed, mutated or
not. Brief in the normal suite; `HYPOTHESIS_PROFILE=deep python -m pytest
tests/test_fuzz_rulebooks.py` runs 10 000 examples per property, `CPC_FUZZ_EXAMPLES=N` any number.
"""

from __future__ import annotations

import functools
import os
import re

import strategies as S
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpc_rules import resources
from cpc_rules.check.checker import check
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.evaluate import Program
from cpc_rules.syntax import ast
from cpc_rules.syntax import format as fmt
from cpc_rules.syntax.parse import parse_text

_DEEP = os.environ.get("HYPOTHESIS_PROFILE") == "deep"
_EXAMPLES = int(os.environ.get("CPC_FUZZ_EXAMPLES") or (10_000 if _DEEP else 25))  # CPC_FUZZ_EXAMPLES=N: any length
_BRIEF = settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

# What people (and editors) put in rulebooks by mistake, and what the lexer finds hard.
FRAGMENTS = (
    "règle", "exception à", "définit", "si", "alors", "sinon", "et", "ou", "non", "dans", "{", "}", "(", ")", "[", "]",
    ":", ",", "=", "<", ">=", "+", "-", "*", "/", "€", "%", '"', "'", "«", "»", "\n", "\t", "\u2028", "\ufeff", "\u0301",
    "0", "1 €", "25 000 €", "20 %", "2024-02-30", "2019-04-01", "9" * 60, "depuis", "jusqu'au", "exclu", "version",
    "article", "paramètre", "fait", "définition", "énumération", "structure", "liste de", "somme(", "nombre(", "tous(",
    "existe(", "min(", "max(", "vrai", "faux", "couverture", "test", "attendu", "x", "é", "Ω", "\x00", "#",
)  # fmt: skip


_WORD = re.compile(r"[\w'’]+")


@functools.cache
def _bundled() -> tuple[tuple[str, str], ...]:
    files = sorted(f for f in resources.bundled_rulebook_path().rglob("*.cpc") if not f.name.endswith(resources.TEST_SUFFIX))
    return tuple((str(f), f.read_text(encoding="utf-8")) for f in files)


@functools.cache
def _parsed(path: str) -> ast.Module:
    return parse_text(dict(_bundled())[path], path)


def _pipeline(texts: dict[str, str], parsed: dict[str, ast.Module] | None = None) -> None:
    """Parse, check and compile; any failure must be a CpcError whose errors are located."""
    try:
        modules = [(parsed or {}).get(p) or parse_text(t, p) for p, t in texts.items()]
        checked, _ = check(modules, texts, "fuzz")
        Program(checked)
    except CpcError as e:
        assert e.diagnostics
        errors = [d for d in e.diagnostics if d.severity == "error"]
        assert errors
        for d in errors:
            assert d.code[0] == "E" and d.message
            if d.code not in ("E202", "E307", "E312"):  # declared-twice, citations, definitions: located by declaration
                assert d.span is not None, d


@st.composite
def mutations(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 80)))
        op = draw(st.sampled_from(("delete", "insert", "replace", "duplicate", "swap_lines", "swap_words", "swap_words")))
        if op == "swap_words":  # a word for another word of the text: mostly still parses, so it reaches the checker
            words = [m for m in _WORD.finditer(text)]
            if words:
                a, b = draw(st.sampled_from(words)), draw(st.sampled_from(words))
                text = text[: a.start()] + b.group() + text[a.end() :]
        elif op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(FRAGMENTS)) + text[i:]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(FRAGMENTS) | st.text(max_size=5)) + text[j:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            lines = text.split("\n")
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@_BRIEF
@given(st.data())
def test_mutated_bundled_rulebook(data: st.DataObject) -> None:
    files = _bundled()
    path, text = data.draw(st.sampled_from(files))
    mutated = data.draw(mutations(text))
    texts = dict(files)
    texts[path] = mutated
    _pipeline(texts, {p: _parsed(p) for p, _ in files if p != path})


@_BRIEF
@given(S.modules, st.booleans(), st.data())
def test_generated_rulebooks(module: ast.Module, mutate: bool, data: st.DataObject) -> None:
    text = fmt.module(module)
    if mutate:
        text = data.draw(mutations(text))
    _pipeline({"gen.cpc": text})


def test_generated_rulebooks_include_valid_ones() -> None:
    """The pipeline above is not only exercised on rejected rulebooks: a well-formed one passes."""
    text = (
        'couverture depuis 2019-04-01\nénumération proc "p" { mapa "m", ao "a" }\nfait x : montant "x"\n'
        'article R1 "a"\n  version depuis 2019-04-01 source "s"\n  règle r : autorise proc mapa si x < 40 000 €\n'
    )
    _pipeline({"ok.cpc": text})
