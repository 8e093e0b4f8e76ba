"""The shipped configuration writes Asterisk's queue_log into PostgreSQL, the table being the
one our migrations create: the durable record the backfill and the reports read
(DESIGN.md, principle 9). Checked on the real Asterisk because every rule here is
Asterisk's, not ours, and was found by measuring (README of ``pbx/asterisk``, "queue_log"):

* the table holds exactly what the file holds (each call's events in the same order, times
  within a second, the caller's Chinese name intact), written by a role that may only
  INSERT;
* started while the database is down, Asterisk writes the fallback ``data`` column once it is
  back (and data1 .. data5 again after ``logger reload``), which ``row_from_columns`` reads;
* a database that accepts connections and never answers holds a caller for
  ``PGCONNECT_TIMEOUT`` seconds, not for ever;
* the password comes from libpq's environment, never from ``res_pgsql.conf``.

Each test gets a scratch database (``scratch_db`` of conftest.py, migrated by the fixture:
``pbx`` may not import ``tickets``) on the server of ``HOTLINE_TEST_DATABASE_URL``, and a
scratch role.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from pbx.private_asterisk import PG_CONNECT_TIMEOUT, SHIPPED_DIR, QueueLogDatabase, free_port
from pbx.queue_log import QueueLogRow, parse_line, row_from_columns

from .people import Caller, Driver, add_seats, call, eventually, wait_quiet

pytestmark = pytest.mark.asterisk

Q = "hotline"


def file_rows(pbx) -> list[QueueLogRow]:
    f = pbx.log_dir / "queue_log"
    lines = f.read_text("utf-8").splitlines() if f.exists() else []
    return [parse_line(line, i + 1) for i, line in enumerate(lines) if line]


def table_rows(rows: list[dict]) -> list[QueueLogRow]:
    return [row_from_columns(**r) for r in rows]


def _key(r: QueueLogRow) -> tuple:
    return (r.callid, r.queue, r.agent, r.event, r.data)


def same_rows(table: list[QueueLogRow], file: list[QueueLogRow]) -> None:
    """The same events (callid, queue, agent, event, data), each call's in the same order,
    times within 1 s (the file has whole seconds, taken just after the table's
    microseconds). Only per call: Asterisk writes the table and the file under two different
    locks, so two calls' events in the same millisecond may come in either order."""
    assert sorted(map(_key, table)) == sorted(map(_key, file))
    for callid in {r.callid for r in file}:
        assert [_key(r) for r in table if r.callid == callid] == [
            _key(r) for r in file if r.callid == callid
        ]
    by_key = (
        sorted(table, key=lambda r: (_key(r), r.at)),
        sorted(file, key=lambda r: (_key(r), r.at)),
    )
    for t, f in zip(*by_key, strict=True):
        assert abs(t.at - f.at) < 1.0, (t, f)


# -- (a) the table equals the file --------------------------------------------------------
async def test_the_table_holds_what_the_file_holds_in_write_order(
    scratch_db, make_qlog_pbx
) -> None:
    # Times within 1 s of the file's Unix seconds: UTC in the table. (Asterisk takes its
    # local zone from /etc/localtime, not TZ, so only a machine not on UTC can catch a
    # missing queue_log_realtime_use_gmt; CI's is on UTC.)
    pbx = make_qlog_pbx(scratch_db.db)
    pbx.start()
    async with Driver(pbx) as gw:
        await add_seats(gw, [8001], Q)
        await call(gw, Caller("张伟", "13900000001", talk=1))  # answered
        await call(gw, Caller("王芳", "13900000002", patience=1))  # hangs up waiting
        await call(gw, Caller("黄晓明", "13900000003", maxwait=2))  # Queue() timeout
        await wait_quiet(gw, 30)
    assert "res_config_pgsql.so" in pbx.cli("module show like pgsql")
    # only where the database is differs from the shipped file (no password anywhere)
    shipped = set((SHIPPED_DIR / "res_pgsql.conf").read_text("utf-8").splitlines())
    ran = set((pbx.etc / "res_pgsql.conf").read_text("utf-8").splitlines())
    assert {line.split("=")[0].strip() for line in ran ^ shipped} <= {
        "hostname",
        "port",
        "dbname",
        "user",
    }
    table, file = table_rows(await scratch_db.rows()), file_rows(pbx)
    same_rows(table, file)
    # one INSERT per event, no other writer: the ids count the rows in the order written
    assert sorted(r.id for r in table) == list(range(1, len(table) + 1))
    events = [r.event for r in file]
    # Asterisk publishes FullyBooted before it logs QUEUESTART (main/asterisk.c), and
    # logger_queue_start marks the log started before it writes that row (main/logger.c): a
    # QueueAdd sent at once may log its ADDMEMBER first (seen in CI). Before any call, always.
    assert "QUEUESTART" in events[:2]
    assert events.index("QUEUESTART") < events.index("ENTERQUEUE")
    for e in ("ADDMEMBER", "ENTERQUEUE", "CONNECT", "COMPLETEAGENT", "ABANDON", "EXITWITHTIMEOUT"):
        assert e in events, e
    names = {r.field(2): r.field(4) for r in table if r.event == "ENTERQUEUE"}
    assert names == {"13900000001": "张伟", "13900000002": "王芳", "13900000003": "黄晓明"}
    # the columns themselves, not only the fallback column
    raw = await scratch_db.rows()
    assert all(r["data"] is None for r in raw)
    assert {r["data2"]: r["data4"] for r in raw if r["event"] == "ENTERQUEUE"} == names


