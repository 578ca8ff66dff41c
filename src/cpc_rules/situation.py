"""Reading a situation: document text → checked mapping of raw facts + decision date.

One stage, used by the CLI (and later the HTTP service, the interview, the audit):
it knows the *shape* of a situation, not the rulebook. Typing each fact against its
declaration is the next stage (`engine/evaluate.py facts_vector`, `values.coerce`).

Nothing is read approximately: JSON numbers become `Decimal` or `int` from their text
(never through a float), YAML is read with a YAML 1.2 core-like resolver set (no octal,
sexagesimal, implicit timestamps or yes/no booleans), a key given twice is an error, so
is a key the format does not define. Every refusal is a `CpcError` with an E41x code
and a short excerpt of the offending text, never the whole value.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.record import frozen
from cpc_rules.values import excerpt

if TYPE_CHECKING:
    import yaml

MAX_BYTES = 4 << 20  # 4 MiB: a situation with hundreds of lots is a few kB
MAX_DEPTH = 16  # containers nested: situation → faits → lots → lot is 4
MAX_NODES = 200_000  # values in the whole document (also stops YAML alias bombs)
MAX_NUMBER_CHARS = 40  # a JSON/YAML number token longer than this is refused, not read
MAX_EXPONENT = 20  # |adjusted exponent| of a number: 10^20 is far above any amount
MAX_STRING = 10_000  # characters of a string value
EXCERPT = 40  # characters quoted from a refused value (values.excerpt)

TOP_KEYS = ("date", "faits", "facts")

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


@frozen
class Situation:
    """What a situation document says: the facts by name (raw, not yet typed) and the decision date, if given."""

    facts: Mapping[str, Any]
    date: dt.date | None
    source: str


def _error(code: str, message: str, source: str, hint: str | None = None) -> CpcError:
    return CpcError([Diagnostic(code, f"{source} : {message}", None, hint=hint)])


def _where(text: str, token: str, nth: int = 1) -> str:
    """`:line:col` of the `nth` occurrence of `token` in `text` (to locate a refused number or a repeated key)."""
    i = -1
    for _ in range(nth):
        i = text.find(token, i + 1)
    if i < 0:
        return ""
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    return f":{line}:{col}"


class _Refused(Exception):
    """Raised inside a JSON/YAML hook; turned into a diagnostic with the source name."""

    def __init__(self, code: str, message: str, token: str = "", hint: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.token, self.hint = code, message, token, hint


# ---------------------------------------------------------------- numbers


def number_from_text(token: str) -> Decimal | int:
    """A JSON/YAML number token as an exact value; refuses what cannot be a buyer's number (E417)."""
    if len(token) > MAX_NUMBER_CHARS:
        raise _Refused("E417", f"nombre trop long ({len(token)} caractères) : « {excerpt(token)} »", token[:EXCERPT], f"un nombre s'écrit en au plus {MAX_NUMBER_CHARS} caractères")
    if not token.isascii():
        raise _Refused("E417", f"chiffres non ASCII dans « {excerpt(token)} »", token)
    digits = token.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
        raise _Refused("E417", f"nombre « {excerpt(token)} » avec un zéro initial (octal en YAML 1.1 ?)", token, f"écrivez « {digits.lstrip('0') or '0'} »")
    if digits.isdigit():
        value: Decimal | int = int(token)
        if value == 0 and token.startswith("-"):
            raise _Refused("E417", f"zéro négatif « {token} »", token, "écrivez 0")
        if abs(value) >= 10**MAX_EXPONENT:
            raise _Refused("E417", f"nombre hors limites « {excerpt(token)} »", token, f"un nombre d'une situation est inférieur à 10^{MAX_EXPONENT}")
        return value
    try:
        d = Decimal(token)
    except InvalidOperation:
        raise _Refused("E417", f"nombre illisible « {excerpt(token)} »", token) from None
    if not d.is_finite():
        raise _Refused("E417", f"« {token} » n'est pas un nombre fini", token, "donnez un nombre, ou null si la valeur n'est pas connue")
    if d.is_zero() and d.is_signed():
        raise _Refused("E417", f"zéro négatif « {token} »", token, "écrivez 0")
    if not d.is_zero() and not -MAX_EXPONENT <= d.adjusted() <= MAX_EXPONENT:
        raise _Refused("E417", f"nombre hors limites « {excerpt(token)} »", token, f"un nombre d'une situation est nul ou compris entre 10^-{MAX_EXPONENT} et 10^{MAX_EXPONENT}")
    return d


def _json_constant(token: str) -> Any:
    raise _Refused("E417", f"« {token} » n'est pas un nombre fini", token, "donnez un nombre, ou null si la valeur n'est pas connue")


# ---------------------------------------------------------------- JSON


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Refused("E415", f"la clé « {excerpt(k)} » est donnée deux fois", json.dumps(k, ensure_ascii=False), "une clé ne peut figurer qu'une fois dans un objet")
        out[k] = v
    return out


