"""Compile a checked rulebook into one Python function, once; run it for every decision.

The generated code is built only from the IR's shape: variable names are numbers
(`f3`, `t17`), every literal comes from a constants tuple, and no text of the
rulebook is ever spliced into it, so a rulebook cannot run code. Three-valued
(Kleene) logic is inlined: a value is a Python value or an `Unknown`.

Two functions are generated from the same IR: `run` computes the decision, and
`run_traced` also records the value of every expression node it evaluated, from
which the trace is rebuilt (engine/trace.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from cpc_rules import ir
from cpc_rules.engine.runtime import HUNDRED, ZERO, Faults, Unknown, unk

RunFn = Callable[..., tuple[tuple[Any, ...], tuple[Any, ...]]]


@attrs.frozen
class Compiled:
    run: RunFn  # run(F, P, ACT, NEED) -> (rule activations, definition values)
    run_traced: RunFn  # run_traced(F, P, ACT, NEED, V), V filled with node values
    source: str  # the generated code, for `cpc-rules dump --stage python`


def compile_rulebook(rb: ir.Rulebook, faults: Faults) -> Compiled:
    constants = Constants()
    fast = _Gen(rb, constants, traced=False).function("run")
    traced = _Gen(rb, constants, traced=True).function("run_traced")
    source = fast.text + "\n\n" + traced.text
    namespace: dict[str, Any] = {
        "K": tuple(constants.values),
        "U": Unknown,
        "unk": unk,
        "H": HUNDRED,
        "ZERO": ZERO,
        "FA": faults,
        "__builtins__": {"min": min, "max": max},
    }
    exec(compile(source, f"<cpc-rules {rb.digest[:19]}>", "exec"), namespace)  # noqa: S102 - code built from the IR only
    return Compiled(namespace["run"], namespace["run_traced"], source)


def _may_be_unknown(e: ir.Expr) -> bool:
    if isinstance(e, ir.Const):
        return False
    if isinstance(e, ir.FactRef | ir.DefRef | ir.LocalRef | ir.Field):
        return True
    return any(_may_be_unknown(c) for c in ir.children(e))


class Constants:
    """The literals of the generated code, shared by both functions: `k3` is values[3]."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.index: dict[tuple[type, Any], int] = {}

    def name(self, value: Any) -> str:
        key = (type(value), value if not isinstance(value, frozenset) else tuple(sorted(value)))
        if key not in self.index:
            self.index[key] = len(self.values)
            self.values.append(value)
        return f"k{self.index[key]}"


