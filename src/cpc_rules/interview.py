"""The interview: which facts to ask next, and in what order, so that a buyer reaches an answer.

`next_questions` ranks the facts that can still change a focused conclusion (procedures,
then publicity, then obligations and levers). A fact is *relevant* when two of its
admissible values give different focused conclusions, the other facts as they are — or when
every value gives a conclusion that its being unknown leaves open (Kleene logic cannot see
that a value is under the threshold of every nature: only the answer settles it). That is
checked by deciding, not guessed, over the fact's enumeration members, both booleans, and
for amounts the rulebook's thresholds at the date ±0.01 €. Rare exceptions (the facts a
rulebook presumes) are grouped into one checklist question.

Ranking (why): a question is worth what it settles. For each relevant fact we decide once
per admissible value and group the values by the conclusions they give (an outcome class:
"below 40 000 €", "from 40 000 € to 215 999,99 €"…). Its cost is the mean, over its outcome
classes, of the focused conclusions still undetermined after the answer, counted tier by
tier (procedures first, then publicity, then the rest) and compared in that order. Classes
rather than values, because values are ours (threshold points), not the buyer's: each class
is an answer the buyer may give. The lowest cost is asked first; ties go to the fact with
fewer choices, then to the rulebook's order.

The buyer's own fact before the category it implies: a fact the rulebook also derives from
another one (`acheteur`, a category, is derived from `type_acheteur`, « une commune ») is
ranked right after a question on that source, whatever their costs (the source's answer
settles the category; it may cost more only because some of its answers need one more fact,
such as a defence contract for the State); last when the source is given; and on its own
cost when the buyer does not know the source (then the category alone is needed).

This module imports the API and the decision; nothing in the engine imports it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from cpc_rules import ir
from cpc_rules.decision import compute_status
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.record import frozen
from cpc_rules.render.readers import fact_readers as _fact_readers

CENT = Decimal("0.01")
DONT_KNOW = "je ne sais pas"

DEFAULT_TIERS = (("procédure",), ("publicité",))  # then every other enumeration, as one tier


@frozen
class Choice:
    """One accepted answer: what the buyer reads, and the JSON value it stores."""

    label: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "value": self.value}


@frozen
class Question:
    """The next thing to ask: one fact, or a checklist of rare exceptions (`facts` holds them all)."""

    fact: str  # the fact asked (a checklist: its first fact)
    facts: tuple[str, ...]  # every fact this question sets
    kind: str  # bool, enum, amount, percent, int, date, list, checklist
    label: str  # the question, in French
    help: str
    articles: tuple[str, ...]  # the articles this fact matters for, at the date
    choices: tuple[Choice, ...]  # numbered choices (bool, enum, checklist items); empty for typed answers
    accepted: str  # what may be typed, in French
    rare: bool  # a rare exception (presumable): asked in the checklist
    joint_with: tuple[str, ...] = ()  # decisive only together with these facts (no single fact was)
    cost: tuple[float, ...] = ()  # the ranking key: mean undetermined conclusions left, per tier

    def to_json(self) -> dict[str, Any]:
        return {
            "fact": self.fact,
            "facts": list(self.facts),
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "articles": list(self.articles),
            "choices": [c.to_json() for c in self.choices],
            "accepted": self.accepted,
            "rare": self.rare,
            "joint_with": list(self.joint_with),
            "cost": [round(c, 3) for c in self.cost],
        }


# ---------------------------------------------------------------- focus


def focus_tiers(rulebook: Any, focus: Iterable[str] | str | None = None) -> tuple[tuple[str, ...], ...]:
    """The focused enumerations, grouped in tiers of decreasing priority.

    Default: procedures, then publicity, then every other enumeration a rule concludes on.
    A given focus (enumeration names, or one comma-separated text) is checked as `decide`
    checks it (E421) and each name is its own tier, in the order given.
    """
    names = rulebook.focus(focus)
    if names is not None:
        return tuple((n,) for n in names)
    concluded = list(dict.fromkeys(item.enum for item in rulebook.program.items))
    tiers = [t for t in DEFAULT_TIERS if t[0] in concluded]
    rest = tuple(e for e in concluded if all(e not in t for t in tiers))
    return tuple(tiers) + ((rest,) if rest else ())


# ---------------------------------------------------------------- conclusions


def _undetermined(s: Any) -> bool:
    return s.permission == "undetermined" or s.obligation == "undetermined"


class _Oracle:
    """Decides situations for one rulebook, date and focus, strictly (no presumption), quickly.

    A ranking decides hundreds of variants of one situation, so it runs the compiled
    program on a copy of the facts vector with one or two values changed, and computes
    only the focused conclusions (cached by the activations of their rules).
    """

    def __init__(self, rulebook: Any, at: dt.date, tiers: tuple[tuple[str, ...], ...]) -> None:
        self.rulebook = rulebook
        self.program = rulebook.program
        self.at = at
        self.tiers = tiers
        self.tier_of = {e: i for i, t in enumerate(tiers) for e in t}
        self.items = tuple(it for it in self.program.items if it.enum in self.tier_of)
        self.rules = tuple(sorted({r for it in self.items for r in (*it.permits, *it.forbids, *it.obliges, *it.unencoded)}))
        self.at_date = self.program.at(at) if self.program.in_coverage(at) else None
        self.index = {f.name: f.index for f in rulebook.checked.facts}
        self._values: dict[tuple[str, Any], Any] = {}
        self._patterns: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.now: tuple[Any, ...] | None = None  # the activations of the situation asked about (next_questions sets it)

    def decide(self, situation: Mapping[str, Any]) -> Any:
        return self.rulebook.decide(situation, self.at, presumptions=False)

    def vector(self, situation: Mapping[str, Any]) -> list[Any]:
        return self.program.facts_vector(situation)

    def _value(self, name: str, v: Any) -> Any:
        key = (name, _freeze(v))
        got = self._values.get(key, self)
        if got is self:
            got = self.program.facts_vector({name: v})[self.index[name]]
            self._values[key] = got
        return got

    def outcome(self, base: list[Any], changes: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        """The focused conclusions, (enum, member, permission, obligation, not encoded) each, of `base` with `changes`
        (JSON values by fact); None when the rulebook faults on it (E40x: say, a total that contradicts its parts)
        or a value does not fit its fact."""
        if self.at_date is None:
            return ()
        facts = list(base)
        try:
            for name, v in (changes or {}).items():
                facts[self.index[name]] = self._value(name, v)
            a = self.program.run(facts, self.at_date)[0]
        except (EvaluationError, CpcError):  # a fault, or a value the reader refuses: not an answer to try
            return None
        pattern = tuple(a[r] if a[r] is True or a[r] is False else None for r in self.rules)
        got = self._patterns.get(pattern)
        if got is None:
            got = tuple((it.enum, it.member, *_conclusion(it, a)) for it in self.items)
            self._patterns[pattern] = got
        return got

    def activations(self, base: list[Any]) -> tuple[Any, ...] | None:
        """The rules' activations for the answers so far (None out of coverage, or when the rulebook faults on them)."""
        if self.at_date is None:
            return None
        try:
            return tuple(self.program.run(list(base), self.at_date)[0])
        except (EvaluationError, CpcError):
            return None

    def left(self, outcome: tuple[Any, ...]) -> tuple[int, ...]:
        """Undetermined focused conclusions, counted per tier."""
        counts = [0] * len(self.tiers)
        for enum, _, perm, obl, unencoded in outcome:
            if (perm == "undetermined" or obl == "undetermined") and not unencoded:
                counts[self.tier_of[enum]] += 1
        return tuple(counts)


