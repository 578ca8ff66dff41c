"""A verdict for every record: what the rulebook says of the declared procedure, and what was owed.

The engine is asked three questions per contract: is the declared procedure allowed (facts from
the data, plus the exceptions the data cannot carry presumed absent, each listed)? Which procedures
were allowed, whatever was declared? Which publicity did the least demanding of them owe?
A flag that the presumptions alone produce is "à justifier", with the articles that would have made
it lawful; one that stands without them is "non autorisé".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Self

from cpc_rules.audit.mapping import Contract
from cpc_rules.diagnostics import CpcError
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.render.readers import presumption_articles

# Verdict codes (JSON) and their French labels (text, HTML). Every record gets exactly one.
VERDICTS = {
    "conforme": "conforme",
    "a_justifier": "à justifier",
    "non_autorise": "non autorisé",
    "indetermine": "indéterminé (faits manquants)",
    "hors_couverture": "hors couverture",
    "illisible": "illisible",
    "doublon": "doublon (version republiée ou copie)",
}

# Facts the DECP never carry (urgency, an unsuccessful earlier procedure, a single operator, the cases
# of R2124-3, a lot examined alone, an innovative purchase…) take the value the rulebook presumes
# (`présumé faux "…"`); each verdict lists those its conclusion rests on, with the rulebook's reason.

# The launch of the consultation (the date the law is read at) is not published: it is presumed
# within this many days before the notification; if the law changes in between, the verdict must
# not depend on it.
LAUNCH_WINDOW_DAYS = 183
PROCEDURE_ORDER = ("sans_publicité_ni_mise_en_concurrence", "procédure_adaptée", "appel_d_offres", "procédure_avec_négociation", "dialogue_compétitif")


def facts_of(c: Contract) -> tuple[dict[str, Any], list[tuple[str, Any, str, str]]]:
    """(facts read from the data, facts the audit itself presumes: none since the rulebook declares its presumptions).

    The second part is kept as the place where a presumption specific to published data would go.
    """
    f: dict[str, Any] = {}
    presumed: list[tuple[str, Any, str, str]] = []
    if c.buyer.category:
        f["acheteur"] = c.buyer.category
    if c.buyer.public_body is not None:
        f["acheteur_état_ou_collectivité"] = c.buyer.public_body
    if c.nature:
        f["nature"] = c.nature
    if c.sss is not None:
        f["services_sociaux_spécifiques"] = c.sss
    if c.amount is not None:
        f["accord_cadre_sans_maximum"] = False  # the DECP amount of a framework agreement is its maximum
        if c.lot is not None:
            f["examen_d_un_lot"] = True
            f["valeur_lot"] = c.amount
            total = c.group_total if c.group_size > 1 and c.group_total is not None else c.amount
            f["valeur_estimée_besoin"] = max(total, c.amount)
        else:
            f["valeur_estimée_besoin"] = c.amount  # a Decimal, as the columnar batch path takes it
    if c.date is not None:
        f["date_conclusion"] = c.date  # concluded at the latest on notification
    if c.innovative is not None:
        f["achat_innovant"] = c.innovative
    return f, presumed


def _articles(rb: Any, rules: Iterable[int]) -> list[str]:
    ck = rb.checked
    return list(dict.fromkeys(ck.articles[ck.rules[r].article].ref for r in rules))


def _presumptions(d: Any, st: Any) -> list[dict[str, Any]]:
    """The rulebook's presumptions a conclusion rests on, with their reason and the articles the renderers cite them
    with (render.readers.presumption_articles: those of the buyer's regime, e.g. Livre III for a défense buyer)."""
    used = set(d.presumed_for(st))
    full = _full(d)
    refs = presumption_articles(full)
    return [
        {"fait": p.fact, "valeur": p.value, "motif": str(p.reason), "articles": [str(a) for a in refs.get(p.fact, p.articles)]}
        for p in full.applied
        if p.fact in used
    ]


def _rule_ref(rb: Any, r: int) -> dict[str, str]:
    ck = rb.checked
    rule = ck.rules[r]
    return {"article": ck.articles[rule.article].ref, "règle": str(rule.label or rule.name)}


def _alternatives(refs: list[str]) -> str:
    return refs[0] if len(refs) == 1 else ", ".join(refs[:-1]) + " ou " + refs[-1]


FOCUS = ("procédure", "publicité")

# ---------------------------------------------------------------- asking the engine
# The verdict of a record is written as a generator: each question to the engine is a
# `yield (situation, date, presumptions)` that receives the answer. Driven by `answer_batch`,
# the questions of thousands of records are put together to `Rulebook.decide_many` (the
# columnar batch path); driven by `answer_one`, each is put to `Rulebook.decide`, one at a time
# (the reference the batch path is tested against). Both answers read alike: `status(enum, member)`
# (the same decision.Status), `statuses`, `activation(rule)`, `presumed_for(status)`; a failure is
# a CpcError (Decision) or a batch.Failure.
Ask = tuple[dict[str, Any], dt.date, bool]


def answer_one(rb: Any, asks: list[Ask]) -> list[Any]:
    """One Rulebook.decide per question; an error object instead of raising."""
    out: list[Any] = []
    for s, d, presume in asks:
        try:
            out.append(rb.decide(s, d, presumptions=presume, focus=FOCUS))
        except CpcError as e:
            out.append(e)
        except EvaluationError as e:  # a rulebook fault (a conflict…) on this situation: reported, not raised
            out.append(CpcError([e.diagnostic]))
    return out


def answer_batch(rb: Any, asks: list[Ask]) -> list[Any]:
    """The questions through Rulebook.decide_many (columnar), one call per presumption mode."""
    out: list[Any] = [None] * len(asks)
    for presume in (True, False):
        idx = [i for i, a in enumerate(asks) if a[2] is presume]
        if idx:
            for i, ans in zip(idx, rb.decide_many([(asks[i][0], asks[i][1]) for i in idx], focus=FOCUS, presumptions=presume), strict=True):
                out[i] = ans
    return out


def decide_many(rb: Any, situations: list[Mapping[str, Any]], at: list[dt.date], presumptions: bool = True) -> list[Any]:
    """One decision per situation, one at a time, an error object instead of raising (kept for callers and tests)."""
    return answer_one(rb, [(dict(s), d, presumptions) for s, d in zip(situations, at, strict=True)])


def _failed(d: Any) -> bool:
    return isinstance(d, Exception) or getattr(d, "ok", True) is False


def _full(d: Any) -> Any:
    """The full Decision behind an answer (a batch Answer recomputes it once)."""
    return d.decision() if hasattr(d, "decision") else d


def _fired(d: Any, r: int) -> bool:
    """Whether rule `r` (of the focus) certainly applies."""
    return (d.activation(r) is True) if hasattr(d, "activation") else (d.activations[r] is True)


def _status(decision: Any, enum: str, member: str, missing: bool = True) -> Any:
    """decision.status; `missing=False`: its missing facts may be left out (a batch answer then recomputes nothing)."""
    if _failed(decision):
        return None
    if not missing and hasattr(decision, "statuses_of"):
        return decision.status(enum, member, missing=False)
    return decision.status(enum, member)


def _permission(d: Any, enum: str, member: str) -> str | None:
    if hasattr(d, "permission"):  # a batch Answer reads its codes
        return d.permission(enum, member)  # type: ignore[no-any-return]
    s = d.status(enum, member)
    return s.permission if s else None


def _statuses(d: Any, enum: str) -> Any:
    """The statuses of one enumeration, their missing facts left out where a batch answer would recompute them."""
    if hasattr(d, "statuses_of"):
        return d.statuses_of(enum, missing=False)
    return [s for s in d.statuses if s.enum == enum]


def _messages(e: Any) -> str:
    return "; ".join(d.message for d in e.diagnostics)


def _classify(rb: Any, facts: dict[str, Any], presumed: dict[str, Any], proc: str, at: dt.date) -> Any:
    """The verdict on the declared procedure at one date (a generator: see Ask)."""
    with_p = yield ({**facts, **presumed, "procédure_retenue": proc}, at, True)
    if _failed(with_p):
        return {"verdict": "indetermine", "motif": "situation refusée par le moteur : " + _messages(with_p)}
    st = _status(with_p, "procédure", proc, missing=False)  # its missing facts only if it stays undetermined
    label = st.label if st else proc
    if st is None or st.permission == "allowed" or st.permission is None:
        grounds = _articles(rb, st.grounds) if st else []
        return {"verdict": "conforme", "motif": f"{label} : autorisée" + (f" ({', '.join(grounds)})" if grounds else ""), "decision": with_p}
    outside = [r for r in getattr(st, "unencoded", ()) if _fired(with_p, r)]
    if outside:  # the rulebook says it does not encode this situation
        reasons = "; ".join(dict.fromkeys(str(rb.checked.rules[r].text or rb.checked.rules[r].label) for r in outside))
        return {"verdict": "hors_couverture", "motif": f"{label} : non encodé — {reasons}", "decision": with_p}
    if st.permission == "undetermined":
        return {"verdict": "indetermine", "motif": f"{label} : indéterminée", "faits_manquants": sorted(_status(with_p, "procédure", proc).missing), "decision": with_p}
    raw = yield ({**facts, "procédure_retenue": proc}, at, False)  # strict: only for a flag
    st_raw = _status(raw, "procédure", proc)
    refused = _articles(rb, st.refused)
    if st_raw is not None and st_raw.permission == "undetermined":
        names = {p.fact for p in _full(with_p).applied}
        raw_acts = _full(raw).activations
        opening = [r for r in st_raw.pending if names & set(getattr(raw_acts[r], "missing", ()))] if raw_acts else []
        refs = _articles(rb, opening or st_raw.pending)
        return {
            "verdict": "a_justifier",
            "motif": f"{label} : non autorisée sans une exception que les données ne montrent pas",
            "à_justifier": f"à justifier : {_alternatives(refs)}" if refs else "à justifier",
            "justifications": [_rule_ref(rb, r) for r in (opening or st_raw.pending)],
            "conditions_non_remplies": refused,
            "présomptions": _presumptions(with_p, st),
            "decision": with_p,
        }
    return {
        "verdict": "non_autorise",
        "motif": f"{label} : "
        + ("interdite" if st.permission == "forbidden" else "non autorisée")
        + (f" (conditions non remplies : {', '.join(refused)})" if refused else ""),
        "conditions_non_remplies": refused,
        "decision": with_p,
    }


# A buyer whose category the data do not give is decided as each of these: a verdict that holds for
# all of them holds for the buyer (for works, say, the thresholds do not depend on the category).
CATEGORY_CANDIDATES = ("autorité_centrale", "autre_pouvoir_adjudicateur", "entité_adjudicatrice")


def _over_categories(fn: Any, rb: Any, facts: dict[str, Any], *args: Any) -> Any:
    """(result, category_was_unknown): the common result over the candidate categories, or None if they differ."""
    if "acheteur" in facts:
        return (yield from fn(rb, facts, *args)), False
    results = []
    for cat in CATEGORY_CANDIDATES:
        results.append((yield from fn(rb, {**facts, "acheteur": cat}, *args)))
    keys = [_key(r) for r in results]
    return (results[0] if all(k == keys[0] for k in keys) else None), True


def _key(r: dict[str, Any]) -> Any:
    return (r.get("verdict"), r.get("à_justifier"), repr(r.get("procédures_autorisées")), repr(r.get("publicité_minimale")))


def _classify_any(rb: Any, facts: dict[str, Any], presumed: dict[str, Any], proc: str, at: dt.date) -> Any:
    result, unknown = yield from _over_categories(_classify, rb, facts, presumed, proc, at)
    if result is None:
        return {"verdict": "indetermine", "motif": "le verdict dépend de la catégorie de l'acheteur, inconnue", "faits_manquants": ["acheteur"]}
    if unknown:
        result["note_catégorie"] = "catégorie de l'acheteur inconnue : même verdict pour toute catégorie d'acheteur (défense exceptée)"
    return result


def _owed(rb: Any, facts: dict[str, Any], presumed: dict[str, Any], at: dt.date) -> Any:
    result, unknown = yield from _over_categories(_owed_one, rb, facts, presumed, at)
    if result is None:
        return {"procédures_autorisées": [], "procédures_indéterminées": list(PROCEDURE_ORDER), "motif": "dépend de la catégorie de l'acheteur, inconnue"}
    if unknown:
        result["note"] = "catégorie de l'acheteur inconnue : même réponse pour toute catégorie d'acheteur"
    return result


def _owed_one(rb: Any, facts: dict[str, Any], presumed: dict[str, Any], at: dt.date) -> Any:
    """What the value and date required, whatever was declared: allowed procedures, publicity owed at least."""
    d = yield ({**facts, **presumed}, at, True)
    if _failed(d):
        return {}
    allowed = [m for m in PROCEDURE_ORDER if _permission(d, "procédure", m) == "allowed"]
    open_ = [m for m in PROCEDURE_ORDER if _permission(d, "procédure", m) == "undetermined"]
    out: dict[str, Any] = {"procédures_autorisées": allowed, "procédures_indéterminées": open_}
    if allowed:
        least = allowed[0]
        dl = yield ({**facts, **presumed, "procédure_retenue": least}, at, True)
        if not _failed(dl):
            out["publicité_minimale"] = {"procédure": least, **_publicity(rb, dl)}
    return out


def _publicity(rb: Any, d: Any) -> dict[str, Any]:
    mandatory, open_ = [], []
    grounds: list[int] = []
    for s in _statuses(d, "publicité"):  # grounds and obligations only: the missing facts are not read
        if s.obligation == "mandatory":
            mandatory.append(s.member)
            grounds += s.grounds
        elif s.obligation == "undetermined":
            open_.append(s.member)
    return {"obligatoire": mandatory, "indéterminée": open_, "fondement": _articles(rb, grounds)}


def verdict(rb: Any, c: Contract) -> dict[str, Any]:
    """The verdict of one mapped record that is not a duplicate, asking the engine one question at a time."""
    return drive(rb, [verdict_steps(rb, c)], answer_one)[0]


def verdict_steps(rb: Any, c: Contract) -> Any:
    """The verdict of one mapped record that is not a duplicate, as a generator of questions (see Ask)."""
    out = _base(c)
    cov = rb.checked.coverage
    start, end = (cov.start, cov.end) if cov is not None else (None, None)
    if c.kind == "concession":
        return _set(out, "hors_couverture", "contrat de concession : troisième partie du code, non encodée")
    if c.kind == "partenariat":
        return _set(out, "hors_couverture", "marché de partenariat : règles propres (L2211-1 et suivants), non encodées")
    if c.kind == "subséquent":
        return _set(out, "hors_couverture", "marché subséquent : attribué selon les règles de l'accord-cadre, non encodées")
    if c.date is None:
        if c.published is not None and start is not None and c.published < start:
            return _set(
                out, "hors_couverture", f"{c.date_issue} ; données publiées le {c.published.isoformat()}, avant le début de la couverture ({start.isoformat()})"
            )
        return _set(out, "indetermine", f"{c.date_issue} : la loi applicable ne peut être datée", missing=["date"])
    if (start and c.date < start) or (end and c.date >= end):
        return _set(out, "hors_couverture", f"notifié le {c.date.isoformat()} : hors de la couverture du recueil ({start} → {end} exclu)")
    if c.amount is None:
        return _set(out, "indetermine", f"{c.amount_issue} : non décidé", missing=["valeur_estimée_besoin"])
    facts, presumed_list = facts_of(c)
    presumed = {name: value for name, value, _, _ in presumed_list}
    at = c.date
    launch = max(c.date - dt.timedelta(days=LAUNCH_WINDOW_DAYS), start) if start else c.date - dt.timedelta(days=LAUNCH_WINDOW_DAYS)
    if start and c.date - dt.timedelta(days=LAUNCH_WINDOW_DAYS) < start:
        out["notes"].append(
            f"consultation peut-être lancée avant le {start.isoformat()} (ancien décret n° 2016-360, réputé à droit constant, à confirmer) : droit du {start.isoformat()} appliqué au plus tôt"
        )
    out["dû"] = yield from _owed(rb, facts, presumed, at)
    if c.procedure is None:
        return _set(out, "indetermine", f"{c.procedure_issue} : la procédure suivie ne peut être comparée à ce qui était dû", missing=["procédure_retenue"])
    res = yield from _classify_any(rb, facts, presumed, c.procedure, at)
    if _law_changes(rb, launch, at):
        early = yield from _classify_any(rb, facts, presumed, c.procedure, launch)
        if early["verdict"] != res["verdict"]:
            return _set(
                out,
                "indetermine",
                f"date de lancement inconnue : le droit change entre le {launch.isoformat()} et la notification du {at.isoformat()} "
                f"({VERDICTS[early['verdict']]} au {launch.isoformat()}, {VERDICTS[res['verdict']]} au {at.isoformat()})",
                missing=["date de lancement de la consultation"],
            )
    decision = res.pop("decision", None)
    if decision is not None and not _failed(decision):
        out["déclaré"]["publicité_due"] = _publicity(rb, decision)
    nc = res.pop("note_catégorie", None)
    if nc:
        out["notes"].append(nc)
    if c.procedure == "procédure_avec_négociation" and res["verdict"] == "a_justifier" and "procédure_adaptée" in out["dû"].get("procédures_autorisées", []):
        # the DECP label "Procédure avec négociation" also covers a negotiated MAPA: say both readings
        res["à_justifier"] += " ; ou une procédure adaptée avec négociation (R2123-1), que le libellé DECP « Procédure avec négociation » ne distingue pas"
    verdict_code = res.pop("verdict")
    motif = res.pop("motif")
    missing = res.pop("faits_manquants", None)
    out.update(res)
    return _set(out, verdict_code, motif, missing=missing)


def _internal_error(c: Contract, e: Exception) -> dict[str, Any]:
    out = _base(c)
    out["problèmes"].append(f"erreur interne de l'audit ({type(e).__name__} : {e}) : à signaler")
    return _set(out, "indetermine", f"non décidé : erreur interne de l'audit ({type(e).__name__}), à signaler")


def safe_verdict(rb: Any, c: Contract) -> dict[str, Any]:
    """`verdict`, and if it fails on this record (a defect of the audit), a verdict that says so: the run goes on."""
    try:
        return verdict(rb, c)
    except Exception as e:  # noqa: BLE001 - one record must not stop an audit of millions; counted and shown
        return _internal_error(c, e)


def drive(rb: Any, steps: list[Any], answer: Any, contracts: list[Contract] | None = None) -> list[dict[str, Any]]:
    """Run the verdict generators together: each round, every pending question goes to `answer` in one call.

    `answer` is `answer_batch` (the batch path) or `answer_one` (one at a time). A generator that
    raises (a defect of the audit on that record) gives the verdict "erreur interne" when `contracts`
    (its record, by position) is given, and raises otherwise.
    """
    results: list[Any] = [None] * len(steps)
    waiting: list[tuple[int, Ask]] = []

    def advance(i: int, value: Any, first: bool = False) -> None:
        g = steps[i]
        try:
            ask = next(g) if first else g.send(value)
        except StopIteration as stop:
            results[i] = stop.value
            return
        except Exception as e:
            if contracts is None:
                raise
            results[i] = _internal_error(contracts[i], e)
            return
        waiting.append((i, ask))

    for i in range(len(steps)):
        advance(i, None, first=True)
    while waiting:
        now, waiting = waiting, []
        answers = answer(rb, [a for _, a in now])
        for (i, _), ans in zip(now, answers, strict=True):
            advance(i, ans)
    return results


def _law_changes(rb: Any, a: dt.date, b: dt.date) -> bool:
    if a == b:
        return False
    p = rb.program
    x, y = p.at(a), p.at(b)
    return x.params != y.params or x.active != y.active


def _base(c: Contract) -> dict[str, Any]:
    problems = [p for p in (c.amount_issue, c.date_issue, c.procedure_issue) if p]
    return {
        "enregistrement": c.rid,
        "fichier": c.file,
        "position": c.loc,
        "forme": c.form,
        "id": c.contract_id,
        "type": c.kind,
        "acheteur": {
            "id": c.buyer_id,
            "nom": c.buyer_name,
            "type": c.buyer.kind,
            "catégorie": c.buyer.category,
            "état_ou_collectivité": c.buyer.public_body,
            "fondement": c.buyer.basis,
        },
        "date_notification": c.date.isoformat() if c.date else None,
        "année": c.year,
        "montant": str(c.amount) if c.amount is not None else None,
        "nature": c.nature,
        "nature_fondement": c.nature_basis,
        "cpv": c.cpv,
        "services_sociaux_spécifiques": c.sss,
        "accord_cadre": c.framework,
        "lot": {"numéro": c.lot[1], "lots_liés": c.group_size, "total_lots_liés": str(c.group_total) if c.group_total is not None else None} if c.lot else None,
        "déclaré": {"procédure": c.procedure_label, "procédure_encodée": c.procedure},
        "problèmes": problems,
        "notes": list(c.notes),
    }


def _set(out: dict[str, Any], code: str, motif: str, missing: list[str] | None = None) -> dict[str, Any]:
    out["verdict"] = code
    out["libellé"] = VERDICTS[code]
    out["motif"] = motif
    if missing:
        out["faits_manquants"] = missing
    return out


def unreadable(file: str, loc: str, reason: str, rid: str | None = None) -> dict[str, Any]:
    return _set({"enregistrement": rid or f"{file}, {loc}", "fichier": file, "position": loc, "problèmes": [reason], "notes": []}, "illisible", reason)


def duplicate(c: Contract, kept_rid: str) -> dict[str, Any]:
    """The verdict of a record that another (`kept_rid`, the richest form) stands for."""
    out = _base(c)
    out["doublon_de"] = kept_rid
    return _set(out, "doublon", f"même contrat (acheteur, id, date, montant) que {kept_rid}, retenu à sa place")


CHUNK = 4096  # records whose questions are put to the engine together (memory stays bounded per chunk)


def verdicts(rb: Any, contracts: list[Contract], dup: dict[int, int], jobs: int = 1, batch: bool = True) -> Iterator[dict[str, Any]]:
    """Verdicts in input order, decided a chunk of records at a time through the batch path
    (`batch=False`: one decision at a time, the reference); `jobs` > 1 spreads the chunks over processes."""
    todo = [i for i in range(len(contracts)) if i not in dup]
    with Decider(rb, jobs, batch) as decider:
        decided: dict[int, dict[str, Any]] = {}
        step = CHUNK * decider.jobs
        starts = iter(range(0, len(todo), step))  # todo is in input order: the next slice holds the next record
        for i, c in enumerate(contracts):
            if i in dup:
                yield duplicate(c, contracts[dup[i]].rid)
                continue
            if i not in decided:
                k = next(starts)
                part = todo[k : k + step]
                decided.update(zip(part, decider.decide([contracts[j] for j in part]), strict=True))
            yield decided.pop(i)


def processes(jobs: int) -> int:
    """The number of processes `jobs` asks for: 0 or less is one per core of the machine."""
    import os

    return jobs if jobs > 0 else (os.cpu_count() or 1)


class Decider:
    """Decides lists of contracts (verdicts in the same order): in this process, or over `jobs` forked
    processes that keep the compiled rulebook (a pool for the whole run: a context manager)."""

    def __init__(self, rb: Any, jobs: int = 1, batch: bool = True) -> None:
        self.rb = rb
        self.batch = batch
        self.jobs = processes(jobs)
        self._pool: Any = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            _WORKER.clear()

    def decide(self, cs: list[Contract]) -> list[dict[str, Any]]:
        if self.jobs > 1 and len(cs) > CHUNK // 2 and self._start():
            size = max(500, min(CHUNK, -(-len(cs) // self.jobs)))
            parts = [cs[k : k + size] for k in range(0, len(cs), size)]
            return [v for part in self._pool.map(_work, parts) for v in part]
        return [v for k in range(0, len(cs), CHUNK) for v in _decide_list(self.rb, cs[k : k + CHUNK], self.batch)]

    def _start(self) -> bool:
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            if "fork" not in mp.get_all_start_methods():  # no fork on this platform: one process
                self.jobs = 1
                return False
            from cpc_rules.batch import _column_program

            _column_program(self.rb)  # the columnar program compiled before the fork, inherited
            _WORKER.update(rb=self.rb, batch=self.batch)
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=mp.get_context("fork"), initializer=_worker_signals)
        return True


def _decide_list(rb: Any, cs: list[Contract], batch: bool = True) -> list[dict[str, Any]]:
    return drive(rb, [verdict_steps(rb, c) for c in cs], answer_batch if batch else answer_one, cs)


_WORKER: dict[str, Any] = {}


def _worker_signals() -> None:
    """A worker leaves Ctrl-C to the audit's process (which stops the pool and deletes its files) and
    dies on SIGTERM: the handlers it inherited by the fork would raise in it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _work(cs: list[Contract]) -> list[dict[str, Any]]:
    return _decide_list(_WORKER["rb"], cs, _WORKER["batch"])
