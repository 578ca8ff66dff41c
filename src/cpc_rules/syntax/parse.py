"""Parse rulebook text into the AST: Lark (LALR, built once) then a Transformer.

Every failure becomes a located Diagnostic (E1xx): Lark's own exceptions never
reach a caller.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.grammar import Rule as LarkRule
from lark.lexer import TerminalDef

from cpc_rules import __version__, resources
from cpc_rules.diagnostics import CpcError, Diagnostic, Span
from cpc_rules.syntax import ast, cache, source
from cpc_rules.syntax.literals import parse_money, parse_percent

_OPTIONS: dict[str, Any] = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": False}


def _encode(x: Any) -> Any:
    """Lark's serialised parser (dicts with int keys, tuples, lists) as JSON values, exactly."""
    if isinstance(x, dict):
        return ["D", *[y for k, v in x.items() for y in (_encode(k), _encode(v))]]
    if isinstance(x, tuple):
        return ["T", *map(_encode, x)]
    if isinstance(x, list):
        return ["L", *map(_encode, x)]
    if x is None or isinstance(x, bool | int | str):
        return x
    raise TypeError(type(x).__name__)


def _decode(x: Any) -> Any:
    if isinstance(x, list):
        if not x or x[0] not in ("D", "T", "L"):
            raise ValueError("bad tag")
        items = [_decode(v) for v in x[1:]]
        if x[0] == "D":
            if len(items) % 2:
                raise ValueError("odd map")
            return dict(zip(items[::2], items[1::2], strict=True))
        return tuple(items) if x[0] == "T" else items
    if x is None or isinstance(x, bool | int | str):
        return x
    raise ValueError(type(x).__name__)


def _tables_binding() -> dict[str, Any]:
    return {"kind": "lark", "engine": __version__, "lark": lark.__version__, "grammar": cache.grammar_hash(), "options": repr(sorted(_OPTIONS.items()))}


@functools.cache
def parser(strict: bool = False) -> Lark:
    """The LALR parser, built once per process.

    Building Lark's tables takes ~0.3-0.6 s, so they are kept in the user's cache
    (syntax/cache.py) as plain JSON data bound to this grammar, this Lark and this
    engine; Lark's own pickle cache is never used. A missing, foreign or damaged
    entry is rebuilt. Most loads do not even get here: the parsed files are cached.
    """
    grammar = resources.grammar_path().read_text(encoding="utf-8")
    if strict:
        return Lark(grammar, strict=True, cache=False, **_OPTIONS)
    binding = _tables_binding()
    loaded = _from_tables(cache.read("lark-" + binding["grammar"][:32] + ".json", binding))
    if loaded is None:  # not in the user's cache: those built with the wheel, if this installation has them
        shipped = resources.shipped_tables_path()
        loaded = _from_tables(cache.read_shipped(shipped, binding)) if shipped is not None else None
    if loaded is not None:
        return loaded
    built = _build_unchecked(grammar)
    if not cache.disabled():
        cache.write("lark-" + binding["grammar"][:32] + ".json", binding, _tables(built))
    return built


def _from_tables(payload: Any) -> Lark | None:
    """The parser from an entry's tables; None for none, or a damaged or foreign one (then the parser is built)."""
    if payload is None:
        return None
    try:
        tables = _decode(payload)
        return Lark._load_from_dict(tables["data"], tables["memo"])
    except Exception:  # noqa: BLE001 - whatever a damaged entry makes Lark raise
        return None


def _tables(built: Lark) -> Any:
    data, memo = built.memo_serialize([TerminalDef, LarkRule])
    return _encode({"data": data, "memo": memo})


