"""``hotline users add|list|disable``: the accounts, from the machine the backend runs on.

This is how the first admin comes to be (``hotline users add root --role admin``); later ones
can be added by an admin over the API. The password is never an argument (it would stay in
the shell's history and in ``ps``): it comes from ``HOTLINE_NEW_USER_PASSWORD``, or is asked
twice, hidden, when standard input is a terminal. Each change is audited with the actor
``cli:<login name>`` and the role ``system``.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from agents import accounts
from agents.audit import SYSTEM_ROLE
from agents.passwords import check_new_password
from agents.roles import Role
from hotline.cli.common import fail, load_settings
from tickets.db import make_engine, session_factory, upgrade

__all__ = ["PASSWORD_ENV", "app"]

PASSWORD_ENV = "HOTLINE_NEW_USER_PASSWORD"

app = typer.Typer(help="Accounts: add, list and disable users.", no_args_is_help=True)

T = TypeVar("T")


def _actor() -> accounts.Actor:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return accounts.Actor(f"cli:{login}"[:80], SYSTEM_ROLE)


def _run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    url = load_settings().database_url

    async def go() -> T:
        await upgrade(url)
        engine = make_engine(url)
        try:
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except (OSError, DBAPIError) as e:
        raise fail(f"the database at HOTLINE_DATABASE_URL cannot be used: {e}") from None


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _new_password() -> str:
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not _stdin_is_terminal():
            raise fail(
                f"no password: set {PASSWORD_ENV}, or run this on a terminal to type it "
                "(never on the command line)"
            )
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_new_password(password)
    except ValueError as e:
        origin = f" (from {PASSWORD_ENV})" if PASSWORD_ENV in os.environ else ""
        raise fail(f"{e}{origin}") from None
    return password


@app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name: a-z 0-9 . _ - (2-64).")],
    role: Annotated[
        Role, typer.Option(help="operator, dispatcher, supervisor, admin or department.")
    ],
    seat: Annotated[
        str | None, typer.Option(help="The operator's queue member interface, e.g. SIP/8001.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Display name (may be Chinese).")
    ] = None,
    department: Annotated[
        str | None,
        typer.Option(help="A department user's department: its code in the catalogue."),
    ] = None,
) -> None:
    """Add a user; the password from HOTLINE_NEW_USER_PASSWORD, or asked twice (hidden)."""
    try:
        accounts.check_username(username)
        accounts.check_seat(seat)
        accounts.check_department(role, department)
    except ValueError as e:
        raise fail(str(e)) from None
    password = _new_password()

    async def work(session: AsyncSession) -> dict[str, Any]:
        user = await accounts.add_user(
            session,
            username=username,
            role=role,
            password=password,
            display_name=name,
            seat=seat,
            department=department,
            at=datetime.now(UTC),
            by=_actor(),
        )
        return {
            "username": user.username,
            "role": user.role,
            "seat": user.seat,
            "department": user.department,
        }

    try:
        added = _run(work)
    except ValueError as e:  # DuplicateUser too
        raise fail(str(e)) from None
    print(json.dumps({"added": added}, ensure_ascii=False))


@app.command("list")
def list_() -> None:
    """List the users: name, role, seat, department, active."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        return [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "seat": u.seat,
                "department": u.department,
                "active": u.active,
            }
            for u in await accounts.list_users(session)
        ]

    for row in _run(work):
        print(json.dumps(row, ensure_ascii=False))


@app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="The user to disable.")]) -> None:
    """Disable a user: no more sign-ins; their tokens stop working."""

    async def work(session: AsyncSession) -> str:
        user = await accounts.disable_user(session, username, at=datetime.now(UTC), by=_actor())
        return user.username

    try:
        done = _run(work)
    except LookupError as e:
        raise fail(str(e)) from None
    print(json.dumps({"disabled": done}))
