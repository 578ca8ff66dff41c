"""Hypothesis strategies for situations: valid ones generated from a rulebook's declared facts
(what `cpc-rules schema` describes), number texts near the accepted forms, and hostile documents.

Shared by tests/test_json_contract.py and tests/test_fuzz_situations.py.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from cpc_rules import ir, values

MONEY_NUMBERS = st.decimals(min_value=0, max_value=Decimal("999999999999999.99"), places=2, allow_nan=False, allow_infinity=False)
PERCENTS = st.decimals(min_value=0, max_value=100, places=6, allow_nan=False, allow_infinity=False)


def _french(d: Decimal) -> str:
    """`values.french_number`, with a trailing zero where it would read "2,691" (2 or 2 691?), refused by design."""
    text = values.french_number(d)
    return text + "0" if re.fullmatch(r"[1-9][0-9]{0,2},[0-9]{3}", text) else text


def _grouped(d: Decimal, comma: bool, space: str) -> str:
    text = _french(d).replace(" ", space)
    return text if comma else text.replace(",", ".")


@st.composite
def money(draw: st.DrawFn) -> Any:
    """An amount as a buyer or a program writes it (JSON number or French text)."""
    d = abs(draw(st.one_of(MONEY_NUMBERS, st.sampled_from([Decimal(0), Decimal("39999.99"), Decimal(40000), Decimal("215999.99"), Decimal(216000), Decimal("5537999.99")]))))
    form = draw(st.sampled_from(["decimal", "int", "plain", "french", "euro"]))
    if form == "int" and d == d.to_integral_value():
        return int(d)
    if form == "plain":
        return format(d, "f")
    if form in ("french", "euro"):
        text = _grouped(d, True, draw(st.sampled_from([" ", "\u00a0", "\u202f"])))
        return text + (draw(st.sampled_from([" €", "€", "\u00a0€", " EUR"])) if form == "euro" else "")
    return d


def value_for(t: ir.Type, rb: ir.Rulebook) -> st.SearchStrategy[Any]:
    """Valid raw values of type `t` (null included: an unknown fact)."""
    if t.kind == "money":
        s: st.SearchStrategy[Any] = money()
    elif t.kind == "percent":
        s = st.one_of(PERCENTS, PERCENTS.map(lambda d: _french(d) + " %"), st.integers(0, 100))
    elif t.kind == "int":
        s = st.one_of(st.integers(0, 120), st.integers(0, 10**15 - 1), st.integers(0, 999).map(str))
    elif t.kind == "bool":
        s = st.one_of(st.booleans(), st.sampled_from(values.BOOL_WORDS))
    elif t.kind == "date":
        s = st.dates(dt.date(2018, 1, 1), dt.date(2030, 12, 31)).map(dt.date.isoformat)
    elif t.kind == "enum":
        s = st.sampled_from(rb.enums[t.name].members)  # type: ignore[index]
    elif t.kind == "list":
        rec = rb.records[t.name]  # type: ignore[index]
        item = st.fixed_dictionaries({}, optional={n: value_for(ft, rb) for n, ft, _ in rec.fields})
        s = st.lists(item, max_size=3)
    else:
        return st.none()
    return st.one_of(s, st.none()) if t.kind != "list" else s


def facts_for(rb: ir.Rulebook) -> st.SearchStrategy[dict[str, Any]]:
    """Partial situations: any subset of the declared facts, each with a valid value."""
    return st.fixed_dictionaries({}, optional={f.name: value_for(f.type, rb) for f in rb.facts})


def decision_dates() -> st.SearchStrategy[dt.date]:
    return st.one_of(
        st.dates(dt.date(2015, 1, 1), dt.date(2031, 12, 31)),
        st.sampled_from([dt.date(2019, 3, 31), dt.date(2019, 4, 1), dt.date(2024, 1, 1), dt.date(2026, 3, 1)]),
    )


# ---------------------------------------------------------------- hostile forms

NUMBER_CHARS = "0123456789 ,.-+eE€%_\u00a0\u202f²٣０"
number_texts = st.text(alphabet=NUMBER_CHARS, max_size=24)

HOSTILE_SCALARS = st.one_of(
    number_texts,
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "-0.0", "1e999999999", "1e-999999999", "9" * 5000, "0170000", "1:30", "yes", "on", ".nan", "-.inf", "2026-W10", "20260301", "\ud800", "\udfff", "x" * 20_000]),
    st.text(max_size=30),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.booleans(),
    st.none(),
)

JSON_NUMBER_TOKENS = st.one_of(
    st.from_regex(r"-?(0|[1-9][0-9]{0,45})(\.[0-9]{1,25})?([eE][-+]?[0-9]{1,12})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "1e999999999", "9" * 5000]),
)


@st.composite
def json_documents(draw: st.DrawFn, fact_names: list[str]) -> str:
    """A JSON text close to a situation: right or wrong keys, duplicated keys, raw number tokens, bad nesting."""
    names = st.one_of(st.sampled_from(fact_names), st.text(max_size=8))
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        key = json.dumps(draw(names), ensure_ascii=draw(st.booleans()))
        kind = draw(st.sampled_from(["token", "string", "nested", "list"]))
        if kind == "token":
            value = draw(JSON_NUMBER_TOKENS)
        elif kind == "string":
            value = json.dumps(draw(HOSTILE_SCALARS.filter(lambda v: isinstance(v, str))))
        elif kind == "nested":
            n = draw(st.integers(1, 40))
            value = "[" * n + "]" * n
        else:
            value = "[" + ",".join("{" + f'"valeur": {draw(JSON_NUMBER_TOKENS)}' + "}" for _ in range(draw(st.integers(0, 2)))) + "]"
        pairs.append(f"{key}: {value}")
        if draw(st.integers(0, 9)) == 0:
            pairs.append(pairs[-1])  # the same key twice
    facts = "{" + ", ".join(pairs) + "}"
    top = draw(st.sampled_from(["faits", "facts", "flat", "both", "extra"]))
    date = json.dumps(draw(st.sampled_from(["2026-03-01", "2026-W10", "20260301", "2026-02-30", "2019-04-01"])))
    if top == "flat":
        return facts[:-1] + (", " if pairs else "") + f'"date": {date}' + "}"
    if top == "both":
        return f'{{"date": {date}, "faits": {facts}, "facts": {{}}}}'
    if top == "extra":
        return f'{{"date": {date}, "faits": {facts}, "valeur": 1}}'
    return f'{{"date": {date}, "{top}": {facts}}}'


@st.composite
def yaml_documents(draw: st.DrawFn, fact_names: list[str]) -> str:
    """A YAML text close to a situation: YAML 1.1 scalars (octal, sexagesimal, yes/no, timestamps), odd keys, tags."""
    scalars = st.one_of(
        st.sampled_from(["0170000", "1:30", "yes", "no", "on", "off", "~", ".nan", ".inf", "-.inf", "2026-03-01", "2026-03-01 10:00:00", "0x1F", "0o17", "1_000", "!!binary aGk=", "!!timestamp 2026-03-01", "&a [1, 2]", "*a", "!!python/object:os.system ls", "[[[[[[[[]]]]]]]]", "{a: 1, a: 2}", "'\\ud800'", '"\\ud800"']),
        number_texts.map(lambda t: t.strip() or "0"),
    )
    keys = st.one_of(st.sampled_from(fact_names), st.sampled_from(["1", "null", "~", "2026-03-01", "true", "[1]", "? a"]))
    lines = ["date: " + draw(st.sampled_from(["2026-03-01", "2026-W10", "'2026-03-01'", "20260301"])), "faits:"]
    for _ in range(draw(st.integers(0, 4))):
        lines.append(f"  {draw(keys)}: {draw(scalars)}")
    return "\n".join(lines) + "\n"
