"""Password hashing: argon2id (argon2-cffi's defaults, RFC 9106's second recommendation).

Only the hash is kept. A sign-in for a name that does not exist still costs one hash check
(:func:`verify_nothing`), so that the answer's timing does not tell which names exist.

**Generated secrets** (:func:`hash_generated_secret`): a password the process makes itself
from :data:`GENERATED_SECRET_BYTES` random bytes (the simulated operators' accounts, one per
seat, made at each start) is argon2id too, with the lightest parameters. argon2's cost is
there to slow down guessing a password a person chose; nobody guesses 256 random bits, at
any cost per guess. The default cost (about 0.15 s of CPU, twice: to hash and to check) would
make 150 simulated operators take a minute of CPU to start; these take milliseconds. Such a
hash is not upgraded at sign-in (:func:`needs_rehash`).
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "GENERATED_SECRET_BYTES",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "check_new_password",
    "hash_generated_secret",
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
#: Random bytes of a generated secret (``secrets.token_urlsafe(32)``: 43 characters).
GENERATED_SECRET_BYTES = 32
#: The lightest argon2id (RFC 9106's minimum memory for one lane): for generated secrets only.
_generated = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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


def hash_generated_secret(secret: str) -> str:
    """The light argon2id hash of a secret made from :data:`GENERATED_SECRET_BYTES` random
    bytes (see the module's docstring); ``ValueError`` for anything shorter, which could be
    a person's password."""
    if len(secret) < 4 * GENERATED_SECRET_BYTES // 3:
        raise ValueError(
            f"a generated secret has at least {GENERATED_SECRET_BYTES} random bytes "
            "(secrets.token_urlsafe(32))"
        )
    return _generated.hash(secret)


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
    """Whether the hash was made with other parameters than today's (rehash at sign-in); a
    generated secret's hash keeps its own."""
    if not _generated.check_needs_rehash(password_hash):
        return False
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password of anyone")


def verify_nothing() -> None:
    """Spend what a real check costs, for a name that does not exist."""
    verify_password(_dummy_hash(), "a wrong password")
