"""Password hashing: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).

Only the hash is kept. A sign-in for a name that does not exist still costs one hash check
(:func:`verify_nothing`), so that the answer's timing does not tell which names exist.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_new_password",
    "hash_password",
    "needs_rehash",
    "verify_nothing",
    "verify_password",
]

#: Shortest password accepted for a new account (NIST SP 800-63B asks at least 8; a
#: government intranet's policy usually 12).
MIN_PASSWORD_LENGTH = 12
#: Longest: beyond this a password is refused rather than hashed (argon2 hashes any length,
#: but an unbounded body is a cheap way to make the server work).
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


def check_new_password(password: str) -> None:
    """Refuse a password too short or too long for a new account (``ValueError`` that says
    which and how long it must be)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password: at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (PHC string, with its salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False for a malformed hash too."""
    if len(password) > MAX_PASSWORD_LENGTH:
        verify_nothing()
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's (rehash at sign-in)."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


def verify_nothing() -> None:
    """Spend what a real check costs, for a name that does not exist."""
    verify_password(_dummy_hash(), "a wrong password")
