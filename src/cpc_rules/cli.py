"""The `cpc-rules` command: thin click commands that parse arguments, call the API and render.

Exit codes: 0 success; 1 errors found (diagnostics, failing tests, `fmt --check`
differences, a bad situation); 2 command-line usage; 3 internal error (a bug).
"""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cpc_rules import __version__, resources
from cpc_rules.diagnostics import CpcError, Diagnostic, Sources, render_gnu, render_human

FORMATS = click.Choice(["text", "json"])


def _emit_diagnostics(diags: list[Diagnostic], fmt: str, sources: Sources | None) -> None:
    if fmt == "json":
        click.echo(json.dumps({"diagnostics": [d.to_json() for d in diags]}, ensure_ascii=False, indent=2))
        return
    for d in diags:
        click.echo(render_gnu(d) if fmt == "gnu" else render_human(d, sources) + "\n", err=True)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """User mistakes become diagnostics and exit 1; anything else is a bug: exit 3, never a bare traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cpc_rules.engine.runtime import EvaluationError

        fmt = kwargs.get("output_format", "text")
        try:
            result = fn(*args, **kwargs)
            sys.stdout.flush()  # a full disk or a closed pipe surfaces here, not at interpreter exit
            return result
        except BrokenPipeError:
            _detach_stdout()  # the reader has gone (`| head`): nothing to tell it
            sys.exit(1)
        except OSError as e:  # writing the output failed (ENOSPC on /dev/full, EIO…): the environment, not a bug
            _detach_stdout()
            where = f"de {e.filename}" if e.filename else "de la sortie"
            click.echo(render_human(Diagnostic("E002", f"écriture impossible {where} : {_os_reason(e)}")), err=True)
            sys.exit(1)
        except CpcError as e:
            _emit_diagnostics(e.diagnostics, "json" if fmt == "json" else "text", getattr(e, "sources", None))
            sys.exit(1)
        except EvaluationError as e:
            _emit_diagnostics([e.diagnostic], "json" if fmt == "json" else "text", e.sources)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception:  # noqa: BLE001 - the last line of defence
            click.echo("erreur interne de cpc-rules : c'est un défaut du logiciel, merci de le signaler avec ce qui suit.", err=True)
            click.echo(traceback.format_exc(), err=True)
            sys.exit(3)

    return wrapper


def _detach_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of the lost output cannot fail again (exit 120)."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's buffer)
        pass


def _os_reason(e: OSError) -> str:
    reasons = {errno.ENOSPC: "plus de place sur le disque", errno.EDQUOT: "quota de disque dépassé", errno.EACCES: "permission refusée", errno.EROFS: "système de fichiers en lecture seule"}
    return reasons.get(e.errno or 0, e.strerror or str(e))


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` by `text` through a temporary file in the same folder and a rename.

    The original is never truncated: on any failure (full disk, permissions) it is left
    intact, the temporary file is removed, and CpcError E002 says why.
    """
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CpcError([Diagnostic("E002", f"écriture impossible de {path} : {_os_reason(e)} ; le fichier d'origine est intact")]) from None


def _rulebook(path: str | None, tests: bool = False) -> Any:
    """The rulebook at `path`, or the bundled one; its test files only when `tests`."""
    from cpc_rules.api import default_rulebook, load_rulebook

    return load_rulebook(path, tests=tests) if path else default_rulebook(tests)


rulebook_option = click.option(
    "--rulebook", "-r", "rulebook_path", type=click.Path(), default=None, help="Rulebook file or folder (default: the bundled CCP rulebook)."
)
format_option = click.option("--format", "output_format", type=FORMATS, default="text", show_default=True, help="Output format.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cpc-rules")
def main() -> None:
    """cpc-rules: which procedure, what publicity, which clauses, under the French Code de la commande publique.

    \b
    Exit codes: 0 ok · 1 errors found · 2 usage · 3 internal error.
    Documentation: docs/cli.md.
    """


