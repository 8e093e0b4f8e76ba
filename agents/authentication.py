"""Who is asking: the bearer token of an HTTP request checked, its user looked up, and the
role an operation needs enforced (:meth:`Authenticator.require`, a FastAPI dependency).

Every operation states its role with ``Depends(auth.require(Role.X))`` (on the operation or
on its router); the OpenAPI description then declares the bearer scheme on it. Without a
token, or with a bad or expired one, or for a disabled user: 401 with ``WWW-Authenticate:
Bearer``; with a role too low: 403. Both are problem details (the app's handlers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import HTTPException, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents.access_tokens import AccessTokens, InvalidToken, per_process_secret
from agents.models import User
from agents.roles import Role, grants
from agents.signin_throttle import SigninThrottle, ThrottleRules
from config.settings import Settings

__all__ = [
    "Authenticator",
    "RoleRequirement",
    "SignedIn",
    "authenticator_from_settings",
    "roles_of",
]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An access token from POST /api/v1/auth/token (or /refresh).",
)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The person behind a request."""

    user_id: int
    username: str
    role: Role
    display_name: str
    seat: str | None
    #: A department user's department (code); None for the centre's staff.
    department: str | None = None


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


class Authenticator:
    """The access tokens, the sign-in throttle, the store and the clock that the auth
    routes and :meth:`require` share. ``sessions`` is read when a request comes (the runtime
    opens the store after the app is built)."""

    def __init__(
        self,
        *,
        tokens: AccessTokens,
        throttle: SigninThrottle,
        sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
        now: Callable[[], float],
        refresh_ttl_s: float = 12 * 3600.0,
    ) -> None:
        self.tokens = tokens
        self.throttle = throttle
        self._sessions = sessions
        self._now = now
        self.refresh_ttl_s = refresh_ttl_s

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._now(), UTC)

    def sessions(self) -> async_sessionmaker[AsyncSession]:
        made = self._sessions()
        if made is None:
            raise HTTPException(503, "the store is not open yet")
        return made

    def require(self, role: Role) -> RoleRequirement:
        """The dependency of an operation that ``role`` (or a higher one) may use; it gives
        the :class:`SignedIn` person."""
        return RoleRequirement(self, role)

    async def signed_in(self, token: str) -> SignedIn:
        try:
            claims = self.tokens.check(token)
        except InvalidToken as e:
            raise _unauthorized(f"sign in again: {e}", "invalid_token") from None
        async with self.sessions()() as session:
            user = await session.get(User, claims.user_id)
        if user is None or not user.active or user.username != claims.username:
            raise _unauthorized("sign in again: this account is disabled", "invalid_token")
        return SignedIn(
            user_id=user.id,
            username=user.username,
            role=Role(user.role),
            display_name=user.display_name,
            seat=user.seat,
            department=user.department,
        )


class RoleRequirement:
    """``Depends(auth.require(role))``: the signed-in person, whose role grants ``role``."""

    def __init__(self, auth: Authenticator, role: Role) -> None:
        self.auth = auth
        self.role = role

    def __repr__(self) -> str:
        return f"RoleRequirement({self.role})"

    async def __call__(
        self,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> SignedIn:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise _unauthorized("sign in: this operation needs an access token (Bearer)")
        who = await self.auth.signed_in(credentials.credentials)
        if not grants(who.role, self.role):
            raise HTTPException(
                403, f"this operation needs the role {self.role} or higher; you are {who.role}"
            )
        return who


def roles_of(dependant: Any) -> set[Role]:
    """Every role an operation's dependencies require (FastAPI's ``route.dependant``): for
    the test that no operation forgot to state one."""
    found: set[Role] = set()
    stack = [dependant]
    while stack:
        d = stack.pop()
        if isinstance(d.call, RoleRequirement):
            found.add(d.call.role)
        stack.extend(d.dependencies)
    return found


def authenticator_from_settings(
    settings: Settings,
    *,
    sessions: Callable[[], async_sessionmaker[AsyncSession] | None],
    now: Callable[[], float],
) -> Authenticator:
    """The authenticator of ``hotline serve``: ``HOTLINE_TOKEN_SECRET`` (or a per-process
    random key, with a warning), the tokens' lifetimes and the sign-in throttle's rules."""
    secret = settings.token_secret.get_secret_value() if settings.token_secret else None
    rules = ThrottleRules(
        max_failures=settings.signin_max_failures,
        max_failures_per_address=settings.signin_max_failures_per_address,
        lock_s=settings.signin_lock_s,
        lock_max_s=settings.signin_lock_max_s,
    )
    return Authenticator(
        tokens=AccessTokens(secret or per_process_secret(), now, settings.access_token_ttl_s),
        throttle=SigninThrottle(now, rules),
        sessions=sessions,
        now=now,
        refresh_ttl_s=settings.refresh_token_ttl_s,
    )
