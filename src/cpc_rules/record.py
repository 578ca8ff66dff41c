"""Frozen records: the package's value classes (syntax tree, IR, diagnostics, decisions…), without attrs.

attrs wrote and `compile()`d an `__init__`, `__eq__` and `__hash__` for each of the ~100
classes when the class was created: ~35 ms of every process, plus ~20 ms to import attrs
itself, most of `cpc-rules decide`'s start. Here the methods are made without compiling
per class. One code object per *number of fields* (compiled once, on the first object of
that size) is copied with the class's field names (`code.replace`): the same bytecode
attrs would generate. And nothing is made at import: each class starts with stubs that
build its methods on their first call, so a process pays only for the classes it uses.

The semantics are attrs' own (`attrs.frozen`, `attrs.define`), which the code relies on:
fields from the annotations (a base class's first), defaults and factories (`field`),
keyword or positional construction; assignment raises `FrozenError` (an AttributeError);
equality between objects of the same class only, over the fields with `eq=True` (a
syntax node's span is `eq=False`: two parses of equivalent text are equal), a hash over
the same fields (frozen classes only; a mutable record is unhashable); ordering if
asked; `__slots__` (with `__weakref__`); `functools.cached_property` kept in a slot of
its name, computed on the first read; the repr `Name(field=value, …)` without the
`repr=False` fields; pickling and copying. `fields`, `has`, `evolve` and `asdict`
replace attrs' functions of those names.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Callable
from types import CellType, CodeType, FunctionType
from typing import Any, TypeVar

T = TypeVar("T", bound=type)

NOTHING: Any = type("_Nothing", (), {"__repr__": lambda self: "NOTHING", "__slots__": ()})()  # no default given


class FrozenError(AttributeError):
    """Assigning to (or deleting) a field of a frozen record."""


class Field:
    """One field of a record class: what `fields(cls)` gives (attrs' `Attribute`: name, type, default, eq, repr)."""

    __slots__ = ("default", "eq", "factory", "name", "repr", "type")

    def __init__(self, name: str, type: Any, default: Any = NOTHING, factory: Callable[[], Any] | None = None, eq: bool = True, repr: bool = True) -> None:  # noqa: A002
        self.name = name
        self.type = type  # the annotation as written: a string (the modules use `from __future__ import annotations`)
        self.default = default
        self.factory = factory
        self.eq = eq
        self.repr = repr

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r}, eq={self.eq!r}, repr={self.repr!r})"


class _Spec:
    """What `field(...)` puts in a class body, read when the class is made."""

    __slots__ = ("default", "eq", "factory", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, eq: bool, repr: bool) -> None:  # noqa: A002
        self.default, self.factory, self.eq, self.repr = default, factory, eq, repr


def field(*, default: Any = NOTHING, factory: Callable[[], Any] | None = None, eq: bool = True, repr: bool = True) -> Any:  # noqa: A002
    """A field with options: `span: Span | None = field(eq=False, default=None, repr=False)`."""
    if default is not NOTHING and factory is not None:
        raise ValueError("a field has a default or a factory, not both")
    return _Spec(default, factory, eq, repr)


def frozen(cls: T | None = None, /, *, order: bool = False) -> Any:
    """The class as a frozen record (`attrs.frozen`)."""
    if cls is None:
        return lambda c: _make(c, frozen=True, order=order)
    return _make(cls, frozen=True, order=order)


def mutable(cls: T | None = None, /, *, order: bool = False) -> Any:
    """The class as a mutable record (`attrs.define`): fields can be assigned, and it has no hash."""
    if cls is None:
        return lambda c: _make(c, frozen=False, order=order)
    return _make(cls, frozen=False, order=order)


def has(cls: type) -> bool:
    """Whether `cls` is a record class (or a subclass of one)."""
    return isinstance(cls, type) and getattr(cls, "__record_fields__", None) is not None


def fields(cls: type) -> tuple[Field, ...]:
    """The fields of a record class, in construction order."""
    fs = getattr(cls, "__record_fields__", None) if isinstance(cls, type) else None
    if fs is None:
        raise TypeError(f"{cls!r} is not a record class")
    return fs  # type: ignore[no-any-return]


def evolve(inst: Any, **changes: Any) -> Any:
    """A copy of a record with some fields changed (`attrs.evolve`)."""
    cls = inst.__class__
    args = {}
    for f in fields(cls):
        args[f.name] = changes.pop(f.name) if f.name in changes else getattr(inst, f.name)
    if changes:
        raise TypeError(f"{cls.__name__} has no field {', '.join(map(repr, changes))}")
    return cls(**args)


def asdict(inst: Any) -> dict[str, Any]:
    """A record as a dict, recursively (`attrs.asdict`: nested records become dicts, tuples, lists and sets lists)."""
    return {f.name: _plain(getattr(inst, f.name)) for f in fields(inst.__class__)}


def _plain(v: Any) -> Any:
    if has(v.__class__):
        return asdict(v)
    if isinstance(v, tuple | list | set | frozenset):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {_plain(k): _plain(x) for k, x in v.items()}
    return v


