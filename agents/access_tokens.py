"""Access tokens: short-lived signed JWTs (HS256) that a request carries as ``Bearer``.

They are checked without the database (signature, issuer, expiry); the user is still looked
up on each request, so that a disabled account or a changed role counts at once. The key comes
from ``HOTLINE_TOKEN_SECRET``; without it (``make run`` on a laptop) a random key is made once
per process, with one warning: tokens then die with the process. Expiry is checked against the
injected clock, never the machine's: a token's life is ``ttl_s`` seconds of that clock.
"""

from __future__ import annotations

import functools
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from agents.roles import Role

__all__ = ["AccessClaims", "AccessTokens", "InvalidToken", "per_process_secret"]

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "hotline12345"
#: HS256 keys shorter than this are refused (RFC 7518 3.2: at least the hash's 256 bits).
MIN_SECRET_BYTES = 32


class InvalidToken(Exception):
    """The token is not one of ours, was tampered with, or has expired (the message says which,
    for the logs; the client is told only 401)."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    username: str
    role: Role
    issued_at: int
    expires_at: int


@functools.cache
def per_process_secret() -> str:
    """A random key for this process only, made once, with one warning."""
    log.warning(
        "HOTLINE_TOKEN_SECRET is not set: signing tokens with a random key of this process; "
        "every sign-in ends when it stops. Set HOTLINE_TOKEN_SECRET (32+ random bytes) to keep "
        "them, and the same value on every process behind one address."
    )
    return secrets.token_urlsafe(48)


class AccessTokens:
    """Issues and checks access tokens with one key, on the clock ``now`` (epoch seconds)."""

    def __init__(self, secret: str, now: Callable[[], float], ttl_s: float = 900.0) -> None:
        if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
            raise ValueError(
                f"HOTLINE_TOKEN_SECRET: at least {MIN_SECRET_BYTES} bytes "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if ttl_s <= 0:
            raise ValueError("access token lifetime must be > 0 seconds")
        self._secret = secret
        self._now = now
        self.ttl_s = ttl_s

    def issue(self, user_id: int, username: str, role: Role) -> tuple[str, int]:
        """A token for this user and its lifetime in whole seconds."""
        iat = int(self._now())
        ttl = max(1, int(self.ttl_s))
        claims = {
            "iss": ISSUER,
            "sub": username,
            "uid": user_id,
            "role": str(role),
            "iat": iat,
            "exp": iat + ttl,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), ttl

    def check(self, token: str) -> AccessClaims:
        """The token's claims, or :class:`InvalidToken`. PyJWT checks the signature and the
        issuer; the expiry is checked here against the injected clock."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["iss", "sub", "uid", "role", "iat", "exp"],
                },
            )
        except jwt.PyJWTError as e:
            raise InvalidToken(f"bad token: {type(e).__name__}") from None
        try:
            parsed = AccessClaims(
                user_id=int(claims["uid"]),
                username=str(claims["sub"]),
                role=Role(claims["role"]),
                issued_at=int(claims["iat"]),
                expires_at=int(claims["exp"]),
            )
        except (TypeError, ValueError):
            raise InvalidToken("bad token: malformed claims") from None
        if self._now() >= parsed.expires_at:
            raise InvalidToken("expired token")
        return parsed
