"""The ``asterisk`` tier: tests against a real Asterisk started from ``pbx/asterisk/``.

They run when :func:`pbx.private_asterisk.find_asterisk` finds an install (``make asterisk``
builds one; ``ASTERISK_PREFIX`` points at another), and are skipped otherwise, saying so at
the end of the run. With ``HOTLINE_REQUIRE_ASTERISK=1`` (``.ci/run``) a missing Asterisk
fails them instead, and a run in which none of them passed fails.

Fixtures:

* ``pbx``: a fresh private Asterisk (shipped configuration plus ``sim_extensions.conf``),
  stopped afterwards whatever happens;
* ``ivr_config``: a copy of ``config/`` whose IVR is open day and night and waits
  ``IVR_DIGIT_MS`` for a key, once (so a silent caller reaches the operator in about a
  second; the shipped hours would send callers at night to the closed-hours menu);
* ``runtime``: ``hotline serve``'s runtime (:class:`hotline.runtime.Runtime`) with
  ``HOTLINE_AMI_URL`` pointing at ``pbx``, its FastAGI server on the port the dialplan
  calls, and a SQLite ticket store in ``tmp_path``; started and stopped;
* ``driver``: a second AMI login (as the recordings' driver connection) with the gateway
  over it, for what the test does to Asterisk behind the controller's back;
* ``scratch_db``: a scratch PostgreSQL database on the server of ``HOTLINE_TEST_DATABASE_URL``
  (skipped without it), migrated by our migrations, with the least-privileged role of
  ``pbx/asterisk/README.md`` for Asterisk's queue_log (a :class:`ScratchDb`); dropped
  afterwards;
* ``make_qlog_pbx``: ``make(db)``, a private Asterisk (not started) writing its queue_log to
  ``db`` too; stopped afterwards.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
import yaml

from pbx.private_asterisk import (
    SHIPPED_DIR,
    PrivateAsterisk,
    QueueLogDatabase,
    find_asterisk,
    free_port,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
REQUIRE_ENV = "HOTLINE_REQUIRE_ASTERISK"
PG_ENV = "HOTLINE_TEST_DATABASE_URL"
#: How long the tests' IVR waits for a key after a prompt (once, then the operator).
IVR_DIGIT_MS = 1500
#: Modules the simulated people of ``sim_extensions.conf`` need beyond ``modules.conf``.
SIM_MODULES = ("app_senddtmf.so", "func_global.so")

_INSTALL = find_asterisk()
_outcomes = {"passed": 0, "skipped": 0, "failed": 0, "xfailed": 0}


def _not_found() -> str:
    return (
        "no Asterisk found (ASTERISK_PREFIX, .asterisk/<version>, PATH): "
        "run `make asterisk` to build one"
    )


@pytest.fixture(scope="session")
def asterisk_install():
    if _INSTALL is None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {_not_found()}", pytrace=False)
        pytest.skip(_not_found())
    return _INSTALL


def sounds_of(config_dir: Path) -> list[str]:
    return list(yaml.safe_load((config_dir / "sounds.yaml").read_text("utf-8"))["sounds"])


def make_ivr_config(d: Path, digit_ms: int) -> Path:
    """A copy of ``config/`` into ``d`` whose IVR is open day and night and waits
    ``digit_ms`` once for a key after each prompt."""
    shutil.copytree(REPO / "config", d, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py"))
    f = d / "ivr.yaml"
    menus = yaml.safe_load(f.read_text("utf-8"))
    menus["hours"]["workday"] = None
    menus["hours"]["restday"] = None
    menus["timeouts"]["digit_ms"] = digit_ms
    menus["timeouts"]["retries"] = 0
    f.write_text(yaml.safe_dump(menus, allow_unicode=True, sort_keys=False), "utf-8")
    return d


@pytest.fixture(scope="session")
def ivr_config(tmp_path_factory) -> Path:
    return make_ivr_config(tmp_path_factory.mktemp("config"), IVR_DIGIT_MS)


def make_pbx(install, workdir: Path, config_dir: Path, **kw) -> PrivateAsterisk:
    return PrivateAsterisk(
        install,
        workdir,
        agi_port=free_port(),
        extra_dialplan=(HERE / "sim_extensions.conf").read_text("utf-8"),
        extra_modules=SIM_MODULES,
        sounds=sounds_of(config_dir),
        **kw,
    )


@pytest.fixture
def pbx_unstarted(asterisk_install, tmp_path, ivr_config) -> Iterator[PrivateAsterisk]:
    a = make_pbx(asterisk_install, tmp_path / "asterisk", ivr_config)
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture
def pbx(pbx_unstarted: PrivateAsterisk) -> PrivateAsterisk:
    pbx_unstarted.start()
    return pbx_unstarted


def settings_for(pbx: PrivateAsterisk, tmp_path: Path, config_dir: Path, **over):
    from config.settings import Settings

    values = {
        "ami_url": pbx.ami_url,
        "database_url": f"sqlite:///{tmp_path / 'tickets.db'}",
        "spool_dir": tmp_path / "spool",
        "config_dir": config_dir,
        "agi_port": pbx.agi_port,
        "wrapup_s": 10.0,  # wrapuptime of pbx/asterisk/queues.conf
        "action_timeout_s": 5.0,
        "ami_backoff_base_s": 0.2,
        "ami_backoff_cap_s": 1.0,
    }
    values.update(over)
    return Settings(_env_file=None, **values)


@pytest_asyncio.fixture
async def runtime(pbx: PrivateAsterisk, tmp_path, ivr_config) -> AsyncIterator:
    from hotline.runtime import Runtime

    rt = Runtime(settings_for(pbx, tmp_path, ivr_config))
    try:
        await rt.start()
        yield rt
    finally:
        await rt.stop()


@pytest_asyncio.fixture
async def driver(pbx: PrivateAsterisk) -> AsyncIterator:
    """A gateway over a second AMI login (events ignored)."""
    from .people import Driver

    async with Driver(pbx) as gw:
        yield gw


# -- a scratch database migrated by our migrations, and the README's role -----------------
@dataclass(frozen=True)
class ScratchDb:
    admin_url: str  # superuser, this database
    db: QueueLogDatabase  # as Asterisk connects: the least-privileged role

    async def rows(self) -> list[dict]:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            return [dict(r) for r in await conn.fetch("SELECT * FROM queue_log ORDER BY id")]
        finally:
            await conn.close()


def role_sql(dbname: str, role: str) -> list[str]:
    """The statements of the README's ```sql block (the least-privileged role), for ``role``
    on ``dbname``: the test runs what the README gives a site."""
    text = (SHIPPED_DIR / "README.md").read_text("utf-8")
    block = re.search(r"```sql\n(.*?)```", text, re.S)
    assert block, "pbx/asterisk/README.md has no ```sql block"
    sql = re.sub(r"--[^\n]*", "", block.group(1))
    sql = sql.replace("asterisk_qlog", role).replace("DATABASE hotline", f'DATABASE "{dbname}"')
    return [s.strip() for s in sql.split(";") if s.strip()]


async def _admin(url: str):
    import asyncpg

    try:
        return await asyncpg.connect(url, timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        why = f"PostgreSQL at {PG_ENV} cannot be used: {type(exc).__name__}: {exc}"
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


@pytest_asyncio.fixture
async def scratch_db() -> AsyncIterator[ScratchDb]:
    from sqlalchemy.engine import make_url

    from tickets.db import upgrade

    raw = os.environ.get(PG_ENV)
    if not raw:
        pytest.skip(f"{PG_ENV} not set: the queue_log tests need PostgreSQL")
    server = make_url(raw).set(drivername="postgresql")
    name = f"hotline_qlog_{secrets.token_hex(5)}"
    role = f"asterisk_qlog_{secrets.token_hex(5)}"
    admin = await _admin(server.render_as_string(hide_password=False))
    try:
        await admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    finally:
        await admin.close()
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        await upgrade(url)
        conn = await _admin(url)
        try:
            for statement in role_sql(name, role):
                await conn.execute(statement)
        finally:
            await conn.close()
        host, port = server.host or "127.0.0.1", server.port or 5432
        yield ScratchDb(url, QueueLogDatabase(host, port, name, role))
    finally:
        admin = await _admin(server.render_as_string(hide_password=False))
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        finally:
            await admin.close()


@pytest.fixture
def make_qlog_pbx(asterisk_install, tmp_path, ivr_config) -> Iterator:
    """``make(db)``: a private Asterisk (not started) writing its queue_log to ``db``."""
    made = []

    def make(db: QueueLogDatabase):
        workdir = tmp_path / f"asterisk{len(made)}"
        a = make_pbx(asterisk_install, workdir, ivr_config, queue_log_db=db)
        made.append(a)
        return a

    try:
        yield make
    finally:
        for a in made:
            a.stop()


# -- reporting -------------------------------------------------------------------------------
def pytest_runtest_logreport(report) -> None:
    if "asterisk" in report.keywords and (report.when == "call" or report.skipped):
        if hasattr(report, "wasxfail"):
            _outcomes["xfailed"] += 1
        elif report.passed and report.when == "call":
            _outcomes["passed"] += 1
        elif report.skipped:
            _outcomes["skipped"] += 1
        elif report.failed:
            _outcomes["failed"] += 1


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if _INSTALL is None and _outcomes["skipped"]:
        terminalreporter.write_line(
            f"*** {_outcomes['skipped']} tests of the asterisk tier SKIPPED: {_not_found()}. ***",
            red=True,
            bold=True,
        )
    elif _INSTALL is not None and (_outcomes["passed"] or _outcomes["failed"]):
        terminalreporter.write_line(
            f"asterisk tier: Asterisk {_INSTALL.version} ({_INSTALL.binary}): "
            f"{_outcomes['passed']} passed, {_outcomes['failed']} failed, "
            f"{_outcomes['skipped']} skipped, {_outcomes['xfailed']} xfailed"
        )


def pytest_sessionfinish(session, exitstatus) -> None:
    ran_any = any(_outcomes.values())
    if os.environ.get(REQUIRE_ENV) and ran_any and _outcomes["passed"] == 0 and exitstatus == 0:
        session.exitstatus = 1
