"""Password hashing: argon2id, a wrong or malformed hash is just False, length rules."""

from __future__ import annotations

import secrets

import pytest
from argon2 import PasswordHasher

from agents.passwords import (
    GENERATED_SECRET_BYTES,
    MIN_PASSWORD_LENGTH,
    check_new_password,
    hash_generated_secret,
    hash_password,
    needs_rehash,
    verify_nothing,
    verify_password,
)


def test_hash_and_verify() -> None:
    h = hash_password("街道办 correct horse")
    assert h.startswith("$argon2id$") and "correct" not in h
    assert verify_password(h, "街道办 correct horse")
    assert not verify_password(h, "街道办 correct hors")
    assert hash_password("街道办 correct horse") != h  # salted
    assert not needs_rehash(h)


def test_malformed_hash_and_overlong_password_are_false() -> None:
    assert not verify_password("not a hash", "whatever")
    assert not verify_password(hash_password("x" * 20), "x" * 10_000)
    verify_nothing()  # costs a check, answers nothing


def test_new_password_length_is_checked_with_the_field_named() -> None:
    with pytest.raises(ValueError, match=f"password: at least {MIN_PASSWORD_LENGTH}"):
        check_new_password("short")
    with pytest.raises(ValueError, match="password: at most"):
        check_new_password("x" * 1000)
    check_new_password("x" * MIN_PASSWORD_LENGTH)


def test_a_generated_secret_gets_a_light_hash_that_stays() -> None:
    secret = secrets.token_urlsafe(GENERATED_SECRET_BYTES)
    h = hash_generated_secret(secret)
    assert h.startswith("$argon2id$") and "m=8,t=1,p=1" in h and secret not in h
    assert verify_password(h, secret) and not verify_password(h, secret[:-1])
    assert not needs_rehash(h)  # not upgraded to the cost a person's password needs
    assert needs_rehash(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("x"))
    with pytest.raises(ValueError, match="random bytes"):
        hash_generated_secret("a person's password")