def _load_json(text: str) -> Any:
    return json.loads(text, parse_float=number_from_text, parse_int=number_from_text, parse_constant=_json_constant, object_pairs_hook=_json_pairs)


# ---------------------------------------------------------------- YAML


@functools.cache
def _yaml_loader() -> type:
    """SafeLoader with YAML 1.2 core-like scalars: decimal numbers, true/false, null; everything else is text.

    Built on the first YAML situation: PyYAML is not imported by a process that reads only JSON (start-up).
    """
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {}  # drop YAML 1.1's (octal, 1:30, yes/no, timestamps, merge keys)
    for tag, pattern, first in _RESOLVERS:
        _Loader.add_implicit_resolver(tag, re.compile(pattern, re.ASCII), list(first))
    _Loader.add_constructor("tag:yaml.org,2002:int", _yaml_number)
    _Loader.add_constructor("tag:yaml.org,2002:float", _yaml_number)
    _Loader.add_constructor("tag:yaml.org,2002:map", _yaml_mapping)
    for tag in ("timestamp", "binary", "set", "omap", "pairs"):
        _Loader.add_constructor(f"tag:yaml.org,2002:{tag}", _yaml_refuse_tag)
    return _Loader


_RESOLVERS = [
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^[-+]?[0-9]+$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+0123456789."),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+."),
]


def _yaml_number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    token = loader.construct_scalar(node)
    if token.lstrip("+-").lower() in (".inf", ".nan"):
        raise _Refused("E417", f"« {token} » n'est pas un nombre fini (ligne {node.start_mark.line + 1})", token, "donnez un nombre, ou null si la valeur n'est pas connue")
    try:
        return number_from_text(token)
    except _Refused as e:
        e.message += f" (ligne {node.start_mark.line + 1})"
        raise


def _yaml_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        where = f"ligne {key_node.start_mark.line + 1}, colonne {key_node.start_mark.column + 1}"
        if not isinstance(key, str):
            raise _Refused("E416", f"clé « {'null' if key is None else excerpt(key)} » ({where}) : une clé est un nom, pas {_kind(key)}", hint="écrivez la clé entre guillemets si c'est bien un nom")
        if key in out:
            raise _Refused("E415", f"la clé « {excerpt(key)} » est donnée deux fois ({where})", hint="une clé ne peut figurer qu'une fois dans un objet")
        out[key] = loader.construct_object(value_node, deep=True)
    return out


def _yaml_refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise _Refused("E414", f"étiquette YAML {excerpt(node.tag)} non acceptée (ligne {node.start_mark.line + 1})", hint="une situation ne contient que des objets, des listes, des textes, des nombres, true/false et null")


class _YamlError(Exception):
    """PyYAML's error, carried out of `_load_yaml` (so that `decode` need not import PyYAML for JSON)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _load_yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # noqa: S506 - a SafeLoader with fewer resolvers
    except yaml.YAMLError as e:
        raise _YamlError(e) from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "un booléen"
    if isinstance(value, (int, Decimal)):
        return "un nombre"
    if isinstance(value, (list, tuple)):
        return "une liste"
    if isinstance(value, dict):
        return "un objet"
    return type(value).__name__


# ---------------------------------------------------------------- the document


def read_situation(text: str, source_name: str, syntax: str | None = None) -> Situation:
    """Read a situation document. `syntax` is "json" or "yaml"; None: JSON if the name ends in .json, else YAML.

    Raises CpcError (E414 unreadable, E415 duplicate key, E416 bad shape, E417 number,
    E418 too big or too deep, E419 invalid text, E413 bad date).
    """
    return situation_from_value(decode(text, source_name, syntax), source_name)


def decode(text: str, source_name: str, syntax: str | None = None) -> Any:
    """The document's value, exactly (Decimal numbers, no duplicate key), without checking its shape."""
    if syntax is None:
        syntax = "json" if source_name.endswith(".json") else "yaml"
    if len(text) > MAX_BYTES:
        raise _error("E418", f"document trop volumineux ({len(text) // 1024} Kio ; au plus {MAX_BYTES >> 20} Mio)", source_name)
    try:
        data = _load_json(text) if syntax == "json" else _load_yaml(text)
    except _Refused as e:
        where = _where(text, e.token, 2 if e.code == "E415" else 1) if e.token and syntax == "json" else ""
        raise _error(e.code, e.message, source_name + where, e.hint) from None
    except json.JSONDecodeError as e:
        raise _error("E414", f"JSON invalide : {e.msg}", f"{source_name}:{e.lineno}:{e.colno}") from None
    except RecursionError:
        raise _error("E418", f"document trop imbriqué (plus de {MAX_DEPTH} niveaux)", source_name) from None
    except _YamlError as wrapped:
        e = wrapped.error
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise _error("E414", f"YAML invalide : {excerpt(problem, 120)}", source_name + where) from None
    except (ValueError, UnicodeError) as e:  # e.g. an unpaired surrogate escape the decoder refuses
        raise _error("E419", f"texte invalide : {excerpt(str(e), 120)}", source_name) from None
    return data