# ---------------------------------------------------------------- making a class


def _make(cls: type, frozen: bool, order: bool) -> type:
    """A new slotted class with the fields of `cls` after its record base's, the shared methods and the stubs (slots need a new class, as in attrs)."""
    body = dict(cls.__dict__)
    inherited: tuple[Field, ...] = ()
    for base in cls.__mro__[1:]:
        if "__record_fields__" in base.__dict__:
            inherited = base.__dict__["__record_fields__"]
            break
    own: list[Field] = []
    for name, annotation in body.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.replace(" ", "").startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = body.pop(name, NOTHING)
        if isinstance(value, _Spec):
            own.append(Field(name, annotation, value.default, value.factory, value.eq, value.repr))
        else:
            own.append(Field(name, annotation, value))
    names = {f.name for f in own}
    all_fields = (*[f for f in inherited if f.name not in names], *own)
    seen_default = None
    for f in all_fields:
        if f.default is not NOTHING or f.factory is not None:
            seen_default = f.name
        elif seen_default is not None:
            raise ValueError(f"{cls.__name__}: the field {f.name!r} without a default follows {seen_default!r}, which has one")

    cached = {k: v for k, v in body.items() if isinstance(v, functools.cached_property)}
    for k in cached:
        del body[k]
    inherited_slots = {n for base in cls.__mro__[1:] for n in base.__dict__.get("__slots__", ())}
    slots = [f.name for f in all_fields if f.name not in inherited_slots] + [k for k in cached if k not in inherited_slots]
    if not any(hasattr(base, "__weakref__") for base in cls.__bases__):
        slots.append("__weakref__")
    for k in ("__dict__", "__weakref__"):
        body.pop(k, None)
    body["__slots__"] = tuple(slots)
    body["__record_fields__"] = all_fields
    body["__record_frozen__"] = frozen
    body["__match_args__"] = tuple(f.name for f in all_fields)
    body["__repr_fields__"] = tuple(f.name for f in all_fields if f.repr)
    body["__getstate__"] = _getstate
    body["__setstate__"] = _setstate
    if "__repr__" not in body:
        body["__repr__"] = _repr
    if frozen:
        body["__setattr__"] = _frozen_setattr
        body["__delattr__"] = _frozen_delattr
    if cached:
        getters = {**getattr(cls, "__record_cached__", {}), **{k: v.func for k, v in cached.items()}}
        body["__record_cached__"] = getters
        body["__getattr__"] = _cached_getattr

    new = type(cls)(cls.__name__, cls.__bases__, body)
    _fix_class_cells(body, cls, new)
    if "__init__" not in body:
        new.__init__ = _stub(new, "__init__")  # type: ignore[misc]
    if "__eq__" not in body:
        new.__eq__ = _stub(new, "__eq__")  # type: ignore[method-assign]
    if "__hash__" not in body or body["__hash__"] is None:
        new.__hash__ = _stub(new, "__hash__") if frozen else None  # type: ignore[assignment, method-assign]
    if order:
        for op in ("__lt__", "__le__", "__gt__", "__ge__"):
            setattr(new, op, _order(op))
    return new


def _fix_class_cells(body: dict[str, Any], old: type, new: type) -> None:
    """Methods that use `super()` or `__class__` hold the class in a cell: point it at the new class (as attrs does)."""
    for value in body.values():
        funcs = [value.fget, value.fset, value.fdel] if isinstance(value, property) else [getattr(value, "__func__", value)]
        for fn in funcs:
            for cell in getattr(fn, "__closure__", None) or ():
                try:
                    if cell.cell_contents is old:
                        cell.cell_contents = new
                except ValueError:  # an empty cell
                    continue


def _stub(cls: type, method: str) -> Callable[..., Any]:
    """A method that makes the class's real one on its first call, installs it and runs it."""
    make = _MAKERS[method]

    def stub(self: Any, *args: Any, **kwargs: Any) -> Any:
        real = make(cls)
        setattr(cls, method, real)
        return real(self, *args, **kwargs)

    stub.__name__ = method
    stub.__qualname__ = f"{cls.__qualname__}.{method}"
    return stub


def _repr(self: Any) -> str:
    """attrs' repr text: `Name(field=value, …)`, the fields with `repr=False` left out."""
    fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__repr_fields__)
    return f"{self.__class__.__qualname__.rsplit('>.', 1)[-1]}({fields})"


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenError(f"cannot assign to field {name!r} of a frozen {self.__class__.__name__}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenError(f"cannot delete field {name!r} of a frozen {self.__class__.__name__}")


def _cached_getattr(self: Any, name: str) -> Any:
    """A `functools.cached_property` of a slotted record: computed on the first read, then kept in its slot."""
    func = self.__record_cached__.get(name)
    if func is None:
        raise AttributeError(f"{self.__class__.__name__!r} object has no attribute {name!r}", name=name, obj=self)
    value = func(self)
    object.__setattr__(self, name, value)
    return value


def _getstate(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, f.name) for f in self.__record_fields__)


