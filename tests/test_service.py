"""The HTTP service, in process (Starlette's test client): every endpoint, every refusal, no 500."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from cpc_rules import __version__, default_rulebook
from cpc_rules.service.app import Limits, create_app

from conftest import ROOT

SITUATION = {"date": "2026-05-15", "faits": {"acheteur": "autre_pouvoir_adjudicateur", "nature": "fournitures", "valeur_estimée_besoin": "50000"}}


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(default_rulebook(), Limits(body_bytes=64 << 10, batch_body_bytes=256 << 10, batch_items=50, json_depth=16)))


def _in_process(document: dict, **options: object) -> dict:
    return default_rulebook().decide(document["faits"], at=document["date"], **options).to_json(trace=bool(options.get("trace")))


def test_decide_equals_the_python_api(client: TestClient) -> None:
    r = client.post("/decide", json=SITUATION)
    assert r.status_code == 200
    assert r.json() == _in_process(SITUATION)
    assert r.headers["x-cpc-engine-version"] == __version__
    assert r.headers["x-cpc-rulebook-digest"] == default_rulebook().digest
    assert "trace" not in r.json()


def test_decide_with_trace_and_date_override(client: TestClient) -> None:
    r = client.post("/decide", params={"trace": "true", "at": "2026-03-31"}, json=SITUATION)
    assert r.status_code == 200
    body = r.json()
    assert body["date"] == "2026-03-31" and body["trace"]
    assert body == default_rulebook().decide(SITUATION["faits"], at="2026-03-31", trace=True).to_json(trace=True)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{bad", 400, "E414"),
        (b"", 400, "E414"),
        (b"[1, 2]", 422, "E414"),
        (json.dumps({"date": "2026-05-15", "faits": {"inconnu": 1}}).encode(), 422, "E410"),
        (json.dumps({"date": "2026-05-15", "faits": {"nature": "nucléaire"}}).encode(), 422, "E41"),
        (json.dumps({"date": "2026-05-15", "faits": {"valeur_estimée_besoin": True}}).encode(), 422, "E41"),
        (json.dumps({"faits": {"nature": "travaux"}}).encode(), 422, "E413"),
        (json.dumps({"date": "hier", "faits": {}}).encode(), 422, "E413"),
        (json.dumps({"date": "2026-05-15", "faits": {}, "extra": 1}).encode(), 422, "E416"),
        (b"[" * 40 + b"]" * 40, 400, "E430"),
        (b'{"date": "2026-05-15", "faits": {"nature": "' + b"x" * (70 << 10) + b'"}}', 413, "E430"),
    ],
)
def test_bad_requests_get_a_diagnostic_never_a_500(client: TestClient, body: bytes, status: int, code: str) -> None:
    r = client.post("/decide", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    errors = r.json()["errors"]
    assert errors[0]["code"].startswith(code) and errors[0]["message"]
    assert len(r.content) < 4096  # a short excerpt, never the whole input echoed
    assert client.get("/health").status_code == 200  # and the server keeps serving


def test_bad_query_parameters(client: TestClient) -> None:
    assert client.post("/decide", params={"trace": "peut-être"}, json=SITUATION).status_code == 400
    r = client.post("/decide", params={"focus": "procédur"}, json=SITUATION)
    assert r.status_code == 422 and "procédure" in r.json()["errors"][0]["hint"]


def test_unknown_routes_and_methods_are_json(client: TestClient) -> None:
    r = client.get("/nulle-part")
    assert r.status_code == 404 and r.json()["errors"][0]["code"] == "E433"
    r = client.get("/decide")
    assert r.status_code == 405 and r.json()["errors"]


def test_batch_accounts_for_every_item_in_order(client: TestClient) -> None:
    lines = [json.dumps(SITUATION), "{pas du json", json.dumps({"date": "2026-05-15", "faits": {"inconnu": 1}}), "", json.dumps({**SITUATION, "date": "2018-01-01"})]
    r = client.post("/decide/batch", content="\n".join(lines).encode(), headers={"content-type": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    out = [json.loads(line) for line in r.text.splitlines()]
    assert [o["index"] for o in out] == [0, 1, 2, 3]  # the blank line is not a situation
    assert out[0]["decision"] == _in_process(SITUATION)
    assert out[1]["status"] == 400 and out[1]["errors"][0]["code"] == "E414"
    assert out[2]["status"] == 422 and out[2]["errors"][0]["code"] == "E410"
    assert out[3]["decision"]["status"] == "out_of_period"


def test_batch_as_a_json_array_and_its_limits(client: TestClient) -> None:
    r = client.post("/decide/batch", json=[SITUATION, SITUATION])
    assert [json.loads(x)["index"] for x in r.text.splitlines()] == [0, 1]
    assert client.post("/decide/batch", json=[SITUATION] * 51).status_code == 413
    assert client.post("/decide/batch", json=[]).status_code == 400


def test_static_resources_carry_an_etag(client: TestClient) -> None:
    for path in ("/schema", "/rulebook", "/openapi.json", "/articles/R2122-8", "/", "/page/app.js"):
        r = client.get(path)
        assert r.status_code == 200, path
        etag = r.headers["etag"]
        again = client.get(path, headers={"if-none-match": etag})
        assert again.status_code == 304 and not again.content


def test_rulebook_and_articles_say_what_the_engine_uses(client: TestClient) -> None:
    rb = client.get("/rulebook").json()
    assert rb["digest"] == default_rulebook().digest
    seuil = next(p for p in rb["parameters"] if p["name"] == "seuil_dispense")
    assert any(s["from"] == "2026-04-01" for s in seuil["steps"])
    art = client.get("/articles/R2122-8").json()
    assert art["rules"] and any(v["url"] for v in art["versions"])
    missing = client.get("/articles/R2122-88")
    assert missing.status_code == 404 and "R2122-8" in missing.json()["errors"][0]["hint"]


def test_schema_is_the_cli_schema(client: TestClient) -> None:
    from cpc_rules.render.schema import situation_schema

    assert client.get("/schema").json() == situation_schema(default_rulebook().checked)


def test_openapi_document_is_valid() -> None:
    from openapi_spec_validator import validate

    validate(TestClient(create_app()).get("/openapi.json").json())


def test_docs_page_lists_every_path(client: TestClient) -> None:
    page = client.get("/docs").text
    for path in client.get("/openapi.json").json()["paths"]:
        assert f"<code>{path}</code>" in page


def test_page_needs_nothing_from_the_internet() -> None:
    page_dir = ROOT / "src" / "cpc_rules" / "service" / "page"
    for f in page_dir.iterdir():
        text = f.read_text(encoding="utf-8")
        assert "http://" not in text and "//cdn" not in text, f
        assert "https://" not in text or f.name == "app.js" and text.count("https://") == 1  # the Légifrance link only
