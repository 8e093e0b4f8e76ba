"""Accounts in the store (SQLite and PostgreSQL): users, sign-in, refresh token rotation and
reuse detection, and the audit log that is only ever appended to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from agents import accounts, refresh_tokens
from agents.audit import add_entry, latest_entries
from agents.models import AuditEntry, RefreshToken, User
from agents.roles import Role
from tickets.db import session_factory

AT = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
ADMIN = accounts.Actor("root", "admin")
PASSWORD = "correct horse battery staple"


async def _add(session, name="op1", role=Role.OPERATOR, **kw):
    return await accounts.add_user(
        session, username=name, role=role, password=PASSWORD, at=AT, by=ADMIN, **kw
    )


async def test_add_list_and_sign_in(session) -> None:
    user = await _add(session, "Op1", seat="SIP/8001", display_name="李娜")
    assert (user.username, user.display_name, user.seat, user.active) == (
        "op1",
        "李娜",
        "SIP/8001",
        True,
    )
    assert PASSWORD not in user.password_hash and user.password_hash.startswith("$argon2id$")
    assert [u.username for u in await accounts.list_users(session)] == ["op1"]
    assert (await accounts.sign_in(session, "OP1", PASSWORD)).id == user.id
    assert await accounts.sign_in(session, "op1", PASSWORD + "x") is None
    assert await accounts.sign_in(session, "nobody", PASSWORD) is None


async def test_bad_fields_are_refused_naming_them(session) -> None:
    with pytest.raises(ValueError, match="username:"):
        await _add(session, "王")
    with pytest.raises(ValueError, match="seat:"):
        await _add(session, "op2", seat="8001")
    with pytest.raises(ValueError, match="password:"):
        await accounts.add_user(
            session, username="op3", role=Role.OPERATOR, password="short", at=AT, by=ADMIN
        )
    await _add(session, "op4")
    with pytest.raises(accounts.DuplicateUser, match="username: 'op4' exists"):
        await _add(session, "OP4")


async def test_disabling_stops_sign_in_and_revokes_refresh_tokens(session) -> None:
    user = await _add(session)
    token, _ = await refresh_tokens.issue_family(session, user, at=AT, ttl_s=3600)
    await accounts.disable_user(session, "op1", at=AT, by=ADMIN)
    assert await accounts.sign_in(session, "op1", PASSWORD) is None
    with pytest.raises(refresh_tokens.RefreshRefused):
        await refresh_tokens.rotate(session, token, at=AT + timedelta(minutes=1))
    with pytest.raises(LookupError, match="username: no user 'ghost'"):
        await accounts.disable_user(session, "ghost", at=AT, by=ADMIN)


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(session) -> None:
    user = await _add(session)
    first, ends = await refresh_tokens.issue_family(session, user, at=AT, ttl_s=12 * 3600)
    assert ends == AT + timedelta(hours=12)
    stored = (await session.scalars(select(RefreshToken))).all()
    assert [t.token_hash for t in stored] != [first] and len(stored[0].token_hash) == 64
    second = await refresh_tokens.rotate(session, first, at=AT + timedelta(minutes=14))
    assert second.user.id == user.id and second.token != first
    assert second.expires_at == ends  # the shift does not grow by refreshing
    third = await refresh_tokens.rotate(session, second.token, at=AT + timedelta(minutes=28))
    # the first token again: stolen and used by someone; the whole family goes
    with pytest.raises(refresh_tokens.RefreshRefused, match="reused"):
        await refresh_tokens.rotate(session, first, at=AT + timedelta(minutes=30))
    with pytest.raises(refresh_tokens.RefreshRefused, match="revoked"):
        await refresh_tokens.rotate(session, third.token, at=AT + timedelta(minutes=31))
    # another sign-in (family) of the same user is not touched
    other, _ = await refresh_tokens.issue_family(session, user, at=AT, ttl_s=3600)
    await refresh_tokens.rotate(session, other, at=AT + timedelta(minutes=32))


async def test_refresh_tokens_expire_with_the_sign_in(session) -> None:
    user = await _add(session)
    token, ends = await refresh_tokens.issue_family(session, user, at=AT, ttl_s=600)
    with pytest.raises(refresh_tokens.RefreshRefused, match="expired"):
        await refresh_tokens.rotate(session, token, at=ends)
    with pytest.raises(refresh_tokens.RefreshRefused, match="unknown"):
        await refresh_tokens.rotate(session, "not a token", at=AT)
    assert not await refresh_tokens.revoke_token_family(session, "not a token", at=AT)


async def test_user_admin_actions_are_audited(session) -> None:
    await _add(session, "sup1", Role.SUPERVISOR)
    await accounts.disable_user(session, "sup1", at=AT + timedelta(hours=1), by=ADMIN)
    entries = await latest_entries(session)
    assert [(e.actor, e.role, e.action, e.target) for e in entries] == [
        ("root", "admin", "user.disable", "user:sup1"),
        ("root", "admin", "user.add", "user:sup1"),
    ]
    assert entries[1].detail == {"role": "supervisor", "seat": None}
    assert PASSWORD not in str([e.detail for e in entries])


async def test_the_audit_log_refuses_update_and_delete(engine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        add_entry(s, at=AT, actor="root", role="admin", action="user.add", target="user:x")
        await s.commit()
    for statement in (
        update(AuditEntry).values(actor="someone else"),
        delete(AuditEntry),
        text("UPDATE audit_log SET action = 'nothing'"),
        text("DELETE FROM audit_log"),
    ):
        async with sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.execute(statement)
                await s.commit()
    async with sessions() as s:
        (entry,) = (await s.scalars(select(AuditEntry))).all()
        assert (entry.actor, entry.action) == ("root", "user.add")
        assert await s.get(User, 1) is None


async def test_a_generated_operator_is_added_then_given_a_new_secret(session) -> None:
    system = accounts.Actor("system", "system")
    first, second = "a" * 43, "b" * 43
    kw = dict(username="sim-8001", display_name="Agent 8001", seat="Local/8001@agents/n")
    user = await accounts.provision_generated(session, secret=first, at=AT, by=system, **kw)
    assert (user.role, user.seat, user.display_name) == (
        "operator",
        "Local/8001@agents/n",
        "Agent 8001",
    )
    assert (await accounts.sign_in(session, "sim-8001", first)).id == user.id
    again = await accounts.provision_generated(session, secret=second, at=AT, by=system, **kw)
    assert again.id == user.id
    assert await accounts.sign_in(session, "sim-8001", first) is None  # the old one is gone
    assert (await accounts.sign_in(session, "sim-8001", second)).id == user.id
    actions = [(e.action, e.actor) for e in await latest_entries(session)]
    assert actions == [("user.password", "system"), ("user.add", "system")]
    # an administrator's decision stands: a disabled one stays disabled
    await accounts.disable_user(session, "sim-8001", at=AT, by=ADMIN)
    assert await accounts.provision_generated(session, secret=first, at=AT, by=system, **kw) is None
    assert await accounts.sign_in(session, "sim-8001", second) is None
    # a name that is another kind of account is refused, naming it
    await _add(session, "op2", seat="SIP/8002")
    with pytest.raises(
        ValueError, match="username: 'op2' is an account of role operator at seat SIP/8002"
    ):
        await accounts.provision_generated(
            session, username="op2", display_name="x", seat="SIP/9", secret=first, at=AT, by=system
        )
