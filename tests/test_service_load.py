"""A bounded load test on loopback: a real server (two workers), a fixed number of requests, a time cap, 0 errors."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from server import running_server, server_log

from cpc_rules import default_rulebook

REQUESTS = 240
THREADS = 4
TIME_CAP = 120.0  # seconds: the test stops sending past it (a bound, not a measure)


def _situations() -> list[dict]:
    buyers = ["autorité_centrale", "autre_pouvoir_adjudicateur", "entité_adjudicatrice"]
    natures = ["travaux", "fournitures", "services"]
    amounts = ["39999.99", "40000", "59999.99", "60000", "89999.99", "90000", "215999.99", "216000", "5403999.99", "5404000"]
    out = []
    for i in range(REQUESTS):
        out.append({"date": ["2025-06-01", "2026-03-31", "2026-04-01"][i % 3], "faits": {"acheteur": buyers[i % 3], "nature": natures[(i // 3) % 3], "valeur_estimée_besoin": amounts[i % len(amounts)]}})
    return out


def test_loopback_load_zero_errors_identical_answers() -> None:
    situations = _situations()
    rb = default_rulebook()
    expected = [rb.decide(s["faits"], at=s["date"]).to_json(trace=False) for s in situations]
    # two workers, as docs/http.md advises on two cores: the answers are the in-process ones whichever worker decides
    with running_server("--workers", "2") as base, httpx.Client(base_url=base, timeout=30) as client:
        start = time.monotonic()

        def send(i: int) -> tuple[int, int, Any]:
            if time.monotonic() - start > TIME_CAP:
                return i, -1, {}
            try:
                r = client.post("/decide", content=json.dumps(situations[i]), headers={"content-type": "application/json"})
            except httpx.HTTPError as e:  # an error of the transport is an error too: counted, and shown below
                return i, 0, f"{type(e).__name__}: {e}"
            return i, r.status_code, r.json()

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(send, range(len(situations))))
        log = server_log()
    sent = [r for r in results if r[1] != -1]
    assert len(sent) >= REQUESTS // 4, "too few requests within the time cap"
    failed = [(i, status, body) for i, status, body in sent if status != 200]
    assert failed == [], f"{len(failed)} errors of {len(sent)} requests: {failed[:5]}; server log: {log}"
    for i, _, body in sent:
        assert body == expected[i]