class _Gen:
    def __init__(self, rb: ir.Rulebook, constants: Constants, traced: bool) -> None:
        self.rb = rb
        self.constants = constants
        self.traced = traced
        self.lines: list[str] = []
        self.depth = 1
        self.counter = 0
        self.record = traced  # off inside aggregate bodies: one value per node, not per element

    # ------------------------------------------------------------ output
    def emit(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def indent(self) -> _Indent:
        return _Indent(self)

    def tmp(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def const(self, value: Any) -> str:
        return self.constants.name(value)

    def store(self, e: ir.Expr, var: str) -> None:
        if self.record:
            self.emit(f"V[{e.nid}] = {var}")

    # ------------------------------------------------------------ the function
    def function(self, name: str) -> _Function:
        rb = self.rb
        body_start = len(self.lines)
        for kind, index in rb.order:
            if kind == "rule":
                self.rule(rb.rules[index])
            else:
                self.definition(rb.definitions[index])
        rules = "".join(f"a{r.index}, " for r in rb.rules)
        defs = "".join(f"d{d.index}, " for d in rb.definitions)
        self.emit(f"return ({rules}), ({defs})")
        body = self.lines[body_start:]
        return _Function(self, name, body)

    def rule(self, r: ir.RuleInfo) -> None:
        """`a{i}`: does rule i apply, once beaten by its exceptions; `w{i}`: does it or any rule below it apply.

        `exception à` is transitive (docs/language.md): with principe ← e1 ← e2, when e2
        applies, e1 is beaten, and so is principe, although e1 does not apply. So a rule
        is beaten when its condition-and-chain value `w` of a direct exception is true.
        `w{e}` = raw condition of e OR the `w` of e's own exceptions (Kleene), one
        variable per rule that is an exception: the code stays linear in the chain.
        """
        a = f"a{r.index}"
        beaten_by = self.rb.beaten_by[r.index]
        self.emit(f"if ACT[{r.index}]:")
        with self.indent():
            if r.condition is None:
                self.emit(f"{a} = True")
            else:
                self.emit(f"{a} = {self.expr(r.condition)}")
        self.emit("else:")
        with self.indent():
            self.emit(f"{a} = False")
        if r.exceptions:  # someone's exception: what it passes up the chain
            w = f"w{r.index}"
            self.emit(f"{w} = {a}")
            for e in beaten_by:
                self._kleene_or(w, f"w{e}")
        for e in beaten_by:  # an exception (or one below it) that applies beats this rule
            x = f"w{e}"
            self.emit(f"if {a} is not False:")
            with self.indent():
                self.emit(f"if {x} is True: {a} = False")
                self.emit(f"elif {x} is not False: {a} = {x} if {a} is True else unk({a}, {x})")

    def _kleene_or(self, acc: str, v: str) -> None:
        self.emit(f"if {acc} is not True:")
        with self.indent():
            self.emit(f"if {v} is True: {acc} = True")
            self.emit(f"elif {acc} is False: {acc} = {v}")
            self.emit(f"elif {v} is not False: {acc} = unk({acc}, {v})")

    def definition(self, d: ir.DefInfo) -> None:
        c = self.tmp()
        self.emit(f"{c} = []")
        for ri in d.rules:
            r = self.rb.rules[ri]
            assert r.value is not None
            self.emit(f"if a{ri} is not False:")
            with self.indent():
                v = self.expr(r.value)
                self.emit(f"{c}.append(({ri}, a{ri}, {v}))")
        self.emit(f"d{d.index} = FA.pick({d.index}, {c}, NEED[{d.index}])")

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> str:
        """Emit the statements computing `e`; return the name holding its value."""
        if isinstance(e, ir.Const):
            return self.const(e.value)
        var = getattr(self, "e_" + type(e).__name__)(e)
        self.store(e, var)
        return var  # type: ignore[no-any-return]

    def guard(self, pairs: list[tuple[str, ir.Expr]], expr: str, out: str) -> None:
        """out = expr when every operand is known, else the merged Unknown."""
        checks = [f"{v}.__class__ is not U" for v, node in pairs if _may_be_unknown(node)]
        if checks:
            self.emit(f"{out} = ({expr}) if {' and '.join(checks)} else unk({', '.join(v for v, _ in pairs)})")
        else:
            self.emit(f"{out} = {expr}")

    def e_FactRef(self, e: ir.FactRef) -> str:
        return f"f{e.index}"

    def e_DefRef(self, e: ir.DefRef) -> str:
        return f"d{e.index}"

    def e_LocalRef(self, e: ir.LocalRef) -> str:
        return f"l{e.slot}"

    def e_ParamRef(self, e: ir.ParamRef) -> str:
        if not e.args:
            return f"p{e.index}"
        args = [(self.expr(a), a) for a in e.args]
        t = self.tmp()
        key = "(" + "".join(f"{v}, " for v, _ in args) + ")"
        self.guard(args, f"p{e.index}[{key}]", t)
        return t

    def e_Field(self, e: ir.Field) -> str:
        o = self.expr(e.obj)
        t = self.tmp()
        self.emit(f"{t} = {o}[{e.index}] if {o}.__class__ is not U else {o}")
        return t

    def e_Not(self, e: ir.Not) -> str:
        x = self.expr(e.operand)
        t = self.tmp()
        self.guard([(x, e.operand)], f"{x} is False", t)
        return t

    def e_BoolOp(self, e: ir.BoolOp) -> str:
        """Kleene and/or: stop at the first deciding operand (False for and, True for or)."""
        stop, go_on = ("False", "True") if e.op == "and" else ("True", "False")
        t = self.tmp()
        self.emit(f"{t} = {self.expr(e.operands[0])}")
        for operand in e.operands[1:]:
            self.emit(f"if {t} is not {stop}:")
            with self.indent():
                v = self.expr(operand)
                self.emit(f"if {v} is {stop}: {t} = {stop}")
                self.emit(f"elif {t} is {go_on}: {t} = {v}")
                self.emit(f"elif {v} is not {go_on}: {t} = unk({t}, {v})")
        return t

    _CMP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

    def e_Compare(self, e: ir.Compare) -> str:
        left, right = self.expr(e.left), self.expr(e.right)
        t = self.tmp()
        self.guard([(left, e.left), (right, e.right)], f"{left} {self._CMP[e.op]} {right}", t)
        return t

    def e_Member(self, e: ir.Member) -> str:
        x = self.expr(e.operand)
        t = self.tmp()
        self.guard([(x, e.operand)], f"{x} in {self.const(e.values)}", t)
        return t

    def e_Arith(self, e: ir.Arith) -> str:
        left, right = self.expr(e.left), self.expr(e.right)
        t = self.tmp()
        template = {
            "add": "{l} + {r}",
            "sub": "{l} - {r}",
            "mul": "{l} * {r}",
            "scale": "{l} * {r} / H",
            "div": "({l} / {r} if {r} else FA.zero({nid}))",
            "ratio": "({l} / {r} * H if {r} else FA.zero({nid}))",
        }[e.kind]
        self.guard([(left, e.left), (right, e.right)], template.format(l=left, r=right, nid=e.nid), t)
        return t

    def e_Neg(self, e: ir.Neg) -> str:
        x = self.expr(e.operand)
        t = self.tmp()
        self.guard([(x, e.operand)], f"-{x}", t)
        return t

    def e_If(self, e: ir.If) -> str:
        c = self.expr(e.cond)
        t = self.tmp()
        self.emit(f"if {c} is True:")
        with self.indent():
            self.emit(f"{t} = {self.expr(e.then)}")
        self.emit(f"elif {c} is False:")
        with self.indent():
            self.emit(f"{t} = {self.expr(e.otherwise)}")
        self.emit("else:")
        with self.indent():
            a, b = self.expr(e.then), self.expr(e.otherwise)
            self.emit(f"{t} = {a} if ({a}.__class__ is not U and {b}.__class__ is not U and {a} == {b}) else unk({c}, {a}, {b})")
        return t

    def e_Aggregate(self, e: ir.Aggregate) -> str:
        src = self.expr(e.source)
        t, pend, loop = self.tmp(), self.tmp(), f"l{e.slot}"
        recording, self.record = self.record, False
        self.emit(f"if {src}.__class__ is U:")
        with self.indent():
            self.emit(f"{t} = {src}")
        self.emit("else:")
        with self.indent():
            if e.kind in ("all", "any"):
                stop, go_on = ("False", "True") if e.kind == "all" else ("True", "False")
                self.emit(f"{t} = {go_on}")
                self.emit(f"for {loop} in {src}:")
                with self.indent():
                    assert e.body is not None
                    b = self.expr(e.body)
                    self.emit(f"if {b} is {stop}:")
                    with self.indent():
                        self.emit(f"{t} = {stop}")
                        self.emit("break")
                    self.emit(f"if {b} is not {go_on}: {t} = unk({t}, {b})")
            else:
                zero = "0" if e.type == ir.INT else "ZERO"
                self.emit(f"{t} = {zero}")
                self.emit(f"{pend} = None")
                self.emit(f"for {loop} in {src}:")
                with self.indent():
                    w = "True"
                    if e.where is not None:
                        w = self.expr(e.where)
                        self.emit(f"if {w} is False: continue")
                    b = "1" if e.kind == "count" else self.expr(e.body)  # type: ignore[arg-type]
                    self.emit(f"if {w} is True and {b}.__class__ is not U: {t} += {b}" if b != "1" else f"if {w} is True: {t} += 1")
                    self.emit(f"else: {pend} = unk({w}, {b}) if {pend} is None else unk({pend}, {w}, {b})")
                self.emit(f"if {pend} is not None: {t} = {pend}")
        self.record = recording
        return t

    def e_MinMax(self, e: ir.MinMax) -> str:
        args = [(self.expr(a), a) for a in e.args]
        t = self.tmp()
        self.guard(args, f"{e.op}({', '.join(v for v, _ in args)})", t)
        return t


class _Indent:
    def __init__(self, gen: _Gen) -> None:
        self.gen = gen

    def __enter__(self) -> None:
        self.gen.depth += 1

    def __exit__(self, *exc: object) -> None:
        self.gen.depth -= 1


class _Function:
    """A generated function's text; the constants are unpacked once all functions are generated."""

    def __init__(self, gen: _Gen, name: str, body: list[str]) -> None:
        self.gen = gen
        self.name = name
        self.body = body

    @property
    def text(self) -> str:
        rb, count = self.gen.rb, len(self.gen.constants.values)
        params = "F, P, ACT, NEED, V" if self.gen.traced else "F, P, ACT, NEED"
        head = [f"def {self.name}({params}):"]
        if rb.facts:
            head.append("    " + "".join(f"f{f.index}, " for f in rb.facts) + "= F")
        if rb.params:
            head.append("    " + "".join(f"p{p.index}, " for p in rb.params) + "= P")
        if count:
            head.append("    " + "".join(f"k{i}, " for i in range(count)) + "= K")
        return "\n".join(head + self.body)