@main.command()
@click.argument("path", required=False, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(["text", "gnu", "json"]), default="text", show_default=True)
@guarded
def check(path: str | None, output_format: str) -> None:
    """Check a rulebook: names, types, tables, periods, citations, cycles, conflicts.

    Prints every error with its location; exits 1 if there is any.
    """
    from cpc_rules.api import load_rulebook

    target = path or str(resources.bundled_rulebook_path())
    try:
        rb = load_rulebook(target)
    except CpcError as e:
        _emit_diagnostics(e.diagnostics, output_format, getattr(e, "sources", None))
        sys.exit(1)
    c = rb.checked
    summary = {"ok": True, "articles": len(c.articles), "rules": len(c.rules), "facts": len(c.facts), "parameters": len(c.params), "tests": len(c.tests)}
    if output_format == "json":
        click.echo(json.dumps({**summary, "diagnostics": [d.to_json() for d in rb.warnings]}, ensure_ascii=False, indent=2))
        return
    _emit_diagnostics(rb.warnings, output_format, rb.sources)
    click.echo(f"ok : {summary['articles']} articles, {summary['rules']} règles, {summary['parameters']} paramètres, {summary['tests']} tests ({target})")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if a file is not in canonical form; change nothing.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in canonical form.")
@guarded
def fmt(paths: tuple[str, ...], check_only: bool, write: bool) -> None:
    """Print rulebook files in canonical form (French keywords, one layout).

    Without --write or --check, prints the formatted text. The output is always parsed
    again and compared with the input's syntax tree before anything is written.
    """
    from cpc_rules.api import rulebook_files
    from cpc_rules.syntax.format import format_text

    files = [f for p in (paths or (str(resources.bundled_rulebook_path()),)) for f in rulebook_files(p)]
    changed = []
    for f in files:
        try:
            text = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CpcError([Diagnostic("E001", f"lecture impossible de {f} : {e}")]) from None
        out = format_text(text, str(f))
        if out == text:
            continue
        changed.append(f)
        if write:
            write_atomically(f, out)
        elif not check_only:
            click.echo(out, nl=False)
    if check_only and changed:
        for f in changed:
            click.echo(f"à reformater : {f}", err=True)
        sys.exit(1)
    if write:
        click.echo(f"{len(changed)} fichier(s) reformaté(s)", err=True)


@main.command("test")
@click.argument("path", required=False, type=click.Path())
@click.option("-k", "name_filter", default=None, help="Run only the cases whose name matches this regular expression.")
@format_option
@guarded
def test_cmd(path: str | None, name_filter: str | None, output_format: str) -> None:
    """Run the test cases written beside the rules; exits 1 if one fails."""
    from cpc_rules.testing import run_tests

    if name_filter is not None:
        try:
            re.compile(name_filter)
        except re.error as e:
            raise click.BadParameter(f"expression régulière invalide « {name_filter} » : {e}", param_hint="-k") from None
    rb = _rulebook(path, tests=True)
    results = run_tests(rb, name_filter)
    failed = [r for r in results if not r.passed]
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "passed": len(results) - len(failed),
                    "failed": len(failed),
                    "failures": [{"name": r.name, "location": str(r.span), "failures": list(r.failures)} for r in failed],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for r in failed:
            click.echo(f"ÉCHEC {r.span} : « {r.name} »")
            for f in r.failures:
                click.echo(f"    {f}")
        click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(1)


def _stdin() -> str:
    """Standard input, at most one character past the situation size limit (the reader then refuses it, E418)."""
    from cpc_rules.situation import MAX_BYTES

    return sys.stdin.read(MAX_BYTES + 1)


def load_situation(path: str) -> tuple[dict[str, Any], str | None]:
    """Kept for callers of the former helper: the facts and the ISO date of a situation file (see situation.py)."""
    from cpc_rules.situation import read_situation_file

    s = read_situation_file(path, _stdin() if path == "-" else None)
    return dict(s.facts), s.date.isoformat() if s.date else None


def _decide(situation: str, at: str | None, rulebook_path: str | None, presumptions: bool = True, focus: str | None = None, trace: bool = False) -> Any:
    from cpc_rules.situation import parse_date, read_situation_file

    s = read_situation_file(situation, _stdin() if situation == "-" else None)
    date = parse_date(at, "--at") if at is not None else s.date
    if date is None:
        raise click.UsageError("donnez la date de lancement de la consultation : --at AAAA-MM-JJ, ou \"date\" dans la situation")
    return _rulebook(rulebook_path).decide(s.facts, at=date, presumptions=presumptions, focus=focus, trace=trace)


presumptions_option = click.option(
    "--presumptions/--no-presumptions",
    default=True,
    show_default=True,
    help="Presume the rulebook's ordinary case for the facts not given (no urgency, no single operator…) and list the presumptions relied on; --no-presumptions leaves them unknown.",
)
focus_option = click.option("--focus", default=None, metavar="ENUMS", help="Restrict the decision to these enumerations, comma-separated (e.g. procédure,publicité).")


