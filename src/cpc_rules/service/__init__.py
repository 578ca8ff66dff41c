"""The HTTP service: the rulebook loaded once, decisions as JSON, and the buyer's page (docs/http.md)."""