def situation_from_value(data: Any, source_name: str = "<situation>") -> Situation:
    """Check an already-decoded document (JSON-like values) and split it into facts and date.

    Accepted shapes: `{"date": …, "faits": {…}}` (or `"facts"`), or the facts alone
    (every key but `date` is a fact). Floats are refused: decode JSON with
    `parse_float=Decimal` (as `read_situation` does), so that no number is rounded.
    """
    _check_tree(data, source_name)
    if not isinstance(data, dict):
        raise _error("E414", f"attendu un objet {{\"date\": …, \"faits\": {{…}}}}, reçu {_kind(data)}", source_name)
    if "faits" in data and "facts" in data:
        raise _error("E416", "« faits » et « facts » sont donnés tous les deux", source_name, "donnez les faits une seule fois, dans « faits »")
    key = "faits" if "faits" in data else "facts" if "facts" in data else None
    if key is None:
        facts = {k: v for k, v in data.items() if k != "date"}
    else:
        extra = sorted(k for k in data if k not in TOP_KEYS)
        if extra:
            raise _error(
                "E416",
                f"clé « {excerpt(extra[0])} » à côté de « {key} »",
                source_name,
                f"au premier niveau, seules « date » et « {key} » sont permises : mettez les faits dans « {key} »",
            )
        facts = data[key]
        if not isinstance(facts, dict):
            raise _error("E416", f"« {key} » doit être un objet {{nom: valeur}}, reçu {_kind(facts)}", source_name)
    raw_date = data.get("date")
    return Situation(facts, None if raw_date is None else parse_date(raw_date, source_name), source_name)


def parse_date(raw: object, where: str = "date") -> dt.date:
    """A date written exactly `AAAA-MM-JJ` (no week dates, no `20260301`, no time); E413 otherwise."""
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, str) and _DATE.match(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    shown = excerpt(raw) if isinstance(raw, str) else _kind(raw)
    raise CpcError([Diagnostic("E413", f"{where} : date invalide « {shown} »", None, hint="une date existe au calendrier et s'écrit AAAA-MM-JJ, par exemple 2026-03-01")])


def _check_tree(data: Any, source: str) -> None:
    """Refuse what no situation holds: floats, non-string keys, invalid text, too deep or too large a document."""
    budget = MAX_NODES
    stack: list[tuple[Any, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        budget -= 1
        if budget < 0:
            raise _error("E418", f"document trop volumineux (plus de {MAX_NODES} valeurs)", source)
        if isinstance(value, str):
            _check_text(value, source, path)
        elif isinstance(value, float):
            raise _error("E417", f"{path or 'valeur'} : nombre à virgule flottante {excerpt(value)} refusé (il a pu être arrondi)", source, "lisez le JSON avec parse_float=Decimal, ou donnez le nombre en texte")
        elif isinstance(value, (dict, list, tuple)):
            if depth > MAX_DEPTH:
                raise _error("E418", f"document trop imbriqué (plus de {MAX_DEPTH} niveaux)", source)
            if isinstance(value, dict):
                for k, v in value.items():
                    if not isinstance(k, str):
                        raise _error("E416", f"{path or 'document'} : clé « {excerpt(k)} » : une clé est un nom, pas {_kind(k)}", source)
                    _check_text(k, source, path)
                    stack.append((v, depth + 1, f"{path}.{k}" if path else k))
            else:
                stack.extend((v, depth + 1, f"{path}[{i}]") for i, v in enumerate(value, start=1))
        elif not (value is None or isinstance(value, (bool, int, Decimal, dt.date))):
            raise _error("E416", f"{path or 'document'} : valeur de type {type(value).__name__} non acceptée", source)


def _check_text(text: str, source: str, path: str) -> None:
    if len(text) > MAX_STRING:
        raise _error("E418", f"{path or 'document'} : texte trop long ({len(text)} caractères ; au plus {MAX_STRING}) : « {excerpt(text)} »", source)
    if _SURROGATE.search(text):
        raise _error("E419", f"{path or 'document'} : texte invalide « {excerpt(text)} » (caractère UTF-16 isolé)", source, "un texte est de l'Unicode valide ; vérifiez l'échappement \\uXXXX")


def read_situation_file(path: str, stdin_text: str | None = None) -> Situation:
    """A situation file (`-`: `stdin_text`, read as YAML, which also accepts JSON)."""
    if path == "-":
        return read_situation(stdin_text or "", "<entrée standard>", "yaml")
    from pathlib import Path

    try:
        with Path(path).open("rb") as f:  # read at most the limit: a FIFO or /dev/zero has no size
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _error("E418", f"document trop volumineux (plus de {MAX_BYTES >> 20} Mio)", path)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _error("E414", f"lecture impossible : {excerpt(str(e), 160)}", path) from None
    return read_situation(text, path)
