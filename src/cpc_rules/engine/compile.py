"""Compile a checked rulebook into one Python function, once; run it for every decision.

The generated code is built only from the IR's shape: variable names are numbers
(`f3`, `t17`), every literal comes from a constants tuple, and no text of the
rulebook is ever spliced into it, so a rulebook cannot run code. Three-valued
(Kleene) logic is inlined: a value is a Python value or an `Unknown`.

Three functions are generated from the same IR: `run` computes the decision,
`run_traced` also records the value of every expression node it evaluated, from
which the trace is rebuilt (engine/trace.py), and `run_known` computes it for a
situation whose facts are all known: then no value met during the run can be
unknown (an Unknown only ever stems from a fact), so it leaves out every
unknown-value guard and Kleene branch; the caller (Program.run) picks it.
`run_known_traced` is `run_traced` for such a situation (the same node values).

Small helpers are generated from the same shapes: the reader of one member's
permission and obligation (`compile_reader`), of a whole enumeration's
(`compile_enum_reader`), and the typing of a small rulebook's situation
(`compile_typing`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from cpc_rules import ir
from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.engine import prebuilt
from cpc_rules.engine.runtime import HUNDRED, ZERO, Faults, Unknown, equal, if_chain, kleene_not, unk

RunFn = Callable[..., tuple[tuple[Any, ...], tuple[Any, ...]]]

_LOOPS_PER_FUNCTION = 8  # nested aggregate loops in one generated function (Python allows 20 blocks)


class Compiled:
    """The generated functions: `run` compiled at load; `run_traced` and `run_known` on their first use.

    Most processes (`cpc-rules decide` in text, a web service answering without a
    trace) never need the traced function, and compiling it was a fifth of a load.
    """

    def __init__(
        self,
        run: RunFn,
        fast_source: str,
        make_traced: Callable[[], tuple[RunFn, str]],
        make_known: Callable[[], tuple[RunFn, str]] | None = None,
        make_known_traced: Callable[[], tuple[RunFn, str]] | None = None,
    ) -> None:
        self.run = run  # run(F, P, ACT, NEED) -> (rule activations, definition values)
        self._fast_source = fast_source
        self._make_traced = make_traced
        self._make_known = make_known
        self._make_known_traced = make_known_traced

    @functools.cached_property
    def _traced(self) -> tuple[RunFn, str]:
        return self._make_traced()

    @functools.cached_property
    def run_known(self) -> RunFn:
        """run_known(F, P, ACT, NEED): `run` for facts that are all known (no Unknown anywhere in F)."""
        if self._make_known is None:
            return self.run
        try:
            return self._make_known()[0]
        except CpcError:  # beyond what Python compiles: the general function decides every situation
            return self.run

    @functools.cached_property
    def run_known_traced(self) -> RunFn:
        """run_known_traced(F, P, ACT, NEED, V): `run_traced` for facts that are all known.

        It records the same node values as `run_traced` (so the same trace tree), without
        the unknown-value guards: a traced decision of a fully known situation costs about
        what an untraced one costs.
        """
        if self._make_known_traced is None:
            return self.run_traced
        try:
            return self._make_known_traced()[0]
        except CpcError:
            return self.run_traced

    @property
    def run_traced(self) -> RunFn:
        """run_traced(F, P, ACT, NEED, V), V filled with node values."""
        return self._traced[0]

    @property
    def source(self) -> str:
        """The generated code of both functions, for `cpc-rules dump --stage python`."""
        return self._fast_source + "\n\n" + self._traced[1]


def compile_rulebook(rb: ir.Rulebook, faults: Faults) -> Compiled:
    """Generate and compile `run` (and, later, `run_traced`); a rule beyond what Python can compile is E107, located."""
    constants = Constants()
    filename = f"<cpc-rules {rb.texts_digest[:19]}>"

    def build(traced: bool, known: bool = False) -> tuple[RunFn, str]:
        gen = _Gen(rb, constants, traced=traced, known=known)
        name = ("run_known_traced" if known else "run_traced") if traced else "run_known" if known else "run"
        try:
            text = gen.function(name).text
        except (SyntaxError, RecursionError, MemoryError) as e:
            raise CpcError([_too_complex(rb, [gen, gen], e)]) from None
        namespace: dict[str, Any] = {
            "K": tuple(constants.values),
            "U": Unknown,
            "unk": unk,
            "IFC": if_chain,
            "EQ": equal,
            "NOT": kleene_not,
            "H": HUNDRED,
            "ZERO": ZERO,
            "FA": faults,
            "__builtins__": {"min": min, "max": max},
        }
        try:
            prebuilt.define(text, filename, namespace)  # compile(), or the same code built with the wheel
        except (SyntaxError, RecursionError, MemoryError) as e:
            raise CpcError([_too_complex(rb, [gen, gen], e)]) from None
        return namespace[name], text

    run, fast_source = build(False)
    return Compiled(run, fast_source, lambda: build(True), lambda: build(False, known=True), lambda: build(True, known=True))


DENSE_TYPING_MAX = 24  # facts: beyond, walking the situation given (a few facts) beats asking for every fact


def compile_typing(rb: ir.Rulebook, missing: tuple[Any, ...], convert: tuple[Callable[[Any], Any], ...]) -> Callable[[Any], tuple[list[Any], int]] | None:
    """typed(S) -> (facts in declaration order, how many given): the typing of a situation, one generated function.

    For a rulebook of at most DENSE_TYPING_MAX facts, each fact is asked of the situation
    by name (a constant, never spliced into the code) and a value already of its declared
    type is taken inline, as the fact's converter (values.coercer) takes it: a member of
    the enumeration, a boolean, a date, an int in bounds, a Decimal amount in bounds with at
    most two decimals. Anything else goes to the converter, which gives the same value or
    raises. A key that names no fact raises KeyError (the caller then reports every fault).
    None for a larger rulebook.
    """
    facts = rb.facts
    if not facts or len(facts) > DENSE_TYPING_MAX:
        return None
    constants = Constants()
    lines = ["def typed(S):", "    get = S.get", "    seen = n = 0"]
    for f in facts:
        i, kind = f.index, f.type.kind
        lines += [f"    x = get({constants.name(f.name)}, MISS)", "    if x is MISS:", f"        g{i} = M[{i}]", "    else:", "        seen += 1", "        if x is None:", f"            g{i} = M[{i}]"]
        if kind == "enum":
            lines.append(f"        elif x.__class__ is str and x in {constants.name(frozenset(rb.enums[f.type.name].members))}:")  # type: ignore[index]
        elif kind == "bool":
            lines.append("        elif x is True or x is False:")
        elif kind == "date":
            lines.append("        elif x.__class__ is DATE:")
        elif kind == "int":
            lines.append("        elif x.__class__ is int and 0 <= x < MAXI:")
        elif kind == "money":  # as values.coercer: finite, positive, below 10^15, whole cents
            lines.append("        elif x.__class__ is DEC and x.is_finite() and x > DZERO and x < MAXA and x == x.quantize(CENT):")
        if kind in ("enum", "bool", "date", "int", "money"):
            lines += [f"            g{i} = x", "            n += 1"]
        lines += ["        else:", f"            g{i} = C[{i}](x)", "            n += 1"]
    lines.append("    if seen != len(S): raise KeyError")
    lines.append("    return [" + ", ".join(f"g{f.index}" for f in facts) + "], n")
    lines.insert(1, "    " + "".join(f"k{i}, " for i in range(len(constants.values))) + "= K")
    import datetime as dt
    from decimal import Decimal

    from cpc_rules import values

    namespace: dict[str, Any] = {
        "K": tuple(constants.values), "MISS": object(), "M": missing, "C": convert, "DATE": dt.date, "DEC": Decimal,
        "DZERO": Decimal(0), "MAXA": values.MAX_AMOUNT, "MAXI": 10**15, "CENT": Decimal("0.01"), "KeyError": KeyError, "len": len, "str": str, "int": int,
        "__builtins__": {},
    }
    prebuilt.define("\n".join(lines), f"<cpc-rules {rb.texts_digest[:19]} typing>", namespace)  # built from the IR's shape only
    return namespace["typed"]  # type: ignore[no-any-return]


def compile_reader(permits: tuple[int, ...], forbids: tuple[int, ...], obliges: tuple[int, ...], unencoded: tuple[int, ...]) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """Two functions of the activations for one enumeration member: its permission and its obligation.

    The same cases, in the same order, as decision.compute_status (tests/test_fast_path.py
    compares the two on generated rulebooks), unrolled over the member's rules: reading
    one conclusion of a decision costs a few tuple reads. Built from rule indices only.
    """
    lines = ["def permission(a):"]
    if not (permits or forbids):
        lines.append("    return None")
    else:
        lines += [f"    if a[{r}] is not False: return 'undetermined'" for r in unencoded]
        lines.append("    fu = False")
        for r in forbids:
            lines += [f"    x = a[{r}]", "    if x is True: return 'forbidden'", "    if x is not False: fu = True"]
        if permits:
            lines.append("    p = pu = False")
            for r in permits:
                lines += [f"    x = a[{r}]", "    if x is True: p = True", "    elif x is not False: pu = True"]
            lines += ["    if p and not fu: return 'allowed'", "    if p or pu or fu: return 'undetermined'", "    return 'not_allowed'"]
        else:
            lines.append("    return 'undetermined' if fu else None")
    lines.append("def obligation(a):")
    if not obliges:
        lines.append("    return None")
    else:
        lines += [f"    if a[{r}] is not False: return 'undetermined'" for r in unencoded]
        lines.append("    u = False")
        for r in obliges:
            lines += [f"    x = a[{r}]", "    if x is True: return 'mandatory'", "    if x is not False: u = True"]
        lines.append("    return 'undetermined' if u else 'not_mandatory'")
    namespace: dict[str, Any] = {"__builtins__": {}}
    prebuilt.define("\n".join(lines), "<cpc-rules reader>", namespace)  # built from rule indices only
    return namespace["permission"], namespace["obligation"]


def compile_enum_reader(items: list[tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...]]]) -> tuple[Callable[[Any], dict[str, Any]], Callable[[Any], dict[str, Any]]]:
    """Two functions of the activations for one enumeration: every member's permission, every member's obligation.

    `items`: (member, permits, forbids, obliges, unencoded) of each member concluded on. The
    same answers as compile_reader's functions, member by member (tests/test_fast_path.py),
    as one expression per member in one dict: reading the allowed procedures is one call,
    not one per procedure. Member names are constants (`M[i]`), never spliced into the code.
    """

    def any_(rules: tuple[int, ...], test: str) -> str:
        return "(" + " or ".join(f"a[{r}] {test}" for r in rules) + ")" if rules else "False"

    perm, obl = [], []
    for i, (_, permits, forbids, obliges, unencoded) in enumerate(items):
        u = any_(unencoded, "is not False")
        if not (permits or forbids):
            perm.append(f"M[{i}]: None")
        elif permits:  # as compile_reader: undetermined if a `non encodé` rule may apply; forbidden; allowed; undetermined; not allowed
            perm.append(
                f"M[{i}]: 'undetermined' if {u} else 'forbidden' if {any_(forbids, 'is True')} else "
                f"'allowed' if {any_(permits, 'is True')} and not {any_(forbids, 'is not False')} else "
                f"'undetermined' if {any_(permits, 'is not False')} or {any_(forbids, 'is not False')} else 'not_allowed'"
            )
        else:
            perm.append(f"M[{i}]: 'undetermined' if {u} else 'forbidden' if {any_(forbids, 'is True')} else 'undetermined' if {any_(forbids, 'is not False')} else None")
        if not obliges:
            obl.append(f"M[{i}]: None")
        else:
            obl.append(f"M[{i}]: 'undetermined' if {u} else 'mandatory' if {any_(obliges, 'is True')} else 'undetermined' if {any_(obliges, 'is not False')} else 'not_mandatory'")
    text = "def permissions(a):\n    return {" + ", ".join(perm) + "}\ndef obligations(a):\n    return {" + ", ".join(obl) + "}\n"
    namespace: dict[str, Any] = {"M": tuple(m for m, *_ in items), "__builtins__": {}}
    prebuilt.define(text, "<cpc-rules enumeration reader>", namespace)  # built from rule indices only
    return namespace["permissions"], namespace["obligations"]


def _too_complex(rb: ir.Rulebook, gens: list[_Gen], e: BaseException) -> Diagnostic:
    """The rule whose code Python could not compile (or the last one generated), as a located E107."""
    rule: ir.RuleInfo | None = None
    gen = gens[0]
    line = getattr(e, "lineno", None)
    if isinstance(e, SyntaxError) and line is not None:
        heads = 1 + bool(rb.facts) + bool(rb.params) + bool(gen.constants.values)  # lines before the body
        offset = line - heads - 1
        for start, r in gen.rule_lines:
            if start <= offset:
                rule = r
    else:
        busy = gens[1] if gens[1].rule_lines else gens[0]
        rule = busy.rule_lines[-1][1] if busy.rule_lines else None
    what = f"la règle `{rule.name}`" if rule is not None else "une règle"
    return Diagnostic(
        "E107",
        f"{what} est trop complexe pour être compilée : imbrication au-delà des limites de Python",
        rule.span if rule is not None else None,
        hint="découpez l'expression en définitions intermédiaires",
    )


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
    def __init__(self, rb: ir.Rulebook, constants: Constants, traced: bool, known: bool = False) -> None:
        self.rb = rb
        self.constants = constants
        self.traced = traced
        self.known = known  # every fact known: no guard, two-valued logic (run_known)
        self.lines: list[str] = []
        self.depth = 1
        self.counter = 0
        self.record = traced  # off inside aggregate bodies: one value per node, not per element
        self.loops = 0  # loops open around the code being emitted, in the current function
        self.rule_lines: list[tuple[int, ir.RuleInfo]] = []  # (first line, rule): to locate a failure

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
        self.rule_lines.append((len(self.lines), r))
        self._rule(r)

    def _rule(self, r: ir.RuleInfo) -> None:
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
        if self.known:  # two-valued: w = a or any w below; a beaten when some w below is true
            if r.exceptions:
                self.emit(f"w{r.index} = {' or '.join([a] + [f'w{e}' for e in beaten_by])}")
            if beaten_by:
                self.emit(f"if {a} and ({' or '.join(f'w{e}' for e in beaten_by)}): {a} = False")
            return
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
        if self.known:
            self._definition_known(d)
            return
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

    def _definition_known(self, d: ir.DefInfo) -> None:
        """Known facts: the first rule that applies gives the value; a later one that disagrees is E402,
        raised once every value is computed (as FA.pick, which sees them all; an E403 in a later value comes first)."""
        first, bad, out = self.tmp(), self.tmp(), f"d{d.index}"
        self.emit(f"{first} = -1")
        self.emit(f"{bad} = None")
        for ri in d.rules:
            r = self.rb.rules[ri]
            assert r.value is not None
            self.emit(f"if a{ri}:")
            with self.indent():
                v = self.expr(r.value)
                self.emit(f"if {first} < 0: {first}, {out} = {ri}, {v}")
                self.emit(f"elif {bad} is None and {v} != {out}: {bad} = ({ri}, {v})")
        self.emit(f"if {first} < 0: {out} = FA.pick({d.index}, [], NEED[{d.index}])")
        self.emit(f"elif {bad} is not None: FA.conflict({d.index}, {first}, {bad}[0], {out}, {bad}[1])")

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
        checks = [f"{v}.__class__ is not U" for v, node in pairs if _may_be_unknown(node)] if not self.known else []
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
        self.emit(f"{t} = {o}[{e.index}]" if self.known else f"{t} = {o}[{e.index}] if {o}.__class__ is not U else {o}")
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
                if self.known:  # t is go_on: the operand decides
                    self.emit(f"{t} = {v}")
                    continue
                self.emit(f"if {v} is {stop}: {t} = {stop}")
                self.emit(f"elif {t} is {go_on}: {t} = {v}")
                self.emit(f"elif {v} is not {go_on}: {t} = unk({t}, {v})")
        return t

    _CMP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}

    def e_Compare(self, e: ir.Compare) -> str:
        left, right = self.expr(e.left), self.expr(e.right)
        t = self.tmp()
        if e.left.type.kind in ("list", "record"):  # fields may be unknown: compared field by field (runtime.equal)
            self.guard([(left, e.left), (right, e.right)], f"{'' if e.op == '=' else 'NOT('}EQ({left}, {right}){'' if e.op == '=' else ')'}", t)
            return t
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
        """`si c1 alors v1 sinon si c2 alors v2 … sinon vN`, as one flat sequence of levels.

        Each branch is emitted once (emitting both branches again for an unknown
        condition doubled the code at every `sinon si`: 16 levels took 4.7 GB), and the
        levels of a `sinon si` chain follow one another at the same indentation instead
        of nesting (a 1 000-level chain stays within Python's limits). A level runs only
        while no earlier condition was true; the levels whose condition is unknown are
        kept in a list and folded from the last one by `if_chain` (runtime.py), which
        gives exactly the Kleene value of the nested `si`s (and, traced, each one's value).
        """
        levels: list[ir.If] = [e]
        while isinstance(levels[-1].otherwise, ir.If):
            levels.append(levels[-1].otherwise)  # type: ignore[arg-type]
        if self.known:
            return self._if_known(levels)
        t, done, pending = self.tmp(), self.tmp(), self.tmp()
        traced = self.record
        self.emit(f"{done} = False")
        self.emit(f"{pending} = []")
        for i, level in enumerate(levels):
            if i:
                self.emit(f"if not {done}:")
                self.depth += 1
            c = self.expr(level.cond)
            self.emit(f"if {c} is not False:")
            with self.indent():
                v = self.expr(level.then)
                self.emit(f"if {c} is True:")
                with self.indent():
                    self.emit(f"{t} = {v}")
                    self.emit(f"{done} = True")
                    if traced:
                        self.emit(f"{pending}.append(({level.nid}, True, {v}))")
                self.emit("else:")
                with self.indent():
                    self.emit(f"{pending}.append(({level.nid}, {c}, {v}))")
            if traced:
                self.emit("else:")
                with self.indent():
                    self.emit(f"{pending}.append(({level.nid}, False, None))")
            if i:
                self.depth -= 1
        self.emit(f"if not {done}:")
        with self.indent():
            self.emit(f"{t} = {self.expr(levels[-1].otherwise)}")
        if traced:
            self.emit(f"{t} = IFC({pending}, {t}, V)")
        else:
            self.emit(f"if {pending}: {t} = IFC({pending}, {t}, None)")
        return t

    def _if_known(self, levels: list[ir.If]) -> str:
        """The `si … sinon si …` chain with known conditions: the first true level decides (flat, as e_If)."""
        t, done = self.tmp(), self.tmp()
        traced = self.record  # each level reached records the chain's value from it on (as if_chain does): t
        reached = self.tmp()
        self.emit(f"{done} = False")
        if traced:
            self.emit(f"{reached} = []")
        for i, level in enumerate(levels):
            if i:
                self.emit(f"if not {done}:")
                self.depth += 1
            if traced:
                self.emit(f"{reached}.append({level.nid})")
            c = self.expr(level.cond)
            self.emit(f"if {c}:")
            with self.indent():
                self.emit(f"{t} = {self.expr(level.then)}")
                self.emit(f"{done} = True")
            if i:
                self.depth -= 1
        self.emit(f"if not {done}:")
        with self.indent():
            self.emit(f"{t} = {self.expr(levels[-1].otherwise)}")
        if traced:
            self.emit(f"for n_ in {reached}: V[n_] = {t}")
        return t

    def e_Aggregate(self, e: ir.Aggregate) -> str:
        """A loop over the list; nested loops beyond _LOOPS_PER_FUNCTION go into a helper function.

        Python refuses more than 20 statically nested blocks in one function (21 nested
        `existe(…)` raised SyntaxError, issue 8); a nested function starts a new count and
        reads the enclosing variables as a closure.
        """
        src = self.expr(e.source)
        if self.loops < _LOOPS_PER_FUNCTION:
            return self._aggregate(e, src)
        h, t = f"h{self.tmp()}", self.tmp()
        self.emit(f"def {h}():")
        with self.indent():
            loops, self.loops = self.loops, 0
            inner = self._aggregate(e, src)
            self.loops = loops
            self.emit(f"return {inner}")
        self.emit(f"{t} = {h}()")
        return t

    def _aggregate(self, e: ir.Aggregate, src: str) -> str:
        t, pend, loop = self.tmp(), self.tmp(), f"l{e.slot}"
        self.loops += 1
        recording, self.record = self.record, False
        if self.known:
            self._aggregate_known(e, src, t, loop)
            self.record = recording
            self.loops -= 1
            return t
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
        self.loops -= 1
        return t

    def _aggregate_known(self, e: ir.Aggregate, src: str, t: str, loop: str) -> None:
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
            return
        self.emit(f"{t} = {'0' if e.type == ir.INT else 'ZERO'}")
        self.emit(f"for {loop} in {src}:")
        with self.indent():
            if e.where is not None:
                w = self.expr(e.where)
                self.emit(f"if {w} is False: continue")
            if e.kind == "count":
                self.emit(f"{t} += 1")
            else:
                assert e.body is not None
                self.emit(f"{t} += {self.expr(e.body)}")

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
