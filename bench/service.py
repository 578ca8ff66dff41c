"""HTTP benchmark: `/decide` with and without trace, `/decide/batch`, beside the in-process API.

Starts a real `cpc-rules serve` on 127.0.0.1 (a free port), sends a fixed number of requests from
a few client threads, and prints requests per second, p50 and p99 latency; then the same
situations decided in process. Loopback only, bounded in count; a measure, never a test.

    PYTHONPATH=src python bench/service.py [--requests 2000] [--threads 4] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from cpc_rules import default_rulebook  # noqa: E402
from cpc_rules.render.json import decision_json  # noqa: E402


def situations(n: int) -> list[dict]:
    buyers = ["autorité_centrale", "autre_pouvoir_adjudicateur", "entité_adjudicatrice"]
    natures = ["travaux", "fournitures", "services"]
    amounts = ["39999.99", "40000", "59999.99", "60000", "89999.99", "90000", "215999.99", "216000", "1850000", "5404000"]
    dates = ["2024-06-01", "2025-06-01", "2026-03-31", "2026-04-01", "2026-09-15"]
    return [
        {"date": dates[i % 5], "faits": {"acheteur": buyers[i % 3], "nature": natures[(i // 3) % 3], "valeur_estimée_besoin": amounts[(i // 9) % 10]}}
        for i in range(n)
    ]


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def start_server(workers: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-m", "cpc_rules.cli", "serve", "--port", str(port), "--workers", str(workers)], env=env, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def run_requests(base: str, docs: list[dict], threads: int, params: dict) -> tuple[float, list[float]]:
    client = httpx.Client(base_url=base, timeout=60)
    bodies = [json.dumps(d).encode() for d in docs]

    def one(body: bytes) -> float:
        t = time.perf_counter()
        r = client.post("/decide", content=body, params=params, headers={"content-type": "application/json"})
        r.raise_for_status()
        return time.perf_counter() - t

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(one, bodies))
    return time.perf_counter() - start, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--batch", type=int, default=5000, help="situations in the batch request")
    args = ap.parse_args()

    docs = situations(args.requests)
    rb = default_rulebook()
    rows = []
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    # (name, query, trace, verdict): plain, with the trace, and with the verdict lines (what the buyer's page asks)
    variants = [("", {}, False, False), (" + trace", {"trace": "true"}, True, False), (" + verdict", {"verdict": "true"}, False, True)]
    for name, _, trace, verdict in variants:
        t = time.perf_counter()
        for d in docs:
            decision_json(rb.decide(d["faits"], at=d["date"], trace=trace), with_trace=trace, with_verdict=verdict)
        rows.append((f"in process, decide + to_json{name}", args.requests / (time.perf_counter() - t), None, None))

    proc, base = start_server(args.workers)
    try:
        run_requests(base, docs[:100], args.threads, {})  # warm up
        for _, query, _, _ in variants:
            elapsed, lat = run_requests(base, docs, args.threads, query)
            rows.append((f"HTTP /decide{' ?' + next(iter(query)) + '=true' if query else ''}", args.requests / elapsed, statistics.median(lat) * 1000, percentile(lat, 99) * 1000))
        batch = "\n".join(json.dumps(d) for d in situations(args.batch)).encode()
        t = time.perf_counter()
        r = httpx.post(base + "/decide/batch", content=batch, headers={"content-type": "application/x-ndjson"}, timeout=600)
        r.raise_for_status()
        lines = r.text.count("\n")
        assert lines == args.batch, (lines, args.batch)
        rows.append((f"HTTP /decide/batch ({args.batch} situations, JSON Lines)", args.batch / (time.perf_counter() - t), None, None))
    finally:
        proc.terminate()
        proc.wait()

    load_after = os.getloadavg()
    print(f"{started}: {args.requests} requests, {args.threads} client threads, {args.workers} worker(s), {os.cpu_count()} cores")
    print(f"load average (1, 5, 15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; after: {', '.join(f'{x:.2f}' for x in load_after)}")
    print(f"| {'path':<52} | {'per second':>10} | {'p50 ms':>7} | {'p99 ms':>7} |")
    print(f"|{'-' * 54}|{'-' * 12}:|{'-' * 8}:|{'-' * 8}:|")
    for name, rate, p50, p99 in rows:
        print(f"| {name:<52} | {rate:>10.0f} | {'' if p50 is None else f'{p50:.1f}':>7} | {'' if p99 is None else f'{p99:.1f}':>7} |")


if __name__ == "__main__":
    main()
