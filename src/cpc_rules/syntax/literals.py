"""Literal texts to values, shared by the parser and the cache's check of an entry against its text."""

from __future__ import annotations

from decimal import Decimal

_SPACES = (" ", "\u00a0", "\u202f")


def parse_money(text: str) -> Decimal:
    """`25 000,50 €` → Decimal('25000.50')."""
    digits = text.replace("€", "").replace("EUR", "")
    for space in _SPACES:
        digits = digits.replace(space, "")
    return Decimal(digits.replace(",", "."))


def parse_percent(text: str) -> Decimal:
    digits = text.replace("%", "")
    for space in _SPACES:
        digits = digits.replace(space, "")
    return Decimal(digits.replace(",", "."))