@main.command()
@click.argument("situation", type=click.Path(allow_dash=True))
@click.option("--at", default=None, help="Consultation launch date, YYYY-MM-DD (overrides the situation's \"date\").")
@rulebook_option
@format_option
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@presumptions_option
@focus_option
@click.option("--detail", is_flag=True, help="Text: after the verdict, the full report (every conclusion, its grounds, computed values, articles).")
@click.option("--trace", is_flag=True, help="JSON: include the trace tree. Text: append it (as `explain`).")
@guarded
def decide(situation: str, at: str | None, rulebook_path: str | None, output_format: str, lang: str, presumptions: bool, focus: str | None, detail: bool, trace: bool) -> None:
    """Decide a situation (JSON or YAML): the verdict first (procedures, publicity, obligations, what is open).

    Presumptions are on by default: a buyer's four facts (who buys, what, how much,
    when) must give an answer; every presumption relied on is listed.
    """
    d = _decide(situation, at, rulebook_path, presumptions, focus, trace)
    if output_format == "json":
        click.echo(json.dumps(d.to_json(trace=trace), ensure_ascii=False, indent=2))
    else:
        click.echo(d.explain(lang=lang, full=trace, detail=detail or trace), nl=False)


@main.command()
@click.argument("situation", type=click.Path(allow_dash=True))
@click.option("--at", default=None, help="Consultation launch date, YYYY-MM-DD.")
@rulebook_option
@format_option
@click.option("--lang", type=click.Choice(["fr", "en"]), default="fr", show_default=True)
@presumptions_option
@focus_option
@guarded
def explain(situation: str, at: str | None, rulebook_path: str | None, output_format: str, lang: str, presumptions: bool, focus: str | None) -> None:
    """Decide and print everything: the verdict, the report and the whole trace tree (every rule, its conditions and their values)."""
    d = _decide(situation, at, rulebook_path, presumptions, focus, trace=True)
    if output_format == "json":
        click.echo(json.dumps(d.to_json(trace=True), ensure_ascii=False, indent=2))
    else:
        click.echo(d.explain(lang=lang, full=True), nl=False)


# ---------------------------------------------------------------- ask (the interview, src/cpc_rules/interview.py)


@main.command()
@click.argument("situation", required=False, type=click.Path(allow_dash=True))
@click.option("--at", default=None, help="Consultation launch date, YYYY-MM-DD (asked if neither given nor in the situation).")
@click.option("--focus", default=None, help="Enumerations to settle, by priority, comma-separated (default: procédure, publicité, then the rest).")
@click.option("--save", "save_path", type=click.Path(dir_okay=False), default=None, help="Write the situation answered here (JSON); without it, it is printed.")
@rulebook_option
@format_option
@guarded
def ask(situation: str | None, at: str | None, focus: str | None, save_path: str | None, rulebook_path: str | None, output_format: str) -> None:
    """An interview in French: asks only what can change the answer, then decides.

    \b
    One question at a time, the most decisive first; a number picks a choice,
    « ? » means « je ne sais pas », « < » goes back. Ctrl-C or the end of input
    stops: what was answered is saved, exit 1. With --format json, prints the
    ranked next questions for SITUATION and exits (no interview).
    """
    from cpc_rules.interview import Interview
    from cpc_rules.situation import parse_date, read_situation_file

    if situation == "-" and output_format != "json":
        raise click.UsageError("l'entretien lit les réponses sur l'entrée standard : donnez la situation de départ dans un fichier")
    s = read_situation_file(situation, sys.stdin.read() if situation == "-" else None) if situation else None
    facts, file_date = (dict(s.facts), s.date) if s else ({}, None)
    rb = _rulebook(rulebook_path)
    date = parse_date(at, "--at") if at is not None else file_date
    if date is None:
        if output_format == "json":
            raise click.UsageError("donnez la date de lancement de la consultation : --at AAAA-MM-JJ, ou \"date\" dans la situation")
        date = _ask_date()
        if date is None:
            sys.exit(1)
    interview = Interview(rb, facts, date, focus)
    if output_format == "json":
        qs = interview.questions()
        click.echo(json.dumps({"date": interview.at.isoformat(), "questions": [q.to_json() for q in qs]}, ensure_ascii=False, indent=2))
        return
    finished = _run_interview(interview)
    _save_situation(interview.situation_json(), save_path, interview.focus)
    if not finished:
        sys.exit(1)
    d = rb.decide(interview.situation, interview.at, focus=interview.focus)
    click.echo("")
    click.echo(d.explain(detail=False), nl=False)


