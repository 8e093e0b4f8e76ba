"""Ticket numbers that a person can read out on the phone or key in on the IVR.

A number is the ticket id, zero-padded to at least 7 digits, followed by one Luhn check digit
(the scheme of bank cards). The check digit catches every single misheard or mistyped digit
and every swap of two neighbouring digits except 09 <-> 90, so an operator or the IVR can say
"that number does not exist, please repeat it" instead of opening someone else's ticket.

Each id has exactly one number, and each valid number names exactly one id:

>>> make_number(1)
'00000018'
>>> make_number(1234567)
'12345674'
>>> make_number(12345678)
'123456782'
>>> is_valid('00000018'), is_valid('00000019'), is_valid('00000081')
(True, False, False)
>>> ticket_id('12345674')
1234567
>>> is_valid('000000018')  # padded beyond 7 digits: not the canonical number of id 1
False
"""

from __future__ import annotations

PAD = 7
"""Digits of the id part (at least): 10 million tickets before numbers grow a digit."""


def luhn_check_digit(payload: str) -> str:
    """The Luhn digit to append to ``payload`` (ASCII digits).

    >>> luhn_check_digit('7992739871')
    '3'
    """
    if not _is_ascii_digits(payload):
        raise ValueError(f"payload must be ASCII digits, got {payload!r}")
    total = 0
    # From the right: the digit next to the check digit is doubled, then every second one.
    for i, ch in enumerate(reversed(payload)):
        d = ord(ch) - 48
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def make_number(ticket_id: int) -> str:
    """The number of the ticket with this id (a positive integer)."""
    if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
        raise TypeError(f"ticket id must be an int, got {type(ticket_id).__name__}")
    if ticket_id < 1:
        raise ValueError(f"ticket id must be positive, got {ticket_id}")
    payload = f"{ticket_id:0{PAD}d}"
    return payload + luhn_check_digit(payload)


def is_valid(number: object) -> bool:
    """True when ``number`` is exactly the number of some ticket id (the canonical form:
    ASCII digits only, no spaces, padding only up to 7 digits, right check digit)."""
    if not isinstance(number, str) or len(number) < PAD + 1 or not _is_ascii_digits(number):
        return False
    payload = number[:-1]
    if len(payload) > PAD and payload[0] == "0":
        return False
    if int(payload) == 0:
        return False
    return luhn_check_digit(payload) == number[-1]


def ticket_id(number: str) -> int:
    """The id named by a valid number; ``ValueError`` when the number is not valid."""
    if not is_valid(number):
        raise ValueError(f"not a valid ticket number: {number!r}")
    return int(number[:-1])


def _is_ascii_digits(s: str) -> bool:
    # str.isdigit() alone would accept full-width '１' and other scripts' digits.
    return s.isascii() and s.isdigit()
