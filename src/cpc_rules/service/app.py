"""The ASGI application: the public API of `api.py` over HTTP, JSON in and out.

Stateless by construction: the only state is the rulebook, loaded once per worker and
never changed, so any number of workers give the same answers. Every error is a list of
the same diagnostics the CLI prints (code, message, location, hint), with an HTTP status
that says whose fault it is: 400 unreadable request, 404 unknown resource, 413 too large,
422 a situation that does not fit the rulebook, 503 over the time limit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources as importlib_resources
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from cpc_rules import __version__, situation
from cpc_rules.api import Rulebook, default_rulebook
from cpc_rules.diagnostics import CpcError, Diagnostic
from cpc_rules.engine.runtime import EvaluationError
from cpc_rules.record import frozen
from cpc_rules.render.json import decision_json
from cpc_rules.render.schema import situation_schema
from cpc_rules.service import catalogue
from cpc_rules.service.openapi import openapi_document


@frozen
class Limits:
    """What one request may ask; beyond, a 413 (size, length) or a 503 (time)."""

    body_bytes: int = 1 << 20  # one situation
    batch_body_bytes: int = 32 << 20
    batch_items: int = 10_000
    json_depth: int = 32
    list_items: int = 1000  # one list in a situation (its lots): a decision's cost grows faster than its lots
    seconds: float = 10.0


class RequestError(Exception):
    """A request refused with its HTTP status and diagnostics."""

    def __init__(self, status: int, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0].message if diagnostics else str(status))
        self.status = status
        self.diagnostics = diagnostics


def _error(status: int, code: str, message: str, hint: str | None = None) -> RequestError:
    return RequestError(status, [Diagnostic(code, message, hint=hint)])


def _internal(exc: Exception) -> Diagnostic:
    """A bug of cpc-rules, said as one (E900), without its traceback."""
    return Diagnostic("E900", f"erreur interne ({type(exc).__name__}) : c'est un défaut de cpc-rules, merci de le signaler")


def errors_json(diagnostics: list[Diagnostic]) -> dict[str, Any]:
    return {"errors": [d.to_json() for d in diagnostics]}


class JSON(JSONResponse):
    """Compact UTF-8 JSON, as the CLI writes it (accents kept)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------- reading requests


async def _body(request: Request, limit: int) -> bytes:
    """The request body, read as it arrives and refused (413) as soon as it passes `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _error(413, "E430", f"corps de requête trop grand : {declared} octets (limite {limit})")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _error(413, "E430", f"corps de requête trop grand : plus de {limit} octets")
        chunks.append(chunk)
    return b"".join(chunks)


def _depth(value: Any, limit: int) -> tuple[int, int]:
    """How deeply a decoded JSON value nests (stops counting past `limit`), and its longest list below the root
    (a root list is a batch, with its own limit)."""
    stack, deepest, longest = [(value, 1)], 0, 0
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > limit:
            return deepest, longest
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            if d > 1:
                longest = max(longest, len(v))
            stack.extend((x, d + 1) for x in v)
    return deepest, longest


def _decode(raw: str | bytes, what: str, limits: Limits) -> Any:
    """A JSON body, read exactly as `decide` reads a situation file (situation.py): 400 if it cannot be."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise _error(400, "E419", f"{what} : le corps n'est pas du texte UTF-8") from None
    try:
        value = situation.decode(text.lstrip("\ufeff"), what, "json")
    except CpcError as e:
        raise RequestError(400, e.diagnostics) from None
    depth, longest = _depth(value, limits.json_depth)
    if depth > limits.json_depth:
        raise _error(400, "E430", f"{what} : document JSON trop profond (plus de {limits.json_depth} niveaux)")
    if longest > limits.list_items:
        raise _error(413, "E430", f"{what} : liste trop longue ({longest} éléments, limite {limits.list_items})", hint="une situation décrit un achat : ses lots se comptent au plus par centaines")
    return value


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "oui", "yes"):
        return True
    if raw.lower() in ("0", "false", "non", "no"):
        return False
    raise _error(400, "E431", f"paramètre « {name} » : attendu true ou false, reçu « {raw[:40]} »")


def _focus(request: Request, rb: Rulebook) -> tuple[str, ...] | None:
    """`focus=procédure,publicité`, checked as `decide --focus` checks it (E421)."""
    raw = request.query_params.get("focus")
    if raw is None:
        return None
    try:
        return rb.focus(raw)
    except CpcError as e:
        raise RequestError(422, e.diagnostics) from None


@frozen
class Options:
    """How to decide, from the query string (the same choices as the CLI's options)."""

    at: str | None
    focus: tuple[str, ...] | None
    trace: bool
    presumptions: bool
    verdict: bool = False


def _date_param(request: Request) -> str | None:
    raw = request.query_params.get("at")
    if raw is None:
        return None
    try:
        if len(raw) == 10 and raw[4] == raw[7] == "-" and raw.replace("-", "").isdecimal() and raw.isascii():
            return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise _error(400, "E413", f"paramètre « at » : date invalide « {raw[:40]} »", hint="une date s'écrit AAAA-MM-JJ")


