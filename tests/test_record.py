"""record.py: the frozen records that replaced attrs (issue 11, start-up). Their semantics are attrs' own, which
the package relies on; attrs (in the test extra) is the oracle of the property, on classes of every size."""

from __future__ import annotations

import copy
import functools
import json
import os
import pickle
import subprocess
import sys
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpc_rules import api, ir, record, resources
from cpc_rules.diagnostics import Diagnostic, Span
from cpc_rules.record import FrozenError, field, frozen, mutable
from cpc_rules.syntax import ast

ROOT = Path(__file__).resolve().parent.parent


@frozen
class Node:
    nid: int
    kind: str
    span: Span | None = field(eq=False, default=None, repr=False)


@frozen
class Leaf(Node):
    value: object = None


@frozen
class Other(Node):
    value: object = None


_COMPUTED: list[int] = []


@frozen
class Cached:
    a: int
    b: tuple[int, ...] = ()

    @functools.cached_property
    def double(self) -> int:
        _COMPUTED.append(self.a)
        return 2 * self.a


@mutable
class Bag:
    name: str
    items: list[str] = field(factory=list)
    count: int = 0


@frozen(order=True)
class Pos:
    line: int
    col: int
    note: str = field(default="", eq=False)


SPAN = Span("f.cpc", 1, 2, 1, 5)


# ---------------------------------------------------------------- construction


def test_positional_keyword_and_defaults() -> None:
    assert Leaf(1, "k", SPAN, 3) == Leaf(nid=1, kind="k", value=3, span=SPAN) == Leaf(1, "k", value=3)
    x = Leaf(1, "k")
    assert (x.nid, x.kind, x.span, x.value) == (1, "k", None, None)
    assert [f.name for f in record.fields(Leaf)] == ["nid", "kind", "span", "value"]  # the base's fields first
    with pytest.raises(TypeError, match=r"Leaf.__init__\(\) missing 1 required positional argument: 'kind'"):
        Leaf(1)
    with pytest.raises(TypeError, match="takes from 3 to 5 positional arguments but 6 were given"):
        Leaf(1, "k", None, 3, 4)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Leaf(1, "k", colour=2)


def test_factory_gives_each_object_its_own_value() -> None:
    a, b = Bag("a"), Bag("b")
    a.items.append("x")
    assert b.items == [] and a.items == ["x"]
    assert Bag("c", ["y"]).items == ["y"]
    a.count = 3  # a mutable record
    assert a == Bag("a", ["x"], 3)
    with pytest.raises(TypeError, match="unhashable"):
        hash(a)


def test_a_field_without_default_cannot_follow_one_with() -> None:
    class Bad:
        __annotations__ = {"a": "int", "b": "int"}
        a = 1

    with pytest.raises(ValueError, match="'b' without a default follows 'a'"):
        frozen(Bad)
    with pytest.raises(ValueError, match="not both"):
        field(default=1, factory=list)


