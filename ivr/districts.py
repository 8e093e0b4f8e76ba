"""A caller's district of the "1 + 7" platform from the calling number's prefix."""

from __future__ import annotations

from ivr.menu_model import Menus

__all__ = ["district_for", "normalize_number"]


def normalize_number(number: str) -> str:
    """Digits only, without the country code 86 (``+86``, ``0086``)."""
    digits = "".join(c for c in number if c.isdigit())
    for cc in ("0086", "86"):
        if digits.startswith(cc) and len(digits) - len(cc) >= 10:
            return digits[len(cc) :]
    return digits


def district_for(menus: Menus, number: str) -> str | None:
    """The district whose prefix (longest match) the calling number starts with."""
    n = normalize_number(number)
    if not n:
        return None
    best, best_len = None, 0
    for name, d in menus.districts.items():
        for p in d.prefixes:
            if n.startswith(p) and len(p) > best_len:
                best, best_len = name, len(p)
    return best
