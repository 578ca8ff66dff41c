"""The HTTP service, in process (Starlette's test client): every endpoint, every refusal, no 500."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from hypothesis import given, settings
from situation_strategies import decision_dates, facts_for
from starlette.testclient import TestClient

from cpc_rules import __version__, default_rulebook
from cpc_rules.render.text import verdict
from cpc_rules.service.app import Limits, create_app

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


# ---------------------------------------------------------------- the verdict, as the CLI prints it


def _rebuilt(verdict: dict) -> str:
    """The text verdict rebuilt from its JSON lines: indentation, and a blank line between sections."""
    out, section = [], 0
    for line in verdict["lines"]:
        out.extend([""] * (line["section"] - section))
        section = line["section"]
        out.append("  " * line["level"] + line["text"])
    return "\n".join(out)


def _text_of(verdict_text: str) -> str:
    """The text verdict with its indentation rounded to steps of two (the JSON's levels) and blank lines kept."""
    return "\n".join("  " * ((len(x) - len(x.lstrip(" "))) // 2) + x.strip() if x.strip() else "" for x in verdict_text.rstrip("\n").splitlines())


@pytest.mark.parametrize(
    "document",
    [
        SITUATION,
        {"date": "2026-05-15", "faits": {"type_acheteur": "état_administration_centrale", "marché_de_défense_ou_de_sécurité": True, "nature": "fournitures", "valeur_estimée_besoin": "300000"}},
        {"date": "2026-05-15", "faits": {"nature": "travaux"}},
        {"date": "2015-05-15", "faits": {"nature": "travaux"}},
    ],
)
def test_the_verdict_on_request_is_the_text_verdict_line_for_line(client: TestClient, document: dict) -> None:
    import jsonschema

    plain = client.post("/decide", json=document).json()
    assert "verdict" not in plain  # not paid for unless asked
    body = client.post("/decide", params={"verdict": "true"}, json=document).json()
    decision = default_rulebook().decide(document["faits"], at=document["date"])
    text = verdict(decision, hints=False)  # the page's lines: the terminal's, without its options (« voir --detail »)
    assert _rebuilt(body["verdict"]) == _text_of(text)
    assert not any("--" in x["text"] for x in body["verdict"]["lines"]), "a page's line tells a web user to type a CLI option"
    # the terminal's verdict is the same text, with its hints where it has some
    assert _text_of(decision.verdict()).replace(" (voir --detail)", "").replace(", --detail)", ")") == _text_of(text)
    assert body["verdict"]["lines"][0]["kind"] == "title"
    assert {k: v for k, v in body.items() if k != "verdict"} == plain
    jsonschema.validate(body, json.loads((ROOT / "docs" / "trace-format.schema.json").read_text(encoding="utf-8")))
    kinds = [x["kind"] for x in body["verdict"]["lines"]]
    if document["date"] < "2019":
        assert kinds == ["title", "out_of_period"]
    else:
        assert "heading" in kinds and ("open_question" in kinds or "allowed" in kinds)
    if document["faits"].get("marché_de_défense_ou_de_sécurité"):  # this one has a terminal hint: the page says it without
        assert "--detail" in decision.verdict() and "5 possibilités)" in text


def test_the_verdict_flag_is_checked(client: TestClient) -> None:
    r = client.post("/decide", params={"verdict": "peut-être"}, json=SITUATION)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "E431"


def test_the_batch_gives_the_verdict_on_request(client: TestClient) -> None:
    r = client.post("/decide/batch", params={"verdict": "true"}, json=[SITUATION, SITUATION])
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["index"] for x in lines] == [0, 1]
    assert all(x["decision"]["verdict"]["lines"] for x in lines)


@settings(max_examples=25, deadline=None)
@given(facts_for(default_rulebook().checked), decision_dates())
def test_the_verdict_lines_are_the_text_verdict_and_validate(facts: dict, at: object) -> None:
    """`verdict` (asked) is the text verdict line for line: every non-blank line, in order, its indentation as `level`."""
    from jsonschema import Draft202012Validator, FormatChecker

    from cpc_rules.engine.runtime import EvaluationError
    from cpc_rules.render.json import decision_json

    try:
        d = default_rulebook().decide(facts, at=at)
    except EvaluationError as e:  # facts that contradict each other (E402): no decision, no verdict
        assert e.diagnostic.code in ("E401", "E402", "E403")
        return
    doc = decision_json(d, with_verdict=True)
    schema = json.loads((ROOT / "docs" / "trace-format.schema.json").read_text(encoding="utf-8"))
    errors = [e.message for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(doc)]
    assert errors == [], errors
    page = verdict(d, hints=False)  # the terminal's text without its options (« voir --detail »)
    text = [x for x in page.splitlines() if x.strip()]
    lines = doc["verdict"]["lines"]
    assert [x["text"] for x in lines] == [x.strip() for x in text]
    assert [x["level"] for x in lines] == [(len(x) - len(x.lstrip(" "))) // 2 for x in text]
    assert lines[0]["kind"] == "title" and all(x["kind"] != "title" for x in lines[1:])
    assert [x["section"] for x in lines] == sorted(x["section"] for x in lines)
    assert _rebuilt(doc["verdict"]) == _text_of(page)
    assert not any("--" in x["text"] for x in lines)


def test_batch_lines_are_read_as_bytes_each_refused_on_its_own(client: TestClient) -> None:
    """A line that is not UTF-8 is that line's error (never decided on a guessed text); CRLF ends a line; a
    U+2028 inside a string does not (JSON Lines end at "\\n" only)."""
    good = json.dumps(SITUATION).encode()
    odd = json.dumps({"date": "2026-05-15", "faits": {"nature": "travaux\u2028"}}, ensure_ascii=False).encode()
    body = b"\xef\xbb\xbf" + good + b"\r\n" + b'{"date": "2026-05-15", "faits": {"nature": "trav\xe9ux"}}\n' + odd + b"\n" + good
    r = client.post("/decide/batch", content=body, headers={"content-type": "application/x-ndjson"})
    out = [json.loads(line) for line in r.text.rstrip("\n").split("\n")]
    assert [o["index"] for o in out] == [0, 1, 2, 3]
    assert out[0]["decision"] == _in_process(SITUATION) == out[3]["decision"]
    assert out[1]["status"] == 400 and out[1]["errors"][0]["code"] == "E419"
    assert out[2]["status"] == 422  # one situation, with a value that is not a nature
    r = client.post("/decide/batch", content=b"[" + good + b", \xff]", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "E419"


def test_a_batch_said_to_be_json_lines_is_read_as_lines(client: TestClient) -> None:
    """Content-Type application/x-ndjson: lines, even when the first line is an array (that line's error, not the batch's)."""
    body = b"[[1]]\n" + json.dumps(SITUATION).encode()
    r = client.post("/decide/batch", content=body, headers={"content-type": "application/x-ndjson; charset=utf-8"})
    out = [json.loads(x) for x in r.text.splitlines()]
    assert r.status_code == 200 and [o["index"] for o in out] == [0, 1]
    assert out[0]["status"] == 422 and out[1]["decision"] == _in_process(SITUATION)


@pytest.mark.parametrize("n", [16, 17])
def test_a_list_longer_than_the_limit_is_refused_before_deciding(n: int) -> None:
    small = TestClient(create_app(default_rulebook(), Limits(list_items=16)))
    doc = {"date": "2026-05-15", "faits": {"lots": [{"valeur": "1000"}] * n}}
    r = small.post("/decide", json=doc)
    if n <= 16:
        assert r.status_code == 200
    else:
        assert r.status_code == 413 and r.json()["errors"][0]["code"] == "E430" and "liste trop longue" in r.json()["errors"][0]["message"]
    # a batch's own array is not such a list: its length has its own limit
    assert small.post("/decide/batch", json=[SITUATION] * 20).status_code == 200


def test_a_batch_past_its_time_limit_still_accounts_for_every_line() -> None:
    """Past the limit, the remaining situations are errors E432 in their place: nothing is dropped or reordered."""
    slow = TestClient(create_app(default_rulebook(), Limits(seconds=0.0)))
    r = slow.post("/decide/batch", json=[SITUATION] * 40)
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [o["index"] for o in out] == list(range(40))
    assert all(o["status"] == 503 and o["errors"][0]["code"] == "E432" for o in out)
    r = TestClient(create_app(default_rulebook())).post("/decide/batch", json=[SITUATION] * 40)
    assert [json.loads(x)["decision"] == _in_process(SITUATION) for x in r.text.splitlines()] == [True] * 40


def test_a_bug_on_one_situation_of_a_batch_is_that_line_s_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """An internal error (E900, status 500) on one situation: its line says so, the other lines are decided."""
    from cpc_rules.service import app as service_app

    real = service_app.decide_document

    def flaky(rb, document, options, where="situation"):  # type: ignore[no-untyped-def]
        if where == "situation 1":
            raise ZeroDivisionError("simulated")
        return real(rb, document, options, where)

    monkeypatch.setattr(service_app, "decide_document", flaky)
    r = TestClient(create_app(default_rulebook())).post("/decide/batch", json=[SITUATION] * 3)
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [o["index"] for o in out] == [0, 1, 2]
    assert out[1]["status"] == 500 and out[1]["errors"][0]["code"] == "E900" and "ZeroDivisionError" in out[1]["errors"][0]["message"]
    assert out[0]["decision"] == out[2]["decision"] == _in_process(SITUATION)


def test_the_time_limit_can_be_set_for_serve(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from cpc_rules.service.main import limits_from_env

    monkeypatch.delenv("CPC_RULES_TIME_LIMIT", raising=False)
    assert limits_from_env().seconds == 10.0
    monkeypatch.setenv("CPC_RULES_TIME_LIMIT", "2.5")
    assert limits_from_env().seconds == 2.5
    for bad in ("0", "-1", "nan", "inf", "dix"):
        monkeypatch.setenv("CPC_RULES_TIME_LIMIT", bad)
        assert limits_from_env().seconds == 10.0
        assert "CPC_RULES_TIME_LIMIT" in capsys.readouterr().err
