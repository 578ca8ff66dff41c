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
        fast_source: str | Callable[[], str],
        make_traced: Callable[[], tuple[RunFn, str | Callable[[], str]]],
        make_known: Callable[[], tuple[RunFn, str | Callable[[], str]]] | None = None,
        make_known_traced: Callable[[], tuple[RunFn, str | Callable[[], str]]] | None = None,
    ) -> None:
        self.run = run  # run(F, P, ACT, NEED) -> (rule activations, definition values)
        self._fast_source = fast_source
        self._make_traced = make_traced
        self._make_known = make_known
        self._make_known_traced = make_known_traced

    @functools.cached_property
    def _traced(self) -> tuple[RunFn, str | Callable[[], str]]:
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
        """The generated code of both functions, for `cpc-rules dump --stage python` (generated now if the functions were the wheel's: compile_rulebook)."""
        fast, traced = self._fast_source, self._traced[1]
        return (fast if isinstance(fast, str) else fast()) + "\n\n" + (traced if isinstance(traced, str) else traced())


def compile_rulebook(rb: ir.Rulebook, faults: Faults, keep: frozenset[int] | None = None, digest: str | None = None) -> Compiled:
    """Generate and compile `run` (and, later, `run_traced`); a rule beyond what Python can compile is E107, located.

    `keep`: only these rules (a focus's dependency cone, engine/cone.py) and the definitions
    they define are evaluated; every other rule's activation is False and every other
    definition's value None in what the functions return (nothing outside the cone is run,
    so none of its faults is raised).

    `digest`: the IR's `Rulebook.digest` when the caller already holds it (the wheel's IR
    carries it): a function the wheel built for this very IR with this very compiler is then
    taken without generating its text (prebuilt.built); the text is generated only if read
    (`Compiled.source`), and is the same.
    """
    constants = Constants()
    filename = f"<cpc-rules {rb.texts_digest[:19]}{' focused' if keep is not None else ''}>"

    def namespace_of(k: tuple[Any, ...]) -> dict[str, Any]:
        return {
            "K": k,
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

    def build(traced: bool, known: bool = False) -> tuple[RunFn, str | Callable[[], str]]:  # the function, its text (or how to generate it)
        name = ("run_known_traced" if known else "run_traced") if traced else "run_known" if known else "run"
        found = prebuilt.built(digest, name) if digest is not None and keep is None else None
        if found is not None and constants.extends(found[0]):
            k, bind = found
            namespace = namespace_of(k)
            bind(filename, namespace)
            return namespace[name], lambda: _Gen(rb, constants, traced=traced, known=known, keep=keep).function(name).text
        gen = _Gen(rb, constants, traced=traced, known=known, keep=keep)
        try:
            text = gen.function(name).text
        except (SyntaxError, RecursionError, MemoryError) as e:
            raise CpcError([_too_complex(rb, [gen, gen], e)]) from None
        namespace = namespace_of(tuple(constants.values))
        try:
            prebuilt.define(text, filename, namespace, (rb, name, tuple(constants.values)) if keep is None else None)  # compile(), or the same code built with the wheel
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

    def extends(self, shipped: tuple[Any, ...]) -> bool:
        """Whether `shipped` (the constants of a function the wheel built: prebuilt.built) numbers these constants as they are numbered here; if so, they are added to these from it on.

        The wheel's functions were generated in one order; this load may take them in
        another. Taken only if these constants are a prefix of `shipped` or `shipped` one of
        them, so that any text generated later (or again, `Compiled.source`) numbers its
        constants as the wheel's did.
        """
        common = min(len(self.values), len(shipped))
        for a, b in zip(self.values[:common], shipped[:common], strict=True):
            if type(a) is not type(b) or a != b:
                return False
        for v in shipped[common:]:
            self.name(v)
        return len(self.values) >= len(shipped)

    def name(self, value: Any) -> str:
        key = (type(value), value if not isinstance(value, frozenset) else tuple(sorted(value)))
        if key not in self.index:
            self.index[key] = len(self.values)
            self.values.append(value)
        return f"k{self.index[key]}"


class _Gen:
    def __init__(self, rb: ir.Rulebook, constants: Constants, traced: bool, known: bool = False, keep: frozenset[int] | None = None) -> None:
        self.rb = rb
        self.keep = keep  # the rules evaluated (None: every one)
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
        keep = self.keep
        for kind, index in rb.order:
            if kind == "rule":
                if keep is None or index in keep:
                    self.rule(rb.rules[index])
            elif keep is None or any(r in keep for r in rb.definitions[index].rules):
                self.definition(rb.definitions[index])
        rules = "".join(f"a{r.index}, " if keep is None or r.index in keep else "False, " for r in rb.rules)
        defs = "".join(f"d{d.index}, " if keep is None or any(r in keep for r in d.rules) else "None, " for d in rb.definitions)
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


# ---------------------------------------------------------------- the decider (one focus, one function)


class Leaf:
    """One interval of dates for a decider: from `start` (None: the earliest) until the next leaf's start.

    `covered` False: outside the rulebook's coverage. Otherwise what the dates there fix for
    the focus's cone: the rules in force, the parameter values (None: the leaf decides through
    the general path), the definitions needed.
    """

    def __init__(self, start: Any, covered: bool, active: tuple[bool, ...] = (), params: tuple[Any, ...] = (), needed: tuple[bool, ...] = (), usable: bool = True) -> None:
        self.start = start
        self.covered = covered
        self.active = active
        self.params = params
        self.needed = needed
        self.usable = usable


def compile_decider(
    rb: ir.Rulebook,
    keep: frozenset[int],
    enums: tuple[str, ...],
    items: tuple[Any, ...],
    leaves: list[Leaf],
    presume: bool,
    slow: Callable[[Any, Any], Any],
) -> Callable[[Any, Any], Any]:
    """decide(S, at) -> per enumeration of `enums`, (allowed, forbidden, mandatory, undetermined) member names; None out of the coverage.

    One generated function for a rulebook and a focus (issue 11): it types the facts inline
    (a value already of its declared type: a member, a boolean, a date, an int in bounds, a
    Decimal amount in bounds with at most two decimals), places the date among the leaves by
    a tree of comparisons with constant dates, and evaluates only the rules of `keep` (the
    focus's cone) with the parameters of the leaf as constants, the rules not in force left
    out (what is settled by the date alone is folded), no unknown-value guard; each answer
    tuple is read from a table indexed by the members' outcomes. Anything else — a fact of
    the cone unknown and not presumed, any other value or type, a date that is not a
    `datetime.date`, a fault of the rulebook, a leaf it cannot flatten — goes to `slow(S, at)`
    (the general path), so the answers are the general path's by construction there;
    tests/test_decider.py checks the fast one.
    """
    constants = Constants()
    objects: list[Any] = []  # constants that are not hashable (tables): by position
    seen_objects: dict[int, str] = {}  # id → name: a table read twice is one constant (and one read, compile._LeafGen._reuse)

    def obj(value: Any) -> str:
        name = seen_objects.get(id(value))
        if name is None:
            objects.append(value)
            name = seen_objects[id(value)] = f"o{len(objects) - 1}"
        return name

    def const(value: Any) -> str:
        return constants.name(value) if _hashable(value) else obj(value)

    read_facts = {n.index for i in keep for e in (rb.rules[i].condition, rb.rules[i].value) if e is not None for n in ir.walk(e) if isinstance(n, ir.FactRef)}
    lines = ["def decide(S, at):", "    if at.__class__ is not DATE: return SLOW(S, at)", "    try:"]
    counted = 0  # facts asked with S[…]: each must be there
    optional = False  # facts asked with get: counted as met
    for f in rb.facts:
        i, kind = f.index, f.type.kind
        test = {
            "enum": f"x in {constants.name(frozenset(rb.enums[f.type.name].members))}" if kind == "enum" else "",  # type: ignore[index]
            "bool": "x is True or x is False",
            "date": "x.__class__ is DATE",
            "int": "x.__class__ is int and 0 <= x < MAXI",
            # as values.coercer: whole cents (x % 0.01 is zero: cheaper than x == x.quantize(0.01); a NaN gives NaN, which is
            # true, an infinity or a sNaN raises), positive, below 10^15
            "money": "x.__class__ is DEC and not x % CENT and DZERO < x < MAXA",
            "percent": "x.__class__ is DEC and not x % MILLIONTH and DZERO < x <= H",  # as values.coercer: at most 100, in millionths
        }.get(kind, "False")
        needed = f.index in read_facts
        if needed and not (presume and f.presumed is not None):  # must be given: a missing key or None goes to the general path
            counted += 1
            lines += [f"        f{i} = x = S[{constants.name(f.name)}]", f"        if not ({test}): raise NO"]
            continue
        if not optional:
            lines.insert(3, "        get = S.get")
            lines.insert(4, "        seen = 0")
            optional = True
        absent = f"f{i} = {const(f.presumed.value)}" if needed else "pass"  # type: ignore[union-attr]
        lines += [f"        x = get({constants.name(f.name)})", "        if x is None:", f"            {absent}", "        else:", "            seen += 1", f"            if not ({test}): raise NO"]
        if needed:
            lines.append(f"            f{i} = x")
    lines.append(f"        if {'seen + ' if optional else ''}{counted} != len(S): raise NO")
    lines += ["    except Exception:", "        x = NO", "    if x is NO: return SLOW(S, at)  # outside the handler: an error of the general path is not chained to this one"]
    leaf_bodies = []
    for leaf in leaves:
        if not leaf.covered:
            leaf_bodies.append(["return None"])
        elif not leaf.usable:
            leaf_bodies.append(["return SLOW(S, at)"])
        else:
            gen = _LeafGen(rb, constants, keep, leaf, const)
            gen.depth = 0
            gen.body()
            gen.lines += _answer_code(enums, items, gen.act, constants, obj)
            leaf_bodies.append(gen.lines)
    _date_tree(lines, leaves, leaf_bodies, 0, len(leaves), 1, constants)
    text = "def make(K, O):\n"
    if constants.values:
        text += "    " + "".join(f"k{i}, " for i in range(len(constants.values))) + "= K\n"
    if objects:
        text += "    " + "".join(f"o{i}, " for i in range(len(objects))) + "= O\n"
    text += "\n".join("    " + line for line in lines) + "\n    return decide\n"
    import datetime as dt
    from decimal import Decimal

    from cpc_rules import values

    class _Slow(Exception):
        """Raised by the inline typing: this situation goes to the general path."""

    namespace: dict[str, Any] = {
        "DATE": dt.date, "DEC": Decimal, "DZERO": Decimal(0), "MAXA": values.MAX_AMOUNT, "MAXI": 10**15, "CENT": Decimal("0.01"), "MILLIONTH": Decimal("0.000001"),
        "SLOW": slow, "NO": _Slow(), "Exception": Exception, "len": len, "U": Unknown, "unk": unk, "EQ": equal, "NOT": kleene_not, "H": HUNDRED, "ZERO": ZERO,
        "__builtins__": {"min": min, "max": max},
    }
    try:
        code = compile(text, f"<cpc-rules {rb.texts_digest[:19]} decider>", "exec")
    except (SyntaxError, RecursionError, MemoryError):  # beyond what Python compiles: the general path decides
        return lambda S, at: slow(S, at)
    exec(code, namespace)  # noqa: S102 - built from the IR's shape only
    fn = namespace["make"](tuple(constants.values), tuple(objects))
    fn.source = text
    return fn  # type: ignore[no-any-return]


def _hashable(x: Any) -> bool:
    try:
        hash(x)
    except TypeError:
        return False
    return True


def _date_tree(lines: list[str], leaves: list[Leaf], bodies: list[list[str]], lo: int, hi: int, depth: int, constants: Constants) -> None:
    """Leaves lo..hi-1 as a balanced tree of `at < start` tests (a leaf covers from its start to the next one's)."""
    pad = "    " * depth
    if hi - lo == 1:
        lines.extend(pad + line for line in bodies[lo])
        return
    mid = (lo + hi) // 2
    lines.append(f"{pad}if at < {constants.name(leaves[mid].start)}:")
    _date_tree(lines, leaves, bodies, lo, mid, depth + 1, constants)
    lines.append(f"{pad}else:")
    _date_tree(lines, leaves, bodies, mid, hi, depth + 1, constants)


_TABLE_MAX = 8  # members whose outcome is not settled by the date: beyond, the answer tuple is built by concatenation
_WHOLE_TABLE_MAX = 10  # distinct outcomes not settled by the date: up to this many, one table holds every answer


def _answer_code(enums: tuple[str, ...], items: tuple[Any, ...], act: Callable[[int], str], constants: Constants, obj: Callable[[Any], str]) -> list[str]:
    """The end of a leaf: the focus's members with a certain answer, every fact of the cone known (so every rule True or False).

    As decision.compute_status with known activations: a `non encodé` rule that applies makes
    the member undetermined; else a prohibition that applies forbids it, a permission allows
    it, an obligation makes it mandatory. A member obliged and forbidden at once is a fault
    of the rulebook (E402): the general path raises it. `act(r)` is rule r's activation:
    "True", "False" (settled by the date) or its variable.
    """
    out: list[str] = []

    def any_(rules: tuple[int, ...]) -> str:
        xs = [act(r) for r in rules]
        if "True" in xs:
            return "True"
        xs = [x for x in xs if x != "False"]
        return "False" if not xs else xs[0] if len(xs) == 1 else "(" + " or ".join(xs) + ")"

    def and_(*xs: str) -> str:
        if "False" in xs:
            return "False"
        xs = tuple(x for x in xs if x != "True")
        return "True" if not xs else xs[0] if len(xs) == 1 else "(" + " and ".join(xs) + ")"

    def not_(x: str) -> str:
        return "False" if x == "True" else "True" if x == "False" else f"(not {x})"

    per_enum: list[list[list[tuple[str, str]]]] = []
    for e in enums:
        members = [it for it in items if it.enum == e]
        cats: list[list[tuple[str, str]]] = [[], [], [], []]  # allowed, forbidden, mandatory, undetermined: (member, condition)
        for it in members:
            m = it.member
            u = any_(it.unencoded)
            if it.obliges and it.forbids:
                clash = and_(any_(it.obliges), any_(it.forbids))
                if clash != "False":
                    out.append(f"if {clash}: return SLOW(S, at)")
            fb = any_(it.forbids)
            cats[1].append((m, and_(not_(u), fb)))
            if it.permits:
                cats[0].append((m, and_(not_(u), not_(fb), any_(it.permits))))
            if it.obliges:
                cats[2].append((m, and_(not_(u), any_(it.obliges))))
            if it.unencoded:
                cats[3].append((m, u))
        per_enum.append([[(m, x) for m, x in pairs if x != "False"] for pairs in cats])
    atoms = list(dict.fromkeys(x for cats in per_enum for pairs in cats for _, x in pairs if x != "True"))
    if len(atoms) <= _WHOLE_TABLE_MAX:  # the whole answer read from one table: one tuple built and looked up per decision
        table = {}
        for bits in range(1 << len(atoms)):
            truth = {x: bool(bits >> j & 1) for j, x in enumerate(atoms)}
            key = tuple(truth[x] for x in atoms)
            table[key] = tuple(tuple(tuple(m for m, x in pairs if x == "True" or truth[x]) for pairs in cats) for cats in per_enum)
        out.append(f"return {obj(table)}[(" + "".join(f"{x}, " for x in atoms) + ")]")
        return out
    results = []
    for n, cats in enumerate(per_enum):
        names = []
        for c, pairs in enumerate(cats):
            var = f"c{n}_{c}"
            dynamic = [x for _, x in pairs if x != "True"]
            if not dynamic:
                names.append(constants.name(tuple(m for m, _ in pairs)))
                continue
            if len(dynamic) <= _TABLE_MAX:
                table = {}
                for bits in range(1 << len(dynamic)):
                    key = tuple(bool(bits >> j & 1) for j in range(len(dynamic)))
                    truth = iter(key)
                    table[key] = tuple(m for m, x in pairs if x == "True" or next(truth))
                out.append(f"{var} = {obj(table)}[(" + "".join(f"{x}, " for x in dynamic) + ")]")
            else:
                out.append(f"{var} = ()")
                for m, x in pairs:
                    out.append(f"if {x}: {var} += ({constants.name(m)},)")
            names.append(var)
        results.append("(" + ", ".join(names) + ")")
    out.append("return (" + "".join(r + ", " for r in results) + ")")
    return out


class _LeafGen(_Gen):
    """The known-facts code of the focus's cone for one leaf of dates: rules in force and parameters as constants.

    A rule's activation settled by the date alone (not in force, no condition, beaten by an
    exception that always applies) is a constant, folded where it is read (`act`)."""

    def __init__(self, rb: ir.Rulebook, constants: Constants, keep: frozenset[int], leaf: Leaf, const: Callable[[Any], str]) -> None:
        super().__init__(rb, constants, traced=False, known=True, keep=keep)
        self.leaf = leaf
        self.constant = const
        self.static: dict[int, str] = {}  # rule → "True"/"False" when settled by the date
        self.wstatic: dict[int, str] = {}

    def act(self, r: int) -> str:
        return self.static.get(r, f"a{r}")

    def _w(self, r: int) -> str:
        return self.wstatic.get(r, f"w{r}")

    def body(self) -> None:
        rb, keep = self.rb, self.keep
        assert keep is not None
        for kind, index in rb.order:
            if kind == "rule":
                if index in keep:
                    self._rule(rb.rules[index])
            elif any(r in keep for r in rb.definitions[index].rules):
                self._definition_known(rb.definitions[index])

    def _rule(self, r: ir.RuleInfo) -> None:
        i = r.index
        a = f"a{i}"
        if not self.leaf.active[i]:
            self.static[i] = "False"
        elif r.condition is None:
            self.static[i] = "True"
        else:
            self.emit(f"{a} = {self.expr(r.condition)}")
        below = [self._w(e) for e in self.rb.beaten_by[i]]
        if r.exceptions:  # what it passes up its chain: it, or a rule below it, applies
            xs = [self.act(i), *below]
            if "True" in xs:
                self.wstatic[i] = "True"
            elif all(x == "False" for x in xs):
                self.wstatic[i] = "False"
            else:
                self.emit(f"w{i} = " + " or ".join(x for x in xs if x != "False"))
        if below and self.act(i) != "False":
            if "True" in below:
                self.static[i] = "False"
                return
            dyn = [x for x in below if x != "False"]
            if not dyn:
                return
            if self.act(i) == "True":
                del self.static[i]
                self.emit(f"{a} = not ({' or '.join(dyn)})")
            else:
                self.emit(f"if {a} and ({' or '.join(dyn)}): {a} = False")

    def _definition_known(self, d: ir.DefInfo) -> None:
        """The first rule that applies gives the value; none (when needed) or two that disagree: the general path raises."""
        out = f"d{d.index}"
        rules = [ri for ri in d.rules if self.act(ri) != "False"]
        if rules and self.act(rules[0]) == "True":  # the first one always applies: the others may only agree
            self.emit(f"{out} = {self.expr(self.rb.rules[rules[0]].value)}")  # type: ignore[arg-type]
            for ri in rules[1:]:
                self.emit(f"if {self.act(ri)}:")
                with self.indent():
                    v = self.expr(self.rb.rules[ri].value)  # type: ignore[arg-type]
                    self.emit(f"if {v} != {out}: return SLOW(S, at)")
            return
        first = self.tmp()
        self.emit(f"{first} = False")
        for ri in rules:
            self.emit(f"if {self.act(ri)}:")
            with self.indent():
                v = self.expr(self.rb.rules[ri].value)  # type: ignore[arg-type]
                self.emit(f"if not {first}: {first}, {out} = True, {v}")
                self.emit(f"elif {v} != {out}: return SLOW(S, at)")
        self.emit(f"if not {first}: {'return SLOW(S, at)' if self.leaf.needed[d.index] else out + ' = None'}")

    def _reuse(self, key: tuple[Any, ...], make: Callable[[str], str]) -> str:
        """A value computed once in the leaf: the same table read or comparison of the same variables
        (facts, constants, definitions, such values: each set once) is read from its first variable,
        if that one was computed outside any branch."""
        cache: dict[tuple[Any, ...], str] = self.__dict__.setdefault("_cse", {})
        hit = cache.get(key)
        if hit is not None:
            return hit
        t = self.tmp()
        self.emit(f"{t} = {make(t)}")
        if self.depth == 0:
            cache[key] = t
        return t

    def e_ParamRef(self, e: ir.ParamRef) -> str:
        name = self.constant(self.leaf.params[e.index])
        if not e.args:
            return name
        args = [self.expr(a) for a in e.args]
        return self._reuse(("param", name, *args), lambda t: f"{name}[(" + "".join(f"{v}, " for v in args) + ")]")

    def e_Compare(self, e: ir.Compare) -> str:
        if e.left.type.kind in ("list", "record"):
            return super().e_Compare(e)
        left, right = self.expr(e.left), self.expr(e.right)
        return self._reuse(("cmp", e.op, left, right), lambda t: f"{left} {self._CMP[e.op]} {right}")

    def expr(self, e: ir.Expr) -> str:
        if isinstance(e, ir.Compare | ir.ParamRef):  # no `store`: the leaf code is not traced
            return getattr(self, "e_" + type(e).__name__)(e)  # type: ignore[no-any-return]
        return super().expr(e)

    def e_Arith(self, e: ir.Arith) -> str:
        if e.kind not in ("div", "ratio"):
            return super().e_Arith(e)
        left, right = self.expr(e.left), self.expr(e.right)
        t = self.tmp()
        self.emit(f"if not {right}: return SLOW(S, at)")  # a division by zero: the general path raises E403
        self.emit(f"{t} = {left} / {right}" if e.kind == "div" else f"{t} = {left} / {right} * H")
        return t
