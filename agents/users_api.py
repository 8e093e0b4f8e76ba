"""The accounts over HTTP (``/api/v1/users``), for admins: add a user, list them, disable
one. Every change is audited with the admin who made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as FastApiPath
from pydantic import BaseModel, Field

from agents import accounts
from agents.authentication import Authenticator, SignedIn
from agents.models import User
from agents.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from agents.roles import Role

__all__ = ["UserIn", "UserOut", "make_router"]

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No user of this name."}}


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    display_name: str | None = Field(default=None, max_length=100)
    seat: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]+/[A-Za-z0-9@._/-]{1,70}$",
        description="The operator's queue member interface.",
        examples=["SIP/8001"],
    )
    department: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="A department user's department (its code in the catalogue); only theirs.",
        examples=["housing"],
    )


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    seat: str | None
    department: str | None = None
    active: bool
    created_at: datetime


def user_out(u: User) -> UserOut:
    return UserOut(
        username=u.username,
        display_name=u.display_name,
        role=Role(u.role),
        seat=u.seat,
        department=u.department,
        active=u.active,
        created_at=u.created_at,
    )


def make_router(auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/api/v1/users", tags=["users"])
    admin = auth.require(Role.ADMIN)

    @router.post(
        "",
        status_code=201,
        response_model=UserOut,
        responses={
            409: {"description": "A user of this name exists already."},
            422: {"description": "A field is wrong (named), or a department for the wrong role."},
        },
    )
    async def add(body: UserIn, who: SignedIn = Depends(admin)) -> UserOut:
        """Add a user (admin; audited as ``user.add``). A department user needs their
        ``department``, and no one else has one (422)."""
        async with auth.sessions()() as session:
            try:
                user = await accounts.add_user(
                    session,
                    username=body.username,
                    role=body.role,
                    password=body.password,
                    display_name=body.display_name,
                    seat=body.seat,
                    department=body.department,
                    at=auth.now(),
                    by=accounts.Actor(who.username, str(who.role)),
                )
            except accounts.DuplicateUser as e:
                raise HTTPException(409, str(e)) from None
            except ValueError as e:
                raise HTTPException(422, str(e)) from None
        return user_out(user)

    @router.get("", response_model=list[UserOut])
    async def list_(who: SignedIn = Depends(admin)) -> list[UserOut]:
        """Every user, by name (admin)."""
        async with auth.sessions()() as session:
            return [user_out(u) for u in await accounts.list_users(session)]

    @router.post(
        "/{username}/disable",
        response_model=UserOut,
        responses={**NOT_FOUND, 409: {"description": "An admin cannot disable themselves."}},
    )
    async def disable(
        username: Annotated[str, FastApiPath(min_length=1, max_length=64)],
        who: SignedIn = Depends(admin),
    ) -> UserOut:
        """Disable a user: no more sign-ins, their tokens stop working (admin; audited as
        ``user.disable``). Not oneself: the last admin would lock everyone out."""
        if username.strip().lower() == who.username:
            raise HTTPException(409, "username: you cannot disable yourself; ask another admin")
        async with auth.sessions()() as session:
            try:
                user = await accounts.disable_user(
                    session,
                    username,
                    at=auth.now(),
                    by=accounts.Actor(who.username, str(who.role)),
                )
            except LookupError as e:
                raise HTTPException(404, str(e)) from None
        return user_out(user)

    return router