def _read_answer() -> str | None:
    """One line typed by the buyer; None at the end of input or on Ctrl-C."""
    click.echo("> ", nl=False)
    try:
        return input()
    except (EOFError, KeyboardInterrupt):
        click.echo("")
        return None


def _ask_date() -> Any:
    from cpc_rules.situation import parse_date

    while True:
        click.echo("Date de lancement de la consultation (AAAA-MM-JJ) :")
        line = _read_answer()
        if line is None:
            click.echo("Entretien interrompu avant la première question.")
            return None
        try:
            return parse_date(line.strip())
        except CpcError:
            click.echo(f"Date non comprise : « {line.strip()} » ; écrivez-la AAAA-MM-JJ, par exemple 2026-05-01.")


def _run_interview(interview: Any) -> bool:
    """Ask until nothing relevant is left; False if the buyer stopped (end of input, Ctrl-C)."""
    from cpc_rules.interview import BadAnswer, parse_answer

    click.echo(
        "Entretien cpc-rules : une question à la fois, seulement ce qui peut changer la réponse.\n"
        "Répondez par un numéro ; « ? » : je ne sais pas ; « < » : question précédente ; Ctrl-C : arrêter (vos réponses sont gardées)."
    )
    q = interview.next()
    while q is not None:
        n = len(interview.history) + 1
        click.echo("")
        click.echo(f"Question {n} — {q.label}")
        click.echo(f"  {q.help}")
        if q.kind == "checklist":
            for i, c in enumerate(q.choices, start=1):
                click.echo(f"  {i}. {c.label}")
            click.echo("  0. Aucune de ces circonstances")
            click.echo("  ?. Je ne sais pas")
            click.echo("  (tapez les numéros qui s'appliquent, séparés par des espaces)")
        elif q.choices:
            for i, c in enumerate(q.choices, start=1):
                click.echo(f"  {i}. {c.label}")
            click.echo(f"  {len(q.choices) + 1}. Je ne sais pas")
        else:
            click.echo(f"  Réponse : {q.accepted} ; « ? » : je ne sais pas")
        while True:
            line = _read_answer()
            if line is None:
                click.echo("Entretien interrompu.")
                return False
            if line.strip().lower() in ("<", "retour"):
                back = interview.back()
                if back is None:
                    click.echo("Pas de question précédente.")
                    continue
                q = back
                break
            try:
                interview.answer(q, parse_answer(interview.rulebook, q, line))
            except BadAnswer as e:
                click.echo(f"Réponse non comprise : {e}.")
                continue
            q = interview.next()
            break
        else:  # pragma: no cover
            pass
    click.echo("")
    click.echo(f"Plus aucune question ne peut changer la réponse ({len(interview.history)} réponse(s)).")
    return True


def _save_situation(data: dict[str, Any], path: str | None, focus: tuple[str, ...] | None) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if path is None:
        click.echo("Situation (rejouez-la avec `cpc-rules decide`, ou enregistrez-la avec --save FICHIER) :")
        click.echo(text, nl=False)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        raise CpcError([Diagnostic("E001", f"écriture impossible de {path} : {e.strerror or e}")]) from None
    again = f" --focus {','.join(focus)}" if focus else ""
    click.echo(f"Situation enregistrée dans {path} ; `cpc-rules decide {path}{again}` la rejoue.")


@main.command()
@click.argument("decision", type=click.Path(allow_dash=True))
@rulebook_option
@format_option
@guarded
def replay(decision: str, rulebook_path: str | None, output_format: str) -> None:
    """Re-decide a recorded decision (`decide --format json`) and check the answer and the rulebook digest match.

    Exits 0 if they match, 1 with the list of differences otherwise.
    """
    from cpc_rules.replay import replay as replay_decision
    from cpc_rules.situation import decode

    if decision == "-":
        text, name = _stdin(), "<entrée standard>"
    else:
        name = decision
        try:
            text = Path(decision).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CpcError([Diagnostic("E420", f"lecture impossible de {decision} : {e}")]) from None
    result = replay_decision(decode(text, name, "json"), _rulebook(rulebook_path), name)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    elif result.match:
        click.echo(f"rejeu de {name} : même décision ({result.date}, recueil {result.replayed_digest})")
    else:
        click.echo(f"rejeu de {name} : {len(result.differences)} différence(s) ({result.date})")
        for d in result.differences:
            click.echo(f"  {d.path} : enregistré {_short(d.recorded)} ; rejoué {_short(d.replayed)}")
    if result.recorded_engine != result.replayed_engine and output_format != "json":
        click.echo(f"  (décision enregistrée par cpc-rules {result.recorded_engine}, rejouée par {result.replayed_engine})")
    if not result.match:
        sys.exit(1)