def _setstate(self: Any, state: tuple[Any, ...]) -> None:
    for f, value in zip(self.__record_fields__, state, strict=True):
        object.__setattr__(self, f.name, value)


def _order(op: str) -> Callable[[Any, Any], Any]:
    compare = getattr(tuple, op)

    def method(self: Any, other: Any) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = [f.name for f in self.__record_fields__ if f.eq]
        return compare(tuple(getattr(self, n) for n in names), tuple(getattr(other, n) for n in names))

    method.__name__ = op
    return method


# ---------------------------------------------------------------- the methods, from one code object per size


@functools.cache
def _template(kind: str, n: int) -> CodeType:
    """The code of `kind` for n fields, with placeholder names `_0`, `_1`… that `code.replace` renames.

    `__init__` sets each field through its slot's setter, held in a closure cell (`s0`…):
    faster than attrs' `object.__setattr__(self, "name", value)`.
    """
    if kind == "__init__":
        params = "".join(f", _{i}" for i in range(n))
        lines = "".join(f"        s{i}(self, _{i})\n" for i in range(n)) or "        pass\n"
        src = f"def make({', '.join(f's{i}' for i in range(n))}):\n    def __init__(self{params}):\n{lines}    return __init__\n"
    elif kind == "__eq__":
        mine = "".join(f"self._{i}, " for i in range(n))
        theirs = "".join(f"other._{i}, " for i in range(n))
        src = (
            "def make():\n    def __eq__(self, other):\n"
            "        if other.__class__ is not self.__class__:\n            return NotImplemented\n"
            f"        return ({mine}) == ({theirs})\n    return __eq__\n"
        )
    else:
        mine = "".join(f", self._{i}" for i in range(n))
        src = f"def make():\n    def __hash__(self):\n        return hash(('\\0salt'{mine}))\n    return __hash__\n"
    outer = compile(src, f"<record {kind} of {n} fields>", "exec")
    make = next(c for c in outer.co_consts if isinstance(c, CodeType))
    return next(c for c in make.co_consts if isinstance(c, CodeType))


def _slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name].__set__  # type: ignore[no-any-return]
    raise TypeError(f"{cls.__name__}.{name} has no slot")


def _make_init(cls: type) -> Callable[..., None]:
    fs: tuple[Field, ...] = cls.__record_fields__  # type: ignore[attr-defined]
    names = tuple(f.name for f in fs)
    code = _template("__init__", len(fs))
    placeholders = {f"_{i}": name for i, name in enumerate(names)}
    code = code.replace(
        co_varnames=tuple(placeholders.get(v, v) for v in code.co_varnames),
        co_name="__init__",
        co_qualname=f"{cls.__qualname__}.__init__",
    )
    setters = [_slot_setter(cls, name) for name in names]
    closure = tuple(CellType(setters[int(free[1:])]) for free in code.co_freevars)  # `s<i>`, in the compiler's order
    factories = tuple((f.name, f.factory) for f in fs if f.factory is not None)
    defaults = tuple(_FACTORY if f.factory is not None else f.default for f in fs if f.default is not NOTHING or f.factory is not None)
    init = FunctionType(code, {}, "__init__", defaults or None, closure or None)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    if not factories:
        return init

    def with_factories(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        for name, factory in factories:
            if getattr(self, name) is _FACTORY:
                object.__setattr__(self, name, factory())

    with_factories.__qualname__ = init.__qualname__
    return with_factories


_FACTORY: Any = type("_Factory", (), {"__repr__": lambda self: "FACTORY", "__slots__": ()})()  # a factory's field, not given


def _with_names(code: CodeType, cls: type, kind: str, names: tuple[str, ...]) -> CodeType:
    placeholders = {f"_{i}": name for i, name in enumerate(names)}
    return code.replace(co_names=tuple(placeholders.get(v, v) for v in code.co_names), co_name=kind, co_qualname=f"{cls.__qualname__}.{kind}")


def _make_eq(cls: type) -> Callable[[Any, Any], Any]:
    names = tuple(f.name for f in cls.__record_fields__ if f.eq)  # type: ignore[attr-defined]
    code = _with_names(_template("__eq__", len(names)), cls, "__eq__", names)
    return FunctionType(code, {"__builtins__": builtins}, "__eq__")


def _make_hash(cls: type) -> Callable[[Any], int]:
    names = tuple(f.name for f in cls.__record_fields__ if f.eq)  # type: ignore[attr-defined]
    code = _with_names(_template("__hash__", len(names)), cls, "__hash__", names)
    salt = hash(f"record {cls.__module__}.{cls.__qualname__}")  # one per class, as attrs: equal fields of two classes hash apart
    code = code.replace(co_consts=tuple(salt if c == "\0salt" else c for c in code.co_consts))
    return FunctionType(code, {"__builtins__": builtins}, "__hash__")


_MAKERS: dict[str, Callable[[type], Callable[..., Any]]] = {"__init__": _make_init, "__eq__": _make_eq, "__hash__": _make_hash}
