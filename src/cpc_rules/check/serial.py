"""The checked rulebook (IR) as plain JSON data, read back only after it is validated: never code.

Checking is most of a load once the files are parsed, and it is a pure function of
the texts: api.py keeps its result in the per-user cache (syntax/cache.py), bound to
the sha256 of every file, the title, and the code that parses and checks
(`fingerprint`). The generated Python is never stored: engine/compile.py produces
it again from the IR read here.

`dump` writes every object once (`ir.Encoder`, whose encoding the decision's digest
`ir.Rulebook.digest` hashes too: a table in post-order, an object's parts come
before it, and shared objects — the IR nodes of `nodes` and of the rule trees, the
source expressions — stay shared). `load` accepts only the classes of the fixed
table below, with exactly their fields, each of its declared type; every reference
points backwards (no cycle can be built); then the IR's invariants that the
compiler relies on are verified (every index in range, nodes numbered by position,
the evaluation order a permutation in which nothing is read before it is computed,
constants of their declared type), and every literal and name of the source
expressions is re-read from the text at its span, and `texts_digest` must be the
texts'. Anything else raises `Invalid`
and the caller checks the rulebook again. `modules` (the whole syntax tree, needed
only by `dump --stage ast`) is not stored: the caller gives it back lazily.

The wheel ships the bundled rulebook's IR not as such an entry but as a Python module
that builds it (`module_text`, `build_shipped`): the package's own code, trusted as its
other modules are and bound to the installed texts by the caller (api._shipped), so not
validated field by field (that validation was ~2/3 of an installed load).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cpc_rules import __version__, ir, record, resources, values
from cpc_rules.diagnostics import Diagnostic, Span
from cpc_rules.syntax import ast
from cpc_rules.syntax import serial as ast_serial
from cpc_rules.syntax.serial import type_predicate

FORMAT = 1  # bump when the encoding below changes

_CLASSES: dict[str, type] = {}
for _mod in (ast, ir):
    for _name, _obj in vars(_mod).items():
        if isinstance(_obj, type) and record.has(_obj) and _obj.__module__ == _mod.__name__:
            _CLASSES[f"{_mod.__name__.rsplit('.', 1)[-1]}.{_name}"] = _obj
_CLASSES["Diagnostic"] = Diagnostic
_NAMES = {cls: name for name, cls in _CLASSES.items()}

# The operations the compiler knows (tests/test_ir_cache.py checks these against engine/compile.py).
COMPARE_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
ARITH_KINDS = frozenset({"add", "sub", "mul", "scale", "div", "ratio"})


class Invalid(Exception):
    """An entry that is not exactly what `dump` writes for a rulebook that checks."""


@functools.cache
def fingerprint() -> str:
    """The IR depends on the grammar and on the code that parses, checks and encodes: a change to any is a new entry."""
    h = hashlib.sha256(f"{__version__}\0{FORMAT}\0{ast_serial.FORMAT}".encode())
    h.update(resources.grammar_path().read_bytes())
    pkg = Path(__file__).resolve().parent.parent
    for rel in ("ir.py", "record.py", "values.py", "diagnostics.py", "resources.py"):
        h.update((pkg / rel).read_bytes())
    for folder in ("syntax", "check"):
        for f in sorted((pkg / folder).glob("*.py")):
            h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------- writing


def dump(rb: ir.Rulebook, warnings: Sequence[Diagnostic]) -> Any:
    """The IR (without `modules`) and the checker's warnings as JSON-ready data."""
    enc = ir.Encoder(_NAMES)
    root = enc(rb)
    warns = [enc(w) for w in warnings]
    # Where the law's numbers come from: the syntax of each parameter's steps and of each
    # presumption, whose literals `load` re-reads from the text and re-derives the IR's values from.
    params = {d.span: d for m in rb.modules for d in m.items if isinstance(d, ast.ParamDecl)}
    facts = {d.span: d for m in rb.modules for d in m.items if isinstance(d, ast.FactDecl)}
    steps = [enc(params[p.span].steps) for p in rb.params]
    presumed = [[f.index, enc(facts[f.span].presumption.value)] for f in rb.facts if f.presumed is not None]  # type: ignore[union-attr]
    return {"files": list(enc.files), "table": enc.table, "root": root, "warnings": warns, "steps": steps, "presumed": presumed}


