"""Refresh tokens: opaque random strings, kept only as their SHA-256, that buy a new access
token (and a new refresh token) without the password.

A sign-in starts a *family* that lives ``ttl_s`` (default 12 h, an operator's shift) from
that sign-in, however often it is refreshed: then the person signs in again. Each refresh
uses its token up and issues the next one of the family (rotation). A token presented again
after it was used was copied: the whole family is revoked, the thief's token and the owner's
alike, and the owner signs in again (OAuth 2.0 Security BCP, refresh token rotation). Logout
revokes the family too. The token's value is 256 random bits, so a plain SHA-256 is enough to
keep (no salt, no slow hash: there is nothing to guess).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.models import RefreshToken, User

__all__ = [
    "RefreshRefused",
    "Refreshed",
    "issue_family",
    "revoke_family",
    "revoke_token_family",
    "rotate",
]


class RefreshRefused(Exception):
    """The refresh token is unknown, expired, revoked, or was used already (then its family
    has just been revoked). The message says which, for the logs; the client gets 401."""


@dataclass(frozen=True, slots=True)
class Refreshed:
    user: User
    token: str
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new(session: AsyncSession, user_id: int, family: str, at: datetime, ends: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=_digest(token),
            family=family,
            user_id=user_id,
            issued_at=at,
            expires_at=ends,
        )
    )
    return token


async def issue_family(
    session: AsyncSession, user: User, *, at: datetime, ttl_s: float
) -> tuple[str, datetime]:
    """A new family's first token (committed) and when the family ends."""
    ends = at + timedelta(seconds=ttl_s)
    token = _new(session, user.id, uuid.uuid4().hex, at, ends)
    await session.commit()
    return token, ends


async def rotate(session: AsyncSession, token: str, *, at: datetime) -> Refreshed:
    """Use ``token`` up and issue the next of its family, or :class:`RefreshRefused`.

    The token is used up with one conditional UPDATE (``used_at IS NULL``), so of two
    requests racing with the same token one wins and the other is taken as a reuse."""
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == _digest(token))
    )
    if row is None:
        raise RefreshRefused("unknown refresh token")
    if row.revoked_at is not None:
        raise RefreshRefused("revoked refresh token")
    if row.expires_at <= at:
        raise RefreshRefused("expired refresh token")
    family, user_id, ends = row.family, row.user_id, row.expires_at
    used = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=at)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        await revoke_family(session, family, at=at)
        raise RefreshRefused("refresh token reused: its family is revoked")
    user = await session.get(User, user_id)
    if user is None or not user.active:
        await revoke_family(session, family, at=at)
        raise RefreshRefused("user disabled")
    new = _new(session, user.id, family, at, ends)
    await session.commit()
    return Refreshed(user=user, token=new, expires_at=ends)


async def revoke_family(session: AsyncSession, family: str, *, at: datetime) -> None:
    """Revoke every token of ``family`` still valid (committed)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def revoke_token_family(session: AsyncSession, token: str, *, at: datetime) -> bool:
    """Logout: revoke the family of ``token``; False when the token is unknown."""
    family = await session.scalar(
        select(RefreshToken.family).where(RefreshToken.token_hash == _digest(token))
    )
    if family is None:
        return False
    await revoke_family(session, family, at=at)
    return True
