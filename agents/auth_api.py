"""Signing in over HTTP (``/api/v1/auth``): a user name and password buy an access token and
a refresh token (``POST /token``); a refresh token buys the next pair (``POST /refresh``);
``POST /logout`` revokes a refresh token's family; ``GET /me`` says who is signed in.

Failed sign-ins are slowed down (:mod:`agents.signin_throttle`): 429 with ``Retry-After``.
An unknown name and a wrong password get the same answer after the same work. The password
is never logged, the user name is (it is not personal data of a citizen).
"""

from __future__ import annotations

import logging
from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from agents import accounts, refresh_tokens
from agents.authentication import Authenticator, SignedIn
from agents.models import User
from agents.passwords import MAX_PASSWORD_LENGTH
from agents.roles import Role

__all__ = ["Credentials", "MeOut", "RefreshIn", "TokensOut", "make_router"]

log = logging.getLogger(__name__)

SIGN_IN_AGAIN = "sign in again"


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class TokensOut(BaseModel):
    access_token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    token_type: str = Field(description="Always `bearer`.")
    expires_in: int = Field(description="Seconds the access token is good for.")
    refresh_token: str = Field(description="Once only, at POST /api/v1/auth/refresh.")
    refresh_expires_at: datetime = Field(description="When this sign-in ends (the shift).")


class MeOut(BaseModel):
    username: str
    display_name: str
    role: Role
    seat: str | None


def make_router(auth: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

    def tokens(user: User, refresh: str, ends: datetime) -> TokensOut:
        access, ttl = auth.tokens.issue(user.id, user.username, Role(user.role))
        return TokensOut(
            access_token=access,
            token_type="bearer",
            expires_in=ttl,
            refresh_token=refresh,
            refresh_expires_at=ends,
        )

    @router.post(
        "/token",
        response_model=TokensOut,
        responses={
            401: {"description": "Wrong user name or password (the same for an unknown name)."},
            429: {"description": "Too many failed sign-ins: wait `Retry-After` seconds."},
        },
    )
    async def token(body: Credentials, request: Request) -> TokensOut:
        """Sign in (open: no role)."""
        address = request.client.host if request.client else None
        wait = auth.throttle.retry_after(body.username, address)
        if wait is not None:
            raise HTTPException(
                429,
                f"too many failed sign-ins: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        async with auth.sessions()() as session:
            user = await accounts.sign_in(session, body.username, body.password)
            if user is None:
                auth.throttle.failed(body.username, address)
                log.info("sign-in refused for %r from %s", body.username[:64], address)
                raise HTTPException(
                    401,
                    "wrong user name or password",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            auth.throttle.succeeded(body.username)
            refresh, ends = await refresh_tokens.issue_family(
                session, user, at=auth.now(), ttl_s=auth.refresh_ttl_s
            )
        return tokens(user, refresh, ends)

    @router.post(
        "/refresh",
        response_model=TokensOut,
        responses={401: {"description": "The refresh token is not valid (any more)."}},
    )
    async def refresh(body: RefreshIn) -> TokensOut:
        """A new access token and the next refresh token (open: the refresh token is the
        credential). A refresh token used twice revokes its whole sign-in."""
        async with auth.sessions()() as session:
            try:
                done = await refresh_tokens.rotate(session, body.refresh_token, at=auth.now())
            except refresh_tokens.RefreshRefused as e:
                log.info("refresh refused: %s", e)
                raise HTTPException(
                    401, f"{SIGN_IN_AGAIN}: {e}", headers={"WWW-Authenticate": "Bearer"}
                ) from None
        return tokens(done.user, done.token, done.expires_at)

    @router.post("/logout", status_code=204, response_class=Response)
    async def logout(body: RefreshIn) -> Response:
        """End a sign-in: its refresh token, and every one rotated from the same sign-in, stop
        working (open: the refresh token is the credential). The access token lives out its
        few minutes. 204 whether or not the token was known."""
        async with auth.sessions()() as session:
            await refresh_tokens.revoke_token_family(session, body.refresh_token, at=auth.now())
        return Response(status_code=204)

    operator = auth.require(Role.OPERATOR)

    @router.get("/me", response_model=MeOut)
    async def me(who: SignedIn = Depends(operator)) -> MeOut:
        """Who is signed in (operator or higher)."""
        return MeOut(
            username=who.username, display_name=who.display_name, role=who.role, seat=who.seat
        )

    return router