# ---------------------------------------------------------------- reading


def load(data: Any, texts: dict[str, str], modules: Callable[[], Sequence[ast.Module]]) -> tuple[ir.Rulebook, list[Diagnostic]]:
    """The IR and warnings that `data` encodes, validated; `texts` by path (the files read); `modules` gives the syntax trees on demand."""
    if not isinstance(data, dict) or set(data) != {"files", "table", "root", "warnings", "steps", "presumed"}:
        raise Invalid("shape")
    files, table = data["files"], data["table"]
    if not isinstance(files, list) or not all(isinstance(f, str) and f in texts for f in files) or not isinstance(table, list):
        raise Invalid("files")
    objs: list[Any] = []
    lazy = LazyModules(modules)

    def dec(x: Any) -> Any:
        if x is None or x.__class__ in (bool, str, int):
            return x
        if x.__class__ is list:
            out = []
            for v in x:
                c = v.__class__
                if c is dict and len(v) == 1 and "#" in v:  # most items: a reference
                    i = v["#"]
                    if i.__class__ is not int or not 0 <= i < len(objs):
                        raise Invalid("reference")
                    out.append(objs[i])
                elif c is str or c is int or c is bool or v is None:
                    out.append(v)
                else:
                    out.append(dec(v))
            return tuple(out)
        if x.__class__ is not dict or len(x) != 1:
            raise Invalid("value")
        ((tag, v),) = x.items()
        if tag == "#":
            if v.__class__ is not int or not 0 <= v < len(objs):
                raise Invalid("reference")
            return objs[v]
        if tag == "#s":
            if v.__class__ is not list or len(v) != 5 or not all(n.__class__ is int for n in v) or not 0 <= v[0] < len(files):
                raise Invalid("span")
            return Span(files[v[0]], v[1], v[2], v[3], v[4])
        if tag == "#d" and v.__class__ is str:
            try:
                d = Decimal(v)
            except InvalidOperation:
                raise Invalid("decimal") from None
            if not d.is_finite():
                raise Invalid("decimal")
            return d
        if tag == "#t" and v.__class__ is str:
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                raise Invalid("date") from None
        if tag == "#f" and v.__class__ is list:
            return frozenset(dec(i) for i in v)
        if tag == "#m" and v.__class__ is list:
            out = {}
            for pair in v:
                if pair.__class__ is not list or len(pair) != 2:
                    raise Invalid("mapping")
                out[dec(pair[0])] = dec(pair[1])
            return out
        raise Invalid("value")

    for entry in table:
        if entry.__class__ is not list or not entry or entry[0].__class__ is not str:
            raise Invalid("entry")
        cls = _CLASSES.get(entry[0])
        if cls is None:
            raise Invalid("class")
        checks = _field_checks(cls)
        if len(entry) != len(checks) + 1:
            raise Invalid(f"fields of {cls.__name__}")
        vals = []
        for (name, conforms), raw in zip(checks, entry[1:], strict=True):
            if cls is ir.Rulebook and name == "modules":
                if raw != []:
                    raise Invalid("modules")
                vals.append(lazy)
                continue
            c = raw.__class__
            if c is dict and len(raw) == 1 and "#" in raw:  # most fields: a reference, or a plain value
                i = raw["#"]
                if i.__class__ is not int or not 0 <= i < len(objs):
                    raise Invalid("reference")
                value = objs[i]
            elif c is str or c is int or c is bool or raw is None:
                value = raw
            else:
                value = dec(raw)
            try:
                ok = conforms(value)
            except RecursionError:
                ok = False
            if not ok:
                raise Invalid(f"{cls.__name__}.{name}")
            vals.append(value)
        try:
            objs.append(cls(*vals))
        except (TypeError, ValueError):
            raise Invalid(cls.__name__) from None
    root = dec(data["root"])
    if not isinstance(root, ir.Rulebook):
        raise Invalid("root")
    warnings = dec(data["warnings"])
    if not all(isinstance(w, Diagnostic) for w in warnings):
        raise Invalid("warnings")
    steps, presumed = dec(data["steps"]), dec(data["presumed"])
    _verify(root, objs, texts)
    _verify_provenance(root, steps, presumed)
    if root.texts_digest != ir.texts_digest(texts, resources.TEST_SUFFIX):
        raise Invalid("texts digest")
    return root, list(warnings)


