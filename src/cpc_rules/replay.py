"""Replaying a recorded decision: re-decide from the facts and date it records, and compare.

A decision's JSON (docs/trace-format.md) records the date, the rulebook digest and, in its
trace, every fact the evaluation read. Facts it did not read cannot change the answer, so
deciding again from those facts must give the same answer; if the rulebook changed (another
digest) or the engine did, the differences say what moved. Used by `cpc-rules replay`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.record import frozen
from cpc_rules.situation import parse_date

if TYPE_CHECKING:
    from cpc_rules.api import Rulebook

COMPARED = ("status", "mode", "focus", "conclusions", "values", "information", "missing_facts", "presumptions")


@frozen
class Difference:
    path: str
    recorded: Any
    replayed: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "recorded": self.recorded, "replayed": self.replayed}


@frozen
class Replay:
    """The outcome: the differences (none: the decision is reproduced), and what was compared."""

    source: str
    date: str
    recorded_digest: str
    replayed_digest: str
    recorded_engine: str
    replayed_engine: str
    differences: tuple[Difference, ...]

    @property
    def match(self) -> bool:
        return not self.differences

    def to_json(self) -> dict[str, Any]:
        return {
            "match": self.match,
            "source": self.source,
            "date": self.date,
            "rulebook": {"recorded": self.recorded_digest, "replayed": self.replayed_digest},
            "engine": {"recorded": self.recorded_engine, "replayed": self.replayed_engine},
            "differences": [d.to_json() for d in self.differences],
        }


def _refuse(source: str, message: str, hint: str | None = None) -> CpcError:
    return CpcError([Diagnostic("E420", f"{source} : {message}", None, hint=hint or "donnez la sortie de `cpc-rules decide --format json`")])


def replay(recorded: Any, rb: Rulebook, source: str = "<décision>") -> Replay:
    """Re-decide `recorded` (a decoded decision JSON) with `rb`; raises CpcError E420 if it is not a replayable decision."""
    if not isinstance(recorded, dict) or "trace_format" not in recorded:
        raise _refuse(source, "ce n'est pas une décision de cpc-rules (pas de « trace_format »)")
    if recorded["trace_format"] != 1:
        raise _refuse(source, f"format de trace {recorded['trace_format']!r} inconnu (attendu 1)")
    status = recorded.get("status")
    if status not in ("decided", "out_of_period"):
        raise _refuse(source, f"statut {status!r} inconnu")
    digest = (recorded.get("rulebook") or {}).get("digest")
    engine = (recorded.get("engine") or {}).get("version")
    if not isinstance(digest, str) or not isinstance(engine, str):
        raise _refuse(source, "« rulebook.digest » ou « engine.version » manque")
    date = parse_date(recorded.get("date"), f"{source} : « date »")
    facts: dict[str, Any] = {}
    presumed_names: set[Any] = set()
    inexact = False  # replayed from the facts read, not from the facts given
    given = recorded.get("given_facts")
    if status == "decided" and isinstance(given, dict):
        facts = dict(given)  # the situation as given: the replay is exact
    elif status == "decided":  # an older record: only the facts its trace read
        trace = recorded.get("trace")
        if not isinstance(trace, dict) or not isinstance(trace.get("facts"), dict):
            raise _refuse(source, "la décision ne contient pas sa trace : les faits lus manquent", "rejouez une sortie de `cpc-rules decide --format json --trace` (ou `explain --format json`), qui contient la trace et les faits lus")
        # a presumed fact is read like a given one; leave it out, so that it is presumed again
        presumed_names = {p.get("fact") for p in recorded.get("presumptions") or () if isinstance(p, dict)}
        presumed_names |= {f for f in trace.get("presumed_facts") or () if isinstance(f, str)}
        facts = {k: v for k, v in trace["facts"].items() if k not in presumed_names}
        inexact = True
    mode = recorded.get("mode", "presumptions")
    if mode not in ("presumptions", "strict"):
        raise _refuse(source, f"mode {mode!r} inconnu (attendu presumptions ou strict)")
    focus = recorded.get("focus")
    differences: list[Difference] = []
    if digest != rb.digest:
        differences.append(Difference("rulebook.digest", digest, rb.digest))
    try:
        again = rb.decide(facts, at=date, presumptions=mode == "presumptions", focus=focus).to_json(trace=False)
    except CpcError as e:  # the rulebook replayed refuses these facts (another rulebook, or a stricter reader)
        differences.append(Difference("status", status, "erreur : " + " ; ".join(f"[{d.code}] {d.message}" for d in e.diagnostics[:3])))
    except EvaluationError as e:  # a conflict or a missing definition on the way
        differences.append(Difference("status", status, f"erreur : [{e.diagnostic.code}] {e.diagnostic.message}"))
    else:
        # an older record (no `given_facts`): a fact given but not read is not in the trace, so the
        # replay presumes it where the original had it given; drop those presumptions from the replay
        again = _plain(again)
        if inexact:
            unread = {p["fact"] for p in again.get("presumptions") or ()} - presumed_names
            again = _without_presumed(again, unread)
        for key in COMPARED:
            _diff(key, recorded.get(key), again.get(key), differences)
    from cpc_rules import __version__

    return Replay(source, date.isoformat(), digest, rb.digest, engine, __version__, tuple(differences))


def _plain(value: Any) -> Any:
    """The replayed value as it reads back from JSON (tuples are lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _without_presumed(value: Any, names: set[str]) -> Any:
    """`value` without the presumptions of `names` (in `presumptions` and every `presumed` list)."""
    if not names:
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "presumed" and isinstance(v, list):
                v = [n for n in v if n not in names]
                if not v:
                    continue
            elif k == "presumptions" and isinstance(v, list):
                v = [p for p in v if not (isinstance(p, dict) and p.get("fact") in names)]
            out[k] = _without_presumed(v, names)
        return out
    if isinstance(value, list):
        return [_without_presumed(v, names) for v in value]
    return value


def _key(item: Any) -> str | None:
    """How list items are matched: a conclusion by its member, a value by its name, a rule reference by its rule."""
    if isinstance(item, dict):
        if "enum" in item and "member" in item:
            return f"{item['enum']}/{item['member']}"
        for k in ("name", "rule"):
            if isinstance(item.get(k), str):
                return str(item[k])
    return None


def _diff(path: str, recorded: Any, replayed: Any, out: list[Difference]) -> None:
    if recorded == replayed:
        return
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for k in sorted(set(recorded) | set(replayed), key=str):
            _diff(f"{path}.{k}", recorded.get(k), replayed.get(k), out)
        return
    if isinstance(recorded, list) and isinstance(replayed, list):
        keys_a = [_key(x) for x in recorded]
        keys_b = [_key(x) for x in replayed]
        if None not in keys_a and None not in keys_b and len(set(keys_a)) == len(keys_a) and len(set(keys_b)) == len(keys_b):
            a, b = dict(zip(keys_a, recorded, strict=True)), dict(zip(keys_b, replayed, strict=True))
            for k in keys_a + [k for k in keys_b if k not in a]:
                _diff(f"{path}[{k}]", a.get(k), b.get(k), out)
            if [k for k in keys_a if k in b] != [k for k in keys_b if k in a]:
                out.append(Difference(f"{path} (ordre)", keys_a, keys_b))
            return
    out.append(Difference(path, recorded, replayed))
