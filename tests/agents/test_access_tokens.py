"""Access tokens: signed, short-lived on the injected clock, refused when tampered with."""

from __future__ import annotations

import jwt
import pytest

from agents.access_tokens import AccessTokens, InvalidToken
from agents.roles import Role

SECRET = "s" * 40


class Clock:
    def __init__(self, t: float = 1_795_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_a_token_lives_its_ttl_on_the_injected_clock() -> None:
    clock = Clock()
    tokens = AccessTokens(SECRET, clock, ttl_s=900)
    token, ttl = tokens.issue(7, "op1", Role.OPERATOR)
    assert ttl == 900
    claims = tokens.check(token)
    assert (claims.user_id, claims.username, claims.role) == (7, "op1", Role.OPERATOR)
    clock.t += 899
    tokens.check(token)
    clock.t += 1  # the machine's clock plays no part: only the injected one
    with pytest.raises(InvalidToken, match="expired"):
        tokens.check(token)


def test_tampered_foreign_and_unsigned_tokens_are_refused() -> None:
    clock = Clock()
    tokens = AccessTokens(SECRET, clock)
    token, _ = tokens.issue(1, "root", Role.OPERATOR)
    head, body, sig = token.split(".")
    forged = jwt.encode(
        {**jwt.decode(token, options={"verify_signature": False}), "role": "admin"},
        "another key of enough length, 32 bytes",
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        jwt.decode(token, options={"verify_signature": False}), None, algorithm="none"
    )
    for bad in (forged, unsigned, f"{head}.{body}.{sig[:-2]}AA", "garbage", ""):
        with pytest.raises(InvalidToken):
            tokens.check(bad)
    other = AccessTokens("t" * 40, clock)
    with pytest.raises(InvalidToken):
        other.check(token)


def test_a_short_secret_is_refused_naming_the_variable() -> None:
    with pytest.raises(ValueError, match="HOTLINE_TOKEN_SECRET"):
        AccessTokens("short", Clock())