def _options(request: Request, rb: Rulebook) -> Options:
    at = _date_param(request)
    return Options(
        at=at,
        focus=_focus(request, rb),
        trace=_flag(request, "trace", False),
        presumptions=_flag(request, "presumptions", True),
        verdict=_flag(request, "verdict", False),
    )


# ---------------------------------------------------------------- deciding


def decide_document(rb: Rulebook, document: Any, options: Options, where: str = "situation") -> dict[str, Any]:
    """One situation document → the decision's JSON, or RequestError (422 for a situation, 400 for a date)."""
    try:
        found = situation.situation_from_value(document, where)
    except CpcError as e:
        raise RequestError(422, e.diagnostics) from None
    date = options.at or found.date
    if date is None:
        raise _error(422, "E413", f"{where} : date de lancement de la consultation manquante", hint='donnez "date": "AAAA-MM-JJ" dans la situation, ou ?at=AAAA-MM-JJ')
    try:
        decision = rb.decide(found.facts, at=date, trace=options.trace, focus=options.focus, presumptions=options.presumptions)
    except CpcError as e:
        raise RequestError(422, e.diagnostics) from None
    except EvaluationError as e:
        raise RequestError(422, list(e.diagnostics)) from None
    return decision_json(decision, with_trace=options.trace, with_verdict=options.verdict)


async def _in_time(limits: Limits, fn: Callable[[], Any]) -> Any:
    """Run `fn` in a worker thread; past the time limit, answer 503 (the thread finishes on its own)."""
    try:
        with anyio.fail_after(limits.seconds):
            return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)
    except TimeoutError:
        raise _error(503, "E432", f"délai dépassé ({limits.seconds:g} s) : la requête n'a pas abouti") from None


# ---------------------------------------------------------------- endpoints