def test_fields_metadata() -> None:
    """What check/serial.py and syntax/serial.py read to validate cache entries: the annotation as written."""
    fs = {f.name: f for f in record.fields(ast.Lit)}
    assert fs["kind"].type == "LiteralKind" and fs["span"].type == "Span | None"
    assert (fs["span"].eq, fs["span"].repr, fs["span"].default) == (False, False, None)
    assert fs["kind"].default is record.NOTHING and fs["kind"].eq and fs["kind"].repr
    assert record.fields(ir.Const)[-1].name == "value" and record.fields(ir.Const)[-1].default is None
    assert record.has(ir.Rulebook) and record.has(Diagnostic) and not record.has(int) and not record.has(ast.Lit(kind="int", value=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not a record class"):
        record.fields(dict)


# ---------------------------------------------------------------- equality, hash, order


def test_equality_ignores_eq_false_fields_and_other_classes() -> None:
    a, b = Leaf(1, "k", SPAN, 3), Leaf(1, "k", None, 3)
    assert a == b and hash(a) == hash(b)
    assert a.__ne__(b) is False
    assert Leaf(1, "k", value=3) != Leaf(1, "k", value=4)
    assert Leaf(1, "k") != Other(1, "k")  # same fields, another class: never equal (as attrs)
    assert Leaf(1, "k").__eq__(Other(1, "k")) is NotImplemented
    assert Leaf(1, "k") != (1, "k", None)
    assert len({Leaf(1, "k", SPAN), Leaf(1, "k"), Node(1, "k")}) == 2
    assert ast.ExpectOutOfPeriod(SPAN) == ast.ExpectOutOfPeriod(None)  # no field takes part: all equal
    assert hash(ast.ExpectOutOfPeriod(SPAN)) == hash(ast.ExpectOutOfPeriod(None))


def test_order_over_eq_fields() -> None:
    assert sorted([Pos(2, 1), Pos(1, 5), Pos(1, 2, "z")]) == [Pos(1, 2), Pos(1, 5), Pos(2, 1)]
    assert Pos(1, 2) <= Pos(1, 2, "other note") and Pos(1, 3) > Pos(1, 2)
    assert min([Span("b", 1, 1, 1, 1), Span("a", 2, 1, 2, 1)]).file == "a"
    with pytest.raises(TypeError):
        _ = Pos(1, 2) < (1, 2)


# ---------------------------------------------------------------- frozen, repr, cached properties


def test_frozen() -> None:
    x = Leaf(1, "k")
    with pytest.raises(FrozenError):
        x.nid = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):  # FrozenError is an AttributeError, as attrs' FrozenInstanceError
        del x.kind
    with pytest.raises(AttributeError):  # slotted: no other attribute either
        object.__setattr__(x, "other", 1)
    assert x.nid == 1 and not hasattr(x, "__dict__")


def test_repr_is_attrs_text() -> None:
    assert repr(Leaf(1, "k", SPAN, "v")) == "Leaf(nid=1, kind='k', value='v')"
    assert repr(ast.Ref("x", SPAN)) == "Ref(name='x')"
    assert repr(Span("f", 1, 2, 3, 4)) == "Span(file='f', line=1, col=2, end_line=3, end_col=4)"
    assert str(Span("f", 1, 2, 3, 4)) == "f:1:2"  # the class's own __str__ is kept


def test_cached_property_in_a_slot() -> None:
    _COMPUTED.clear()
    c = Cached(4)
    with pytest.raises(AttributeError):  # not computed yet: its slot is empty
        object.__getattribute__(c, "double")
    assert c.double == 8 and c.double == 8 and _COMPUTED == [4]
    assert object.__getattribute__(c, "double") == 8
    with pytest.raises(AttributeError, match="'Cached' object has no attribute 'nothing'"):
        _ = c.nothing  # type: ignore[attr-defined]
    assert not hasattr(c, "nothing") and getattr(c, "nothing", 5) == 5


# ---------------------------------------------------------------- pickle, copy, weakref, evolve, asdict


def test_pickle_copy_and_weakref() -> None:
    for x in (Leaf(1, "k", SPAN, (Decimal("1.5"), "a")), Bag("a", ["x"], 2), Pos(1, 2, "n")):
        for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
            y = pickle.loads(pickle.dumps(x, protocol))
            assert y == x and type(y) is type(x) and [getattr(y, f.name) for f in record.fields(type(x))] == [getattr(x, f.name) for f in record.fields(type(x))]
        assert copy.copy(x) == x and copy.deepcopy(x) == x
    assert pickle.loads(pickle.dumps(Leaf(1, "k", SPAN))).span == SPAN  # eq=False fields travel too
    y = pickle.loads(pickle.dumps(Leaf(1, "k")))
    with pytest.raises(FrozenError):
        y.nid = 3  # type: ignore[misc]
    x = Leaf(1, "k")
    assert weakref.ref(x)() is x


def test_bundled_rulebook_pickles_with_its_cached_properties() -> None:
    """A rulebook sent to another process: equal, and its cached digest is computed again, the same."""
    rb = api.load_rulebook(resources.bundled_rulebook_path(), tests=False).checked
    digest = rb.digest
    back = pickle.loads(pickle.dumps(rb))
    assert back == rb and back.beaten_by == rb.beaten_by and back.digest == digest


def test_evolve_and_asdict() -> None:
    x = Leaf(1, "k", SPAN, 3)
    y = record.evolve(x, value=4)
    assert y == Leaf(1, "k", value=4) and y.span == SPAN and x.value == 3
    with pytest.raises(TypeError, match="no field 'colour'"):
        record.evolve(x, colour=1)
    assert record.asdict(Leaf(1, "k", None, (Pos(1, 2), {"a": [Pos(3, 4)]}))) == {
        "nid": 1,
        "kind": "k",
        "span": None,
        "value": [{"line": 1, "col": 2, "note": ""}, {"a": [{"line": 3, "col": 4, "note": ""}]}],
    }


# ---------------------------------------------------------------- attrs as the oracle, on classes of every size

_VALUES = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", ""]), st.none(), st.tuples(st.integers(0, 2)), st.decimals(allow_nan=False, allow_infinity=False, places=2))


@st.composite
def _shapes(draw: st.DrawFn) -> tuple[list[tuple[str, bool, bool]], int]:
    """Fields (name, eq, repr), and how many of the last ones have a default."""
    n = draw(st.integers(0, 24))
    names = [f"f{i}" for i in range(n)]
    flags = draw(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=n, max_size=n))
    return [(name, eq, rep) for name, (eq, rep) in zip(names, flags, strict=True)], draw(st.integers(0, n))