def _short(value: Any) -> str:
    from cpc_rules.values import excerpt

    return excerpt(json.dumps(value, ensure_ascii=False, default=str), 160)

@main.command()
@rulebook_option
@click.option("--format", "output_format", type=click.Choice(["dot", "mermaid", "json"]), default="dot", show_default=True)
@click.option("--article", "article", default=None, help="Only this article's neighbourhood: what its rules read and what reads them (e.g. R2122-8).")
@guarded
def graph(rulebook_path: str | None, output_format: str, article: str | None) -> None:
    """The rule graph: which rule reads which definition, which is an exception to which."""
    from cpc_rules.diagnostics import did_you_mean
    from cpc_rules.render.graph import focus, rule_graph, to_dot, to_json, to_mermaid

    c = _rulebook(rulebook_path).checked
    g = rule_graph(c)
    if article is not None:
        try:
            g = focus(g, c, article)
        except KeyError:
            refs = [a.ref for a in c.articles if any(r.article == a.index for r in c.rules)]
            hint = did_you_mean(article, refs)
            raise click.UsageError(f"--article : aucune règle dans l'article « {article} »" + (f" ; {hint}" if hint else "")) from None
    if output_format == "json":
        click.echo(json.dumps(to_json(g, c), ensure_ascii=False, indent=2))
    else:
        click.echo(to_mermaid(g, c) if output_format == "mermaid" else to_dot(g, c))


def _git_snapshot(rev: str, path: str, into: Path) -> Path:
    """The rulebook at `path` in revision `rev` of the git repository around the current folder, extracted into `into`."""
    import io
    import subprocess
    import tarfile

    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True).stdout.strip()
        prefix = subprocess.run(["git", "rev-parse", "--show-prefix"], capture_output=True, text=True, check=True).stdout.strip()
        data = subprocess.run(["git", "-C", top, "archive", "--format=tar", rev, "--", (prefix + path).rstrip("/") or "."], capture_output=True, check=True).stdout
    except FileNotFoundError:
        raise CpcError([Diagnostic("E001", "git est introuvable : --git demande git")]) from None
    except subprocess.CalledProcessError as e:
        err = (e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else e.stderr or "").strip().splitlines()
        raise CpcError([Diagnostic("E001", f"git : impossible de lire {path} à la révision « {rev} » : {err[-1] if err else e}")]) from None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and not m.name.startswith("/") and ".." not in Path(m.name).parts]
        try:
            tar.extractall(into, members=members, filter="data")
        except TypeError:  # Python < 3.11.4: no extraction filter; the members were checked above
            tar.extractall(into, members=members)
    return into / (prefix + path)


