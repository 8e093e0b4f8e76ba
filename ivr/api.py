"""Announcements API (``/api/v1/announcements``): a supervisor sets a temporary message that
callers hear at the top of the menu, with a key to leave the line if it was why they called.

Errors are problem details (the app's handlers turn ``HTTPException`` and validation errors
into ``application/problem+json``). Setting and ending an announcement needs a supervisor
(``created_by`` is the signed-in user) and is audited; reading them, an operator.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi import Path as FastApiPath
from pydantic import AwareDatetime, BaseModel, Field

from agents.audit import add_entry
from agents.authentication import Authenticator, SignedIn
from agents.roles import Role
from ivr import service
from ivr.models import Announcement

__all__ = ["AnnouncementIn", "AnnouncementOut", "make_router"]

NOT_FOUND = {404: {"description": "No announcement with this id."}}
#: An announcement's id: the table's integer key (32 bits on PostgreSQL).
Ident = Annotated[int, FastApiPath(ge=1, le=2**31 - 1, description="The announcement's id.")]


class AnnouncementIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000, description="What the recording says.")
    sound: str = Field(
        pattern=r"^[A-Za-z0-9_./-]{1,200}$",
        description="The recorded message's Asterisk file name, without extension.",
        examples=["custom/water-cut-xiaoshan"],
    )
    district: str | None = Field(
        default=None, description="Only callers of this district hear it; null: everyone."
    )
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    ends_at: AwareDatetime = Field(description="When it stops playing, by itself.")


class AnnouncementOut(BaseModel):
    id: int
    text: str
    sound: str
    district: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str | None = Field(description="The supervisor who set it.")
    active: bool
    leave_digit: str


def _menus_of(runtime: Any) -> Any:
    """The runtime's menus (``runtime.settings.config_dir``), or None when unreadable."""
    from ivr.menus import ConfigError, load_menus

    settings = getattr(runtime, "settings", None)
    if settings is None:
        return None
    try:
        return load_menus(settings.config_dir)
    except (ConfigError, OSError):
        return None


def make_router(
    runtime: Any,
    auth: Authenticator,
    *,
    districts: Callable[[], Collection[str] | None] | None = None,
    leave_digit: Callable[[], str] | None = None,
) -> APIRouter:
    """Routes on ``runtime.sessions`` (an ``async_sessionmaker``) and ``runtime.now()``
    (epoch seconds). ``districts()`` gives the district names a request may use and
    ``leave_digit()`` the key callers press to leave; both default to the menus in
    ``runtime.settings.config_dir``. ``auth`` signs people in: a supervisor sets and ends
    announcements (audited), an operator reads them."""
    router = APIRouter(prefix="/api/v1/announcements", tags=["ivr"])
    supervisor = auth.require(Role.SUPERVISOR)
    operator = auth.require(Role.OPERATOR)
    cache: dict[str, Any] = {}

    def menus() -> Any:
        if "menus" not in cache:
            cache["menus"] = _menus_of(runtime)
        return cache["menus"]

    if districts is None:

        def districts() -> Collection[str] | None:
            m = menus()
            return set(m.districts) if m is not None else None

    if leave_digit is None:

        def leave_digit() -> str:
            m = menus()
            return m.announcements.leave_digit if m is not None else "9"

    def now() -> datetime:
        return datetime.fromtimestamp(runtime.now(), UTC)

    def out(a: Announcement, at: datetime) -> AnnouncementOut:
        return AnnouncementOut(
            id=a.id,
            text=a.text,
            sound=a.sound,
            district=a.district,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            created_by=a.created_by,
            active=a.starts_at <= at < a.ends_at,
            leave_digit=leave_digit(),
        )

    @router.post(
        "",
        status_code=201,
        response_model=AnnouncementOut,
        responses={
            422: {
                "description": "Invalid request: a field does not match its schema, ends_at is "
                "not after both now and starts_at, or the district is not one of the menus'."
            }
        },
    )
    async def create(body: AnnouncementIn, who: SignedIn = Depends(supervisor)) -> AnnouncementOut:
        """Set an announcement; it plays from ``starts_at`` (default now) to ``ends_at``
        (supervisor; audited as ``announcement.create``)."""
        at = now()
        starts = body.starts_at or at
        if body.ends_at <= max(starts, at):
            raise HTTPException(422, "ends_at must be in the future and after starts_at")
        known = districts()
        if body.district is not None and known is not None and body.district not in known:
            raise HTTPException(
                422, f"unknown district {body.district!r}: use one of {', '.join(sorted(known))}"
            )
        async with runtime.sessions() as session:
            a = await service.create_announcement(
                session,
                text=body.text,
                sound=body.sound,
                district=body.district,
                starts_at=starts,
                ends_at=body.ends_at,
                created_by=who.username,
                on_stored=lambda a: add_entry(
                    session,
                    at=at,
                    actor=who.username,
                    role=str(who.role),
                    action="announcement.create",
                    target=f"announcement:{a.id}",
                    detail={"sound": a.sound, "district": a.district, "ends_at": str(a.ends_at)},
                ),
            )
        return out(a, at)

    @router.get("", response_model=list[AnnouncementOut])
    async def list_(
        who: SignedIn = Depends(operator),
        include_ended: bool = Query(False, description="Also list ended announcements."),
        limit: int = Query(100, ge=1, le=500),
    ) -> list[AnnouncementOut]:
        at = now()
        async with runtime.sessions() as session:
            rows = await service.list_announcements(
                session, at, include_ended=include_ended, limit=limit
            )
        return [out(a, at) for a in rows]

    @router.get("/{ident}", response_model=AnnouncementOut, responses=NOT_FOUND)
    async def get(ident: Ident, who: SignedIn = Depends(operator)) -> AnnouncementOut:
        async with runtime.sessions() as session:
            a = await service.get_announcement(session, ident)
        if a is None:
            raise HTTPException(404, f"no announcement {ident}")
        return out(a, now())

    @router.delete("/{ident}", status_code=204, responses=NOT_FOUND)
    async def end(ident: Ident, who: SignedIn = Depends(supervisor)) -> Response:
        """End an announcement now (supervisor; audited as ``announcement.end``)."""
        at = now()
        async with runtime.sessions() as session:
            found = await service.end_announcement(
                session,
                ident,
                at,
                on_ended=lambda a: add_entry(
                    session,
                    at=at,
                    actor=who.username,
                    role=str(who.role),
                    action="announcement.end",
                    target=f"announcement:{a.id}",
                ),
            )
        if not found:
            raise HTTPException(404, f"no announcement {ident}")
        return Response(status_code=204)

    return router
