"""Values: the unknown value, and values at the edges (read from JSON/YAML situations, written to JSON and to French text).

`Unknown` lives here, below the engine, so that the run-time helpers
(engine/runtime.py) can use the display functions without an import circle.

Money and percentages are exact `Decimal`s everywhere; no float is ever kept.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
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

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


_SURROGATE = re.compile("[\ud800-\udfff]")


def excerpt(raw: object, limit: int = 40) -> str:
    """A value as quoted in a message: short (never the whole of a 200 MB string), printable (no lone surrogate)."""
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 4 * limit:
        text = f"<entier de plus de {limit} chiffres>"  # str() of a huge int is itself refused by Python
    elif isinstance(raw, dict | list | tuple):
        text = {dict: "{…}", list: "[…]", tuple: "[…]"}.get(type(raw), "[…]")
    else:
        text = repr(raw) if not isinstance(raw, Decimal) else str(raw)
    text = _SURROGATE.sub("\ufffd", text)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} caractères)"


# How a number may be written in a situation's text (docs/cli.md, "Values"): ASCII digits, an
# optional comma or point before the decimals, thousands grouped by threes with a space
# (plain, no-break or narrow no-break), an optional unit. No exponent, no sign but `-` (to say
# "negative" in the message), no leading zero, nothing around it. "250,000" and "250.000" are
# refused as ambiguous (250 or 250 000?); "1 250,000", "1250,000" and "39 999,99 €" are not.
_SPACES = " \u00a0\u202f"
NUMBER_TEXT = re.compile(rf"(-?)([0-9]+|[0-9]{{1,3}}(?:[{_SPACES}][0-9]{{3}})+)(?:([.,])([0-9]+))?\Z", re.ASCII)
_UNITS = {"€": ("€", "EUR"), "%": ("%",)}
_AMBIGUOUS = re.compile(r"-?[1-9][0-9]{0,2}[.,][0-9]{3}\Z", re.ASCII)
MAX_DIGITS = 15


def _number_text(raw: str, unit: str) -> Decimal:
    text = raw
    for u in _UNITS[unit]:
        if text.endswith(u):
            text = text[: -len(u)]
            if text[-1:] in _SPACES:
                text = text[:-1]
            break
    m = NUMBER_TEXT.match(text)
    if not m:
        hint = None
        if text.count(",") + text.count(".") > 1:
            hint = "séparez les milliers par des espaces : « 1 850 000 », et les décimales par une virgule : « 39 999,99 »"
        elif text != text.strip():
            hint = "sans espace avant ni après le nombre"
        raise BadValue(f"« {excerpt(raw)} » n'est pas un nombre", hint)
    if _AMBIGUOUS.match(text):
        whole = m.group(2) + m.group(4)
        raise BadValue(
            f"« {excerpt(raw)} » est ambigu : {m.group(2)} ou {int(whole):_} ?".replace("_", " "),
            f"écrivez « {m.group(2)} {m.group(4)} » pour {m.group(2)} mille, ou « {m.group(2)},{m.group(4)[:2]} » pour {m.group(2)} et des décimales",
        )
    digits = m.group(2)
    for space in _SPACES:
        digits = digits.replace(space, "")
    if len(digits) > 1 and digits[0] == "0":
        raise BadValue(f"« {excerpt(raw)} » commence par un zéro", f"écrivez « {digits.lstrip('0') or '0'} »")
    if len(digits) > MAX_DIGITS or len(m.group(4) or "") > MAX_DIGITS:
        raise BadValue(f"« {excerpt(raw)} » a trop de chiffres (au plus {MAX_DIGITS})")
    return Decimal(f"{m.group(1)}{digits}.{m.group(4) or '0'}")


def _number(raw: Any, unit: str) -> Decimal:
    if isinstance(raw, bool):
        raise BadValue("un booléen n'est pas un nombre")
    if isinstance(raw, float):
        raise BadValue(
            f"nombre à virgule flottante {excerpt(raw)} refusé : il a pu être arrondi",
            "donnez un Decimal, un entier ou un texte (« 39 999,99 ») ; en JSON, lisez avec parse_float=Decimal",
        )
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise BadValue(f"« {raw} » n'est pas un nombre fini")
        value = raw
    elif isinstance(raw, int):
        if raw.bit_length() > 64:
            raise BadValue(f"« {excerpt(raw)} » est hors des limites (moins de 1 000 000 000 000 000)")
        value = Decimal(raw)
    elif isinstance(raw, str):
        value = _number_text(raw, unit)
    else:
        raise BadValue(f"attendu un nombre, reçu {_kind(raw)}")
    if value.is_zero() and value.is_signed():
        raise BadValue(f"« {excerpt(raw)} » : zéro négatif", "écrivez 0")
    return value


def _kind(raw: Any) -> str:
    return {dict: "un objet", list: "une liste", tuple: "une liste", type(None): "null"}.get(type(raw), type(raw).__name__)


MAX_AMOUNT = Decimal("1e15")  # a thousand billion euros: far above any purchase, and keeps texts short


_STEPS = {2: Decimal("0.01"), 6: Decimal("0.000001")}


def _bounded(value: Decimal, raw: Any, places: int, upper: Decimal = MAX_AMOUNT) -> Decimal:
    """A number a buyer could mean: not negative, below `upper`, not finer than `places` decimals."""
    if value < 0:
        raise BadValue(f"« {excerpt(raw)} » : un {'pourcentage' if places == 6 else 'montant'} est positif ou nul")
    if upper == MAX_AMOUNT and value >= MAX_AMOUNT:
        raise BadValue(f"« {excerpt(raw)} » est hors des limites (moins de 1 000 000 000 000 000)")
    if upper != MAX_AMOUNT and value > upper:
        raise BadValue(f"« {excerpt(raw)} » : un pourcentage est compris entre 0 et 100 %")
    if value.adjusted() < -places - 1 or value != value.quantize(_STEPS[places]):  # exact below 10^15
        raise BadValue(f"« {excerpt(raw)} » a plus de {places} décimales")
    return value


_BOOLS = {"vrai": True, "true": True, "oui": True, "faux": False, "false": False, "non": False}
BOOL_WORDS = tuple(_BOOLS)
_INT = re.compile(r"(0|[1-9][0-9]{0,14})\Z", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)


def _integer(raw: Any) -> int:
    """A count (lots, months): 0 ≤ n < 10^15, as an int, an integral Decimal or ASCII digits."""
    if isinstance(raw, bool):
        raise BadValue(f"attendu un entier, reçu {excerpt(raw)}")
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value() and abs(raw) < MAX_AMOUNT:
        raw = int(raw)
    if isinstance(raw, str):
        if not _INT.match(raw):
            raise BadValue(f"attendu un entier (chiffres 0 à 9), reçu « {excerpt(raw)} »")
        return int(raw)
    if not isinstance(raw, int):
        raise BadValue(f"attendu un entier, reçu {excerpt(raw) if isinstance(raw, Decimal) else _kind(raw)}")
    if raw.bit_length() > 64 or raw >= MAX_AMOUNT:
        raise BadValue(f"« {excerpt(raw)} » est hors des limites (moins de 1 000 000 000 000 000)")
    if raw < 0:
        raise BadValue(f"« {raw} » : un entier est positif ou nul ici (une durée, un nombre)")
    return raw


def coerce(raw: Any, t: Type, enums: dict[str, Any], records: dict[str, Any], path: str) -> Any:
    """The runtime value of `raw` for type `t`; raises BadValue. Missing record fields become Unknown."""
    kind = t.kind
    if kind == "money":
        return _bounded(_number(raw, "€"), raw, 2)
    if kind == "percent":
        return _bounded(_number(raw, "%"), raw, 6, Decimal(100))
    if kind == "int":
        return _integer(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw in _BOOLS:
            return _BOOLS[raw]
        raise BadValue(f"attendu vrai ou faux, reçu « {excerpt(raw)} »" if isinstance(raw, str | int | Decimal) else f"attendu vrai ou faux, reçu {_kind(raw)}")
    if kind == "date":
        if isinstance(raw, dt.datetime):
            raise BadValue("attendu une date sans heure (AAAA-MM-JJ)")
        if isinstance(raw, dt.date):
            return raw
        if isinstance(raw, str):
            if _DATE.match(raw):
                try:
                    return dt.date.fromisoformat(raw)
                except ValueError:
                    pass
            raise BadValue(f"« {excerpt(raw)} » n'est pas une date AAAA-MM-JJ valide")
        raise BadValue(f"attendu une date AAAA-MM-JJ, reçu {_kind(raw)}")
    if kind == "enum":
        members = enums[t.name].members
        if not isinstance(raw, str) or raw not in members:
            shown = excerpt(raw) if isinstance(raw, str | int | Decimal | bool) else _kind(raw)
            raise BadValue(f"« {shown} » n'est pas une valeur de `{t.name}` ; valeurs possibles : {', '.join(members)}")
        return raw
    if kind == "list":
        if not isinstance(raw, list | tuple):
            raise BadValue(f"attendu une liste de `{t.name}`, reçu {_kind(raw)}")
        rec = records[t.name]
        names = {f[0] for f in rec.fields}
        out = []
        for i, item in enumerate(raw, start=1):
            if not isinstance(item, dict):
                raise BadValue(f"{path}[{i}] : attendu un objet `{t.name}`")
            bad_keys = [k for k in item if not isinstance(k, str)]
            if bad_keys:
                raise BadValue(f"{path}[{i}] : clé « {excerpt(bad_keys[0])} » : un champ est un nom")
            unknown = set(item) - names
            if unknown:
                raise BadValue(f"{path}[{i}] : champ inconnu `{excerpt(min(unknown))}` ; champs : {', '.join(f[0] for f in rec.fields)}")
            values = []
            for name, ftype, _ in rec.fields:
                where = f"{path}[{i}].{name}"
                if name in item and item[name] is not None:
                    try:
                        values.append(coerce(item[name], ftype, enums, records, where))
                    except BadValue as e:
                        raise BadValue(f"{where} : {e}", e.hint) from None
                else:
                    values.append(Unknown(frozenset({where})))
            out.append(tuple(values))
        return tuple(out)
    raise BadValue(f"type {t} non pris en charge")  # pragma: no cover


_CENT = Decimal("0.01")
_ZERO = Decimal(0)  # a Decimal compared with a Decimal: three times faster than with the int 0
_MILLIONTH = Decimal("0.000001")
_MAX_INT = 10**15
_MEMO_SIZE = 4096


def coercer(t: Type, enums: dict[str, Any], records: dict[str, Any], path: str) -> Any:
    """`coerce` for one declared fact, with a fast path for values already of the right type.

    Typing the input cost more than the whole hand-written decision (issue 11). The fast
    path accepts exactly what `coerce` accepts and returns the same value (the object
    given, or the same Decimal for an int); anything else goes through `coerce`, which
    gives the same value or the same error. Amounts and percentages written as text are
    memoised by their text (a str is immutable and its parse depends on nothing else;
    bounded, errors never cached).
    """
    kind = t.kind

    def slow(raw: Any) -> Any:
        return coerce(raw, t, enums, records, path)

    if kind in ("money", "percent"):
        upper, step = (MAX_AMOUNT, _CENT) if kind == "money" else (Decimal(100), _MILLIONTH)
        below = kind == "money"  # an amount is strictly below 10^15; a percentage may be 100 itself
        texts: dict[str, Decimal] = {}

        def number(raw: Any) -> Any:
            cls = raw.__class__
            if cls is Decimal:
                # finite first: comparing a NaN raises; a positive value that is a multiple of the
                # step is at least the step, so coerce's check of the exponent holds too
                if raw.is_finite() and raw > _ZERO and (raw < upper if below else raw <= upper) and raw == raw.quantize(step):
                    return raw
            elif cls is int:
                if 0 <= raw < (_MAX_INT if below else 101):
                    return Decimal(raw)
            elif cls is str:
                hit = texts.get(raw)
                if hit is not None:
                    return hit
                value = slow(raw)
                if len(texts) >= _MEMO_SIZE:
                    texts.clear()
                texts[raw] = value
                return value
            return slow(raw)

        return number
    if kind == "int":

        def integer(raw: Any) -> Any:
            return raw if raw.__class__ is int and 0 <= raw < _MAX_INT else slow(raw)

        return integer
    if kind == "bool":

        def boolean(raw: Any) -> Any:
            return raw if raw is True or raw is False else slow(raw)

        return boolean
    if kind == "date":

        def date(raw: Any) -> Any:
            return raw if raw.__class__ is dt.date else slow(raw)

        return date
    if kind == "enum":
        members = frozenset(enums[t.name].members)

        def member(raw: Any) -> Any:
            return raw if raw.__class__ is str and raw in members else slow(raw)

        return member
    return slow


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


# How a conclusion's status reads in French (test failures, rule diffs).
STATUS_WORDS = {
    "allowed": "autorisé",
    "forbidden": "interdit",
    "not_allowed": "non autorisé",
    "undetermined": "indéterminé",
    "mandatory": "obligatoire",
    "not_mandatory": "non obligatoire",
    "unencoded": "indéterminé, non encodé",
    None: "sans statut",
}
