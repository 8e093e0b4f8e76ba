"""``hotline users add|list|disable`` (SQLite and PostgreSQL): the password from the
environment or asked twice on a terminal, never an argument; bad input refused with an
``error:`` line naming the field, exit 2; every change audited."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import hotline.cli.users as users_cli
from agents.models import AuditEntry, User
from hotline.cli import app
from tickets.db import make_engine, session_factory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(database_url, monkeypatch):
    monkeypatch.setenv("HOTLINE_DATABASE_URL", database_url)
    monkeypatch.delenv(users_cli.PASSWORD_ENV, raising=False)
    runner = CliRunner()

    def run(*args: str, password: str | None = None, input: str | None = None):
        env = {users_cli.PASSWORD_ENV: password} if password is not None else {}
        return runner.invoke(app, ["users", *args], env=env, input=input)

    run.url = database_url  # type: ignore[attr-defined]
    return run


def _rows(url: str, model):
    async def read():
        engine = make_engine(url)
        try:
            async with session_factory(engine)() as s:
                return (await s.scalars(select(model).order_by(model.id))).all()
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_the_first_admin_list_and_disable(cli) -> None:
    r = cli("add", "Root", "--role", "admin", "--name", "王管理员", password=PASSWORD)
    assert r.exit_code == 0, r.output
    added = {"username": "root", "role": "admin", "seat": None, "department": None}
    assert json.loads(r.stdout) == {"added": added}
    r = cli("add", "op1", "--role", "operator", "--seat", "SIP/8001", password=PASSWORD)
    assert r.exit_code == 0, r.output
    r = cli("list")
    listed = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(u["username"], u["role"], u["seat"], u["active"]) for u in listed] == [
        ("op1", "operator", "SIP/8001", True),
        ("root", "admin", None, True),
    ]
    assert listed[1]["display_name"] == "王管理员"
    assert cli("disable", "op1").exit_code == 0
    (op1,) = [u for u in _rows(cli.url, User) if u.username == "op1"]
    assert not op1.active and PASSWORD not in op1.password_hash
    audit = _rows(cli.url, AuditEntry)
    assert [(e.role, e.action, e.target) for e in audit] == [
        ("system", "user.add", "user:root"),
        ("system", "user.add", "user:op1"),
        ("system", "user.disable", "user:op1"),
    ]
    assert all(e.actor.startswith("cli:") for e in audit)


def test_the_password_is_asked_twice_on_a_terminal(cli, monkeypatch) -> None:
    monkeypatch.setattr(users_cli, "_stdin_is_terminal", lambda: True)
    r = cli("add", "sup1", "--role", "supervisor", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert r.exit_code == 0, r.output
    assert PASSWORD not in r.output  # hidden
    r = cli(
        "add", "sup2", "--role", "supervisor", input=f"{PASSWORD}\nother\n{PASSWORD}\n{PASSWORD}\n"
    )
    assert r.exit_code == 0 and "do not match" in r.output


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["root", "--role", "admin"], None, "no password: set HOTLINE_NEW_USER_PASSWORD"),
        (["root", "--role", "admin"], "short", "password: at least 12 characters, got 5"),
        (["王", "--role", "admin"], PASSWORD, "username: '王' is not"),
        (["op1", "--role", "operator", "--seat", "8001"], PASSWORD, "seat: '8001' is not"),
        (["op1", "--role", "boss"], PASSWORD, "'boss' is not one of"),
    ],
)
def test_bad_input_is_refused_naming_the_field(cli, args, password, message) -> None:
    r = cli("add", *args, password=password)
    assert r.exit_code == 2
    assert message in " ".join(r.output.split()), r.output
    if password is not None:
        assert password not in r.output


def test_a_duplicate_or_an_unknown_user(cli) -> None:
    assert cli("add", "root", "--role", "admin", password=PASSWORD).exit_code == 0
    r = cli("add", "ROOT", "--role", "operator", password=PASSWORD)
    assert r.exit_code == 2 and "username: 'root' exists already" in r.output
    r = cli("disable", "ghost")
    assert r.exit_code == 2 and "username: no user 'ghost'" in r.output


def test_the_password_is_not_an_option() -> None:
    r = CliRunner().invoke(app, ["users", "add", "x1", "--role", "admin", "--password", "p" * 12])
    assert r.exit_code == 2 and "No such option" in " ".join(r.output.split())
