"""The public Python face: load a rulebook once, decide many situations.

    from cpc_rules import default_rulebook
    rb = default_rulebook()
    decision = rb.decide({"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "39999.99"}, at="2024-05-01")
    print(decision.explain())

Deciding applies the rulebook's presumptions by default (`presumptions=True`): a
buyer gives four facts (who buys, what, how much, when) and does not know that
ten rare exceptions (urgency, an unsuccessful procedure, a single operator…)
matter; each is presumed absent, and the decision lists every presumption it
relied on, per conclusion. `presumptions=False` decides strictly: a fact not
given stays unknown. The CLI and the HTTP API share this default.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cpc_rules import __version__, resources
from cpc_rules import decision as _decision
from cpc_rules.diagnostics import CpcError, Diagnostic, Sources, did_you_mean
from cpc_rules.engine.evaluate import AtDate, Program
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.ir import Rulebook as CheckedRulebook
from cpc_rules.situation import parse_date
from cpc_rules.syntax import ast, cache, source

if TYPE_CHECKING:
    from cpc_rules.engine.trace import TracePlan


def rulebook_files(path: Path | str, tests: bool = True) -> list[Path]:
    """A rulebook is one `.cpc` file or a folder of them (read in name order).

    Test files (`*.test.cpc`, like OPA's `_test.rego`) hold test cases beside the
    rules; deciding does not need them, so `tests=False` leaves them out of a folder.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.cpc") if tests or not f.name.endswith(resources.TEST_SUFFIX))
        if not files:
            raise CpcError([Diagnostic("E001", f"aucun fichier .cpc dans {p}")])
        return files
    if not p.exists():
        raise CpcError([Diagnostic("E001", f"fichier introuvable : {p}")])
    return [p]


def read_files(files: Iterable[Path]) -> tuple[Sources, dict[str, str]]:
    """Read every file (normalised text by path); E001 for those that cannot be read, all of them at once."""
    errors, sources, texts = [], Sources(), {}
    for f in files:
        try:
            text = source.normalise(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as e:
            errors.append(Diagnostic("E001", f"lecture impossible de {f} : {e}"))
            continue
        sources.add(str(f), text)
        texts[str(f)] = text
    if errors:
        err = CpcError(errors)
        err.sources = sources  # type: ignore[attr-defined]
        raise err
    return sources, texts


def parse_texts(texts: Mapping[str, str], sources: Sources | None = None) -> list[ast.Module]:
    """Parse every text (through the parse cache), collecting the syntax errors of all of them."""
    modules, errors = [], []
    for path, text in texts.items():
        try:
            modules.append(cache.cached(_parse_text, text, path))
        except CpcError as e:
            errors.extend(e.diagnostics)
    if errors:
        err = CpcError(errors)
        err.sources = sources  # type: ignore[attr-defined]
        raise err
    return modules


def parse_files(files: Iterable[Path]) -> tuple[list[ast.Module], Sources, dict[str, str]]:
    """Parse every file, collecting the syntax errors of all of them."""
    sources, texts = read_files(files)
    return parse_texts(texts, sources), sources, texts


def _parse_text(text: str, path: str) -> ast.Module:
    """Lark is imported only when a file must really be parsed (not found in the cache)."""
    from cpc_rules.syntax.parse import parse_text

    return parse_text(text, path)


_new = object.__new__


def _as_date(at: dt.date | str) -> dt.date:
    if isinstance(at, dt.datetime):
        return at.date()
    return parse_date(at, "date de décision")


class Decision(_decision.Decision):
    """A decision (plain data, decision.py) with its two renderings at hand.

    The conveniences live here, above the renderers, so that the decision module
    never imports a renderer: data flows decision → render → api. `Rulebook.decide`
    sets `_engine` (the rulebook) and what it was given; the hooks below use them
    to compute, only when asked, what the decision cannot compute alone.
    """

    _engine: Rulebook | None = None
    _situation: Mapping[str, Any] = {}
    _given: list[Any] = []
    _presumed_idx: tuple[int, ...] = ()
    _presume = True

    def _make_applied(self) -> tuple[_decision.Presumption, ...]:
        if not self._presumed_idx:
            return self._applied
        rb, facts = self.rulebook, self.facts
        assert facts is not None
        return tuple(
            _decision.Presumption(f.name, f.label, facts[i], f.type, f.presumed.reason, f.presumed.articles)  # type: ignore[union-attr]
            for i in self._presumed_idx
            for f in (rb.facts[i],)
        )

    def _run_strict(self) -> _decision.Result | None:
        if self._engine is None or self._at is None:
            return super()._run_strict()
        return self._engine._run(self._given, self._at, False, self.focus)

    def _trace_values(self) -> list[Any] | None:
        if self._engine is None or self._at is None or self.facts is None:
            return super()._trace_values()
        return self._engine._run(self.facts, self._at, True, self.focus)[2]

    def _build_trace(self, v: list[Any]) -> Any:
        if self._engine is None or self._at is None:
            return super()._build_trace(v)
        tree = self._engine.trace_plan.build(self._at, self.activations, v, frozenset(p.fact for p in self.applied))
        if self.focus is not None:  # a focused decision evaluated its cone only: the trace lists the rules it ran
            focused = self._engine.program.focused(self.focus)
            if not focused.whole:
                tree["rules"] = {name: node for name, node in tree["rules"].items() if name in focused.rule_names}
        return tree

    def _decide_alternative(self, extra: dict[str, Any]) -> _decision.Decision | None:
        if self._engine is None:
            return super()._decide_alternative(extra)
        return self._engine.decide(
            {**self._situation, **extra["facts"]}, self.date, presumptions=self._presume, focus=extra["focus"] if extra["focus"] is not None else self.focus
        )

    def to_json(self, trace: bool = False) -> dict[str, Any]:
        """The versioned JSON decision (docs/trace-format.md); the trace tree only if `trace`."""
        from cpc_rules.render.json import decision_json

        return decision_json(self, with_trace=trace)

    def explain(self, lang: str = "fr", full: bool = False, detail: bool = True) -> str:
        """The decision in French (or English): the verdict, then the report (`detail`), then the trace (`full`)."""
        from cpc_rules.render.text import explain

        return explain(self, lang=lang, full=full, detail=detail)

    def verdict(self, lang: str = "fr") -> str:
        """The answer first: at most ~15 lines (procedures and their publicity, obligations, what is left open)."""
        from cpc_rules.render.text import verdict

        return verdict(self, lang=lang)


class Rulebook:
    """A rulebook parsed, checked and compiled: ready to decide."""

    def __init__(self, checked: CheckedRulebook, warnings: list[Diagnostic], sources: Sources, path: Path | None = None) -> None:
        self.checked = checked
        self.warnings = warnings
        self.sources = sources
        self.path = path
        self.program = Program(checked)

    @property
    def digest(self) -> str:
        """`sha256:` of the checked rulebook that decides (ir.Rulebook.digest), not of the texts: a cache entry edited to change the law changes it too; computed on first read."""
        return self.checked.digest

    @functools.cached_property
    def trace_plan(self) -> TracePlan:
        """What every trace of this rulebook shares, compiled on the first trace."""
        from cpc_rules.engine.trace import TracePlan  # the trace builder (and the formatter) only for a process that traces

        return TracePlan(self.checked)

    def focus(self, focus: Iterable[str] | str | None) -> tuple[str, ...] | None:
        """Check a focus (enumeration names, or one comma-separated text); raises CpcError E421."""
        if focus is None:
            return None
        names = [n.strip() for n in focus.split(",")] if isinstance(focus, str) else [str(n).strip() for n in focus]
        names = [n for n in names if n]
        concluded = list(dict.fromkeys(item.enum for item in self.program.items))
        errors = [
            Diagnostic("E421", f"`{n}` n'est pas une énumération sur laquelle le recueil conclut", None, hint=did_you_mean(n, concluded) or "énumérations : " + ", ".join(concluded))
            for n in names
            if n not in concluded
        ]
        if errors:
            raise CpcError(errors)
        if not names:
            raise CpcError([Diagnostic("E421", "focus vide", None, hint="énumérations : " + ", ".join(concluded))])
        return tuple(dict.fromkeys(names))

    def decide(
        self,
        situation: Mapping[str, Any],
        at: dt.date | str,
        *,
        trace: bool = False,
        presumptions: bool = True,
        focus: Iterable[str] | str | None = None,
    ) -> Decision:
        """Decide a situation (facts by name) for a consultation launched at `at`.

        `trace`: the run records the value of every expression node it reaches (the trace's
        data, ~40 % more than an untraced run); the tree (`Decision.trace`) is built from
        them when first read, i.e. when it is rendered. Without it, reading `Decision.trace`
        runs the traced function then, on the same facts: the same values.

        `presumptions` (default True): a fact the situation does not give takes the
        value the rulebook presumes (`présumé …`), and the decision lists those it
        relied on; False decides strictly. `focus`: enumeration names (e.g.
        `("procédure", "publicité")`) to which the conclusions are restricted; a
        focused decision evaluates only their dependency cone (engine/cone.py: the
        rules concluding on them, the exceptions that can beat those, the rules
        defining what they read), so a fault of the rulebook in a rule outside the
        cone is not raised (it cannot change a focused answer), and its trace lists
        the rules of the cone. Unfocused decisions evaluate every rule.

        Raises CpcError (E41x) for a situation that does not fit the declared facts
        or an unknown focus, and EvaluationError (E40x) for a fault of the rulebook.
        For many decisions of one focus, `decider` is the fast way.
        """
        date = at if at.__class__ is dt.date else _as_date(at)
        focus_names = self.focus(focus) if focus is not None else None
        program = self.program
        given, facts, presumed, known = program.prepare(situation, presumptions)
        at_date = program.at_covered(date)
        d = _new(self._decision_type)
        d.date, d.facts, d._at, d._situation, d._given = date, facts, at_date, situation, given
        if not presumptions:
            d.mode, d._presume = "strict", False
        if focus_names is not None:
            d.focus = focus_names
        if at_date is None:  # outside the rulebook's coverage: no conclusion, no presumption relied on (nor listed as applied)
            d._result = None
            return d
        if presumed:
            d._presumed_idx = presumed
        try:
            d._result = program.run_prepared(facts, at_date, known, trace, program.focused(focus_names) if focus_names is not None else None)
        except EvaluationError as e:
            e.sources = self.sources  # so that the message can quote the rule's line
            raise
        return d

    def decider(self, focus: Iterable[str] | str | None = None, *, presumptions: bool = True) -> Any:
        """A function `decide(situation, at)` for many decisions of one focus: the fast way (issue 11).

        It answers, for each enumeration of the focus (in the rulebook's order), a tuple
        `(allowed, forbidden, mandatory, undetermined)` of member names (each in the rulebook's
        order: the members allowed, forbidden, obligatory, and those whose permission or
        obligation is undetermined); None when the date is outside the rulebook's coverage.
        These are exactly the focused `decide`'s conclusions (`Status.permission`, `.obligation`,
        `.undetermined`). Its code is generated once per focus and kept: the facts typed inline,
        the date placed among the rulebook's intervals, the dependency cone of the focus
        evaluated with the parameters as constants. A situation with an unknown fact the cone
        reads, a value not already of its type, a date given as text or a fault of the rulebook
        goes through `decide` itself (same answers, same errors: CpcError E41x, EvaluationError).
        `decide.decision(situation, at, trace=False)` gives the full Decision (grounds, trace).
        `focus` None: every enumeration concluded on; `presumptions` as for `decide`.
        """
        names = self.focus(focus) if focus is not None else tuple(dict.fromkeys(it.enum for it in self.program.items))
        key = (names, presumptions)
        found = self._deciders.get(key)
        if found is not None:
            return found

        def decision(situation: Mapping[str, Any], at: dt.date | str, trace: bool = False) -> Decision:
            return self.decide(situation, at, trace=trace, presumptions=presumptions, focus=names)

        def slow(situation: Mapping[str, Any], at: dt.date | str) -> Any:
            return conclusions(decision(situation, at), names)

        fn = self.program.decider(names, presumptions, slow)
        fn.decision, fn.focus = decision, names
        self._deciders[key] = fn
        return fn

    @functools.cached_property
    def _deciders(self) -> dict[tuple[tuple[str, ...], bool], Any]:
        return {}

    @functools.cached_property
    def _decision_type(self) -> type[Decision]:
        """The Decision class of this rulebook: what every decision of it shares is a class attribute.

        `decide` then sets only what is the decision's own (its date, facts, result, what
        it was given): building a Decision through its constructor, which stores a dozen
        attributes, cost more than the hand-written reference decision (issue 11).
        """
        base = Decision.__new__(Decision)
        program = self.program
        _decision.Decision.__init__(
            base,
            self.checked,
            dt.date.min,
            None,
            None,
            None,
            __version__,
            items=program.items,
            reads=program.reads,
            mode="presumptions",
            index=program.item_index,
            readers=program.readers,
            enum_readers=program.enum_readers,
        )
        shared = {k: v for k, v in vars(base).items() if k not in ("date", "facts", "_result", "_at")}
        return type("Decision", (Decision,), {**shared, "_engine": self, "__module__": __name__, "__qualname__": "Decision", "__doc__": Decision.__doc__})

    def _run(self, facts: list[Any], at: AtDate, trace: bool, focus: tuple[str, ...] | None = None) -> _decision.Result:
        try:
            return self.program.run(facts, at, trace, self.program.focused(focus) if focus is not None else None)
        except EvaluationError as e:
            e.sources = self.sources  # so that the message can quote the rule's line
            raise

    def decide_many(
        self,
        situations: Iterable[Any],
        at: dt.date | str | None = None,
        *,
        focus: Iterable[str] | str | None = None,
        presumptions: bool = True,
        jobs: int = 1,
    ) -> list[Any]:
        """Decide many situations: facts by name with `at`, or (situation, date) pairs when `at` is None.

        Returns, in input order, an `Answer` (the statuses of the `focus`, enumeration names as
        for `decide`; `.decision()` gives the full Decision) or a `Failure` (its diagnostics): an
        error never stops the batch. `presumptions` as for `decide`. `jobs` > 1 uses that many
        processes (0: every core). Each answer equals what `decide` gives (batch.py); raises
        CpcError only for an unknown focus (E421).
        """
        from cpc_rules.batch import decide_many

        return decide_many(self, situations, at, focus=focus, presumptions=presumptions, jobs=jobs)


    def questions(self, situation: Mapping[str, Any], at: dt.date | str, *, focus: Iterable[str] | None = None, skip: Iterable[str] = ()) -> list[Any]:
        """The ranked next questions (interview.Question) for a situation: only facts that can still change a
        focused conclusion, the most decisive first; rare exceptions as one checklist. See src/cpc_rules/interview.py."""
        from cpc_rules.interview import next_questions

        return next_questions(self, situation, at, focus=focus, skip=skip)


def conclusions(d: _decision.Decision, enums: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], ...], ...] | None:
    """A decision's answer as a decider gives it: per enumeration, (allowed, forbidden, mandatory, undetermined) members.

    Read with the compiled enumeration readers (`Decision.permissions`, `.obligations`), which give
    what the members' `Status` says without building it (the decider's general path).
    """
    if d.out_of_period:
        return None
    out = []
    for e in enums:
        permissions, obligations = d.permissions(e) or {}, d.obligations(e) or {}
        out.append(
            (
                tuple(m for m, p in permissions.items() if p == "allowed"),
                tuple(m for m, p in permissions.items() if p == "forbidden"),
                tuple(m for m, o in obligations.items() if o == "mandatory"),
                tuple(m for m, p in permissions.items() if p == "undetermined" or obligations[m] == "undetermined"),
            )
        )
    return tuple(out)


