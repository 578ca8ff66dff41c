"""Check parsed modules and build the typed IR: names, types, tables, periods, citations.

Every mistake is collected (never only the first) as a located Diagnostic; the
graph checks (cycles, conflicts, reachability) are in check/graph.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from cpc_rules import ir, resources, values
from cpc_rules.check import graph, periods
from cpc_rules.diagnostics import CpcError, Diagnostic, Span, did_you_mean
from cpc_rules.ir import BOOL, INT, MONEY, PERCENT, Type
from cpc_rules.record import evolve
from cpc_rules.syntax import ast

_NUMERIC = {"money", "int", "percent"}


def check(modules: Sequence[ast.Module], sources: dict[str, str] | None = None, title: str = "") -> tuple[ir.Rulebook, list[Diagnostic]]:
    """Check the modules of one rulebook; raise CpcError on errors, return warnings."""
    c = _Checker(modules)
    rulebook = c.run(title, sources or {})
    errors = [d for d in c.diags if d.severity == "error"]
    if errors or rulebook is None:
        raise CpcError(c.diags)
    return rulebook, [d for d in c.diags if d.severity == "warning"]


class _Checker:
    def __init__(self, modules: Sequence[ast.Module]) -> None:
        self.modules = tuple(modules)
        self.diags: list[Diagnostic] = []
        self.nodes: list[ir.Expr] = []
        self.enums: dict[str, ir.EnumInfo] = {}
        self.records: dict[str, ir.RecordInfo] = {}
        self.facts: dict[str, ir.FactInfo] = {}
        self.defs: dict[str, ast.DefDecl] = {}
        self.def_index: dict[str, int] = {}
        self.params: dict[str, ir.ParamInfo] = {}
        self.rule_index: dict[str, int] = {}
        self.value_names: dict[str, Span | None] = {}
        self.used_facts: set[str] = set()
        self.used_params: dict[int, set[int]] = {}  # rule → params it reads
        self.used_defs: dict[int, set[int]] = {}  # rule → definitions it reads
        self._current_rule: int | None = None
        self.poisoned: set[int] = set()

    def err(self, code: str, message: str, span: Span | None, hint: str | None = None, notes: tuple[tuple[str, Span | None], ...] = ()) -> None:
        self.diags.append(Diagnostic(code, message, span, hint, notes))

    def warn(self, code: str, message: str, span: Span | None, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint, severity="warning"))

    def items(self, kind: type) -> list[Any]:
        return [i for m in self.modules for i in m.items if isinstance(i, kind)]

    # ------------------------------------------------------------ driver
    def run(self, title: str, sources: dict[str, str]) -> ir.Rulebook | None:
        coverage = self._coverage()
        self._declare_values()
        self._types()
        facts = tuple(self.facts.values())
        self._params()
        articles, rule_asts = self._articles(coverage)
        facts = self._presumptions(facts, articles)
        rules = self._rules(rule_asts, articles)
        defining: dict[int, list[int]] = {}  # one pass over the rules: a scan per definition was quadratic (10 000 rules: 12 s)
        for r in rules:
            defining.setdefault(r.define, []).append(r.index)
        definitions = tuple(
            ir.DefInfo(i, d.name, self._type(d.type), d.label, d.span, tuple(defining.get(i, ())))
            for i, d in enumerate(self.defs.values())
        )
        for d in definitions:
            if not d.rules:
                self.err("E312", f"la définition `{d.name}` n'est définie par aucune règle", d.span, hint=f"ajoutez une règle `définit {d.name} = …`")
        for f in facts:
            if f.name not in self.used_facts:
                self.warn("W313", f"le fait `{f.name}` n'est utilisé par aucune règle", f.span)
        self._param_coverage(rules, articles, coverage)
        order = graph.check_graph(rules, definitions, articles, coverage, self.used_defs, self.diags)
        tests = tuple(self._tests())
        if any(d.severity == "error" for d in self.diags):
            return None
        self._uncovered_members(rules, facts)  # coverage means something only for a rulebook that checks
        return ir.Rulebook(
            title=title,
            coverage=coverage,
            enums=self.enums,
            records=self.records,
            facts=facts,
            definitions=definitions,
            params=tuple(self.params.values()),
            articles=tuple(articles),
            rules=tuple(rules),
            order=order,
            nodes=tuple(self.nodes),
            tests=tests,
            modules=self.modules,
            texts_digest=ir.texts_digest({m.path: sources.get(m.path, repr(m.items)) for m in self.modules}, resources.TEST_SUFFIX),  # not the decision's digest (ir.Rulebook.digest)
            coverage_notes=next((c.notes for c in self.items(ast.Coverage)), ()),
            coverage_notes_before=next((c.notes_before for c in self.items(ast.Coverage)), ()),
            coverage_notes_after=next((c.notes_after for c in self.items(ast.Coverage)), ()),
        )

    def _coverage(self) -> ast.Period | None:
        covs = self.items(ast.Coverage)
        for extra in covs[1:]:
            self.err("E202", "la couverture du recueil est déclarée deux fois", extra.span)
        return covs[0].period if covs else None

    # ------------------------------------------------------------ declarations
    def _declare_values(self) -> None:
        """One namespace for enumerations, structures, facts, definitions and parameters."""
        for item in itertools.chain(
            self.items(ast.EnumDecl), self.items(ast.RecordDecl), self.items(ast.FactDecl), self.items(ast.DefDecl), self.items(ast.ParamDecl)
        ):
            if item.name in self.value_names:
                self.err(
                    "E202",
                    f"`{item.name}` est déjà déclaré",
                    item.span,
                    notes=(("première déclaration", self.value_names[item.name]),),
                )
                continue
            self.value_names[item.name] = item.span
        for e in self.items(ast.EnumDecl):
            seen: set[str] = set()
            for m in e.members:
                if m.name in seen:
                    self.err("E202", f"la valeur `{m.name}` figure deux fois dans `{e.name}`", m.span)
                seen.add(m.name)
            self.enums.setdefault(e.name, ir.EnumInfo(e.name, e.label, tuple(dict.fromkeys(m.name for m in e.members)), {m.name: m.label for m in e.members}, e.span))
        self._names_shadowing_members()

    def _names_shadowing_members(self) -> None:
        """E208: a fact, definition or parameter named like an enumeration value.

        In an expression a bare name is read as the fact (definition, parameter) before the value,
        so `nature = travaux` would silently compare with a fact `travaux`: the name is ambiguous.
        """
        owners: dict[str, list[ast.EnumMember]] = {}
        enum_of: dict[int, str] = {}
        for e in self.items(ast.EnumDecl):
            for m in e.members:
                owners.setdefault(m.name, []).append(m)
                enum_of[id(m)] = e.name
        what = {ast.FactDecl: "le fait", ast.DefDecl: "la définition", ast.ParamDecl: "le paramètre"}
        for item in itertools.chain(self.items(ast.FactDecl), self.items(ast.DefDecl), self.items(ast.ParamDecl)):
            members = owners.get(item.name)
            if not members or self.value_names.get(item.name) is not item.span:
                continue
            enums = ", ".join(f"`{enum_of[id(m)]}`" for m in members)
            kind = what[type(item)]
            self.err(
                "E208",
                f"{kind} `{item.name}` porte le nom d'une valeur de {enums} : dans une expression, `{item.name}` est ambigu",
                item.span,
                hint=f"renommez {kind} ou la valeur : écrit seul, `{item.name}` désignerait {kind} ; la valeur s'écrit `{enum_of[id(members[0])]}.{item.name}`",
                notes=tuple((f"valeur `{item.name}` de `{enum_of[id(m)]}`", m.span) for m in members),
            )

    def _type(self, t: ast.TypeRef) -> Type:
        if t.is_list:
            if t.name in self.records or any(r.name == t.name for r in self.items(ast.RecordDecl)):
                return Type("list", t.name)
            self.err("E205", f"type inconnu `{t.name}` (une liste contient des structures)", t.span, hint=did_you_mean(t.name, [r.name for r in self.items(ast.RecordDecl)]))
            return INT
        if t.name in ir.BUILTIN_TYPES:
            return ir.BUILTIN_TYPES[t.name]
        if t.name in self.enums:
            return Type("enum", t.name)
        if any(r.name == t.name for r in self.items(ast.RecordDecl)):
            return Type("record", t.name)
        known = list(ir.BUILTIN_TYPES) + list(self.enums) + [r.name for r in self.items(ast.RecordDecl)]
        self.err("E205", f"type inconnu `{t.name}`", t.span, hint=did_you_mean(t.name, known))
        return INT

    def _types(self) -> None:
        for r in self.items(ast.RecordDecl):
            if r.name in self.records:
                continue
            seen: set[str] = set()
            fields = []
            for f in r.fields:
                if f.name in seen:
                    self.err("E202", f"le champ `{f.name}` figure deux fois dans `{r.name}`", f.span)
                seen.add(f.name)
                ftype = self._type(f.type)
                if ftype.kind in ("list", "record"):
                    self.err("E301", "un champ de structure est d'un type simple (booléen, montant, date, entier, pourcentage, énumération)", f.type.span)
                fields.append((f.name, ftype, f.label))
            self.records[r.name] = ir.RecordInfo(r.name, r.label, tuple(fields), r.span)
        for f in self.items(ast.FactDecl):
            if f.name not in self.facts and self.value_names.get(f.name) is f.span:
                ftype = self._type(f.type)
                if ftype.kind == "record":  # a situation gives a list of records, never a single one
                    self.err(
                        "E205",
                        f"le fait `{f.name}` ne peut pas être une structure `{ftype.name}` : une situation donne une liste de structures ou des valeurs simples",
                        f.type.span,
                        hint=f"déclarez `fait {f.name} : liste de {ftype.name}`, ou un fait par champ",
                    )
                self.facts[f.name] = ir.FactInfo(len(self.facts), f.name, ftype, f.label, f.span)
        for d in self.items(ast.DefDecl):
            if d.name not in self.defs and self.value_names.get(d.name) is d.span:
                self.def_index[d.name] = len(self.defs)
                self.defs[d.name] = d

    # ------------------------------------------------------------ parameters
    def _literal(self, lit: ast.Lit, expected: Type, where: str) -> object:
        got = ir.LITERAL_TYPES[lit.kind]
        if got != expected:
            hint = None
            if expected == MONEY and got == INT:
                hint = f"un montant s'écrit avec le symbole euro : `{lit.value} €`"
            elif expected == PERCENT and got == INT:
                hint = f"un pourcentage s'écrit `{lit.value} %`"
            self.err("E301", f"{where} : attendu {expected}, trouvé {got}", lit.span, hint=hint)
        return lit.value

    def _params(self) -> None:
        for p in self.items(ast.ParamDecl):
            if self.value_names.get(p.name) is not p.span:
                continue
            ptype = self._type(p.type)
            if ptype.kind in ("list", "record", "enum"):
                self.err("E301", f"le paramètre `{p.name}` doit être un montant, un pourcentage, un entier, une date ou un booléen", p.type.span)
            keys: list[ir.EnumInfo] = []
            for k in p.keys:
                if k in self.enums:
                    keys.append(self.enums[k])
                else:
                    self.err("E205", f"`{k}` n'est pas une énumération : une table est indexée par des énumérations", p.span, hint=did_you_mean(k, self.enums))
            steps = []
            for s in p.steps:
                where = f"paramètre `{p.name}`"
                if not s.source:
                    self.err("E307", f"{where} : la valeur depuis {s.period.start} ne cite pas sa source", s.span, hint='ajoutez `source "Décret n° …, art. …"` après la valeur')
                if isinstance(s.value, ast.Lit):
                    if p.keys:
                        self.err("E303", f"{where} est une table selon {', '.join(p.keys)} : donnez une ligne par combinaison", s.span)
                    value: object = self._literal(s.value, ptype, where)
                else:
                    if not p.keys:
                        self.err("E303", f"{where} n'a pas de clés (`selon …`) : donnez une seule valeur", s.span)
                    value = self._table(p.name, s, keys, ptype) if len(keys) == len(p.keys) else {}
                steps.append(ir.StepInfo(s.period, value, s.source, s.confirm, s.span))
            steps = [evolve(st, period=pe) for st, pe in zip(steps, periods.closed([s.period for s in p.steps]), strict=True)]
            self.diags.extend(periods.check_steps([s.period for s in p.steps], f"paramètre `{p.name}`", p.span))
            self.params[p.name] = ir.ParamInfo(len(self.params), p.name, ptype, p.label, tuple(p.keys), tuple(steps), p.span)

    def _table(self, name: str, step: ast.Step, keys: list[ir.EnumInfo], ptype: Type) -> dict[tuple[str, ...], object]:
        """Expand the rows into one value per combination; exactly one row per combination."""
        assert isinstance(step.value, tuple)
        table: dict[tuple[str, ...], object] = {}
        for row in step.value:
            if len(row.patterns) != len(keys):
                self.err("E207", f"paramètre `{name}` : la ligne donne {len(row.patterns)} clé(s), la table en a {len(keys)}", row.span)
                continue
            choices = []
            for pattern, enum in zip(row.patterns, keys, strict=True):
                if pattern is None:
                    choices.append(enum.members)
                    continue
                for v in pattern:
                    if v not in enum.members:
                        self.err("E203", f"`{v}` n'est pas une valeur de `{enum.name}`", row.span, hint=did_you_mean(v, enum.members))
                choices.append(tuple(v for v in pattern if v in enum.members))
            value = self._literal(row.value, ptype, f"paramètre `{name}`")
            for combo in itertools.product(*choices):
                if combo in table:
                    self.err("E304", f"paramètre `{name}` depuis {step.period.start} : la combinaison ({', '.join(combo)}) a deux valeurs", row.span)
                table[combo] = value
        missing = [c for c in itertools.product(*(k.members for k in keys)) if c not in table]
        if missing:
            shown = "; ".join("(" + ", ".join(c) + ")" for c in missing[:5]) + (" …" if len(missing) > 5 else "")
            self.err("E303", f"paramètre `{name}` depuis {step.period.start} : pas de valeur pour {shown}", step.span, hint="ajoutez les lignes manquantes, ou `*` pour toutes les valeurs d'une clé")
        return table

    # ------------------------------------------------------------ articles and rules
    def _articles(self, coverage: ast.Period | None) -> tuple[list[ir.ArticleInfo], list[tuple[int, ast.Rule]]]:
        articles: list[ir.ArticleInfo] = []
        rules: list[tuple[int, ast.Rule]] = []
        seen: dict[str, Span | None] = {}
        for a in self.items(ast.Article):
            if a.ref in seen:
                self.err("E202", f"l'article {a.ref} est déclaré deux fois", a.span, notes=(("première déclaration", seen[a.ref]),))
            seen[a.ref] = a.span
            if not a.versions:
                self.err("E307", f"l'article {a.ref} n'a pas de version en vigueur", a.span, hint='ajoutez `version depuis AAAA-MM-JJ source "…"`')
            for v in a.versions:
                if not v.source:
                    self.err("E307", f"l'article {a.ref} : la version depuis {v.period.start} ne cite pas le texte qui l'a établie", v.span, hint='ajoutez `source "Décret n° …"`')
            self.diags.extend(periods.check_steps([v.period for v in a.versions], f"article {a.ref}", a.span))
            index = len(articles)
            articles.append(
                ir.ArticleInfo(
                    index,
                    a.ref,
                    a.in_code,
                    a.label,
                    tuple(ir.VersionInfo(pe, v.legiarti, v.source) for v, pe in zip(a.versions, periods.closed([v.period for v in a.versions]), strict=True)),
                    a.confirm,
                    a.span,
                )
            )
            rules.extend((index, r) for r in a.rules)
        return articles, rules

    def _presumptions(self, facts: tuple[ir.FactInfo, ...], articles: list[ir.ArticleInfo]) -> tuple[ir.FactInfo, ...]:
        """Each `présumé …` clause: a value of the fact's type, resting on declared articles."""
        decls = {f.name: f for f in self.items(ast.FactDecl)}
        refs = [a.ref for a in articles]
        out = []
        for f in facts:
            p = decls[f.name].presumption
            if p is None:
                out.append(f)
                continue
            errors = len(self.diags)
            self._check_value(p.value, f.type, p.span, f"la présomption de `{f.name}`")
            for ref in p.articles:
                if ref not in refs:
                    self.err("E201", f"la présomption de `{f.name}` cite l'article {ref}, que le recueil ne déclare pas", p.span, hint=did_you_mean(ref, refs))
            if len(self.diags) > errors:
                out.append(f)
                continue
            try:
                value = values.coerce(ast.plain_value(p.value), f.type, self.enums, self.records, f.name)
            except values.BadValue as e:  # a well-typed literal can still be out of bounds (a negative amount)
                self.err("E301", f"la présomption de `{f.name}` : {e}", p.span)
                out.append(f)
                continue
            out.append(evolve(f, presumed=ir.Presumed(value, p.reason, p.articles, p.span)))
        return tuple(out)

    def _rules(self, rule_asts: list[tuple[int, ast.Rule]], articles: list[ir.ArticleInfo]) -> list[ir.RuleInfo]:
        for i, (_, r) in enumerate(rule_asts):
            if r.name in self.rule_index:
                self.err("E202", f"la règle `{r.name}` est déjà déclarée", r.span)
            else:
                self.rule_index[r.name] = i
        out = []
        for i, (art, r) in enumerate(rule_asts):
            self._current_rule = i
            self.used_params[i] = set()
            self.used_defs[i] = set()
            exceptions = []
            for name in r.exceptions:
                if name not in self.rule_index:
                    self.err("E204", f"`{name}` : aucune règle de ce nom", r.span, hint=did_you_mean(name, self.rule_index))
                else:
                    exceptions.append(self.rule_index[name])
            cond = None
            if r.condition is not None:
                cond = self._expr(r.condition, {}, BOOL)
                if cond.type != BOOL:
                    self.err("E302", f"la condition de la règle `{r.name}` doit être vraie ou fausse, pas un {cond.type}", r.condition.span)
            kind: ir.RuleKind
            enum = define = value = text = None
            values: tuple[str, ...] = ()
            scope: tuple[str, ...] = ()
            c = r.conclusion
            if isinstance(c, ast.Deontic):
                kind = c.kind
                enum, values = c.enum, c.values
                if c.enum not in self.enums:
                    self.err("E205", f"`{c.enum}` n'est pas une énumération", c.span, hint=did_you_mean(c.enum, self.enums))
                else:
                    for v in c.values:
                        if v not in self.enums[c.enum].members:
                            self.err("E203", f"`{v}` n'est pas une valeur de `{c.enum}`", c.span, hint=did_you_mean(v, self.enums[c.enum].members))
            elif isinstance(c, ast.Define):
                kind = "define"
                if c.name not in self.defs:
                    hint = did_you_mean(c.name, self.defs) or (f"déclarez-la : `définition {c.name} : …`" if c.name not in self.value_names else f"`{c.name}` n'est pas une définition")
                    self.err("E201", f"`{c.name}` : aucune définition de ce nom", c.span, hint=hint)
                    value = self._expr(c.expr, {}, None)
                else:
                    define = self.def_index[c.name]
                    dtype = self._type(self.defs[c.name].type)
                    value = self._expr(c.expr, {}, dtype)
                    if value.type != dtype and self._ok(value):
                        self.err("E301", f"`{c.name}` est un {dtype}, la règle `{r.name}` lui donne un {value.type}", c.expr.span)
            elif isinstance(c, ast.Unencoded):
                kind, text, scope = "unencoded", c.reason, c.enums
                for e in c.enums:
                    enum, _, member = e.partition(".")
                    if enum not in self.enums:
                        self.err("E205", f"`{enum}` n'est pas une énumération", c.span, hint=did_you_mean(enum, self.enums))
                    elif member and member not in self.enums[enum].members:
                        self.err("E203", f"`{member}` n'est pas un membre de l'énumération `{enum}`", c.span, hint=did_you_mean(member, self.enums[enum].members))
            else:
                kind, text = "inform", c.text
            out.append(ir.RuleInfo(i, r.name, r.label, art, kind, enum, values, define, value, text, cond, tuple(exceptions), r.notes, r.confirm, r.span, scope))
        self._current_rule = None
        return out

    def _uncovered_members(self, rules: list[ir.RuleInfo], facts: tuple[ir.FactInfo, ...]) -> None:
        """W314: an enumeration member a decision can reach that no rule covers.

        A member of an enumeration that rules conclude on (a procedure) is covered when a rule
        permits, forbids or obliges it, or a `non encodé` rule scopes its enumeration; a member
        of an enumeration a fact takes (a buyer category) is covered when an expression or a
        parameter row names it. Otherwise the decision would be silent on it, or treat it as
        "any other value" without the rulebook saying so.
        """
        scoped = {e for r in rules for e in r.scope if "." not in e}
        concluded: dict[str, set[str]] = {}
        for r in rules:
            if r.enum is not None:
                concluded.setdefault(r.enum, set()).update(r.values)
        for r in rules:  # `non encodé … pour e.m` covers that member
            for e in r.scope:
                enum, _, member = e.partition(".")
                if member and enum in concluded:
                    concluded[enum].add(member)
        for enum, members in concluded.items():
            if enum in scoped or enum not in self.enums:
                continue
            for m in self.enums[enum].members:
                if m not in members:
                    self.warn("W314", f"`{m}` ({enum}) : aucune règle ne l'autorise, ne l'interdit ni ne l'oblige", self.enums[enum].span, hint="ajoutez la règle qui en décide, ou déclarez-le : `non encodé \"…\" pour " + enum + "`")
        named: set[tuple[str, str]] = set()
        for n in self.nodes:
            if isinstance(n, ir.Member) and n.operand.type.kind == "enum":
                named.update((n.operand.type.name, v) for v in n.values)  # type: ignore[misc]
            elif isinstance(n, ir.Const) and n.type.kind == "enum":
                named.add((n.type.name, n.value))  # type: ignore[arg-type]
        for p in self.items(ast.ParamDecl):
            for st in p.steps:
                for row in st.value if isinstance(st.value, tuple) else ():
                    for pattern, key in zip(getattr(row, "patterns", ()), p.keys, strict=False):
                        named.update((key, v) for v in pattern or ())
        fact_enums = dict.fromkeys(f.type.name for f in facts if f.type.kind == "enum" and f.name in self.used_facts)
        for enum in fact_enums:
            if enum in concluded or enum not in self.enums:
                continue
            for m in self.enums[enum].members:
                if (enum, m) not in named:
                    self.warn("W314", f"`{m}` ({enum}) : aucune règle ni aucun paramètre ne le nomme", self.enums[enum].span, hint="une situation avec cette valeur serait traitée comme « toute autre valeur » : encodez-la, ou déclarez-la `non encodé`")

    def _param_coverage(self, rules: list[ir.RuleInfo], articles: list[ir.ArticleInfo], coverage: ast.Period | None) -> None:
        """A parameter must have a value on every day a rule that reads it is in force (E311)."""
        by_index = {p.index: p for p in self.params.values()}
        for r in rules:
            active = [p for v in articles[r.article].versions if (p := periods.intersect(v.period, coverage))]
            for pi in sorted(self.used_params.get(r.index, ())):
                p = by_index[pi]
                hole = periods.uncovered(active, [s.period for s in p.steps])
                if hole:
                    end = f"au {hole[1]} exclu" if hole[1] else "sans fin"
                    self.err(
                        "E311",
                        f"la règle `{r.name}` ({articles[r.article].ref}) lit `{p.name}`, qui n'a pas de valeur du {hole[0]} {end}",
                        r.span,
                        hint=f"ajoutez une valeur à `{p.name}` pour cette période, ou limitez la version de l'article",
                    )

    # ------------------------------------------------------------ expressions
    def _node(self, cls: type, type_: Type, src: ast.Expr, **kw: Any) -> Any:
        node = cls(len(self.nodes), type_, src, **kw)
        self.nodes.append(node)
        return node

    def _enum_member(self, name: str, expected: Type | None) -> str | None:
        """The enum a bare member name belongs to, using the expected type when several fit."""
        if expected is not None and expected.kind == "enum" and expected.name in self.enums and name in self.enums[expected.name].members:  # type: ignore[index]
            return expected.name
        owners = [e.name for e in self.enums.values() if name in e.members]
        return owners[0] if len(owners) == 1 else None

    def _is_bare_member(self, e: ast.Expr, scope: dict[str, tuple[int, Type]]) -> bool:
        return isinstance(e, ast.Ref) and e.name not in scope and e.name not in self.value_names and any(e.name in en.members for en in self.enums.values())

    def _expr(self, e: ast.Expr, scope: dict[str, tuple[int, Type]], expected: Type | None) -> ir.Expr:
        method = getattr(self, "_e_" + type(e).__name__)
        return method(e, scope, expected)  # type: ignore[no-any-return]

    def _error_node(self, e: ast.Expr) -> ir.Expr:
        """A stand-in for an expression already reported: it silences the errors it would cause."""
        node = self._node(ir.Const, BOOL, e, value=False)
        self.poisoned.add(node.nid)
        return node

    def _ok(self, *nodes: ir.Expr) -> bool:
        """False when an operand is already in error: one mistake, one message."""
        return not any(n.nid in self.poisoned for x in nodes for n in ir.walk(x))

    def _e_Lit(self, e: ast.Lit, scope: Any, expected: Type | None) -> ir.Expr:
        return self._node(ir.Const, ir.LITERAL_TYPES[e.kind], e, value=e.value)

    def _e_Ref(self, e: ast.Ref, scope: dict[str, tuple[int, Type]], expected: Type | None) -> ir.Expr:
        name = e.name
        if name in scope:
            slot, t = scope[name]
            return self._node(ir.LocalRef, t, e, slot=slot)
        if name in self.facts:
            self.used_facts.add(name)
            f = self.facts[name]
            return self._node(ir.FactRef, f.type, e, index=f.index)
        if name in self.defs:
            if self._current_rule is not None:
                self.used_defs[self._current_rule].add(self.def_index[name])
            return self._node(ir.DefRef, self._type(self.defs[name].type), e, index=self.def_index[name])
        if name in self.params:
            p = self.params[name]
            if p.keys:
                self.err("E207", f"`{name}` est une table selon {', '.join(p.keys)} : écrivez `{name}[{', '.join(p.keys)}]`", e.span)
            self._use_param(p)
            return self._node(ir.ParamRef, p.type, e, index=p.index, args=())
        owner = self._enum_member(name, expected)
        if owner is not None:
            return self._node(ir.Const, Type("enum", owner), e, value=name)
        if name in self.enums:
            self.err("E201", f"`{name}` est une énumération, pas une valeur", e.span, hint=f"comparez une valeur : `x = {self.enums[name].members[0]}`")
            return self._error_node(e)
        if expected is not None and expected.kind == "enum" and expected.name in self.enums:  # `x = c` where x is an enumeration
            enum = self.enums[expected.name]
            self.err("E203", f"`{name}` n'est pas une valeur de `{enum.name}`", e.span, hint=did_you_mean(name, enum.members) or f"valeurs : {', '.join(enum.members)}")
            return self._error_node(e)
        candidates = list(scope) + list(self.facts) + list(self.defs) + list(self.params) + [m for en in self.enums.values() for m in en.members]
        if any(name in en.members for en in self.enums.values()):
            self.err("E201", f"`{name}` appartient à plusieurs énumérations : précisez laquelle", e.span, hint="écrivez `énumération.valeur`")
        else:
            self.err("E201", f"`{name}` : aucun fait, définition, paramètre ou valeur de ce nom", e.span, hint=did_you_mean(name, candidates))
        return self._error_node(e)

    def _use_param(self, p: ir.ParamInfo) -> None:
        if self._current_rule is not None:
            self.used_params[self._current_rule].add(p.index)

    def _e_FieldAccess(self, e: ast.FieldAccess, scope: dict[str, tuple[int, Type]], expected: Type | None) -> ir.Expr:
        if isinstance(e.obj, ast.Ref) and e.obj.name in self.enums and e.obj.name not in scope and e.obj.name not in self.facts:
            enum = self.enums[e.obj.name]
            if e.name not in enum.members:
                self.err("E203", f"`{e.name}` n'est pas une valeur de `{enum.name}`", e.span, hint=did_you_mean(e.name, enum.members))
            return self._node(ir.Const, Type("enum", enum.name), e, value=e.name)
        obj = self._expr(e.obj, scope, None)
        if obj.type.kind != "record":
            self.err("E206", f"`.{e.name}` : un {obj.type} n'a pas de champ", e.span)
            return self._error_node(e)
        rec = self.records[obj.type.name]  # type: ignore[index]
        idx = rec.field_index(e.name)
        if idx is None:
            self.err("E206", f"`{rec.name}` n'a pas de champ `{e.name}`", e.span, hint=did_you_mean(e.name, [f[0] for f in rec.fields]))
            return self._error_node(e)
        return self._node(ir.Field, rec.fields[idx][1], e, obj=obj, index=idx)

    def _e_Lookup(self, e: ast.Lookup, scope: dict[str, tuple[int, Type]], expected: Type | None) -> ir.Expr:
        if e.name not in self.params:
            self.err("E201", f"`{e.name}` : aucun paramètre de ce nom", e.span, hint=did_you_mean(e.name, self.params))
            return self._error_node(e)
        p = self.params[e.name]
        self._use_param(p)
        if len(e.args) != len(p.keys):
            self.err("E207", f"`{e.name}` prend {len(p.keys)} clé(s) ({', '.join(p.keys) or 'aucune'}), {len(e.args)} donnée(s)", e.span)
            return self._error_node(e)
        args = []
        for a, key in zip(e.args, p.keys, strict=True):
            kt = Type("enum", key)
            arg = self._expr(a, scope, kt)
            if arg.type != kt:
                self.err("E301", f"`{e.name}` : la clé `{key}` attend une valeur de `{key}`, pas un {arg.type}", a.span)
            args.append(arg)
        return self._node(ir.ParamRef, p.type, e, index=p.index, args=tuple(args))

    def _e_Not(self, e: ast.Not, scope: Any, expected: Type | None) -> ir.Expr:
        x = self._bool(e.operand, scope, "`non`")
        return self._node(ir.Not, BOOL, e, operand=x)

    def _bool(self, e: ast.Expr, scope: Any, what: str) -> ir.Expr:
        x = self._expr(e, scope, BOOL)
        if x.type != BOOL and self._ok(x):
            self.err("E302", f"{what} s'applique à une condition, pas à un {x.type}", e.span)
        return x

    def _e_BoolOp(self, e: ast.BoolOp, scope: Any, expected: Type | None) -> ir.Expr:
        word = "`et`" if e.op == "and" else "`ou`"
        ops = tuple(self._bool(o, scope, word) for o in e.operands)
        return self._node(ir.BoolOp, BOOL, e, op=e.op, operands=ops)

    def _pair(self, left: ast.Expr, right: ast.Expr, scope: Any) -> tuple[ir.Expr, ir.Expr]:
        """Type two operands, letting a bare enum value take its type from the other side."""
        if self._is_bare_member(left, scope):
            r = self._expr(right, scope, None)
            return self._expr(left, scope, r.type), r
        lt = self._expr(left, scope, None)
        return lt, self._expr(right, scope, lt.type)

    def _e_Compare(self, e: ast.Compare, scope: Any, expected: Type | None) -> ir.Expr:
        left, right = self._pair(e.left, e.right, scope)
        lt, rt = left.type, right.type
        if lt != rt and self._ok(left, right):
            hint = None
            if {lt.kind, rt.kind} == {"money", "int"}:
                hint = "un montant s'écrit avec le symbole euro : `40 000 €`"
            elif {lt.kind, rt.kind} == {"percent", "int"}:
                hint = "un pourcentage s'écrit avec `%` : `50 %`"
            self.err("E301", f"comparaison entre un {lt} et un {rt}", e.span, hint=hint)
        elif e.op in ("<", "<=", ">", ">=") and self._ok(left, right) and lt.kind not in ("money", "int", "percent", "date"):
            self.err("E301", f"`{e.op}` compare des nombres ou des dates, pas des {lt}", e.span, hint="utilisez `=` ou `!=`")
        return self._node(ir.Compare, BOOL, e, op=e.op, left=left, right=right)

    def _e_Member(self, e: ast.Member, scope: Any, expected: Type | None) -> ir.Expr:
        x = self._expr(e.operand, scope, None)
        if x.type.kind != "enum":
            self.err("E301", f"`dans {{…}}` s'applique à une valeur d'énumération, pas à un {x.type}", e.span)
            return self._node(ir.Member, BOOL, e, operand=x, values=frozenset())
        enum = self.enums[x.type.name]  # type: ignore[index]
        for v in e.values:
            if v not in enum.members:
                self.err("E203", f"`{v}` n'est pas une valeur de `{enum.name}`", e.span, hint=did_you_mean(v, enum.members))
        return self._node(ir.Member, BOOL, e, operand=x, values=frozenset(e.values))

    _ARITH: dict[tuple[str, str, str], tuple[str, Type]] = {
        ("+", "money", "money"): ("add", MONEY),
        ("-", "money", "money"): ("sub", MONEY),
        ("+", "int", "int"): ("add", INT),
        ("-", "int", "int"): ("sub", INT),
        ("+", "percent", "percent"): ("add", PERCENT),
        ("-", "percent", "percent"): ("sub", PERCENT),
        ("*", "money", "int"): ("mul", MONEY),
        ("*", "int", "money"): ("mul", MONEY),
        ("*", "int", "int"): ("mul", INT),
        ("*", "money", "percent"): ("scale", MONEY),
        ("*", "percent", "money"): ("scale", MONEY),
        ("/", "money", "int"): ("div", MONEY),
        ("/", "money", "money"): ("ratio", PERCENT),
    }

    def _e_BinOp(self, e: ast.BinOp, scope: Any, expected: Type | None) -> ir.Expr:
        left = self._expr(e.left, scope, None)
        right = self._expr(e.right, scope, None)
        found = self._ARITH.get((e.op, left.type.kind, right.type.kind))
        if found is None:
            if not self._ok(left, right):
                return self._error_node(e)
            hint = "un montant s'écrit avec le symbole euro : `40 000 €`" if {left.type.kind, right.type.kind} == {"money", "int"} and e.op in "+-" else None
            self.err("E301", f"`{e.op}` ne s'applique pas à un {left.type} et un {right.type}", e.span, hint=hint)
            return self._node(ir.Arith, left.type, e, kind="add", left=left, right=right)
        kind, t = found
        if kind in ("div", "ratio") and isinstance(right, ir.Const) and right.value == 0:
            self.err("E315", "division par zéro : le diviseur est toujours nul", e.span, hint="divisez par une valeur qui ne peut être nulle, ou testez-la avant avec `si`")
        return self._node(ir.Arith, t, e, kind=kind, left=left, right=right)

    def _e_Neg(self, e: ast.Neg, scope: Any, expected: Type | None) -> ir.Expr:
        x = self._expr(e.operand, scope, expected)
        if x.type.kind not in _NUMERIC:
            self.err("E301", f"`-` s'applique à un nombre, pas à un {x.type}", e.span)
        return self._node(ir.Neg, x.type, e, operand=x)

    def _e_If(self, e: ast.If, scope: Any, expected: Type | None) -> ir.Expr:
        cond = self._bool(e.cond, scope, "`si`")
        then = self._expr(e.then, scope, expected)
        other = self._expr(e.otherwise, scope, then.type)
        if then.type != other.type:
            self.err("E301", f"`si … alors` donne un {then.type}, `sinon` un {other.type}", e.span)
        return self._node(ir.If, then.type, e, cond=cond, then=then, otherwise=other)

    def _e_Aggregate(self, e: ast.Aggregate, scope: dict[str, tuple[int, Type]], expected: Type | None) -> ir.Expr:
        source = self._expr(e.source, scope, None)
        if source.type.kind != "list":
            self.err("E301", f"`{e.var} dans …` parcourt une liste, pas un {source.type}", e.source.span)
            return self._error_node(e)
        slot = len(scope)
        inner = {**scope, e.var: (slot, Type("record", source.type.name))}
        where = self._bool(e.where, inner, "le filtre `si`") if e.where is not None else None
        body = None
        if e.kind == "sum":
            assert e.body is not None
            body = self._expr(e.body, inner, None)
            if body.type.kind not in _NUMERIC:
                self.err("E301", f"`somme` additionne des nombres, pas des {body.type}", e.body.span)
            rtype = body.type
        elif e.kind == "count":
            rtype = INT
        else:
            assert e.body is not None
            body = self._bool(e.body, inner, "`tous`/`existe`")
            rtype = BOOL
        return self._node(ir.Aggregate, rtype, e, kind=e.kind, slot=slot, source=source, body=body, where=where)

    def _e_MinMax(self, e: ast.MinMax, scope: Any, expected: Type | None) -> ir.Expr:
        args = tuple(self._expr(a, scope, expected) for a in e.args)
        t = args[0].type
        if t.kind not in ("money", "int", "percent", "date") or any(a.type != t for a in args):
            self.err("E301", f"`{e.op}` compare des valeurs d'un même type numérique ou des dates", e.span)
        return self._node(ir.MinMax, t, e, op=e.op, args=args)

    # ------------------------------------------------------------ tests
    def _tests(self) -> list[ast.TestCase]:
        tests = self.items(ast.TestCase)
        names: set[str] = set()
        for t in tests:
            if t.name in names:
                self.err("E202", f"deux tests s'appellent « {t.name} »", t.span)
            names.add(t.name)
            for a in t.facts:
                f = self.facts.get(a.name)
                if f is None:
                    self.err("E201", f"test « {t.name} » : `{a.name}` n'est pas un fait", a.span, hint=did_you_mean(a.name, self.facts))
                    continue
                self._check_value(a.value, f.type, a.span, f"`{a.name}`")
            for x in t.expectations:
                if isinstance(x, ast.ExpectStatus):
                    if x.enum not in self.enums:
                        self.err("E205", f"`{x.enum}` n'est pas une énumération", x.span, hint=did_you_mean(x.enum, self.enums))
                    elif x.value not in self.enums[x.enum].members:
                        self.err("E203", f"`{x.value}` n'est pas une valeur de `{x.enum}`", x.span, hint=did_you_mean(x.value, self.enums[x.enum].members))
                elif isinstance(x, ast.ExpectInformed):
                    informs = [r.name for a in self.items(ast.Article) for r in a.rules if isinstance(r.conclusion, ast.Inform)]
                    if x.rule not in informs:
                        self.err("E201", f"`{x.rule}` n'est pas une règle d'information (`informe`)", x.span, hint=did_you_mean(x.rule, informs))
                elif isinstance(x, ast.ExpectValue):
                    if x.name not in self.defs:
                        self.err("E201", f"`{x.name}` n'est pas une définition", x.span, hint=did_you_mean(x.name, self.defs))
                    else:
                        self._check_value(x.value, self._type(self.defs[x.name].type), x.span, f"`{x.name}`")
                elif isinstance(x, ast.ExpectMissing):
                    for n in x.names:
                        base = n.split("[", 1)[0].split(".", 1)[0]
                        if base not in self.facts:
                            self.err("E201", f"`{n}` n'est pas un fait", x.span, hint=did_you_mean(base, self.facts))
        return tests

    def _check_value(self, value: ast.Value, t: Type, span: Span | None, what: str) -> None:
        if t.kind == "enum":
            members = self.enums[t.name].members  # type: ignore[index]
            if not isinstance(value, str) or value not in members:
                shown = value if isinstance(value, str) else "cette valeur"
                self.err("E203", f"{what} : `{shown}` n'est pas une valeur de `{t.name}`", span, hint=did_you_mean(shown, members) if isinstance(value, str) else None)
        elif t.kind == "list":
            if not isinstance(value, tuple):
                self.err("E301", f"{what} attend une liste `[{{…}}, …]`", span)
                return
            rec = self.records[t.name]  # type: ignore[index]
            for r in value:
                for a in r.fields:
                    idx = rec.field_index(a.name)
                    if idx is None:
                        self.err("E206", f"`{rec.name}` n'a pas de champ `{a.name}`", a.span, hint=did_you_mean(a.name, [f[0] for f in rec.fields]))
                    else:
                        self._check_value(a.value, rec.fields[idx][1], a.span, f"`{a.name}`")
        elif not isinstance(value, ast.Lit) or ir.LITERAL_TYPES[value.kind] != t:
            got = ir.LITERAL_TYPES[value.kind] if isinstance(value, ast.Lit) else "un nom"
            self.err("E301", f"{what} attend un {t}, pas {got}", span)