# ---------------------------------------------------------------- the wheel's IR: a Python module

SHIPPED_FORMAT = 1  # bump when the module written by `module_text` changes


def module_text(payload: Any, binding: dict[str, Any], digest: str) -> str:
    """The IR that `dump` encodes (`payload`) as a Python module that builds it: what the wheel ships (api.write_shipped_ir).

    Decoding JSON and validating every field was most of an installed load; pip compiles
    this module to bytecode at install, and building the IR is then one function call
    (every object a local, every reference a name, every constructor a class of the fixed
    table above). It is trusted like the package's own modules, not validated as a
    cache entry is: api._shipped takes it only if it is the package's own (cache.import_shipped)
    and bound to the texts installed (`BINDING`). Only values `dump` writes are spelt, each
    by `repr` (str, int, bool, None) or as a call of the builder's arguments.
    """
    names = list(dict.fromkeys(entry[0] for entry in payload["table"]))
    index = {n: i for i, n in enumerate(names)}

    def expr(x: Any) -> str:
        if x is None or x.__class__ in (bool, int, str):
            return repr(x)
        if x.__class__ is list:
            return "(" + "".join(expr(v) + ", " for v in x) + ")"
        ((tag, v),) = x.items()
        if tag == "#":
            return f"o{int(v)}"
        if tag == "#s":
            return f"S(F{int(v[0])}, {int(v[1])}, {int(v[2])}, {int(v[3])}, {int(v[4])})"
        if tag == "#d":
            return f"D({str(v)!r})"
        if tag == "#t":
            return f"T({str(v)!r})"
        if tag == "#f":
            return "FS((" + "".join(expr(i) + ", " for i in v) + "))"
        if tag == "#m":
            return "{" + ", ".join(f"{expr(k)}: {expr(w)}" for k, w in v) + "}"
        raise TypeError(f"cannot write {tag}")

    files = payload["files"]
    lines = [
        '"""The bundled rulebook\'s checked IR, built with the wheel by hatch_build.py; never in git. See check/serial.py (module_text)."""',
        f"FORMAT = {SHIPPED_FORMAT}",
        f"BINDING = {binding!r}",
        f"FILES = {list(files)!r}",
        f"DIGEST = {digest!r}",
        f"CLASSES = {tuple(names)!r}",
        "",
        "",
        "def build(C, F, S, D, T, FS, LAZY):",
    ]
    if files:
        lines.append("    " + "".join(f"F{i}, " for i in range(len(files))) + "= F")
    lines.append("    " + "".join(f"c{i}, " for i in range(len(names))) + "= C")
    for i, entry in enumerate(payload["table"]):
        cls = _CLASSES[entry[0]]
        args = []
        for (name, _), raw in zip(_field_checks(cls), entry[1:], strict=True):
            if cls is ir.Rulebook and name == "modules":
                args.append("LAZY")
            elif cls is ir.Member and name == "values":  # built as the checker builds it (from the syntax's members): even its iteration order is the same
                args.append(f"FS({expr(entry[1 + [n for n, _ in _field_checks(cls)].index('src')])}.values)")
            else:
                args.append(expr(raw))
        lines.append(f"    o{i} = c{index[entry[0]]}({', '.join(args)})")
    lines.append(f"    return {expr(payload['root'])}, {expr(payload['warnings'])}")
    return "\n".join(lines) + "\n"


def build_shipped(module: Any, files: list[str], modules: Callable[[], Sequence[ast.Module]]) -> tuple[ir.Rulebook, list[Diagnostic]]:
    """The IR and warnings that a module written by `module_text` builds, its files named `files` (as read here); raises Invalid if it is not such a module."""
    if getattr(module, "FORMAT", None) != SHIPPED_FORMAT or len(files) != len(module.FILES):
        raise Invalid("shipped module")
    classes = tuple(_CLASSES[name] for name in module.CLASSES)
    root, warnings = module.build(classes, tuple(files), Span, Decimal, dt.date.fromisoformat, frozenset, LazyModules(modules))
    if not isinstance(root, ir.Rulebook) or not all(isinstance(w, Diagnostic) for w in warnings):
        raise Invalid("shipped module")
    return root, list(warnings)


