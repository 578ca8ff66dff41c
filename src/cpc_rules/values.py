"""Values: the unknown value, and values at the edges (read from JSON/YAML situations, written to JSON and to French text).

`Unknown` lives here, below the engine, so that the run-time helpers
(engine/runtime.py) can use the display functions without an import circle.

Money and percentages are exact `Decimal`s everywhere; no float is ever kept.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from cpc_rules.ir import Type


class Unknown:
    """An undetermined value, and the missing facts that could determine it."""

    __slots__ = ("missing",)

    def __init__(self, missing: frozenset[str]) -> None:
        self.missing = missing

    def __repr__(self) -> str:
        return f"Unknown({sorted(self.missing)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unknown) and other.missing == self.missing

    def __hash__(self) -> int:
        return hash(self.missing)


class BadValue(ValueError):
    """A situation value that does not fit its declared type; the message says what was expected."""


def _number(raw: Any, unit: str) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue("un booléen n'est pas un nombre")
    if isinstance(raw, Decimal):
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))  # the shortest text that round-trips, not the binary expansion
    if isinstance(raw, str):
        text = raw.strip().removesuffix(unit).removesuffix("EUR").strip()
        for space in (" ", "\u00a0", "\u202f"):
            text = text.replace(space, "")
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise BadValue(f"« {raw} » n'est pas un nombre") from None
        if not value.is_finite():
            raise BadValue(f"« {raw} » n'est pas un nombre fini")
        return value
    raise BadValue(f"attendu un nombre, reçu {type(raw).__name__}")


MAX_AMOUNT = Decimal("1e15")  # a thousand billion euros: far above any purchase, and keeps texts short


_STEPS = {2: Decimal("0.01"), 6: Decimal("0.000001")}


def _bounded(value: Decimal, raw: Any, places: int, signed: bool) -> Decimal:
    """A number a buyer could mean: not negative unless `signed`, not absurdly large, not finer than `places` decimals."""
    if value < 0 and not signed:
        raise BadValue(f"« {raw} » : un montant est positif ou nul")
    if abs(value) >= MAX_AMOUNT:
        raise BadValue(f"« {raw} » est hors des limites (moins de 1 000 000 000 000 000)")
    if value != value.quantize(_STEPS[places]):  # exact below 10^15: no rounding error to fear
        raise BadValue(f"« {raw} » a plus de {places} décimales")
    return value


def coerce(raw: Any, t: Type, enums: dict[str, Any], records: dict[str, Any], path: str) -> Any:
    """The runtime value of `raw` for type `t`; raises BadValue. Missing record fields become Unknown."""
    kind = t.kind
    if kind == "money":
        return _bounded(_number(raw, "€"), raw, 2, signed=False)
    if kind == "percent":
        return _bounded(_number(raw, "%"), raw, 6, signed=True)
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, str) and raw.strip().isdigit():
                return int(raw.strip())
            raise BadValue(f"attendu un entier, reçu {raw!r}")
        return raw
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("vrai", "faux", "true", "false", "oui", "non"):
            return raw.strip().lower() in ("vrai", "true", "oui")
        raise BadValue(f"attendu vrai ou faux, reçu {raw!r}")
    if kind == "date":
        if isinstance(raw, dt.datetime):
            raise BadValue("attendu une date sans heure (AAAA-MM-JJ)")
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw.strip())
            except ValueError:
                raise BadValue(f"« {raw} » n'est pas une date AAAA-MM-JJ valide") from None
        raise BadValue(f"attendu une date AAAA-MM-JJ, reçu {raw!r}")
    if kind == "enum":
        members = enums[t.name].members
        if not isinstance(raw, str) or raw not in members:
            raise BadValue(f"« {raw} » n'est pas une valeur de `{t.name}` ; valeurs possibles : {', '.join(members)}")
        return raw
    if kind == "list":
        if not isinstance(raw, list | tuple):
            raise BadValue(f"attendu une liste de `{t.name}`, reçu {type(raw).__name__}")
        rec = records[t.name]
        out = []
        for i, item in enumerate(raw, start=1):
            if not isinstance(item, dict):
                raise BadValue(f"{path}[{i}] : attendu un objet `{t.name}`")
            unknown = set(item) - {f[0] for f in rec.fields}
            if unknown:
                raise BadValue(f"{path}[{i}] : champ inconnu `{min(unknown)}` ; champs : {', '.join(f[0] for f in rec.fields)}")
            values = []
            for name, ftype, _ in rec.fields:
                where = f"{path}[{i}].{name}"
                if name in item and item[name] is not None:
                    try:
                        values.append(coerce(item[name], ftype, enums, records, where))
                    except BadValue as e:
                        raise BadValue(f"{where} : {e}") from None
                else:
                    values.append(Unknown(frozenset({where})))
            out.append(tuple(values))
        return tuple(out)
    raise BadValue(f"type {t} non pris en charge")  # pragma: no cover


def period_json(period: Any) -> dict[str, Any]:
    """A half-open period as JSON: `{from, until}`, `until` null when open-ended."""
    return {"from": period.start.isoformat(), "until": period.end.isoformat() if period.end else None}


def to_json(value: Any, t: Type, records: dict[str, Any]) -> Any:
    """A JSON-ready value: exact decimals as strings, dates in ISO, unknown as None."""
    if value is None or isinstance(value, Unknown):
        return None
    if t.kind in ("money", "percent"):
        return _plain(value)
    if t.kind == "date":
        return value.isoformat()
    if t.kind == "list":
        rec = records[t.name]
        return [{name: to_json(v, ft, records) for (name, ft, _), v in zip(rec.fields, item, strict=True)} for item in value]
    return value


def _plain(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


_FRENCH = str.maketrans({",": " ", ".": ","})


def french_number(d: Decimal) -> str:
    """39999.99 → '39 999,99' (plain spaces: narrow no-break spaces are avoided to keep terminals simple)."""
    text = format(d, ",f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.translate(_FRENCH)


def display(value: Any, t: Type | None, lang: str = "fr") -> str:
    """A value as a buyer reads it: `39 999,99 €`, `20 %`, `vrai`, `2024-05-01`."""
    if isinstance(value, Unknown):
        return "inconnu" if lang == "fr" else "unknown"
    if value is None:
        return "—"
    kind = t.kind if t else None
    if isinstance(value, bool):
        return ("vrai" if value else "faux") if lang == "fr" else ("true" if value else "false")
    if kind == "money":
        return f"{french_number(value)} €" if lang == "fr" else f"€{value:,}"
    if kind == "percent":
        return f"{french_number(value)} %" if lang == "fr" else f"{value} %"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return f"[{len(value)} élément(s)]" if lang == "fr" else f"[{len(value)} item(s)]"
    return str(value)
