"""The accounts: adding, listing and disabling users, and checking a sign-in's password.

Functions over an ``AsyncSession``; each write commits, with its audit entry in the same
transaction. User names are lower case ASCII (they go into logs and the audit log); the name
a person is called by (Chinese) is ``display_name``. Errors are ``ValueError`` that name the
field, for the CLI and the API to show as they are.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agents.audit import add_entry
from agents.models import RefreshToken, User
from agents.passwords import (
    check_new_password,
    hash_generated_secret,
    hash_password,
    needs_rehash,
    verify_nothing,
)
from agents.passwords import verify_password as _verify
from agents.roles import Role

__all__ = [
    "Actor",
    "DuplicateUser",
    "add_user",
    "check_department",
    "check_seat",
    "check_username",
    "disable_user",
    "get_user",
    "list_users",
    "provision_generated",
    "sign_in",
]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: A queue member interface: technology/resource (``SIP/8001``, ``PJSIP/8001``,
#: ``Local/8001@agents/n``).
SEAT = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9@._/-]{1,70}$")


#: A department's code, as the catalogue names it (``housing``, ``xiaoshan-district``).
DEPARTMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class DuplicateUser(ValueError):
    """A user of that name exists already."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who takes an action, as the audit log records it."""

    name: str
    role: str


def check_username(username: str) -> str:
    """The user name, lower-cased, or ``ValueError`` saying what a name may be."""
    name = username.strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValueError(
            f"username: {username!r} is not 2-64 of a-z 0-9 . _ - starting with a letter or "
            "digit (the person's own name goes in the display name)"
        )
    return name


def check_seat(seat: str | None) -> str | None:
    if seat is None or seat == "":
        return None
    if not SEAT.fullmatch(seat):
        raise ValueError(
            f"seat: {seat!r} is not a queue member interface such as SIP/8001 or PJSIP/8001"
        )
    return seat


def check_department(role: Role, department: str | None) -> str | None:
    """A department user needs their department's code; no one else has one."""
    department = (department or "").strip() or None
    if Role(role) is Role.DEPARTMENT:
        if department is None:
            raise ValueError("department: a department user needs their department's code")
        if not DEPARTMENT.fullmatch(department):
            raise ValueError(
                f"department: {department!r} is not a department code (a-z 0-9 . _ -, 1-64)"
            )
    elif department is not None:
        raise ValueError(f"department: only a department user has one, not a {role}")
    return department


async def add_user(
    session: AsyncSession,
    *,
    username: str,
    role: Role,
    password: str,
    at: datetime,
    by: Actor,
    display_name: str | None = None,
    seat: str | None = None,
    department: str | None = None,
) -> User:
    """Add an active user and audit it (``user.add``). ``ValueError`` naming the field for a
    bad name, seat, department or password; :class:`DuplicateUser` when the name is taken."""
    name = check_username(username)
    seat = check_seat(seat)
    department = check_department(role, department)
    check_new_password(password)
    shown = (display_name or "").strip() or name
    if len(shown) > 100:
        raise ValueError("display name: at most 100 characters")
    if await get_user(session, name) is not None:
        raise DuplicateUser(f"username: {name!r} exists already")
    user = User(
        username=name,
        display_name=shown,
        role=str(Role(role)),
        password_hash=await asyncio.to_thread(hash_password, password),
        seat=seat,
        department=department,
        active=True,
        created_at=at,
    )
    session.add(user)
    add_entry(
        session,
        at=at,
        actor=by.name,
        role=by.role,
        action="user.add",
        target=f"user:{name}",
        detail={"role": str(role), "seat": seat}
        | ({"department": department} if department else {}),
    )
    await session.commit()
    return user


async def provision_generated(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    seat: str,
    secret: str,
    at: datetime,
    by: Actor,
) -> User | None:
    """An operator account at ``seat`` whose password is ``secret``, a secret this process
    generated (``passwords.hash_generated_secret``): added (audited ``user.add``), or, when
    it exists from an earlier start, given the new secret (audited ``user.password``).
    ``None``, changing nothing, when it was disabled (an administrator's decision stands);
    ``ValueError`` when the name belongs to another kind of account (a person's, a role
    other than operator, another seat). Commits."""
    name = check_username(username)
    seat = check_seat(seat) or ""
    user = await get_user(session, name)
    if user is None:
        user = User(
            username=name,
            display_name=display_name.strip() or name,
            role=str(Role.OPERATOR),
            password_hash=hash_generated_secret(secret),
            seat=seat,
            active=True,
            created_at=at,
        )
        session.add(user)
        action = "user.add"
    else:
        if user.role != str(Role.OPERATOR) or user.seat != seat:
            raise ValueError(
                f"username: {name!r} is an account of role {user.role} at seat "
                f"{user.seat or 'none'}, not the generated operator of {seat}"
            )
        if not user.active:
            return None
        user.password_hash = hash_generated_secret(secret)
        action = "user.password"
    add_entry(
        session,
        at=at,
        actor=by.name,
        role=by.role,
        action=action,
        target=f"user:{name}",
        detail={"role": str(Role.OPERATOR), "seat": seat, "password": "generated"},
    )
    await session.commit()
    return user


async def get_user(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username.strip().lower()))


async def list_users(session: AsyncSession) -> Sequence[User]:
    return (await session.scalars(select(User).order_by(User.username))).all()


async def disable_user(session: AsyncSession, username: str, *, at: datetime, by: Actor) -> User:
    """Disable a user: no sign-in, no refresh, and the access tokens they hold stop working
    (each request looks the user up). Their refresh tokens are revoked. Audited
    (``user.disable``). ``LookupError`` when there is no such user."""
    user = await get_user(session, username)
    if user is None:
        raise LookupError(f"username: no user {username.strip().lower()!r}")
    user.active = False
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )
    add_entry(
        session,
        at=at,
        actor=by.name,
        role=by.role,
        action="user.disable",
        target=f"user:{user.username}",
    )
    await session.commit()
    return user


async def sign_in(session: AsyncSession, username: str, password: str) -> User | None:
    """The active user with this name and password, or None: the same None, after the same
        work (one argon2 check, in a worker thread: it takes tens of milliseconds of CPU that the
    event loop must not wait for), for an unknown name, a disabled user and a wrong password. A hash
        made with older parameters is replaced on success."""
    user = await get_user(session, username)
    if user is None:
        await asyncio.to_thread(verify_nothing)
        return None
    if not await asyncio.to_thread(_verify, user.password_hash, password) or not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await session.commit()
    return user
