"""The JSON Schema of a situation, generated from the facts the rulebook declares.

It says exactly what the reader accepts (`situation.py`, `values.coerce`): the same
number forms (the patterns below are built from the reader's), bounds, dates and
shapes; `tests/test_json_contract.py` checks that they agree. Two things a JSON Schema
cannot say are left to the reader: `-0` (equal to 0 for a schema; refused) and the size
and depth limits of a document.
"""

from __future__ import annotations

from typing import Any

from cpc_rules import ir, values
from cpc_rules.situation import MAX_DEPTH

_S = "[ \u00a0\u202f]"  # the spaces that may group thousands (plain, no-break, narrow no-break)


def _number_pattern(integer: str, places: int, unit: str) -> str:
    """A number written as text: `integer` part, a comma or point then at most `places` significant decimals, a unit."""
    frac = f"([.,][0-9]{{1,{places}}}0{{0,{values.MAX_DIGITS - places}}})?"
    ambiguous = f"(?![1-9][0-9]{{0,2}}[.,][0-9]{{3}}({unit})?$)"  # "250,000": 250 or 250 000?
    return f"^{ambiguous}{integer}{frac}({unit})?$"


_MONEY_INT = f"(0|[1-9][0-9]{{0,{values.MAX_DIGITS - 1}}}|[1-9][0-9]{{0,2}}({_S}[0-9]{{3}}){{1,4}})"
MONEY_PATTERN = _number_pattern(_MONEY_INT, 2, f"{_S}?(€|EUR)")
PERCENT_PATTERN = f"^(?![1-9][0-9]{{0,2}}[.,][0-9]{{3}}({_S}?%)?$)((0|[1-9][0-9]?)([.,][0-9]{{1,6}}0{{0,{values.MAX_DIGITS - 6}}})?|100([.,]0{{1,{values.MAX_DIGITS}}})?)({_S}?%)?$"
INT_PATTERN = f"^(0|[1-9][0-9]{{0,{values.MAX_DIGITS - 1}}})$"
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

_MONEY = {
    "description": 'montant en euros HT, exact : nombre JSON (au plus 2 décimales) ou texte ("39999.99", "39 999,99 €", "1 850 000") ; "250,000" est refusé comme ambigu',
    "anyOf": [
        {"type": "string", "pattern": MONEY_PATTERN},
        {"type": "number", "minimum": 0, "exclusiveMaximum": 10**15, "multipleOf": 0.01},
    ],
}
_PERCENT = {
    "description": 'pourcentage de 0 à 100 (50 = 50 %), au plus 6 décimales : nombre ou texte ("50 %", "12,5 %")',
    "anyOf": [
        {"type": "string", "pattern": PERCENT_PATTERN},
        {"type": "number", "minimum": 0, "maximum": 100, "multipleOf": 0.000001},
    ],
}
_INT = {
    "description": "entier positif ou nul (moins de 10^15)",
    "anyOf": [{"type": "integer", "minimum": 0, "maximum": 10**15 - 1}, {"type": "string", "pattern": INT_PATTERN}],
}
_BOOL = {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": list(values.BOOL_WORDS)}]}
_DATE = {"type": "string", "pattern": DATE_PATTERN, "format": "date", "description": "date AAAA-MM-JJ"}
_NULL = {"type": "null"}


def type_schema(t: ir.Type, rb: ir.Rulebook) -> dict[str, Any]:
    if t.kind == "money":
        return dict(_MONEY)
    if t.kind == "percent":
        return dict(_PERCENT)
    if t.kind == "int":
        return dict(_INT)
    if t.kind == "bool":
        return dict(_BOOL)
    if t.kind == "date":
        return dict(_DATE)
    if t.kind == "enum":
        return {"type": "string", "enum": list(rb.enums[t.name].members)}  # type: ignore[index]
    if t.kind != "list":
        return {"not": {}, "description": f"type {t} : aucune valeur acceptée dans une situation"}
    rec = rb.records[t.name]  # type: ignore[index]
    item = {
        "type": "object",
        "additionalProperties": False,
        "properties": {n: _nullable(type_schema(ft, rb), lab) for n, ft, lab in rec.fields},
    }
    return {"type": "array", "items": item}


def _nullable(schema: dict[str, Any], title: str | None) -> dict[str, Any]:
    """A fact or field may be null: not known (the same as absent)."""
    return {"anyOf": [schema, _NULL], **({"title": title} if title else {})}


def situation_schema(rb: ir.Rulebook) -> dict[str, Any]:
    facts = {f.name: _nullable(type_schema(f.type, rb), f.label) for f in rb.facts}
    date = {**_DATE, "description": "date de lancement de la consultation, AAAA-MM-JJ"}
    facts_object = {"type": "object", "additionalProperties": False, "properties": facts}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Situation — {rb.title}",
        "description": (
            "Une situation d'achat : la date de lancement de la consultation et les faits connus. Un fait absent ou null est inconnu, pas faux. "
            f"Une clé ne figure qu'une fois ; au plus {MAX_DEPTH} niveaux d'imbrication ; -0 est refusé."
        ),
        "anyOf": [
            {"type": "object", "properties": {"date": date, "faits": facts_object}, "required": ["faits"], "additionalProperties": False},
            {"type": "object", "properties": {"date": date, "facts": facts_object}, "required": ["facts"], "additionalProperties": False},
            {"type": "object", "properties": {"date": date, **facts}, "additionalProperties": False, "description": "les faits seuls, au premier niveau"},
        ],
    }