def write_shipped_tables(out: Path | str) -> None:
    """Build the tables from the grammar (whatever the caches hold) and write them to `out` for the wheel (hatch_build.py)."""
    import json

    built = _build_unchecked(resources.grammar_path().read_text(encoding="utf-8"))
    Path(out).write_text(json.dumps({"binding": _tables_binding(), "payload": _tables(built)}, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _build_unchecked(grammar: str) -> Lark:
    """Lark's tables without its check of terminal collisions (interegular: 40 % of a build, and only warnings
    outside strict mode). tests/test_ir_cache.py builds the grammar with `parser(strict=True)`, where a
    collision is an error, so that the check is made once by the suite rather than by every user's first run."""
    import lark.lexer

    had = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        return Lark(grammar, cache=False, **_OPTIONS)
    finally:
        lark.lexer.has_interegular = had


def parse_text(text: str, path: str = "<texte>") -> ast.Module:
    """Parse one file's text; raise CpcError with located diagnostics on failure."""
    deep_enough()
    text = source.normalise(text)
    try:
        tree = parser().parse(text)
    except UnexpectedInput as e:
        raise CpcError([_syntax_diagnostic(e, text, path)]) from None
    too_deep = _too_deep(tree)
    if too_deep is not None:
        meta = too_deep[0].meta
        raise CpcError(
            [
                Diagnostic(
                    "E105",
                    f"expression trop imbriquée : plus de {too_deep[1]} niveaux",
                    Span(path, meta.line, meta.column, meta.line, meta.column),
                    hint="découpez-la en définitions intermédiaires",
                )
            ]
        )
    builder = _Builder(path)
    try:
        items = builder.transform(tree)
    except VisitError as e:  # pragma: no cover - a bug in the builder, not a user mistake
        raise e.orig_exc from None
    if builder.errors:
        raise CpcError(builder.errors)
    return ast.Module(path, tuple(items.children))


MAX_DEPTH = 64  # levels of nesting of an expression; the bundled rulebook needs 9
MAX_LENGTH = ast.MAX_LENGTH
MAX_DIGITS = 30  # in a number literal
deep_enough = ast.deep_enough


def _chain_link(parent: Tree, index: int, child: Tree) -> bool:  # type: ignore[type-arg]
    """Is `child` one more link of its parent's chain rather than a level of nesting?

    `si … sinon si …` (the `sinon` part of a `si`) and `a + b + c` (the left operand of an
    operator of the same precedence, as the left-recursive grammar builds it) read as flat
    lists, so they are not counted as nesting: a 61-term sum or a 1 000-level `sinon si`
    is ordinary legal drafting (issue 8). Their length is bounded by MAX_LENGTH.
    """
    if parent.data == "if_expr" and child.data == "if_expr":
        return index == 2
    if parent.data == "binop" and child.data == "binop" and index == 0:
        ops = {"+": 0, "-": 0, "*": 1, "/": 1}
        return ops.get(str(parent.children[1])) == ops.get(str(child.children[1]))
    return False


def _too_deep(tree: Tree) -> tuple[Tree, int] | None:  # type: ignore[type-arg]
    """The first node nested deeper than MAX_DEPTH (or MAX_LENGTH counting chains), found without recursion."""
    stack = [(tree, 1, 1)]
    while stack:
        node, depth, length = stack.pop()
        if depth > MAX_DEPTH:
            return node, MAX_DEPTH
        if length > MAX_LENGTH:
            return node, MAX_LENGTH
        for i, c in enumerate(node.children):
            if isinstance(c, Tree):
                stack.append((c, depth if _chain_link(node, i, c) else depth + 1, length + 1))
    return None


def parse_file(path: Path | str) -> ast.Module:
    p = Path(path)
    return parse_text(p.read_text(encoding="utf-8"), str(path))


# ---------------------------------------------------------------- syntax errors


def _terminal_text(name: str) -> str:
    for t in parser().terminals:
        if t.name == name:
            if t.pattern.type == "str":
                return f"`{t.pattern.value}`"
            break
    readable = {
        "NAME": "un nom",
        "STRING": 'un texte entre "guillemets"',
        "MONEY": "un montant (25 000 €)",
        "PERCENT": "un pourcentage (20 %)",
        "DATE": "une date (AAAA-MM-JJ)",
        "INT": "un entier",
        "ARTICLE_REF": "un numéro d'article (R2122-8)",
        "LEGIARTI": "un identifiant LEGIARTI",
        "ERROR_CODE": "un code d'erreur (E402)",
        "COMP_OP": "une comparaison (<, <=, >, >=, !=)",
        "EQ": "`=`",
        "$END": "la fin du fichier",
    }
    return readable.get(name, name)


def _expected(names: set[str]) -> str:
    texts = sorted({_terminal_text(n) for n in names if not n.startswith("__")})
    if len(texts) > 12:
        texts = texts[:12] + ["…"]
    return ", ".join(texts)


def _syntax_diagnostic(e: UnexpectedInput, text: str, path: str) -> Diagnostic:
    line, col = max(getattr(e, "line", 1) or 1, 1), max(getattr(e, "column", 1) or 1, 1)
    if isinstance(e, UnexpectedCharacters):
        char = text[e.pos_in_stream] if e.pos_in_stream < len(text) else ""
        hint = None
        rest_of_line = text[e.pos_in_stream + 1 :].split("\n", 1)[0]
        if char == '"' and '"' not in rest_of_line.replace('\\"', ""):
            return Diagnostic(
                "E102",
                "texte non terminé : le guillemet fermant manque sur cette ligne",
                Span(path, line, col, line, col),
                hint='un texte s\'écrit sur une ligne entre guillemets droits : "…" (\\" pour un guillemet dans le texte)',
            )
        if char == "'":
            hint = "les textes s'écrivent entre guillemets droits doubles : \"…\""
        elif char in "«»“”":
            hint = 'utilisez des guillemets droits doubles : "…"'
        return Diagnostic(
            "E102",
            f"caractère inattendu `{char}`",
            Span(path, line, col, line, col),
            hint=hint or (f"attendu ici : {_expected(set(e.allowed))}" if e.allowed else None),
        )
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        last = text.rstrip().splitlines() or [""]
        n = len(last)
        c = max(len(last[-1]), 1)
        expected = set(e.expected)
        return Diagnostic(
            "E103",
            "fin du fichier inattendue",
            Span(path, n, c, n, c),
            hint=f"attendu : {_expected(expected)}",
        )
    assert isinstance(e, UnexpectedToken)
    tok = e.token
    end_col = (tok.end_column - 1) if tok.end_column else col
    span = Span(path, line, col, tok.end_line or line, max(end_col, col))
    expected = set(e.expected)
    hint = _hint_for(tok, expected)
    return Diagnostic(
        "E101",
        f"`{tok.value}` inattendu ici",
        span,
        hint=hint or f"attendu ici : {_expected(expected)}",
    )


def _hint_for(tok: Token, expected: set[str]) -> str | None:
    """Curated hints for the mistakes people actually make."""
    exclu = [n for n in expected if _terminal_text(n) == "`exclu`"]
    if exclu and len(expected) <= 2:
        return "la date de fin est exclue : écrivez `jusqu'au 2021-01-01 exclu` pour un dernier jour le 2020-12-31"
    if tok.type == "INT" and "MONEY" in expected:
        return "un montant s'écrit avec le symbole euro : `25 000 €`"
    if tok.type == "INT" and {"DATE"} & expected:
        return "une date s'écrit AAAA-MM-JJ : `2020-01-01`"
    if tok.type == "EQ" and "COMP_OP" not in expected and "EQ" not in expected:
        return "`=` compare deux valeurs dans une condition ; une règle définit une valeur par `définit nom = …`"
    return None


# ---------------------------------------------------------------- tree → AST


class _Label(str):
    pass


class _Source(str):
    pass


class _Confirm(str):
    pass


class _Note(str):
    pass


class _NoteBefore(str):  # a coverage note said only before the coverage
    pass


class _NoteAfter(str):  # a coverage note said only after it
    pass


class _Exceptions(tuple):  # type: ignore[type-arg]
    pass


class _Keys(tuple):  # type: ignore[type-arg]
    pass


class _Condition:
    def __init__(self, expr: ast.Expr) -> None:
        self.expr = expr


class _Legiarti(str):
    pass


class _WithPresumptions:
    pass


def _unquote(s: str) -> str:
    body = s[1:-1]
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _first(children: list[Any], kind: type) -> Any:
    for c in children:
        if isinstance(c, kind):
            return c
    return None


@v_args(meta=True)
class _Builder(Transformer):  # type: ignore[type-arg]
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.errors: list[Diagnostic] = []

    def _span(self, meta: Any) -> Span | None:
        if getattr(meta, "empty", True):
            return None
        return Span(self.path, meta.line, meta.column, meta.end_line, max(meta.end_column - 1, meta.column))

    def _tspan(self, tok: Token) -> Span:
        return Span(self.path, tok.line or 0, tok.column or 0, tok.end_line or 0, max((tok.end_column or 1) - 1, 1))

    # -- small pieces
    def label(self, meta: Any, c: list[Token]) -> _Label:
        return _Label(_unquote(c[0]))

    def source(self, meta: Any, c: list[Token]) -> _Source:
        return _Source(_unquote(c[0]))

    def confirm(self, meta: Any, c: list[Token]) -> _Confirm:
        return _Confirm(_unquote(c[0]))

    def note(self, meta: Any, c: list[Token]) -> _Note:
        return _Note(_unquote(c[0]))

    def note_before(self, meta: Any, c: list[Token]) -> _NoteBefore:
        return _NoteBefore(_unquote(c[0]))

    def note_after(self, meta: Any, c: list[Token]) -> _NoteAfter:
        return _NoteAfter(_unquote(c[0]))

    def exception(self, meta: Any, c: list[Token]) -> _Exceptions:
        return _Exceptions(str(t) for t in c)

    def keys(self, meta: Any, c: list[Token]) -> _Keys:
        return _Keys(str(t) for t in c)

    def legiarti(self, meta: Any, c: list[Token]) -> _Legiarti:
        return _Legiarti(c[0])

    def condition(self, meta: Any, c: list[Any]) -> _Condition:
        return _Condition(c[0])

    def _date(self, tok: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(tok))
        except ValueError:
            self.errors.append(
                Diagnostic("E104", f"date invalide `{tok}`", self._tspan(tok), hint="une date existe au calendrier et s'écrit AAAA-MM-JJ")
            )
            return dt.date(1, 1, 1)

    def period(self, meta: Any, c: list[Token]) -> ast.Period:
        start = self._date(c[0])
        end = self._date(c[1]) if len(c) > 1 else None
        if end is not None and end <= start and start != dt.date(1, 1, 1) and end != dt.date(1, 1, 1):
            self.errors.append(
                Diagnostic(
                    "E106",
                    f"période vide : elle finit le {end.isoformat()} (exclu), pas après son début le {start.isoformat()}",
                    self._span(meta),
                    hint="une période s'écrit `depuis DÉBUT jusqu'au FIN exclu`, la fin après le début",
                )
            )
        return ast.Period(start, end, self._span(meta))

    def coverage(self, meta: Any, c: list[Any]) -> ast.Coverage:
        return ast.Coverage(
            c[0],
            self._span(meta),
            tuple(str(n) for n in c[1:] if isinstance(n, _Note)),
            tuple(str(n) for n in c[1:] if isinstance(n, _NoteBefore)),
            tuple(str(n) for n in c[1:] if isinstance(n, _NoteAfter)),
        )

    # -- types and declarations
    def named_type(self, meta: Any, c: list[Token]) -> ast.TypeRef:
        return ast.TypeRef(str(c[0]), False, self._span(meta))

    def list_type(self, meta: Any, c: list[Token]) -> ast.TypeRef:
        return ast.TypeRef(str(c[0]), True, self._span(meta))

    def enum_member(self, meta: Any, c: list[Any]) -> ast.EnumMember:
        return ast.EnumMember(str(c[0]), _first(c[1:], _Label), self._span(meta))

    def enum_decl(self, meta: Any, c: list[Any]) -> ast.EnumDecl:
        members = tuple(x for x in c if isinstance(x, ast.EnumMember))
        return ast.EnumDecl(str(c[0]), _first(c[1:], _Label), members, self._span(meta))

    def field(self, meta: Any, c: list[Any]) -> ast.FieldDecl:
        return ast.FieldDecl(str(c[0]), c[1], _first(c[2:], _Label), self._span(meta))

    def record_decl(self, meta: Any, c: list[Any]) -> ast.RecordDecl:
        fields = tuple(x for x in c if isinstance(x, ast.FieldDecl))
        return ast.RecordDecl(str(c[0]), _first(c[1:], _Label), fields, self._span(meta))

    def presumption(self, meta: Any, c: list[Any]) -> ast.Presumption:
        return ast.Presumption(c[0], _unquote(c[1]), tuple(ref for ref, _ in c[2:]), self._span(meta))

    def fact_decl(self, meta: Any, c: list[Any]) -> ast.FactDecl:
        return ast.FactDecl(str(c[0]), c[1], _first(c[2:], _Label), _first(c[2:], ast.Presumption), self._span(meta))

    def def_decl(self, meta: Any, c: list[Any]) -> ast.DefDecl:
        return ast.DefDecl(str(c[0]), c[1], _first(c[2:], _Label), self._span(meta))

    def any_pattern(self, meta: Any, c: list[Any]) -> None:
        return None

    def names_pattern(self, meta: Any, c: list[Token]) -> tuple[str, ...]:
        return tuple(str(t) for t in c)

    def row(self, meta: Any, c: list[Any]) -> ast.Row:
        return ast.Row(tuple(c[:-1]), c[-1], self._span(meta))

    def step(self, meta: Any, c: list[Any]) -> ast.Step:
        period = c[0]
        rows = tuple(x for x in c if isinstance(x, ast.Row))
        value: ast.Lit | tuple[ast.Row, ...] = rows if rows else c[1]
        return ast.Step(period, value, _first(c, _Source), _first(c, _Confirm), self._span(meta))

    def param_decl(self, meta: Any, c: list[Any]) -> ast.ParamDecl:
        keys = _first(c, _Keys) or ()
        steps = tuple(x for x in c if isinstance(x, ast.Step))
        return ast.ParamDecl(str(c[0]), c[1], _first(c[2:], _Label), tuple(keys), steps, self._span(meta))

    # -- articles and rules
    def article_id(self, meta: Any, c: list[Token]) -> tuple[str, bool]:
        tok = c[0]
        if tok.type == "STRING":
            return (_unquote(tok), False)
        return (str(tok), True)

    def version(self, meta: Any, c: list[Any]) -> ast.Version:
        return ast.Version(c[0], _first(c, _Legiarti), _first(c, _Source), self._span(meta))

    def article(self, meta: Any, c: list[Any]) -> ast.Article:
        ref, in_code = c[0]
        return ast.Article(
            ref,
            in_code,
            _first(c[1:], _Label),
            tuple(x for x in c if isinstance(x, ast.Version)),
            _first(c, _Confirm),
            tuple(x for x in c if isinstance(x, ast.Rule)),
            self._span(meta),
        )

    def _deontic(self, kind: ast.ConclusionKind, meta: Any, c: list[Token]) -> ast.Deontic:
        return ast.Deontic(kind, str(c[0]), tuple(str(t) for t in c[1:]), self._span(meta))

    def permit(self, meta: Any, c: list[Token]) -> ast.Deontic:
        return self._deontic("permit", meta, c)

    def forbid(self, meta: Any, c: list[Token]) -> ast.Deontic:
        return self._deontic("forbid", meta, c)

    def oblige(self, meta: Any, c: list[Token]) -> ast.Deontic:
        return self._deontic("oblige", meta, c)

    def define(self, meta: Any, c: list[Any]) -> ast.Define:
        return ast.Define(str(c[0]), c[2], self._span(meta))

    def inform(self, meta: Any, c: list[Token]) -> ast.Inform:
        return ast.Inform(_unquote(c[0]), self._span(meta))

    def unencoded(self, meta: Any, c: list[Any]) -> ast.Unencoded:
        return ast.Unencoded(_unquote(c[0]), tuple(c[1:]), self._span(meta))

    def unencoded_scope(self, meta: Any, c: list[Token]) -> str:
        return ".".join(str(t) for t in c)  # `procédure` (every member) or `procédure.concours` (one member)

    def rule(self, meta: Any, c: list[Any]) -> ast.Rule:
        conclusion = next(x for x in c if isinstance(x, ast.Deontic | ast.Define | ast.Inform | ast.Unencoded))
        cond = _first(c, _Condition)
        return ast.Rule(
            str(c[0]),
            _first(c[1:], _Label),
            tuple(_first(c, _Exceptions) or ()),
            conclusion,
            cond.expr if cond else None,
            tuple(x for x in c if isinstance(x, _Note)),
            _first(c, _Confirm),
            self._span(meta),
        )

    # -- expressions
    def if_expr(self, meta: Any, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], self._span(meta))

    def or_expr(self, meta: Any, c: list[Any]) -> ast.BoolOp:
        return ast.BoolOp("or", tuple(c), self._span(meta))

    def and_expr(self, meta: Any, c: list[Any]) -> ast.BoolOp:
        return ast.BoolOp("and", tuple(c), self._span(meta))

    def not_expr(self, meta: Any, c: list[Any]) -> ast.Not:
        return ast.Not(c[0], self._span(meta))

    _OPS = {"≤": "<=", "≥": ">=", "≠": "!="}

    def compare(self, meta: Any, c: list[Any]) -> ast.Compare:
        op = self._OPS.get(str(c[1]), str(c[1]))
        return ast.Compare(op, c[0], c[2], self._span(meta))  # type: ignore[arg-type]

    def member(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(c[0], tuple(str(t) for t in c[1:]), self._span(meta))

    def binop(self, meta: Any, c: list[Any]) -> ast.BinOp:
        return ast.BinOp(str(c[1]), c[0], c[2], self._span(meta))  # type: ignore[arg-type]

    def neg(self, meta: Any, c: list[Any]) -> ast.Neg:
        return ast.Neg(c[1], self._span(meta))

    def field_access(self, meta: Any, c: list[Any]) -> ast.FieldAccess:
        return ast.FieldAccess(c[0], str(c[1]), self._span(meta))

    def lookup(self, meta: Any, c: list[Any]) -> ast.Lookup:
        return ast.Lookup(str(c[0]), tuple(c[1:]), self._span(meta))

    def ref(self, meta: Any, c: list[Token]) -> ast.Ref:
        return ast.Ref(str(c[0]), self._span(meta))

    def sum_agg(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        where = c[3] if len(c) > 3 else None
        return ast.Aggregate("sum", str(c[1]), c[2], c[0], where, self._span(meta))

    def count_agg(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        where = c[2] if len(c) > 2 else None
        return ast.Aggregate("count", str(c[0]), c[1], None, where, self._span(meta))

    def all_agg(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("all", str(c[0]), c[1], c[2], None, self._span(meta))

    def any_agg(self, meta: Any, c: list[Any]) -> ast.Aggregate:
        return ast.Aggregate("any", str(c[0]), c[1], c[2], None, self._span(meta))

    def minmax(self, meta: Any, c: list[Any]) -> ast.MinMax:
        return ast.MinMax(str(c[0]), tuple(c[1:]), self._span(meta))  # type: ignore[arg-type]

    # -- literals
    def _lit(self, kind: ast.LiteralKind, value: Any, meta: Any) -> ast.Lit:
        return ast.Lit(kind, value, self._span(meta))

    def _too_long(self, tok: Token, what: str) -> bool:
        """A literal with more digits than any amount of public procurement (and than Python converts)."""
        if sum(ch.isdigit() for ch in str(tok)) <= MAX_DIGITS:
            return False
        self.errors.append(Diagnostic("E104", f"{what} trop long : plus de {MAX_DIGITS} chiffres", self._tspan(tok), hint="un nombre de la commande publique tient en moins de 30 chiffres"))
        return True

    def money(self, meta: Any, c: list[Token]) -> ast.Lit:
        if self._too_long(c[0], "montant"):
            return self._lit("money", Decimal(0), meta)
        try:
            return self._lit("money", parse_money(c[0]), meta)
        except InvalidOperation:  # pragma: no cover - the token's regex admits only valid amounts
            self.errors.append(Diagnostic("E104", f"montant invalide `{c[0]}`", self._tspan(c[0])))
            return self._lit("money", Decimal(0), meta)

    def percent(self, meta: Any, c: list[Token]) -> ast.Lit:
        if self._too_long(c[0], "pourcentage"):
            return self._lit("percent", Decimal(0), meta)
        return self._lit("percent", parse_percent(c[0]), meta)

    def date(self, meta: Any, c: list[Token]) -> ast.Lit:
        return self._lit("date", self._date(c[0]), meta)

    def int(self, meta: Any, c: list[Token]) -> ast.Lit:
        if self._too_long(c[0], "entier"):
            return self._lit("int", 0, meta)
        return self._lit("int", int(c[0]), meta)

    def true(self, meta: Any, c: list[Token]) -> ast.Lit:
        return self._lit("bool", True, meta)

    def false(self, meta: Any, c: list[Token]) -> ast.Lit:
        return self._lit("bool", False, meta)

    # -- tests
    def name_value(self, meta: Any, c: list[Token]) -> str:
        return str(c[0])

    def record(self, meta: Any, c: list[Any]) -> ast.RecordValue:
        return ast.RecordValue(tuple(c), self._span(meta))

    def list_value(self, meta: Any, c: list[Any]) -> tuple[ast.RecordValue, ...]:
        return tuple(c)

    def assignment(self, meta: Any, c: list[Any]) -> ast.Assignment:
        return ast.Assignment(str(c[0]), c[2], self._span(meta))

    def facts(self, meta: Any, c: list[Any]) -> tuple[ast.Assignment, ...]:
        return tuple(c)

    def _status(self, status: ast.ExpectKind, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return ast.ExpectStatus(status, str(c[0]), str(c[1]), self._span(meta))

    def expect_allowed(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("allowed", meta, c)

    def expect_forbidden(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("forbidden", meta, c)

    def expect_not_allowed(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("not_allowed", meta, c)

    def expect_mandatory(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("mandatory", meta, c)

    def expect_not_mandatory(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("not_mandatory", meta, c)

    def expect_undetermined(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("undetermined", meta, c)

    def expect_unencoded(self, meta: Any, c: list[Token]) -> ast.ExpectStatus:
        return self._status("unencoded", meta, c)

    def expect_informed(self, meta: Any, c: list[Token]) -> ast.ExpectInformed:
        return ast.ExpectInformed(str(c[0]), True, self._span(meta))

    def expect_not_informed(self, meta: Any, c: list[Token]) -> ast.ExpectInformed:
        return ast.ExpectInformed(str(c[0]), False, self._span(meta))

    def expect_value(self, meta: Any, c: list[Any]) -> ast.ExpectValue:
        return ast.ExpectValue(str(c[0]), c[2], self._span(meta))

    def missing_name(self, meta: Any, c: list[Token]) -> str:
        tok = c[0]
        return _unquote(tok) if tok.type == "STRING" else str(tok)

    def expect_missing(self, meta: Any, c: list[str]) -> ast.ExpectMissing:
        return ast.ExpectMissing(tuple(c), self._span(meta))

    def expect_out_of_period(self, meta: Any, c: list[Any]) -> ast.ExpectOutOfPeriod:
        return ast.ExpectOutOfPeriod(self._span(meta))

    def expect_error(self, meta: Any, c: list[Token]) -> ast.ExpectError:
        return ast.ExpectError(str(c[0]), self._span(meta))

    def with_presumptions(self, meta: Any, c: list[Any]) -> _WithPresumptions:
        return _WithPresumptions()

    def test_case(self, meta: Any, c: list[Any]) -> ast.TestCase:
        facts: tuple[ast.Assignment, ...] = ()
        rest = c[2:]
        presumptions = bool(rest) and isinstance(rest[0], _WithPresumptions)
        if presumptions:
            rest = rest[1:]
        if rest and isinstance(rest[0], tuple):
            facts, rest = rest[0], rest[1:]
        return ast.TestCase(_unquote(c[0]), self._date(c[1]), facts, tuple(rest), self._span(meta), presumptions)

    def start(self, meta: Any, c: list[Any]) -> Tree:  # type: ignore[type-arg]
        return Tree("start", c)

