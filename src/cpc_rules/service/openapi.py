"""The service's contract: an OpenAPI 3.1 document built from the rulebook, and a page that shows it.

The situation's schema is the one `cpc-rules schema` prints (render/schema.py), so the
contract and the engine cannot drift apart; OpenAPI 3.1 takes JSON Schema 2020-12 as is.
"""

from __future__ import annotations

import html
from typing import Any

from cpc_rules import __version__
from cpc_rules.api import Rulebook
from cpc_rules.render.schema import situation_schema

_ERRORS = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "severity", "message"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[EW][0-9]{3}$"},
                    "severity": {"enum": ["error", "warning"]},
                    "message": {"type": "string"},
                    "hint": {"type": "string"},
                    "location": {"type": "object"},
                    "notes": {"type": "array"},
                },
            },
        }
    },
}

_DECISION = {
    "type": "object",
    "description": "La décision, au format versionné `trace_format` 1 (docs/trace-format.md).",
    "required": ["trace_format", "engine", "rulebook", "date", "status"],
    "properties": {
        "trace_format": {"const": 1},
        "engine": {"type": "object"},
        "rulebook": {"type": "object", "required": ["title", "digest"]},
        "date": {"type": "string", "format": "date"},
        "status": {"enum": ["decided", "out_of_period"]},
        "conclusions": {"type": "array"},
        "trace": {"type": "array"},
        "verdict": {"type": "object", "required": ["lang", "lines"]},
    },
}

_HEADERS = {
    "X-Cpc-Engine-Version": {"description": "Version du moteur", "schema": {"type": "string"}},
    "X-Cpc-Rulebook-Digest": {"description": "Empreinte du recueil de règles (sha256)", "schema": {"type": "string"}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "headers": _HEADERS, "content": {"application/json": {"schema": schema}}}


def _err(description: str) -> dict[str, Any]:
    return _json({"$ref": "#/components/schemas/Errors"}, description)


_QUERY = {
    "at": {"name": "at", "in": "query", "description": "Date de lancement de la consultation (AAAA-MM-JJ) ; remplace la date de la situation.", "schema": {"type": "string", "format": "date"}},
    "focus": {"name": "focus", "in": "query", "description": "Énumérations retenues, séparées par des virgules (ex. procédure,publicité).", "schema": {"type": "string"}},
    "trace": {"name": "trace", "in": "query", "description": "Joindre l'arbre de justification.", "schema": {"type": "boolean", "default": False}},
    "verdict": {
        "name": "verdict",
        "in": "query",
        "description": "Joindre le verdict en texte, ligne par ligne (`verdict`), tel que `cpc-rules decide` l'affiche.",
        "schema": {"type": "boolean", "default": False},
    },
    "presumptions": {
        "name": "presumptions",
        "in": "query",
        "description": "Décider avec les présomptions déclarées par le recueil (par défaut) ou strictement.",
        "schema": {"type": "boolean", "default": True},
    },
}


def openapi_document(rb: Rulebook) -> dict[str, Any]:
    situation = {k: v for k, v in situation_schema(rb.checked).items() if k != "$schema"}
    decide_params = [_QUERY[k] for k in ("at", "focus", "trace", "presumptions", "verdict")]
    bad = {"400": _err("Requête illisible (JSON invalide, trop profond, paramètre invalide)"), "413": _err("Requête trop grande"), "422": _err("Situation non conforme au recueil"), "503": _err("Délai dépassé")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"cpc-rules — {rb.checked.title}",
            "version": __version__,
            "description": "Quelle procédure, quelle publicité, quelles clauses : la décision du recueil de règles et sa justification, article par article.",
        },
        "paths": {
            "/decide": {
                "post": {
                    "summary": "Décider une situation",
                    "operationId": "decide",
                    "parameters": decide_params,
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Situation"}}}},
                    "responses": {"200": _json({"$ref": "#/components/schemas/Decision"}, "La décision"), **bad},
                }
            },
            "/decide/batch": {
                "post": {
                    "summary": "Décider un lot de situations (tableau JSON ou lignes JSON), réponse en lignes JSON",
                    "operationId": "decideBatch",
                    "parameters": decide_params,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Situation"}}},
                            "application/x-ndjson": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Une ligne JSON par situation, dans l'ordre : {index, decision} ou {index, status, errors}",
                            "headers": _HEADERS,
                            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                        },
                        **bad,
                    },
                }
            },
            "/questions": {
                "post": {
                    "summary": "Les prochaines questions utiles pour une situation, les plus décisives d'abord",
                    "operationId": "questions",
                    "parameters": [
                        _QUERY["at"],
                        _QUERY["focus"],
                        {"name": "skip", "in": "query", "description": "Faits que l'acheteur ne connaît pas (« je ne sais pas ») : ils ne sont plus demandés.", "schema": {"type": "string"}},
                    ],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Situation"}}}},
                    "responses": {"200": _json({"type": "object", "required": ["questions"], "properties": {"questions": {"type": "array"}}}, "Les questions"), **bad},
                }
            },
            "/schema": {"get": {"summary": "Le schéma JSON d'une situation", "operationId": "schema", "responses": {"200": _json({"type": "object"}, "Le schéma")}}},
            "/rulebook": {
                "get": {
                    "summary": "Le recueil : titre, empreinte, période couverte, articles, paramètres datés",
                    "operationId": "rulebook",
                    "responses": {"200": _json({"type": "object", "required": ["title", "digest", "articles", "parameters"]}, "Le recueil")},
                }
            },
            "/articles/{ref}": {
                "get": {
                    "summary": "Un article : versions, lien Légifrance, règles",
                    "operationId": "article",
                    "parameters": [{"name": "ref", "in": "path", "required": True, "schema": {"type": "string"}, "example": "R2122-8"}],
                    "responses": {"200": _json({"type": "object", "required": ["article", "versions", "rules"]}, "L'article"), "404": _err("Article inconnu")},
                }
            },
            "/health": {"get": {"summary": "Le service répond", "operationId": "health", "responses": {"200": _json({"type": "object", "required": ["status"]}, "En service")}}},
            "/openapi.json": {"get": {"summary": "Ce document", "operationId": "openapi", "responses": {"200": _json({"type": "object"}, "Le contrat OpenAPI")}}},
        },
        "components": {"schemas": {"Situation": situation, "Decision": _DECISION, "Errors": _ERRORS}},
    }


def docs_page(doc: dict[str, Any]) -> str:
    """A documentation page of the contract, self-contained (no script, no external resource)."""
    rows = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = ", ".join(f"<code>{html.escape(p['name'])}</code>" for p in op.get("parameters", []))
            statuses = ", ".join(sorted(op["responses"]))
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op['summary'])}</td><td>{params}</td><td>{statuses}</td></tr>"
            )
    title = html.escape(doc["info"]["title"])
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>API — ' + title + "</title>"
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}"
        "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.4rem;text-align:left;vertical-align:top}</style>"
        "</head><body><main><h1>API — " + title + "</h1>"
        "<p>" + html.escape(doc["info"]["description"]) + ' Le contrat complet : <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). '
        'Guide : docs/http.md. Page de l\'acheteur : <a href="/">/</a>.</p>'
        "<table><thead><tr><th>Méthode</th><th>Chemin</th><th>Rôle</th><th>Paramètres</th><th>Statuts</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></main></body></html>"
    )