async def test_asterisks_role_may_insert_and_nothing_else(scratch_db) -> None:
    import asyncpg

    db = scratch_db.db
    conn = await asyncpg.connect(
        host=db.host, port=db.port, database=db.dbname, user=db.user, timeout=10
    )
    try:
        await conn.execute("INSERT INTO queue_log (time, event) VALUES (now(), 'TEST')")
        for sql in (
            "SELECT * FROM queue_log",
            "UPDATE queue_log SET event = 'X'",
            "DELETE FROM queue_log",
            "SELECT * FROM queue_log_cursors",
            "SELECT * FROM alembic_version",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(sql)
    finally:
        await conn.close()


# -- (b) started while the database is down -----------------------------------------------
class Forwarder:
    """A TCP port forwarded to the database: the database "comes back" when it starts."""

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.port, self.target = port, target
        self.sock: socket.socket | None = None

    def start(self) -> None:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(16)
        self.sock = s
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.sock is not None
        while True:
            try:
                client, _ = self.sock.accept()
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                return
            upstream.settimeout(None)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


async def test_started_without_the_database_it_writes_the_fallback_column_once_back(
    scratch_db, make_qlog_pbx
) -> None:
    db = scratch_db.db
    forwarder = Forwarder(free_port(), (db.host, db.port))
    pbx = make_qlog_pbx(QueueLogDatabase(db.host, forwarder.port, db.dbname, db.user))
    pbx.start()  # nothing listens on that port yet
    try:
        await eventually(lambda: file_rows(pbx), 10, "QUEUESTART in the file")
        forwarder.start()  # the database is back
        async with Driver(pbx) as gw:
            await add_seats(gw, [8001], Q)
            await call(gw, Caller("张伟", "13900000001", talk=1))
            await call(gw, Caller("王芳", "13900000002", patience=1))
            await wait_quiet(gw, 30)
            raw = await scratch_db.rows()
            # every row of that period went to the fallback column alone
            assert raw and all(
                r["data"] is not None and not any(r[f"data{i}"] for i in range(1, 6)) for r in raw
            )
            file = file_rows(pbx)
            # QUEUESTART, written while the database was down, is in the file only
            assert file[0].event == "QUEUESTART"
            same_rows(table_rows(raw), file[1:])
            names = {r.field(2): r.field(4) for r in table_rows(raw) if r.event == "ENTERQUEUE"}
            assert names == {"13900000001": "张伟", "13900000002": "王芳"}
            # `logger reload` (the README's remedy) brings back data1 .. data5
            pbx.cli("logger reload")
            await gw.pause_member("Local/8001@agents/n", True, queue=Q, reason="培训")
            await eventually(lambda: len(file_rows(pbx)) >= len(file) + 2, 10, "PAUSE written")
        after = (await scratch_db.rows())[len(raw) :]
        assert [(r["event"], r["data1"], r["data"]) for r in after] == [
            ("CONFIGRELOAD", "", None),
            ("PAUSE", "培训", None),
        ]
        same_rows(table_rows(await scratch_db.rows()), file_rows(pbx)[1:])
    finally:
        pbx.stop()
        forwarder.close()


# -- (c) a database that accepts connections and never answers -----------------------------
async def test_a_hung_database_holds_a_caller_only_pgconnect_timeout(make_qlog_pbx) -> None:
    port = free_port()
    pbx = make_qlog_pbx(QueueLogDatabase("127.0.0.1", port, "x", "y"))
    pbx.start()  # nothing there yet: refused at once, start-up as fast as without a database
    hole = socket.socket()
    try:
        async with Driver(pbx) as gw:
            await add_seats(gw, [8001], Q)
            # now the database hangs: the port listens (the kernel completes the TCP
            # handshake) and nothing ever answers
            hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            hole.bind(("127.0.0.1", port))
            hole.listen(64)
            await call(gw, Caller("张伟", "13900000001", talk=1))
            joined = time.monotonic()  # answered; the AGI is refused at once; Queue() next
            while not any("8001@agents" in c.channel for c in await gw.channels()):
                assert time.monotonic() - joined < 30, "the seat was never rung"
                await asyncio.sleep(0.05)
            unrung = time.monotonic() - joined
        # measured 2.0 s: ENTERQUEUE's INSERT waits one connect timeout, then the seat rings;
        # without PGCONNECT_TIMEOUT libpq waits for ever (Asterisk started against such a
        # database did not even finish booting in 40 s)
        assert PG_CONNECT_TIMEOUT - 0.5 <= unrung <= PG_CONNECT_TIMEOUT + 1.5, unrung
        assert [r.event for r in file_rows(pbx)][:3] == ["QUEUESTART", "ADDMEMBER", "ENTERQUEUE"]
    finally:
        hole.close()  # refused again: the rows of the hang-ups no longer wait 2 s each
        pbx.stop()


# -- the password comes from libpq's environment --------------------------------------------
class PasswordCatcher:
    """A fake PostgreSQL server that asks for a cleartext password and keeps what it gets."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.passwords: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @staticmethod
    def _read(c: socket.socket) -> bytes:
        (n,) = struct.unpack("!i", c.recv(4, socket.MSG_WAITALL))
        return c.recv(n - 4, socket.MSG_WAITALL)

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with c, contextlib.suppress(OSError, struct.error):
                c.settimeout(5)
                body = self._read(c)
                if struct.unpack("!i", body[:4])[0] in (80877103, 80877104):  # SSL, GSS
                    c.sendall(b"N")
                    self._read(c)
                c.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                c.recv(1)
                self.passwords.append(self._read(c).rstrip(b"\0").decode())
                error = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
                c.sendall(b"E" + struct.pack("!i", len(error) + 4) + error)


@pytest.mark.parametrize("where", ["PGPASSFILE", "PGPASSWORD"])
async def test_the_password_comes_from_libpqs_environment(
    where, make_qlog_pbx, tmp_path: Path, monkeypatch
) -> None:
    shipped = (SHIPPED_DIR / "res_pgsql.conf").read_text("utf-8")
    assert re.search(r"(?m)^password =\s*$", shipped), "password present and empty"
    catcher = PasswordCatcher()
    secret = secrets.token_urlsafe(12)
    db = QueueLogDatabase("127.0.0.1", catcher.port, "hotline", "asterisk_qlog")
    if where == "PGPASSFILE":
        passfile = tmp_path / "pgpass"
        passfile.write_text(f"127.0.0.1:{catcher.port}:hotline:asterisk_qlog:{secret}\n")
        passfile.chmod(0o600)
        monkeypatch.setenv("PGPASSFILE", str(passfile))
    else:
        db = QueueLogDatabase(db.host, db.port, db.dbname, db.user, password=secret)
    monkeypatch.delenv("PGPASSWORD" if where == "PGPASSFILE" else "PGPASSFILE", raising=False)
    pbx = make_qlog_pbx(db)
    pbx.start()
    try:
        await eventually(lambda: catcher.passwords, 10, "a password")
        assert set(catcher.passwords) == {secret}
        assert secret not in "".join(p.read_text("utf-8") for p in pbx.etc.iterdir())
    finally:
        pbx.stop()
        catcher.sock.close()