class LazyModules(Sequence[ast.Module]):
    """The syntax trees of a rulebook read from the IR cache, parsed (or read from the parse cache) on first use."""

    def __init__(self, produce: Callable[[], Sequence[ast.Module]]) -> None:
        self._produce = produce
        self._modules: tuple[ast.Module, ...] | None = None

    def _get(self) -> tuple[ast.Module, ...]:
        if self._modules is None:
            self._modules = tuple(self._produce())
        return self._modules

    def __getitem__(self, i: Any) -> Any:
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[ast.Module]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (a rulebook sent to another process) as the plain tuple of its modules."""
        return (tuple, (self._get(),))

    def __repr__(self) -> str:
        return repr(self._get())


_CHECKS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _field_checks(cls: type) -> tuple[tuple[str, Any], ...]:
    """For each field of a class, a predicate for its declared type (built once per class)."""
    if cls not in _CHECKS:
        module = cls.__module__
        _CHECKS[cls] = tuple((f.name, _annotation_predicate(module, f.type)) for f in record.fields(cls))
    return _CHECKS[cls]


@functools.cache
def _namespace(module: str) -> dict[str, Any]:
    return {**vars(sys.modules[module]), "Span": Span, "dt": dt, "Decimal": Decimal}


@functools.cache
def _annotation_predicate(module: str, annotation: Any) -> Any:
    """The predicate of one annotation (a string, the modules use `from __future__ import annotations`), built once per text.

    Cheaper than typing.get_type_hints per class, which re-evaluates every annotation of
    every class and its bases: this runs in every process that reads an entry.
    """
    namespace = _namespace(module)
    hint = eval(annotation, namespace) if isinstance(annotation, str) else annotation
    return type_predicate(hint, namespace)


# ---------------------------------------------------------------- invariants


_VALUE_TYPES: dict[str, tuple[type, ...]] = {"money": (Decimal,), "percent": (Decimal,), "int": (int,), "bool": (bool,), "date": (dt.date,), "enum": (str,)}


def _of_type(v: Any, t: ir.Type, rb: ir.Rulebook) -> bool:
    """A constant or parameter value of its declared type (what the checker gives)."""
    classes = _VALUE_TYPES.get(t.kind)
    if classes is None:
        return False  # no list or record constant in the IR
    if not isinstance(v, classes) or (t.kind != "bool" and isinstance(v, bool)):
        return False
    if t.kind == "enum":
        return v in rb.enums[t.name].members  # type: ignore[index]
    return True


def _verify(rb: ir.Rulebook, objs: list[Any], texts: dict[str, str]) -> None:
    """What the compiler and the evaluator rely on; raises Invalid."""

    def need(cond: bool, what: str) -> None:
        if not cond:
            raise Invalid(what)

    for i, seq in enumerate((rb.facts, rb.definitions, rb.params, rb.articles, rb.rules)):
        need(all(x.index == n for n, x in enumerate(seq)), f"indices {i}")
    need(all(k == e.name for k, e in rb.enums.items()) and all(k == r.name for k, r in rb.records.items()), "names")
    need(all(n.nid == i for i, n in enumerate(rb.nodes)), "node numbers")
    nf, nd, np_, na, nr = len(rb.facts), len(rb.definitions), len(rb.params), len(rb.articles), len(rb.rules)

    def type_ok(t: ir.Type) -> bool:
        if t.kind == "enum":
            return t.name in rb.enums
        if t.kind in ("record", "list"):
            return t.name in rb.records
        return t.name is None

    need(all(type_ok(o) for o in objs if isinstance(o, ir.Type)), "types")
    for r in rb.records.values():
        need(len({n for n, _, _ in r.fields}) == len(r.fields), "record fields")
    for e in rb.enums.values():
        need(set(e.labels) <= set(e.members), "enum labels")
    for f in rb.facts:
        need(f.presumed is None or _of_type(f.presumed.value, f.type, rb), "presumption")
    for p in rb.params:
        need(all(k in rb.enums for k in p.keys), "parameter keys")
        for s in p.steps:
            if p.keys:
                need(isinstance(s.value, dict), "parameter table")
                for key, v in s.value.items():  # type: ignore[union-attr]
                    need(isinstance(key, tuple) and len(key) == len(p.keys) and all(m in rb.enums[k].members for m, k in zip(key, p.keys, strict=True)), "table key")
                    need(_of_type(v, p.type, rb), "table value")
            else:
                need(_of_type(s.value, p.type, rb), "parameter value")
    node_ids = {id(n) for n in rb.nodes}
    for o in objs:
        if not isinstance(o, ir.Node):
            continue
        need(id(o) in node_ids, "node outside `nodes`")
        if isinstance(o, ir.Const):
            need(_of_type(o.value, o.type, rb), "constant")
            if isinstance(o.src, ast.Lit):  # the literal is re-read from the text below
                need(o.value == o.src.value and type(o.value) is type(o.src.value) and o.type == ir.LITERAL_TYPES[o.src.kind], "constant differs from its literal")
            else:  # an enumeration member, by its name
                need(isinstance(o.src, ast.Ref | ast.FieldAccess) and o.value == o.src.name, "constant differs from its name")
        elif isinstance(o, ir.FactRef):
            need(0 <= o.index < nf, "fact index")
        elif isinstance(o, ir.DefRef):
            need(0 <= o.index < nd, "definition index")
        elif isinstance(o, ir.ParamRef):
            need(0 <= o.index < np_ and len(o.args) == len(rb.params[o.index].keys), "parameter index")
            need(all(a.type.kind == "enum" and a.type.name == k for a, k in zip(o.args, rb.params[o.index].keys, strict=True)), "table keys")
        elif isinstance(o, ir.Field):
            need(o.obj.type.name in rb.records and 0 <= o.index < len(rb.records[o.obj.type.name].fields), "field index")  # type: ignore[index]
        elif isinstance(o, ir.Compare):  # operators as written (the syntax tree's, as the parse cache keeps them)
            need(o.op in COMPARE_OPS and isinstance(o.src, ast.Compare) and o.op == o.src.op, "comparison")
        elif isinstance(o, ir.Arith):
            need(o.kind in ARITH_KINDS, "arithmetic")
        elif isinstance(o, ir.BoolOp):
            need(len(o.operands) >= 1 and isinstance(o.src, ast.BoolOp) and o.op == o.src.op, "operands")
        elif isinstance(o, ir.Member):
            need(isinstance(o.src, ast.Member) and o.values == frozenset(o.src.values), "members")
            object.__setattr__(o, "values", frozenset(o.src.values))  # built as the checker builds it: even its iteration order is the same
        elif isinstance(o, ir.MinMax):
            need(len(o.args) >= 1 and isinstance(o.src, ast.MinMax) and o.op == o.src.op, "arguments")
        elif isinstance(o, ir.Aggregate):
            need((o.body is None) == (o.kind == "count"), "aggregate body")
    for r in rb.rules:
        need(0 <= r.article < na, "article index")
        need(all(0 <= e < nr for e in r.exceptions), "exception index")
        need(r.enum is None or (r.enum in rb.enums and all(m in rb.enums[r.enum].members for m in r.values)), "rule members")
        need((r.kind == "define") == (r.define is not None) and (r.define is None or (0 <= r.define < nd and r.value is not None)), "define")
        for e in r.scope:  # an enumeration, or one of its members (`non encodé … pour ENUM.member`)
            enum, _, member = e.partition(".")
            need(enum in rb.enums and (not member or member in rb.enums[enum].members), "scope")
    for d in rb.definitions:
        need(all(0 <= ri < nr and rb.rules[ri].define == d.index for ri in d.rules), "definition rules")
    _verify_order(rb, need)
    _verify_sources(objs, texts, need)


def _verify_order(rb: ir.Rulebook, need: Callable[[bool, str], None]) -> None:
    """`order` holds every rule and definition once, and nothing is read before it is computed; locals only inside their loop."""
    need(sorted(rb.order) == sorted([("rule", i) for i in range(len(rb.rules))] + [("def", i) for i in range(len(rb.definitions))]), "order")
    placed_rules: set[int] = set()
    placed_defs: set[int] = set()

    def reads_ok(e: ir.Expr | None, bound: frozenset[int]) -> bool:
        if e is None:
            return True
        if isinstance(e, ir.DefRef):
            return e.index in placed_defs
        if isinstance(e, ir.LocalRef):
            return e.slot in bound
        if isinstance(e, ir.Aggregate):
            inner = bound | {e.slot}
            return reads_ok(e.source, bound) and reads_ok(e.where, inner) and reads_ok(e.body, inner)
        return all(reads_ok(c, bound) for c in ir.children(e))

    for kind, i in rb.order:
        if kind == "rule":
            r = rb.rules[i]
            need(all(e in placed_rules for e in rb.beaten_by[i]), "exception before its rule")
            need(reads_ok(r.condition, frozenset()), "read before computed")
            placed_rules.add(i)
        else:
            d = rb.definitions[i]
            need(all(ri in placed_rules and reads_ok(rb.rules[ri].value, frozenset()) for ri in d.rules), "definition before its rules")
            placed_defs.add(i)


def _verify_sources(objs: list[Any], texts: dict[str, str], need: Callable[[bool, str], None]) -> None:
    """Every literal and name of the source expressions, re-read from the text at its span."""
    lines = {path: text.split("\n") for path, text in texts.items()}

    def at(span: Span | None) -> str:
        need(span is not None and span.line == span.end_line and span.file in lines, "span")
        file_lines = lines[span.file]  # type: ignore[union-attr]
        need(1 <= span.line <= len(file_lines), "span")  # type: ignore[union-attr]
        line = file_lines[span.line - 1]  # type: ignore[union-attr]
        need(1 <= span.col <= span.end_col <= len(line), "span")  # type: ignore[union-attr]
        return line[span.col - 1 : span.end_col]  # type: ignore[union-attr]

    for o in objs:
        if isinstance(o, ast.Lit):
            need(isinstance(o.value, ast_serial._LITERAL_TYPES[o.kind]) and (o.kind == "bool" or not isinstance(o.value, bool)), "literal type")
            need(ast_serial._read_literal(o.kind, at(o.span)) == o.value, "literal differs from the text")
        elif isinstance(o, ast.Ref):
            need(at(o.span) == o.name, "name differs from the text")


def _verify_provenance(rb: ir.Rulebook, steps: Any, presumed: Any) -> None:
    """Each parameter value and each presumption, derived again from its syntax (whose literals were re-read from the text)."""
    if not (isinstance(steps, tuple) and len(steps) == len(rb.params)):
        raise Invalid("parameter steps")
    for p, syntax in zip(rb.params, steps, strict=True):
        if not (isinstance(syntax, tuple) and len(syntax) == len(p.steps) and all(isinstance(s, ast.Step) for s in syntax)):
            raise Invalid("parameter steps")
        for got, s in zip(p.steps, syntax, strict=True):
            if isinstance(s.value, ast.Lit):
                expected: Any = s.value.value
                if p.keys or type(got.value) is not type(expected):
                    raise Invalid("parameter value")
            else:
                expected = {}
                for row in s.value:
                    if len(row.patterns) != len(p.keys):
                        raise Invalid("table row")
                    choices = [rb.enums[k].members if pattern is None else pattern for pattern, k in zip(row.patterns, p.keys, strict=True)]
                    for combo in itertools.product(*choices):
                        expected[combo] = row.value.value
            if got.value != expected or got.source != s.source or got.confirm != s.confirm or got.period.start != s.period.start:
                raise Invalid("parameter value differs from the text")
    if not isinstance(presumed, tuple):
        raise Invalid("presumptions")
    given: dict[int, Any] = {}
    for pair in presumed:
        if not (isinstance(pair, tuple) and len(pair) == 2 and type(pair[0]) is int and 0 <= pair[0] < len(rb.facts)):
            raise Invalid("presumptions")
        given[pair[0]] = pair[1]
    if set(given) != {f.index for f in rb.facts if f.presumed is not None}:
        raise Invalid("presumptions")
    for i, syntax in given.items():
        f = rb.facts[i]
        try:
            value = values.coerce(ast.plain_value(syntax), f.type, rb.enums, rb.records, f.name)
        except (values.BadValue, TypeError, AttributeError, KeyError):
            raise Invalid("presumption") from None
        if value != f.presumed.value or type(value) is not type(f.presumed.value):  # type: ignore[union-attr]
            raise Invalid("presumption differs from the text")
