"""The AST as plain JSON data, read back only after it is validated: the parse cache stores this, never code.

`dump` writes a Module as JSON-ready values (objects tagged with their node class,
Decimals and dates as tagged strings). `load` accepts only the node classes of
syntax/ast.py, with exactly their fields, each of the declared type, and every
literal and name re-read from the source text at its span must give the value
stored: an entry that was edited by hand, or built from another text, is refused
(`Invalid`) rather than trusted. Nothing here can run code: no class is looked up
by a name from the data except in the fixed table below.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from cpc_rules import record
from cpc_rules.diagnostics import Span
from cpc_rules.syntax import ast
from cpc_rules.syntax.literals import parse_money, parse_percent

FORMAT = 1  # bump when the encoding below changes

_CLASSES: dict[str, type] = {
    name: obj for name, obj in vars(ast).items() if isinstance(obj, type) and record.has(obj) and obj.__module__ == ast.__name__
}
_CLASSES["Span"] = Span


class Invalid(Exception):
    """A cache entry that is not exactly what `dump` writes for this text."""


# ---------------------------------------------------------------- writing


def dump(module: ast.Module) -> Any:
    return _dump(module, module.path)


def _dump(x: Any, path: str) -> Any:
    if x is None or isinstance(x, bool | str):
        return x if not isinstance(x, str) else str(x)  # str subclasses of the parser become plain str
    if isinstance(x, int):
        return x
    if isinstance(x, Decimal):
        return {"#d": str(x)}
    if isinstance(x, dt.date):
        return {"#t": x.isoformat()}
    if isinstance(x, tuple):
        return [_dump(v, path) for v in x]
    if isinstance(x, Span) and x.file == path:  # most nodes: a span in the module's own file, kept short
        return {"#s": [x.line, x.col, x.end_line, x.end_col]}
    if record.has(type(x)) and type(x).__name__ in _CLASSES:
        out = {"@": type(x).__name__}
        for f in record.fields(type(x)):
            out[f.name] = _dump(getattr(x, f.name), path)
        return out
    raise TypeError(f"cannot serialise {type(x).__name__}")  # a new AST node type: add it above


# ---------------------------------------------------------------- reading


def load(data: Any, text: str, path: str) -> ast.Module:
    """The Module that `data` encodes, checked against its declared types and against `text`."""
    if not isinstance(data, dict) or not isinstance(data.get("path"), str) or data["path"] != path:
        raise Invalid("not the module of this path")
    module = _load(data, 0, path)
    if not isinstance(module, ast.Module) or module.path != path:
        raise Invalid("not the module of this path")
    _verify(module, text)
    return module


_MAX_DEPTH = 4 * ast.MAX_LENGTH + 100  # above what the parser accepts (each tree level is at most 2 JSON levels)


def _load(x: Any, depth: int, path: str) -> Any:
    if depth > _MAX_DEPTH:
        raise Invalid("too deep")
    if x is None or isinstance(x, bool | str | int):
        return x
    if isinstance(x, list):
        return tuple([_load(v, depth + 1, path) for v in x])
    if not isinstance(x, dict):
        raise Invalid(f"unexpected {type(x).__name__}")
    if len(x) == 1 and "#s" in x:
        pos = x["#s"]
        if not (isinstance(pos, list) and len(pos) == 4 and all(type(n) is int for n in pos)):
            raise Invalid("bad span")
        return Span(path, *pos)
    if len(x) == 1 and "#d" in x and isinstance(x["#d"], str):
        try:
            value = Decimal(x["#d"])
        except InvalidOperation:
            raise Invalid("bad decimal") from None
        if not value.is_finite():
            raise Invalid("bad decimal")
        return value
    if len(x) == 1 and "#t" in x and isinstance(x["#t"], str):
        try:
            return dt.date.fromisoformat(x["#t"])
        except ValueError:
            raise Invalid("bad date") from None
    cls = _CLASSES.get(x.get("@")) if isinstance(x.get("@"), str) else None
    if cls is None:
        raise Invalid("unknown node")
    if len(x) != len(_field_checks(cls)) + 1 or not all(name in x for name, _ in _field_checks(cls)):
        raise Invalid(f"fields of {cls.__name__}")
    values = {}
    for name, conforms in _field_checks(cls):
        value = values[name] = _load(x[name], depth + 1, path)
        if not conforms(value):
            raise Invalid(f"{cls.__name__}.{name}")
    return cls(**values)


_CHECKS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _field_checks(cls: type) -> tuple[tuple[str, Any], ...]:
    """For each field of a node class, a predicate for its declared type (built once per class)."""
    if cls not in _CHECKS:
        namespace = {**vars(ast), "Span": Span, "dt": dt, "Decimal": Decimal}
        hints = typing.get_type_hints(cls, globalns=namespace)
        _CHECKS[cls] = tuple((f.name, type_predicate(hints[f.name], namespace)) for f in record.fields(cls))
    return _CHECKS[cls]


_LITERAL_TYPES = {"money": Decimal, "percent": Decimal, "int": int, "date": dt.date, "bool": bool}


_PLAIN = (bool, int, str, Decimal, dt.date, type(None))


def _data(v: Any) -> bool:
    """A value of an `object` field (a constant, a parameter value, a table): plain values, tuples, sets and tables of them."""
    if isinstance(v, _PLAIN):
        return True
    if isinstance(v, tuple | frozenset):
        return all(_data(x) for x in v)
    if isinstance(v, dict):
        return all(_data(k) and _data(x) for k, x in v.items())
    return False


def type_predicate(hint: Any, namespace: dict[str, Any]) -> Any:
    """A function telling whether a value has the declared type `hint` (the forms the AST and the IR use).

    Shared by the parse cache (AST entries) and the IR cache (check/serial.py): one reading of a type.
    """
    if hint is object:
        return _data
    if isinstance(hint, str):  # a quoted name inside an annotation (`tuple["RecordValue", ...]`)
        hint = typing.ForwardRef(hint)
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(hint)
        if all(isinstance(h, type) and typing.get_origin(h) is None for h in args):
            return _instance_of(tuple(args))
        alternatives = [type_predicate(h, namespace) for h in args]
        return lambda v: any(p(v) for p in alternatives)
    if origin is typing.Literal:
        allowed = frozenset(typing.get_args(hint))
        return lambda v: isinstance(v, str) and v in allowed
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            item = type_predicate(args[0], namespace)
            return lambda v: v.__class__ is tuple and all(map(item, v))
        parts = [type_predicate(a, namespace) for a in args]
        return lambda v: v.__class__ is tuple and len(v) == len(parts) and all(p(x) for p, x in zip(parts, v, strict=True))
    if origin is frozenset:
        (arg,) = typing.get_args(hint)
        item = type_predicate(arg, namespace)
        return lambda v: isinstance(v, frozenset) and all(item(x) for x in v)
    if origin is dict:
        kp, vp = (type_predicate(a, namespace) for a in typing.get_args(hint))
        return lambda v: isinstance(v, dict) and all(kp(k) and vp(x) for k, x in v.items())
    if isinstance(hint, typing.ForwardRef):
        resolved: list[Any] = []

        def later(v: Any) -> bool:  # a recursive type: resolve on first use
            if not resolved:
                resolved.append(type_predicate(typing._eval_type(hint, namespace, None), namespace))  # type: ignore[attr-defined]
            return bool(resolved[0](v))

        return later
    if hint is type(None):
        return lambda v: v is None
    if isinstance(hint, type):
        return _instance_of((hint,))
    raise TypeError(f"type form {hint!r}")  # pragma: no cover - a type form the IR does not use


def _instance_of(classes: tuple[type, ...]) -> Callable[[Any], bool]:
    """isinstance(v, classes) (a bool is not an int unless `bool` is named), answered once per class of value."""
    memo: dict[type, bool] = {}
    exclude_bool = int in classes and bool not in classes

    def conforms(v: Any) -> bool:
        c = v.__class__
        ok = memo.get(c)
        if ok is None:
            ok = memo[c] = issubclass(c, classes) and not (exclude_bool and c is bool)
        return ok

    return conforms



# ---------------------------------------------------------------- against the text


def _verify(module: ast.Module, text: str) -> None:
    """Every literal and every name read in an expression, re-read from the text at its span."""
    lines = text.split("\n")

    def at(span: Span | None) -> str:
        if span is None or span.line != span.end_line or not 1 <= span.line <= len(lines):
            raise Invalid("span")
        line = lines[span.line - 1]
        if not 1 <= span.col <= span.end_col <= len(line):
            raise Invalid("span")
        return line[span.col - 1 : span.end_col]

    seen = 0
    stack: list[Any] = [module]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
            continue
        if not record.has(type(node)) or isinstance(node, Span):
            continue
        if isinstance(node, ast.Lit):
            seen += 1
            if not isinstance(node.value, _LITERAL_TYPES[node.kind]) or (node.kind != "bool" and isinstance(node.value, bool)):
                raise Invalid("literal type")
            if _read_literal(node.kind, at(node.span)) != node.value:
                raise Invalid("literal differs from the text")
        elif isinstance(node, ast.Ref) and at(node.span) != node.name:
            raise Invalid("name differs from the text")
        stack.extend(getattr(node, f.name) for f in record.fields(type(node)))


def _read_literal(kind: str, source: str) -> Any:
    try:
        if kind == "money":
            return parse_money(source)
        if kind == "percent":
            return parse_percent(source)
        if kind == "int":
            return int(source) if source.isascii() and source.isdigit() else None
        if kind == "date":
            return dt.date.fromisoformat(source)
        return {"vrai": True, "true": True, "faux": False, "false": False}.get(source)
    except (ValueError, InvalidOperation):
        return None
