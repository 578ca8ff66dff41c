"""The JSON Schema of a situation, generated from the facts the rulebook declares."""

from __future__ import annotations

from typing import Any

from cpc_rules import ir

_MONEY = {"description": "montant en euros HT, exact (texte décimal conseillé)", "anyOf": [{"type": "string", "pattern": r"^-?[\d  ]+([.,]\d+)?( ?€)?$"}, {"type": "number"}]}
_PERCENT = {"description": "pourcentage (50 = 50 %)", "anyOf": [{"type": "string"}, {"type": "number"}]}


def type_schema(t: ir.Type, rb: ir.Rulebook) -> dict[str, Any]:
    if t.kind == "money":
        return dict(_MONEY)
    if t.kind == "percent":
        return dict(_PERCENT)
    if t.kind == "int":
        return {"type": "integer"}
    if t.kind == "bool":
        return {"type": "boolean"}
    if t.kind == "date":
        return {"type": "string", "format": "date"}
    if t.kind == "enum":
        return {"type": "string", "enum": list(rb.enums[t.name].members)}  # type: ignore[index]
    rec = rb.records[t.name]  # type: ignore[index]
    item = {
        "type": "object",
        "additionalProperties": False,
        "properties": {n: {**type_schema(ft, rb), **({"title": lab} if lab else {})} for n, ft, lab in rec.fields},
    }
    return {"type": "array", "items": item}


def situation_schema(rb: ir.Rulebook) -> dict[str, Any]:
    facts = {f.name: {**type_schema(f.type, rb), **({"title": f.label} if f.label else {})} for f in rb.facts}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Situation — {rb.title}",
        "description": "Une situation d'achat : la date de lancement de la consultation et les faits connus. Un fait absent est inconnu, pas faux.",
        "type": "object",
        "properties": {
            "date": {"type": "string", "format": "date"},
            "faits": {"type": "object", "additionalProperties": False, "properties": facts},
        },
        "required": ["faits"],
        "additionalProperties": False,
    }
