"""Ticket numbers: digits only, id padded to 7, one Luhn check digit."""

from __future__ import annotations

import doctest
import random

import pytest

import tickets.numbers as numbers
from tickets.numbers import is_valid, make_number, ticket_id


def test_doctests():
    result = doctest.testmod(numbers)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("tid", "number"),
    [
        (1, "00000018"),
        (42, "00000422"),
        (1234567, "12345674"),
        (9999999, "99999997"),
        (10_000_000, "100000009"),
    ],
)
def test_known_numbers(tid, number):
    assert make_number(tid) == number
    assert is_valid(number)
    assert ticket_id(number) == tid


def test_shape():
    for tid in (1, 7, 999, 10**6, 10**7 - 1, 10**7, 10**9):
        n = make_number(tid)
        assert n.isascii() and n.isdigit()
        assert len(n) == max(8, len(str(tid)) + 1)
        assert int(n[:-1]) == tid


def _ids():
    rng = random.Random(12345)
    return [*range(1, 300), *(rng.randrange(1, 10**9) for _ in range(300))]


def test_every_single_digit_error_is_detected():
    for tid in _ids():
        n = make_number(tid)
        for pos, ch in enumerate(n):
            for wrong in "0123456789":
                if wrong != ch:
                    assert not is_valid(n[:pos] + wrong + n[pos + 1 :]), (n, pos, wrong)


def test_adjacent_swaps_detected_except_09():
    for tid in _ids():
        n = make_number(tid)
        for pos in range(len(n) - 1):
            a, b = n[pos], n[pos + 1]
            if a == b or {a, b} == {"0", "9"}:
                continue
            assert not is_valid(n[:pos] + b + a + n[pos + 2 :]), (n, pos)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "0000001",
        "00000000",
        "000000018",
        " 00000018",
        "0000001-8",
        "０００００００１８",
        "0000001８",
        "00000018\n",
        None,
        18,
        b"00000018",
    ],
)
def test_invalid(bad):
    assert not is_valid(bad)


def test_make_number_rejects_non_positive_and_non_int():
    for bad in (0, -1):
        with pytest.raises(ValueError):
            make_number(bad)
    for bad in (1.0, "1", True):
        with pytest.raises(TypeError):
            make_number(bad)
    with pytest.raises(ValueError):
        ticket_id("00000019")
