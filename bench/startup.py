"""Start-up of cpc-rules as a user gets it: installed from a wheel in a fresh venv, and from this checkout.

    python bench/startup.py                     # this checkout (n = 9 fresh interpreters per measure)
    python bench/startup.py --ref main --n 9    # and, interleaved, a wheel built from git revision `main`

Run from the repository root. For each tree (this checkout; with `--ref`, `git archive` of the
revision), the wheel is built (`pip wheel`, with hatch_build.py's shipped files) and installed
with `pip install --no-deps` into a fresh venv (`--system-site-packages`, for the dependencies),
under a temporary folder: pip writes the bytecode, as for a user. Measured in CPU time of fresh
interpreters (getrusage of the child, or time.process_time inside it), medians, every variant
once per round, rounds interleaved (the machine is shared: compare within a run):

* import: `import cpc_rules.api`;
* first load: `default_rulebook()` with an empty user cache (the first run after `pip install`);
  later load: a second `load_rulebook` of the bundled rulebook in the same process (what the
  disk holds is already in memory: the floor of a load);
* whole process: `cpc-rules decide examples/fournitures-collectivite-2026.json` (text, and
  `--format json`), the venv's console script, beside a plain script that decides the reference
  decision with the hand-written `impl_plain` (../shared/bench-anchors/) and prints it as JSON;
* the checkout: the same with `PYTHONPATH=src` (its caches filled first), bytecode kept in a
  temporary folder (this machine sets PYTHONDONTWRITEBYTECODE).

Nothing in CI runs this file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT.parent / "shared" / "bench-anchors"
EXAMPLE = ROOT / "examples" / "fournitures-collectivite-2026.json"

_LOAD = """
import time
C = time.process_time
t0 = C()
import cpc_rules.api
t1 = C()
from cpc_rules import resources
rb = cpc_rules.api.default_rulebook()
t2 = C()
cpc_rules.api.load_rulebook(resources.bundled_rulebook_path(), tests=False)
t3 = C()
print(t1 - t0, t2 - t1, t3 - t2)
"""

_PLAIN = """
import datetime, json, sys
sys.path.insert(0, sys.argv[1])
import impl_plain
s = json.load(open(sys.argv[2]))
allowed, publicity = impl_plain.decide(s["acheteur"], s["nature"], float(s["valeur"]), s["innovant"], s["urgent"], datetime.date.fromisoformat(s["date"]))
print(json.dumps({"allowed": allowed, "publicity": publicity}))
"""


def _install(tree: Path, where: Path) -> Path:
    """Build the wheel of `tree` and install it into a fresh venv at `where`; its python."""
    wheels = where / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(tree)], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where / "venv")], check=True)
    python = where / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--force-reinstall", *map(str, wheels.glob("*.whl"))], check=True, capture_output=True)
    return python


def _tree(ref: str, where: Path) -> Path:
    """The files of git revision `ref` (git archive), where a wheel can be built from them."""
    out = where / "tree"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _cpu(cmd: list[str], env: dict[str, str]) -> float:
    """CPU ms of the child process (user + system)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, capture_output=True, cwd=tempfile.gettempdir())
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * ((r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=9, help="rounds (fresh interpreters per measure)")
    ap.add_argument("--ref", default=None, help="also a wheel built from this git revision (e.g. main), interleaved")
    a = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONPYCACHEPREFIX", "CPC_RULES_CACHE", "XDG_CACHE_HOME")}
    with tempfile.TemporaryDirectory(prefix="cpc-startup-") as tmp_name:
        tmp = Path(tmp_name)
        pythons = {"this checkout": _install(ROOT, tmp / "this")}
        if a.ref:
            (tmp / "ref").mkdir()
            pythons[a.ref] = _install(_tree(a.ref, tmp / "ref"), tmp / "ref")
        situation = {"acheteur": "collectivite", "nature": "travaux", "valeur": "99999", "innovant": False, "urgent": False, "date": "2024-12-31"}
        (tmp / "plain.json").write_text(json.dumps(situation), encoding="utf-8")
        (tmp / "plain.py").write_text(_PLAIN, encoding="utf-8")
        plain = [sys.executable, str(tmp / "plain.py"), str(ANCHORS), str(tmp / "plain.json")]
        checkout_env = {**base, "PYTHONPATH": str(ROOT / "src"), "PYTHONPYCACHEPREFIX": str(tmp / "pyc"), "CPC_RULES_CACHE": str(tmp / "checkout-cache")}
        checkout_env.pop("PYTHONDONTWRITEBYTECODE", None)
        os.mkdir(tmp / "checkout-cache", 0o700)
        decide = ["decide", str(EXAMPLE)]
        variants: dict[str, tuple[list[str], dict[str, str], bool]] = {}  # label -> (command, environment, fresh user cache each run)
        for label, python in pythons.items():
            script = python.parent / "cpc-rules"
            variants[f"{label}, installed: loads"] = ([str(python), "-c", _LOAD], base, True)
            variants[f"{label}, installed: decide (text)"] = ([str(script), *decide], base, True)
            variants[f"{label}, installed: decide --format json"] = ([str(script), *decide, "--format", "json"], base, True)
        variants["this checkout: loads (caches filled)"] = ([sys.executable, "-c", _LOAD], checkout_env, False)
        variants["this checkout: decide --format json (caches filled)"] = ([sys.executable, "-m", "cpc_rules.cli", *decide, "--format", "json"], checkout_env, False)
        variants["plain script (impl_plain)"] = (plain, base, False)
        for cmd, env, _ in variants.values():  # bytecode and the checkout's caches written once
            subprocess.run(cmd, env={**env, "CPC_RULES_CACHE": env.get("CPC_RULES_CACHE", str(tmp / "warm"))}, check=True, capture_output=True)
        times: dict[str, list[list[float]]] = {k: [] for k in variants}
        for i in range(a.n):
            for label, (cmd, env, fresh) in variants.items():
                if fresh:  # an empty user cache: the first run after `pip install`
                    cache = tmp / f"user-{i}-{len(times[label])}-{abs(hash(label))}"
                    cache.mkdir(mode=0o700)
                    env = {**env, "CPC_RULES_CACHE": str(cache)}
                if cmd[-1] == _LOAD:
                    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir()).stdout.split()
                    times[label].append([float(x) * 1000 for x in out])
                else:
                    times[label].append([_cpu(cmd, env)])
    plain_ms = statistics.median(t[0] for t in times["plain script (impl_plain)"])
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f}; median of {a.n} (min–max)")
    print()
    print("| measure | import | first load | later load | whole process | × plain script |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, runs in times.items():
        cols = list(zip(*runs))
        cells = [f"{statistics.median(c):.0f} ({min(c):.0f}–{max(c):.0f})" for c in cols]
        if len(cells) == 3:
            print(f"| {label} | {cells[0]} | {cells[1]} | {cells[2]} | | |")
        else:
            print(f"| {label} | | | | {cells[0]} | × {statistics.median(cols[0]) / plain_ms:.1f} |")


if __name__ == "__main__":
    main()