class Service:
    """The endpoints, bound to one rulebook and its limits."""

    def __init__(self, rb: Rulebook, limits: Limits) -> None:
        self.rb = rb
        self.limits = limits
        self.headers = {"X-Cpc-Engine-Version": __version__, "X-Cpc-Rulebook-Digest": rb.digest}
        self.static = {
            "/schema": situation_schema(rb.checked),
            "/rulebook": catalogue.rulebook_json(rb),
            "/openapi.json": openapi_document(rb),
        }

    # --- static JSON, with an ETag
    def _cached(self, request: Request, payload: Any, media_type: str = "application/json") -> Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {**self.headers, "ETag": etag, "Cache-Control": "public, max-age=300"}
        if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    async def static_json(self, request: Request) -> Response:
        return self._cached(request, self.static[request.url.path])

    async def article(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        found = catalogue.article_json(self.rb, ref)
        if found is None:
            close = catalogue.close_articles(self.rb, ref)
            raise _error(404, "E433", f"article inconnu « {ref[:60]} »", hint=("voulez-vous dire : " + ", ".join(close)) if close else None)
        return self._cached(request, found)

    async def health(self, request: Request) -> Response:
        return JSON({"status": "ok", "engine": {"name": "cpc-rules", "version": __version__}, "rulebook": {"title": self.rb.checked.title, "digest": self.rb.digest}}, headers=self.headers)

    async def page(self, request: Request) -> Response:
        name = request.path_params.get("name", "index.html")
        if name not in PAGE_FILES:
            raise HTTPException(404)
        media = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}[name.rsplit(".", 1)[1]]
        return self._cached(request, _page_file(name), media)

    async def docs(self, request: Request) -> Response:
        from cpc_rules.service.openapi import docs_page

        return HTMLResponse(docs_page(self.static["/openapi.json"]), headers=self.headers)

    # --- deciding
    async def decide(self, request: Request) -> Response:
        options = _options(request, self.rb)
        document = _decode(await _body(request, self.limits.body_bytes), "situation", self.limits)
        result = await _in_time(self.limits, lambda: decide_document(self.rb, document, options))
        return JSON(result, headers=self.headers)

    async def questions(self, request: Request) -> Response:
        options = _options(request, self.rb)
        skip = self._facts_param(request, "skip")
        document = _decode(await _body(request, self.limits.body_bytes), "situation", self.limits)

        def ask() -> dict[str, Any]:
            try:
                found = situation.situation_from_value(document, "situation")
            except CpcError as e:
                raise RequestError(422, e.diagnostics) from None
            date = options.at or found.date
            if date is None:
                raise _error(422, "E413", "situation : date de lancement de la consultation manquante", hint='donnez "date": "AAAA-MM-JJ"')
            try:
                return catalogue.questions_json(self.rb, found.facts, date, options.focus, skip)
            except CpcError as e:
                raise RequestError(422, e.diagnostics) from None

        return JSON(await _in_time(self.limits, ask), headers=self.headers)

    def _facts_param(self, request: Request, name: str) -> tuple[str, ...]:
        raw = request.query_params.get(name, "")
        names = tuple(n.strip() for n in raw.split(",") if n.strip())
        known = {f.name for f in self.rb.checked.facts}
        for n in names:
            if n not in known:
                raise _error(422, "E410", f"{name} : fait inconnu « {n[:60]} »", hint="voir GET /schema pour les faits attendus")
        return names

    async def batch(self, request: Request) -> Response:
        options = _options(request, self.rb)
        raw = await _body(request, self.limits.batch_body_bytes)
        items = self._batch_items(raw, request.headers.get("content-type", ""))
        deadline = time.monotonic() + self.limits.seconds * max(1, len(items) // 1000)

        def chunk(start: int) -> bytes:
            return b"".join(
                (json.dumps(self._batch_line(i, items[i], options, deadline), ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                for i in range(start, min(start + _CHUNK, len(items)))
            )

        async def lines() -> AsyncIterator[bytes]:
            # decided in a worker thread a few at a time: the event loop keeps serving other requests meanwhile,
            # and each chunk is sent as soon as it is decided (streamed, in order, one line per situation)
            for start in range(0, len(items), _CHUNK):
                yield await anyio.to_thread.run_sync(chunk, start)

        return StreamingResponse(lines(), media_type="application/x-ndjson", headers=self.headers)

    def _batch_items(self, raw: bytes, content_type: str) -> list[Any]:
        """The situations of a batch: a JSON array, or JSON Lines (one per line; a bad line is an item error)."""
        media = content_type.split(";")[0].strip().lower()
        as_lines = media in _JSON_LINES  # said so: lines, even if the first one is an array; else, a body that opens a JSON array is one
        if not as_lines and raw.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"["):
            value = _decode(raw, "lot", self.limits)  # one document: not UTF-8 or not JSON is the whole request's fault (400)
            items: list[Any] = list(value)
        else:  # JSON Lines: lines end at "\n" only, and a line that is not UTF-8 is that line's error (E419), not a guess
            lines = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")
            items = [_Line(n, line.removesuffix(b"\r")) for n, line in enumerate(lines, 1) if line.strip()]
        if len(items) > self.limits.batch_items:
            raise _error(413, "E430", f"lot trop long : {len(items)} situations (limite {self.limits.batch_items})")
        if not items:
            raise _error(400, "E430", "lot vide : attendu un tableau JSON de situations ou des lignes JSON")
        return items

    def _batch_line(self, index: int, item: Any, options: Options, deadline: float) -> dict[str, Any]:
        where = f"situation {index}"
        if time.monotonic() > deadline:
            return {"index": index, "status": 503, "errors": [Diagnostic("E432", f"{where} : délai du lot dépassé, non décidée").to_json()]}
        try:
            if isinstance(item, _Line):
                item = _decode(item.text, f"ligne {item.number}", self.limits)
            return {"index": index, "decision": decide_document(self.rb, item, options, where)}
        except RequestError as e:
            return {"index": index, "status": e.status, **errors_json(e.diagnostics)}
        except Exception as e:  # noqa: BLE001 -- a bug met on one situation is that line's answer: the stream goes on, nothing dropped
            return {"index": index, "status": 500, **errors_json([_internal(e)])}


@frozen
class _Line:
    number: int
    text: bytes


PAGE_FILES = ("index.html", "app.js", "app.css")
_CHUNK = 16  # situations of a batch decided per trip to a worker thread
_JSON_LINES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines", "application/json-lines")


def _page_file(name: str) -> bytes:
    return importlib_resources.files("cpc_rules.service").joinpath("page", name).read_bytes()


def create_app(rulebook: Rulebook | None = None, limits: Limits | None = None) -> Starlette:
    """The application for one rulebook (the bundled one by default), loaded now, once."""
    service = Service(rulebook or default_rulebook(), limits or Limits())

    async def on_request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return JSON(errors_json(exc.diagnostics), status_code=exc.status, headers=service.headers)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = {404: f"ressource inconnue : {request.url.path[:80]}", 405: f"méthode {request.method} non permise sur {request.url.path[:80]}"}.get(exc.status_code, str(exc.detail))
        return JSON(errors_json([Diagnostic("E433", message)]), status_code=exc.status_code, headers={**service.headers, **(exc.headers or {})})

    async def on_internal_error(request: Request, exc: Exception) -> Response:
        return JSON(errors_json([_internal(exc)]), status_code=500, headers=service.headers)

    routes = [
        Route("/", service.page, methods=["GET"]),
        Route("/page/{name}", service.page, methods=["GET"]),
        Route("/health", service.health, methods=["GET"]),
        Route("/schema", service.static_json, methods=["GET"]),
        Route("/rulebook", service.static_json, methods=["GET"]),
        Route("/openapi.json", service.static_json, methods=["GET"]),
        Route("/docs", service.docs, methods=["GET"]),
        Route("/articles/{ref}", service.article, methods=["GET"]),
        Route("/decide", service.decide, methods=["POST"]),
        Route("/decide/batch", service.batch, methods=["POST"]),
        Route("/questions", service.questions, methods=["POST"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={RequestError: on_request_error, HTTPException: on_http_error, Exception: on_internal_error},
    )


__all__ = ["Limits", "RequestError", "create_app", "decide_document"]