@given(_shapes(), st.data())
def test_records_behave_as_attrs(shape: tuple[list[tuple[str, bool, bool]], int], data: st.DataObject) -> None:
    """For any class (0–24 fields, any eq/repr flags, defaults): equality, hash equality, repr, frozenness and
    construction agree with an attrs twin; equal eq-fields ⇒ equal objects with the same hash; other classes never equal."""
    specs, n_defaults = shape
    n = len(specs)
    body: dict[str, Any] = {"__annotations__": {name: "object" for name, _, _ in specs}}
    twin: dict[str, Any] = {}
    for i, (name, eq, rep) in enumerate(specs):
        default = ("default", i) if i >= n - n_defaults else record.NOTHING
        if not eq or not rep or default is not record.NOTHING:
            body[name] = field(eq=eq, repr=rep, default=default)
        twin[name] = attrs.field(eq=eq, repr=rep, default=attrs.NOTHING if default is record.NOTHING else default)
    ours = frozen(type("Shape", (), body))
    theirs = attrs.make_class("Shape", twin, frozen=True)
    other = frozen(type("Other", (), dict(body)))

    given_count = data.draw(st.integers(n - n_defaults, n))
    a = data.draw(st.lists(_VALUES, min_size=given_count, max_size=given_count))
    b = [data.draw(st.sampled_from([v, ("changed",)])) if data.draw(st.booleans()) else v for v in a]
    for xs, ys in ((a, b), (a, a)):
        x, y, tx, ty = ours(*xs), ours(*ys), theirs(*xs), theirs(*ys)
        assert (x == y) == (tx == ty) and (x != y) == (tx != ty)
        assert repr(x) == repr(tx)
        if x == y:
            assert hash(x) == hash(y)
        assert [getattr(x, name) for name, _, _ in specs] == [getattr(tx, name) for name, _, _ in specs]
        assert x != other(*xs)
    if specs:
        with pytest.raises(AttributeError):
            setattr(x, specs[0][0], "new")
        assert record.evolve(x, **{specs[0][0]: "new"}) == ours(*["new", *[getattr(x, name) for name, _, _ in specs[1:]]])
    kw = dict(zip([name for name, _, _ in specs], a, strict=False))
    assert ours(**kw) == ours(*a)


# ---------------------------------------------------------------- attrs is gone from the process


def test_import_and_decide_do_not_import_attrs() -> None:
    """`import cpc_rules` and a whole `cpc-rules decide` (from the source tree) never import attrs: it cost ~20 ms of every start."""
    example = ROOT / "examples" / "fournitures-collectivite-2026.json"
    code = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('attr', 'attrs'))), file=sys.stderr))\n"
        "import cpc_rules\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('attr', 'attrs')], 'import cpc_rules'\n"
        f"sys.argv = ['cpc-rules', 'decide', {str(example)!r}, '--format', 'json']\n"
        "from cpc_rules import cli\n"
        "cli.run()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["conclusions"]
    assert json.loads(r.stderr.strip().splitlines()[-1]) == []