def load_rulebook(path: Path | str, title: str | None = None, tests: bool = True) -> Rulebook:
    """Parse, check and compile the rulebook at `path` (a file or a folder); `tests=False` skips its test files.

    The checked IR is kept in the per-user cache (syntax/cache.py) as validated data,
    bound to every file's text: an unchanged rulebook is neither parsed nor checked
    again (Lark and the checker are not even imported); the Python is always compiled
    again from the IR.
    """
    p = Path(path)
    ast.deep_enough()
    sources, texts = read_files(rulebook_files(p, tests))
    try:
        checked, warnings = _checked(texts, sources, title or _title(p), p if p.is_dir() else None)
    except CpcError as e:
        e.sources = sources  # type: ignore[attr-defined]
        raise
    try:
        return Rulebook(checked, warnings, sources, p)
    except CpcError as e:  # E107: a rule Python cannot compile
        e.sources = sources  # type: ignore[attr-defined]
        raise


def _checked(texts: dict[str, str], sources: Sources, title: str, root: Path | None = None) -> tuple[CheckedRulebook, list[Diagnostic]]:
    """The checked IR and the warnings: shipped with the package or from the cache when it holds them for these texts, else parsed and checked (and cached)."""
    from cpc_rules.check import serial

    def modules() -> list[ast.Module]:
        return parse_texts(texts, sources)

    if root is not None:
        with _gc_paused():
            shipped = _shipped(texts, title, root, modules)
        if shipped is not None:
            return shipped
    name, binding = cache.ir_entry(texts, title, serial.fingerprint)
    with _gc_paused():
        payload = cache.read(name, binding) if name is not None else None
        if payload is not None:
            try:
                return serial.load(payload, texts, modules)
            except (serial.Invalid, TypeError, ValueError, RecursionError):
                pass  # not a valid entry: check again, and overwrite it
    from cpc_rules.check.checker import check

    checked, warnings = check(modules(), texts, title)
    if name is not None:
        try:
            data = serial.dump(checked, warnings)
        except (TypeError, RecursionError):  # pragma: no cover - a value serial does not know
            return checked, warnings
        cache.write(name, binding, data)
    return checked, warnings


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic collection while an entry is decoded: its ~20 000 new containers would trigger several, for no garbage."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _shipped(texts: dict[str, str], title: str, root: Path, modules: Any) -> tuple[CheckedRulebook, list[Diagnostic]] | None:
    """The IR built with the wheel (`write_shipped_ir`), if this installation has one written for these texts; validated as a cache entry is."""
    where = resources.shipped_ir_path()
    if where is None:
        return None
    from cpc_rules.check import serial

    binding = cache.shipped_binding(texts, root, title, serial.fingerprint)
    payload = cache.read_shipped(where, binding) if binding is not None else None
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
        return None
    here = {Path(path).relative_to(root).as_posix(): path for path in texts}
    payload = dict(payload)
    digest = payload.pop("digest", None)
    try:
        payload["files"] = [here[f] for f in payload["files"]]  # the files as they are named here
        checked, warnings = serial.load(payload, texts, modules)
    except (KeyError, serial.Invalid, TypeError, ValueError, RecursionError):
        return None  # not a valid entry: check the texts (and use the user's cache)
    if isinstance(digest, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        object.__setattr__(checked, "digest", digest)  # computed by the build from this very IR (write_shipped_ir): ~20 ms less for a JSON decision
    return checked, warnings


def write_shipped_ir(out: Path | str) -> None:
    """Check the bundled rulebook (without its tests, as `decide` loads it) and write its IR to `out` for the wheel (hatch_build.py).

    Parsed and checked from the texts, whatever the caches hold; the files are named inside
    the rulebook's folder, so that the entry holds wherever the package is installed.
    """
    import json

    from cpc_rules.check import serial
    from cpc_rules.check.checker import check

    root = resources.bundled_rulebook_path()
    ast.deep_enough()
    _, texts = read_files(rulebook_files(root, tests=False))
    modules = [_parse_text(text, path) for path, text in texts.items()]
    title = _title(root)
    checked, warnings = check(modules, texts, title)
    payload = serial.dump(checked, warnings)
    payload["files"] = [Path(f).relative_to(root).as_posix() for f in payload["files"]]
    payload["digest"] = checked.digest  # trusted like the code beside it: an installed load need not hash the IR again
    binding = cache.shipped_binding(texts, root, title, serial.fingerprint)
    Path(out).write_text(json.dumps({"binding": binding, "payload": payload}, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def write_shipped_code(out: Path | str) -> list[int]:
    """Generate every function a process may define for the bundled rulebook and write them into folder `out` for the wheel (hatch_build.py, engine/prebuilt.py).

    Loaded from its texts (the build runs with `CPC_RULES_CACHE=off`). What a load and an
    untraced decision define goes to the first module (`resources.SHIPPED_CODE`), the traced
    functions and the trace builder to the second, read only by a process that traces.
    Returns how many texts each holds.
    """
    from cpc_rules.engine import prebuilt

    texts = prebuilt.record()
    rb = load_rulebook(resources.bundled_rulebook_path(), tests=False)
    compiled = rb.program.compiled
    compiled.run_known  # noqa: B018 - generated on first use: generate it now
    first = list(texts)
    compiled.run_traced, compiled.run_known_traced, rb.trace_plan  # noqa: B018
    seen = set(first)
    rest = [t for t in texts if t not in seen]
    counts = []
    for name, group in zip(resources.SHIPPED_CODE, (first, rest), strict=True):
        (Path(out) / name).write_text(prebuilt.module_text(group), encoding="utf-8")
        counts.append(len(set(group)))
    return counts


def _title(path: Path) -> str:
    return "Code de la commande publique" if path.resolve() == resources.bundled_rulebook_path().resolve() else path.stem


@functools.cache
def default_rulebook(tests: bool = False) -> Rulebook:
    """The bundled CCP rulebook, loaded once per process (without its test files unless asked)."""
    return load_rulebook(resources.bundled_rulebook_path(), tests=tests)