@main.command()
@click.argument("old", required=False)
@click.argument("new", required=False)
@click.argument("path", required=False)
@click.option("--git", "git_mode", is_flag=True, help="OLD and NEW are git revisions; PATH is the rulebook in the repository (default: rulebooks/ccp).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True, help="Output format.")
@click.option("--fail-on", "fail_on", default="", help="Exit 1 if a change of these kinds is found (comma-separated: narrowed, widened, newly-mandatory, no-longer-mandatory, undetermined, determined, re-cited, error, structural).")
@click.option("--situations", "situations_path", type=click.Path(), default=None, help="JSONL file of situations ({\"date\": …, \"faits\": {…}} per line): count those whose answer changes.")
@click.option("--budget", type=click.IntRange(min=1), default=None, help="Situations decided per group of conclusions before switching to guided exploration (default 4000).")
@guarded
def diff(old: str | None, new: str | None, path: str | None, git_mode: bool, output_format: str, fail_on: str, situations_path: str | None, budget: int | None) -> None:
    """What changed between two rulebooks: text (articles, parameters, rules) and answers (regions, witnesses).

    \b
    cpc-rules diff OLD NEW                 two folders or files
    cpc-rules diff --git REV1 REV2 [PATH]  two revisions of the repository (PATH: rulebooks/ccp)
    """
    import tempfile

    from cpc_rules import diff as diffmod
    from cpc_rules.api import load_rulebook

    if old is None or new is None:
        raise click.UsageError("donnez deux recueils (OLD NEW) ou deux révisions avec --git REV1 REV2 [PATH]")
    if path is not None and not git_mode:
        raise click.UsageError("un troisième argument (PATH) n'a de sens qu'avec --git")
    kinds = {k.strip() for k in fail_on.split(",") if k.strip()}
    unknown = kinds - set(diffmod.KINDS) - {"structural"}
    if unknown:
        raise click.UsageError(f"--fail-on : type de changement inconnu « {', '.join(sorted(unknown))} » ; types : {', '.join(diffmod.KINDS)}, structural")
    with tempfile.TemporaryDirectory(prefix="cpc-diff-") as tmp:
        if git_mode:
            rel = path or "rulebooks/ccp"
            old_path = _git_snapshot(old, rel, Path(tmp) / "old")
            new_path = _git_snapshot(new, rel, Path(tmp) / "new")
        else:
            old_path, new_path = Path(old), Path(new)
        a = load_rulebook(old_path, title=f"{old}", tests=False)
        b = load_rulebook(new_path, title=f"{new}", tests=False)
        root_a = str(old_path if old_path.is_dir() else old_path.parent)
        root_b = str(new_path if new_path.is_dir() else new_path.parent)
        report = diffmod.diff(a, b, root_a, root_b, budget=budget or diffmod.DEFAULT_BUDGET)
        corpus = diffmod.corpus(a, b, _read_situations(situations_path)) if situations_path else None
    if output_format == "json":
        out = report.to_json()
        if corpus is not None:
            out["situations"] = corpus
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        click.echo(diffmod.render_text(report, markdown=output_format == "markdown", corpus_result=corpus), nl=False)
    hit = (report.kinds & kinds) or ("structural" in kinds and report.structural)
    if hit:
        click.echo(f"échec : changement(s) de type {', '.join(sorted(report.kinds & kinds) or ['structural'])} (--fail-on)", err=True)
        sys.exit(1)


def _read_situations(path: str) -> list[tuple[int, dict[str, Any], Any]]:
    """A JSONL file: one situation per line, {"date": …, "faits": {…}}; blank lines and # comments skipped.

    Each line is read exactly as `decide` reads a situation (situation.py); every bad line is reported.
    """
    from cpc_rules.situation import read_situation

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise CpcError([Diagnostic("E414", f"lecture impossible de {path} : {e}")]) from None
    out, errors = [], []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            s = read_situation(line, f"{path}:{n}", "json")
        except CpcError as e:
            errors.extend(e.diagnostics)
            continue
        if s.date is None:
            errors.append(Diagnostic("E413", f"{path}:{n} : date manquante", hint='chaque ligne : {"date": "AAAA-MM-JJ", "faits": {…}}'))
            continue
        out.append((n, dict(s.facts), s.date))
    if errors:
        raise CpcError(errors)
    return out


@main.command("coverage")
@rulebook_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text", show_default=True, help="Output format.")
@click.option("--min", "minimums", multiple=True, help="Exit 1 under this percentage: PCT for every figure, or KIND=PCT (rule, condition, threshold, date_edge); repeatable.")
@guarded
def coverage_cmd(rulebook_path: str | None, output_format: str, minimums: tuple[str, ...]) -> None:
    """How well the rulebook's test cases exercise it: rules, conditions, thresholds, date edges, each both ways."""
    from cpc_rules import coverage

    limits = _parse_minimums(minimums)
    report = coverage.coverage(_rulebook(rulebook_path, tests=True))
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    elif output_format == "html":
        click.echo(coverage.render_html(report), nl=False)
    else:
        click.echo(coverage.render_text(report), nl=False)
    figures = report.figures()
    fr = lambda x: f"{x:.1f}".replace(".", ",")
    below = [f"{k} {fr(figures[k]['percent'])} % < {fr(pct)} %" for k, pct in limits.items() if figures[k]["percent"] < pct]
    if below:
        click.echo(f"échec : couverture sous le minimum (--min) : {' ; '.join(below)}", err=True)
        sys.exit(1)


def _parse_minimums(minimums: tuple[str, ...]) -> dict[str, float]:
    kinds = ("rule", "condition", "threshold", "date_edge")
    out: dict[str, float] = {}
    for m in minimums:
        kind, _, pct = m.rpartition("=")
        try:
            value = float(pct.strip().rstrip("%"))
        except ValueError:
            raise click.UsageError(f"--min « {m} » : attendu un pourcentage (95) ou TYPE=POURCENTAGE (rule=100)") from None
        if not 0 <= value <= 100:
            raise click.UsageError(f"--min « {m} » : le pourcentage est entre 0 et 100")
        if kind and kind not in kinds:
            raise click.UsageError(f"--min « {m} » : type inconnu « {kind} » ; types : {', '.join(kinds)}")
        for k in (kind,) if kind else kinds:
            out[k] = value
    return out


@main.command()
@rulebook_option
@guarded
def schema(rulebook_path: str | None) -> None:
    """The JSON Schema of a situation, generated from the declared facts."""
    from cpc_rules.render.schema import situation_schema

    click.echo(json.dumps(situation_schema(_rulebook(rulebook_path).checked), ensure_ascii=False, indent=2))


@main.command()
@click.argument("stage", type=click.Choice(["ast", "ir", "python"]))
@rulebook_option
@guarded
def dump(stage: str, rulebook_path: str | None) -> None:
    """Debug: print a pipeline stage (the syntax tree, the checked IR, the generated Python)."""
    rb = _rulebook(rulebook_path)
    if stage == "python":
        click.echo(rb.program.compiled.source)
    elif stage == "ast":
        for m in rb.checked.modules:
            click.echo(f"# {m.path}")
            for i in m.items:
                click.echo(repr(i))
    else:
        for r in rb.checked.rules:
            click.echo(repr(r))


# ---------------------------------------------------------------- audit (docs/audit.md)
@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@rulebook_option
@format_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Folder for verdicts.jsonl, summary.json, summary.txt and report.html.")
@click.option("--jobs", type=click.IntRange(0, 64), default=1, show_default=True, help="Processes deciding in parallel (0: one per core).")
@guarded
def audit(data: tuple[str, ...], rulebook_path: str | None, output_format: str, out_dir: str | None, jobs: int) -> None:
    """Audit published contract data (DECP JSON, JSON Lines, CSV; gzip): a verdict for every record."""
    from cpc_rules.audit import run_audit
    from cpc_rules.audit.report import dumps, text_summary

    def progress(msg: str) -> None:
        click.echo(f"\r{msg}…", err=True, nl=False)

    tty = sys.stderr.isatty()
    s = run_audit(data, _rulebook(rulebook_path), out_dir, jobs, progress if tty else None)
    if tty:
        click.echo("", err=True)
    if output_format == "json":
        click.echo(dumps(s, indent=2))
    else:
        click.echo(text_summary(s), nl=False)
        if out_dir:
            click.echo(f"Rapport : {Path(out_dir) / 'report.html'} ; verdicts : {Path(out_dir) / 'verdicts.jsonl'}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes (each loads the rulebook once).")
@rulebook_option
@guarded
def serve(host: str, port: int, workers: int, rulebook_path: str | None) -> None:
    """Serve the HTTP API and the buyer's page (docs/http.md), the rulebook loaded once per worker."""
    import os

    import uvicorn

    _rulebook(rulebook_path)  # refuse a bad rulebook here, with its diagnostics, before listening
    if rulebook_path:
        os.environ["CPC_RULES_RULEBOOK"] = str(Path(rulebook_path).resolve())
    else:
        os.environ.pop("CPC_RULES_RULEBOOK", None)
    click.echo(f"cpc-rules : page et API sur http://{host}:{port}/ (documentation : /docs) — Ctrl-C pour arrêter", err=True)
    uvicorn.run("cpc_rules.service.main:app", host=host, port=port, workers=workers, log_level="warning", factory=True)


def run() -> None:
    """`cpc-rules` as a process (the console script, `python -m cpc_rules.cli`): `main`, then an exit without Python's final collection.

    At exit, Python collects every object still alive once more (the rulebook's ~20 000):
    a fifth of a whole `cpc-rules decide` (bench/README.md, start-up). Frozen instead (the
    last exit handler to run), they are left to the end of the process; every file is
    still flushed and closed, and the other exit handlers run before. Tests call `main`.
    """
    import atexit
    import gc

    atexit.register(gc.freeze)
    main()


if __name__ == "__main__":  # pragma: no cover
    run()