def _conclusion(item: Any, a: tuple[Any, ...]) -> tuple[Any, Any, bool]:
    """Permission, obligation, and whether a `non encodé` rule applies (undetermined for good: no answer settles it)."""
    s = compute_status(item, a, "")
    return s.permission, s.obligation, any(a[r] is True for r in item.unencoded)


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, list | tuple):
        return tuple(_freeze(x) for x in v)
    return v


def undetermined(rulebook: Any, situation: Mapping[str, Any], at: dt.date | str, focus: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """The focused conclusions (enum, member) the situation leaves undetermined, deciding strictly,
    except those a `non encodé` rule declares outside the rulebook (no answer can settle them)."""
    return [(s.enum, s.member) for s, unencoded in _open(rulebook, situation, at, focus) if not unencoded]


def not_encoded(rulebook: Any, situation: Mapping[str, Any], at: dt.date | str, focus: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """The focused conclusions left undetermined because the rulebook declares the situation not encoded."""
    return [(s.enum, s.member) for s, unencoded in _open(rulebook, situation, at, focus) if unencoded]


def _open(rulebook: Any, situation: Mapping[str, Any], at: dt.date | str, focus: Iterable[str] | None) -> list[tuple[Any, bool]]:
    o = _Oracle(rulebook, _date(at), focus_tiers(rulebook, focus))
    d = o.decide(situation)
    a = d.activations
    return [(s, any(a[r] is True for r in s.unencoded)) for s in d.statuses if s.enum in o.tier_of and _undetermined(s)]


# ---------------------------------------------------------------- admissible values


def thresholds(rb: ir.Rulebook, kind: str, at: dt.date) -> list[Any]:
    """The constants of a type the rulebook compares with: literals, and parameter values in force at `at`."""
    found: set[Any] = set()
    for n in rb.nodes:
        if isinstance(n, ir.Const) and n.type.kind == kind and n.value is not None:
            found.add(n.value)
    for p in rb.params:
        if p.type.kind != kind:
            continue
        step = p.step_at(at)
        if step is None:
            continue
        found.update(step.value.values() if isinstance(step.value, dict) else [step.value])
    return sorted(found)


def admissible_values(rb: ir.Rulebook, f: ir.FactInfo, at: dt.date) -> list[Any]:
    """JSON values of a fact to try: every member or boolean; thresholds ±0.01 for amounts (and ±1 day for dates)."""
    t = f.type
    if t.kind == "bool":
        return [True, False]
    if t.kind == "enum":
        return list(rb.enums[t.name].members)  # type: ignore[index]
    if t.kind in ("money", "percent"):
        out = {Decimal(0)}
        for v in thresholds(rb, t.kind, at):
            out.update(x for x in (v - CENT, v, v + CENT) if x >= 0)
        return [str(v) for v in sorted(out)]
    if t.kind == "int":
        out_i = {0}
        for v in thresholds(rb, "int", at):
            out_i.update(x for x in (v - 1, v, v + 1) if x >= 0)
        return sorted(out_i)
    if t.kind == "date":
        out_d = {at}
        for v in thresholds(rb, "date", at):
            out_d.update((v - dt.timedelta(days=1), v, v + dt.timedelta(days=1)))
        return [d.isoformat() for d in sorted(out_d)]
    if t.kind == "list":
        return _list_samples(rb, t.name, at)  # type: ignore[arg-type]
    return []  # pragma: no cover - every fact type is listed above


def _list_samples(rb: ir.Rulebook, record: str, at: dt.date) -> list[Any]:
    """A few lists of records: none, one item, two unequal items (values at thresholds)."""
    rec = rb.records[record]

    def item(rank: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, ftype, _ in rec.fields:
            if ftype.kind == "bool":
                out[name] = rank % 2 == 0
            elif ftype.kind in ("money", "percent"):
                ts = thresholds(rb, ftype.kind, at) or [Decimal(1)]
                out[name] = str(ts[min(rank, len(ts) - 1)] - CENT if rank == 0 else ts[-1])
            elif ftype.kind == "enum":
                out[name] = rb.enums[ftype.name].members[rank % len(rb.enums[ftype.name].members)]  # type: ignore[index]
            elif ftype.kind == "int":
                out[name] = rank
            elif ftype.kind == "date":
                out[name] = at.isoformat()
        return out

    return [[], [item(0)], [item(0), item(1)]]


# ---------------------------------------------------------------- ranking


def _rare(f: ir.FactInfo) -> bool:
    """A rare exception: a fact the rulebook presumes (`présumé …`) when the situation does not give it."""
    return f.presumed is not None


def _articles(rb: ir.Rulebook, program: Any, fact: int, tiers: tuple[tuple[str, ...], ...], at: dt.date, now: tuple[Any, ...] | None = None) -> tuple[str, ...]:
    """Articles in force at `at` whose focused rules read the fact, directly or through definitions, and that the
    answer can still decide. With `now` (the rules' activations for the answers so far), a rule already settled is
    left out — false for this buyer (say, a Livre III route for a commune, set aside by its regime, or a threshold
    the value given is above) or true whatever the answer (Kleene: an unknown fact cannot change a settled rule) —
    and so is a rule whose every conclusion a `non encodé` rule that applies leaves undetermined (the Livre Ier
    formalities of a défense contract): no answer settles those."""
    focused = {e for t in tiers for e in t}
    reads_fact = _fact_readers(rb)
    active = program.at(at).active
    outside = _outside_encoded(program, now) if now is not None else frozenset()
    arts = {
        rb.rules[r].article
        for r in reads_fact.get(fact, ())
        if active[r] and rb.rules[r].enum in focused and (now is None or (now[r] is not True and now[r] is not False and r not in outside))
    }
    return tuple(rb.articles[a].ref for a in sorted(arts))


def _outside_encoded(program: Any, now: tuple[Any, ...]) -> frozenset[int]:
    """The rules every conclusion of which a `non encodé` rule that applies (true in `now`) leaves undetermined."""
    settled: dict[int, bool] = {}
    for it in program.items:
        unencoded = any(now[u] is True for u in it.unencoded)
        for r in (*it.permits, *it.forbids, *it.obliges):
            settled[r] = settled.get(r, True) and unencoded
    return frozenset(r for r, out in settled.items() if out)


def _candidates(rulebook: Any, situation: Mapping[str, Any], skip: set[str], oracle: _Oracle) -> tuple[list[ir.FactInfo], set[frozenset[str]]]:
    """Facts not given nor skipped that an undetermined focused conclusion lacks (Kleene: only they can change it),
    and the sets of facts each such conclusion lacks (two facts can only decide together if they share one)."""
    d = oracle.decide(situation)
    groups: set[frozenset[str]] = set()
    for s in d.statuses:
        if s.enum in oracle.tier_of and _undetermined(s):
            groups.add(frozenset(m.split("[", 1)[0].split(".", 1)[0] for m in s.missing))  # `lots[1].valeur` is `lots`
    names = set().union(*groups) if groups else set()
    return [f for f in rulebook.checked.facts if f.name in names and f.name not in situation and f.name not in skip], groups


def _classes(oracle: _Oracle, base: list[Any], name: str, values: Sequence[Any]) -> dict[tuple[Any, ...], list[Any]]:
    """The values of a fact grouped by the focused conclusions they give (a value the rulebook faults on is left out)."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for v in values:
        o = oracle.outcome(base, {name: v})
        if o is not None:
            out.setdefault(o, []).append(v)
    return out


def _allowed(classes: Mapping[tuple[Any, ...], Sequence[Any]]) -> set[Any]:
    """The values that the answers so far allow: those the rulebook does not fault on (E402: say, « not a maître
    d'ouvrage of Livre IV » for a commune, which the rulebook makes one)."""
    return {_freeze(v) for vs in classes.values() for v in vs}


def _cost(oracle: _Oracle, outcomes: Iterable[tuple[Any, ...]]) -> tuple[float, ...]:
    rows = [oracle.left(o) for o in outcomes]
    return tuple(sum(r[i] for r in rows) / len(rows) for i in range(len(oracle.tiers)))


def next_questions(
    rulebook: Any,
    situation: Mapping[str, Any],
    at: dt.date | str,
    *,
    focus: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> list[Question]:
    """The ranked next questions for a situation: relevant facts only, the most decisive first.

    `skip` lists facts the buyer does not know (never asked again). Decided strictly: a
    presumption would hide exactly the rare exceptions the checklist asks about.
    """
    date = _date(at)
    rb = rulebook.checked
    tiers = focus_tiers(rulebook, focus)
    oracle = _Oracle(rulebook, date, tiers)
    skipped = set(skip)
    base = oracle.vector(situation)  # a situation that does not fit is refused here, located
    oracle.now = oracle.activations(base)  # the rules the answers so far settle: a question does not « compte pour » them
    cands, groups = _candidates(rulebook, situation, skipped, oracle)
    now = oracle.outcome(base)
    singles: list[tuple[ir.FactInfo, dict[tuple[Any, ...], list[Any]]]] = []
    for f in cands:
        classes = _classes(oracle, base, f.name, admissible_values(rb, f, date))
        # relevant: two values conclude differently, or every value settles what the unknown leaves open
        # (Kleene logic cannot see that all the nature's thresholds lie above the value: asking settles it)
        if len(classes) >= 2 or (len(classes) == 1 and now not in classes):
            singles.append((f, classes))
    questions: list[Question] = []
    # a checklist box is ticked or not: only a fact both of whose values the answers so far allow goes in it
    rare_bools = [(f, c) for f, c in singles if _rare(f) and f.type.kind == "bool" and _allowed(c) == {True, False}]
    for f, classes in singles:
        if (f, classes) in rare_bools and len(rare_bools) > 1:
            continue
        fits = _allowed(classes)  # a member the answers so far contradict (E402) is not offered
        questions.append(_question(rulebook, f, date, tiers, _cost(oracle, classes), rare=_rare(f), fits=fits, now=oracle.now))
    if len(rare_bools) > 1:
        questions.append(_checklist(rulebook, base, rare_bools, date, tiers, oracle))
    inert = [f for f in cands if all(f is not g for g, _ in singles)]
    if inert:
        # a fact that selects a parameter (the nature, the buyer) may decide only with another one
        # (nature and value against a threshold): pair those first, and every inert fact if nothing else is left
        # and the buyer's own fact behind a category asked (`type_acheteur` decides with `marché_de_défense…`)
        keys = _param_keys(rb)
        asked = {q.fact for q in questions}
        own_facts = {s for a, srcs in _declared_sources(rb).items() if a in asked for s in srcs}
        firsts = inert if not questions else [f for f in inert if f.index in keys or f.name in own_facts]
        questions += _joint_questions(rulebook, base, now, firsts, inert, groups, date, tiers, oracle)
    order = {f.name: f.index for f in rb.facts}
    own = {q.fact: (q.cost, len(q.choices) or 99, order[q.fact]) for q in questions}
    sources = _declared_sources(rb)

    # who buys comes first while nothing about the buyer is known: the buyer's own fact (`type_acheteur`, the source
    # of the category) is one of the four facts a buyer states (who, what, how much, when), asked before the others
    own_sources = {s for srcs in sources.values() for s in srcs}
    buyer_known = any(situation.get(f) is not None for f in (*own_sources, *sources))

    def key(q: Question) -> tuple[Any, ...]:
        # the buyer's own fact first: a fact the rulebook derives from another (`acheteur` from `type_acheteur`)
        # comes right after a question on its source; last when the source is given (it rarely remains open);
        # on its own merits when the source is unknown to the buyer (then the category alone is needed)
        if q.fact in own_sources and not buyer_known:
            return (-1, own[q.fact], 0, own[q.fact])
        src = sources.get(q.fact, ())
        if any(situation.get(s) is not None for s in src):
            return (1, own[q.fact], 0, own[q.fact])
        asked = [own[s] for s in src if s in own]
        if asked:
            return (-1 if not buyer_known else 0, min(asked), 1, own[q.fact])
        return (0, own[q.fact], 0, own[q.fact])

    questions.sort(key=key)
    return questions


_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {}


def _declared_sources(rb: ir.Rulebook) -> dict[str, tuple[str, ...]]:
    """Facts a buyer may declare but the rulebook also derives: fact -> the facts it is derived from.

    A definition copied from a fact without condition (`définit catégorie = acheteur`) and defined
    by other rules too is a *declared* fact; its source is an enumeration fact that every other
    rule of that definition tests and whose every member some rule tests (`type_acheteur`: each
    answer derives the category, with at most one more fact). The buyer knows the source
    (« une commune »), not always the category it implies, so the interview asks the source first.
    A partial derivation (`services_sociaux_spécifiques`, derived only for mixed services) is no source.
    """
    got = _SOURCES.get(rb.digest)
    if got is not None:
        return got
    facts = {f.index: f for f in rb.facts}
    by_def: dict[int, list[ir.RuleInfo]] = {}
    for r in rb.rules:
        if r.define is not None:
            by_def.setdefault(r.define, []).append(r)
    out: dict[str, tuple[str, ...]] = {}
    for rules in by_def.values():
        declared = [r for r in rules if r.condition is None and isinstance(r.value, ir.FactRef)]
        others = [r for r in rules if r not in declared]
        if not declared or not others:
            continue
        tested: list[dict[int, set[str]]] = [_members_tested(r.condition) for r in others]
        common = set(tested[0]).intersection(*tested[1:])
        for i in sorted(common):
            f = facts[i]
            if f.type.kind != "enum" or set(rb.enums[f.type.name].members) - set().union(*(t[i] for t in tested)):  # type: ignore[index]
                continue
            for r in declared:
                name = facts[r.value.index].name  # type: ignore[union-attr]
                if name != f.name:
                    out[name] = (*out.get(name, ()), f.name)
    _SOURCES[rb.digest] = out
    return out


def _members_tested(e: ir.Expr | None) -> dict[int, set[str]]:
    """Enumeration facts a condition tests, with the members it names (`f dans {a, b}`, `f = a`)."""
    out: dict[int, set[str]] = {}
    for n in ir.walk(e) if e is not None else ():
        if isinstance(n, ir.Member) and isinstance(n.operand, ir.FactRef):
            out.setdefault(n.operand.index, set()).update(n.values)
        elif isinstance(n, ir.Compare) and n.op == "=" and isinstance(n.left, ir.FactRef) and isinstance(n.right, ir.Const):
            out.setdefault(n.left.index, set()).add(str(n.right.value))
    return out


def _checklist(rulebook: Any, base: list[Any], rare: list[Any], date: dt.date, tiers: Any, oracle: _Oracle) -> Question:
    """One question for the rare exceptions: the usual answer (none applies) and each one applying alone."""
    rb = rulebook.checked
    none = {f.name: False for f, _ in rare}
    outcomes = {oracle.outcome(base, none)}
    for f, _ in rare:
        outcomes.add(oracle.outcome(base, {**none, f.name: True}))
    outcomes.discard(None)
    facts = tuple(f.name for f, _ in rare)
    arts = tuple(dict.fromkeys(a for f, _ in rare for a in _articles(rb, rulebook.program, f.index, tiers, date, oracle.now)))
    return Question(
        fact=facts[0],
        facts=facts,
        kind="checklist",
        label="Une de ces circonstances particulières s'applique-t-elle à votre achat ?",
        help="Ce sont des exceptions rares ; dans le cas ordinaire, aucune ne s'applique. Cochez seulement celles que vous pouvez établir.",
        articles=arts,
        choices=tuple(Choice(_label(f), f.name) for f, _ in rare),
        accepted="les numéros qui s'appliquent, séparés par des espaces (ex. « 1 3 ») ; « aucune » si aucune ne s'applique",
        rare=True,
        cost=_cost(oracle, outcomes),
    )


def _param_keys(rb: ir.Rulebook) -> set[int]:
    """Facts that select a parameter's value (`seuil[acheteur, nature]`)."""
    out: set[int] = set()
    for n in rb.nodes:
        if isinstance(n, ir.ParamRef):
            out.update(a.index for a in n.args if isinstance(a, ir.FactRef))
    return out


def _joint_questions(
    rulebook: Any,
    base: list[Any],
    now: tuple[Any, ...] | None,
    firsts: list[ir.FactInfo],
    cands: list[ir.FactInfo],
    groups: set[frozenset[str]],
    date: dt.date,
    tiers: Any,
    oracle: _Oracle,
) -> list[Question]:
    """Facts that change no conclusion alone (say the threshold depends on the nature, not yet known, and the
    value) but do together with another: found by brute force over pairs, asked with `joint_with`.

    One partner is enough as a witness: a pair of values concluding otherwise than the situation as it is,
    or than another pair. The facts lacked by most undetermined conclusions are tried first, with partners
    of few values first (an enumeration before an amount); each pair stops at its first difference, and the
    search stops after `JOINT_BUDGET` runs: pairs of amounts alone would cost thousands of runs for nothing.
    """
    rb = rulebook.checked
    values = {f.name: admissible_values(rb, f, date) for f in cands}
    by_size = sorted(cands, key=lambda f: (len(values[f.name]), f.index))
    out: list[Question] = []
    budget = JOINT_BUDGET
    # the fact most undetermined conclusions lack first (the value before a rare framework-agreement case)
    for f in sorted(firsts, key=lambda f: (-sum(f.name in grp for grp in groups), len(values[f.name]), f.index)):
        for g in by_size:
            if g is f or not any(f.name in grp and g.name in grp for grp in groups):
                continue
            seen: set[tuple[Any, ...] | None] = {now}
            for vf in values[f.name]:
                for vg in values[g.name]:
                    budget -= 1
                    o = oracle.outcome(base, {f.name: vf, g.name: vg})
                    if o is not None:
                        seen.add(o)
                    if len(seen) >= 2 or budget <= 0:
                        break
                if len(seen) >= 2 or budget <= 0:
                    break
            if len(seen) >= 2:
                # the cost over f's values, g taking each of its values: as many classes as the pair gives, within reason
                step = max(1, len(values[g.name]) // 8)
                outcomes = {o for o in seen if o is not None and o != now}
                outcomes |= {o for vf in values[f.name] for vg in values[g.name][::step] if (o := oracle.outcome(base, {f.name: vf, g.name: vg})) is not None}
                fits = _allowed(_classes(oracle, base, f.name, values[f.name])) if f.type.kind in ("bool", "enum") else None
                out.append(_question(rulebook, f, date, tiers, _cost(oracle, outcomes), rare=_rare(f), joint_with=(g.name,), fits=fits, now=oracle.now))
                break
            if budget <= 0:
                return out
    return out


JOINT_BUDGET = 3000


def _label(f: ir.FactInfo) -> str:
    return f.label or f.name.replace("_", " ")


def _question(
    rulebook: Any, f: ir.FactInfo, date: dt.date, tiers: Any, cost: tuple[float, ...], rare: bool, joint_with: tuple[str, ...] = (), fits: set[Any] | None = None, now: tuple[Any, ...] | None = None
) -> Question:
    """The question on one fact; `fits`: the members the answers so far allow (say, a commune when the category given
    is « autre pouvoir adjudicateur »), the others not offered; `now`: the activations for the answers so far (the
    articles cited are those of rules the answer can still decide)."""
    rb = rulebook.checked
    arts = _articles(rb, rulebook.program, f.index, tiers, date, now)
    t = f.type
    choices: tuple[Choice, ...] = ()
    if t.kind == "bool":
        kind, accepted = "bool", "le numéro d'un choix, ou oui / non"
        choices = tuple(c for c in (Choice("Oui", True), Choice("Non", False)) if fits is None or c.value in fits)
    elif t.kind == "enum":
        e = rb.enums[t.name]  # type: ignore[index]
        kind = "enum"
        choices = tuple(Choice(e.labels.get(m) or m, m) for m in e.members if fits is None or m in fits)
        accepted = "le numéro d'un choix"
    elif t.kind == "money":
        kind, accepted = "amount", "un montant en euros HT, écrit comme vous l'écrivez : « 1 850 000 », « 39 999,99 € »"
    elif t.kind == "percent":
        kind, accepted = "percent", "un pourcentage : « 50 », « 12,5 % »"
    elif t.kind == "int":
        kind, accepted = "int", "un nombre entier"
    elif t.kind == "date":
        kind, accepted = "date", "une date AAAA-MM-JJ"
    else:
        rec = rb.records[t.name]  # type: ignore[index]
        kind = "list"
        fields = " / ".join(f"{lbl or n}" for n, _, lbl in rec.fields)
        accepted = f"« aucun » ; ou un élément par « ; », ses champs séparés par « / » dans l'ordre : {fields} (ex. « 30 000 / oui ; 250 000 / non »)"
    help_text = f"Compte pour : {', '.join(arts)}." if arts else "Compte pour une conclusion encore indéterminée."
    why = f.presumed.reason if f.presumed is not None else None
    if why:
        help_text += f" Présumé sinon : {why}."
    if joint_with:
        partner = next(x for x in rb.facts if x.name == joint_with[0])
        help_text += f" Décisif avec : {_label(partner)}."
    return Question(f.name, (f.name,), kind, _label(f), help_text, arts, choices, accepted, rare, joint_with, cost)


# ---------------------------------------------------------------- reading answers


class BadAnswer(ValueError):
    """An answer that does not fit the question; the message says what is expected."""


def parse_answer(rulebook: Any, q: Question, text: str) -> dict[str, Any] | None:
    """The facts an answer sets (JSON values, as a situation file holds them), or None for « je ne sais pas ».

    Typed values go through the situation reader (`Program.facts_vector`), so an amount is read
    exactly as in a situation file. Raises BadAnswer.
    """
    raw = text.strip()
    low = raw.lower()
    if low in ("?", DONT_KNOW, "nsp", "inconnu"):
        return None
    if q.kind == "checklist":
        return _parse_checklist(q, low)
    if q.choices:
        if low.isdigit():
            n = int(low)
            if n == len(q.choices) + 1:
                return None  # the last number is « je ne sais pas »
            if 1 <= n <= len(q.choices):
                return {q.fact: q.choices[n - 1].value}
            raise BadAnswer(f"choisissez un numéro de 1 à {len(q.choices) + 1}")
        for c in q.choices:
            if low in (str(c.value).lower(), c.label.lower()):
                return {q.fact: c.value}
        if q.kind == "bool" and low in ("o", "n", "vrai", "faux"):
            return {q.fact: low in ("o", "vrai")}
        raise BadAnswer(f"choisissez un numéro de 1 à {len(q.choices) + 1}")
    value: Any = raw
    if q.kind == "list":
        value = _parse_list(rulebook, q, raw)
    _check(rulebook, q.fact, value)
    if q.kind in ("amount", "percent"):
        value = _plain_number(rulebook, q.fact, value)
    return {q.fact: value}


def _parse_checklist(q: Question, low: str) -> dict[str, Any]:
    if low in ("aucune", "aucun", "0", "non"):
        return {f: False for f in q.facts}
    picked: set[int] = set()
    for tok in low.replace(",", " ").split():
        if not tok.isdigit() or not 1 <= int(tok) <= len(q.facts):
            raise BadAnswer(f"tapez les numéros qui s'appliquent (1 à {len(q.facts)}), « aucune » ou « ? »")
        picked.add(int(tok) - 1)
    if not picked:
        raise BadAnswer(f"tapez les numéros qui s'appliquent (1 à {len(q.facts)}), « aucune » ou « ? »")
    return {f: i in picked for i, f in enumerate(q.facts)}


def _parse_list(rulebook: Any, q: Question, raw: str) -> list[dict[str, Any]]:
    if raw.lower() in ("aucun", "aucune", "0", "[]"):
        return []
    f = next(x for x in rulebook.checked.facts if x.name == q.fact)
    rec = rulebook.checked.records[f.type.name]
    out = []
    for i, part in enumerate(p for p in raw.split(";") if p.strip()):
        fields = [x.strip() for x in part.split("/")]
        if len(fields) != len(rec.fields):
            raise BadAnswer(f"élément {i + 1} : {len(rec.fields)} champ(s) attendu(s), séparés par « / »")
        out.append({name: v for (name, _, _), v in zip(rec.fields, fields, strict=True)})
    return out


def _check(rulebook: Any, fact: str, value: Any) -> None:
    try:
        rulebook.program.facts_vector({fact: value})
    except CpcError as e:
        msg = e.diagnostics[0].message
        raise BadAnswer(msg.split(" : ", 1)[-1] if ") : " in msg else msg) from None


def _plain_number(rulebook: Any, fact: str, value: Any) -> str:
    """The amount as a situation file writes it ("1850000", "39999.99"): exact, unambiguous."""
    from cpc_rules.values import _plain

    v = rulebook.program.facts_vector({fact: value})[next(f.index for f in rulebook.checked.facts if f.name == fact)]
    return _plain(v)


# ---------------------------------------------------------------- the interview state


class Interview:
    """A running interview: the situation so far, the facts the buyer does not know, and the way back."""

    def __init__(self, rulebook: Any, situation: Mapping[str, Any], at: dt.date | str, focus: Iterable[str] | str | None = None) -> None:
        self.rulebook = rulebook
        self.at = _date(at)
        self.focus = rulebook.focus(focus)  # a bad focus is refused (E421) before the first question
        self.situation: dict[str, Any] = dict(situation)
        self.unknown: set[str] = {k for k, v in situation.items() if v is None}
        for k in self.unknown:
            del self.situation[k]
        self.history: list[tuple[Question, dict[str, Any] | None]] = []

    def questions(self) -> list[Question]:
        return next_questions(self.rulebook, self.situation, self.at, focus=self.focus, skip=self.unknown)

    def next(self) -> Question | None:
        qs = self.questions()
        return qs[0] if qs else None

    def answer(self, q: Question, facts: dict[str, Any] | None) -> None:
        """Record an answer (None: « je ne sais pas », the facts stay unknown and are not asked again).

        Raises BadAnswer when the rulebook faults on the situation it makes (E40x)."""
        if facts is None:
            self.unknown.update(q.facts)
        else:
            try:
                self.rulebook.program.run(self.rulebook.program.facts_vector({**self.situation, **facts}), self.rulebook.program.at(self.at))
            except EvaluationError as e:  # say, lots whose total contradicts the estimated value given
                raise BadAnswer(f"incompatible avec vos réponses : {e.diagnostic.message}") from None
            self.situation.update(facts)
        self.history.append((q, facts))

    def back(self) -> Question | None:
        """Undo the last answer; returns the question it answered (to ask it again), or None at the start."""
        if not self.history:
            return None
        q, _ = self.history.pop()
        for f in q.facts:
            self.situation.pop(f, None)
            self.unknown.discard(f)
        return q

    def situation_json(self) -> dict[str, Any]:
        """The situation file `decide` replays: facts answered, and null for each fact the buyer does not know."""
        facts: dict[str, Any] = dict(self.situation)
        facts.update({f: None for f in sorted(self.unknown) if f not in facts})
        return {"date": self.at.isoformat(), "faits": facts}


def _date(at: dt.date | str) -> dt.date:
    from cpc_rules.situation import parse_date

    return at.date() if isinstance(at, dt.datetime) else parse_date(at)
