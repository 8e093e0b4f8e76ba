"""A private, throw-away Asterisk started from the shipped configuration (``pbx/asterisk/``).

The test suite's ``asterisk`` tier runs against it, and so can anyone trying the project out
(README, "Running against a real Asterisk"). The files of ``pbx/asterisk/`` are copied as
they are, with only these lines changed (:func:`conf_set`):

* ``asterisk.conf`` ``[directories]``: every writable directory in a temporary folder, the
  modules and binaries those of the install;
* ``manager.conf``: the AMI port (free, loopback) and a fresh random secret of user
  ``hotline``;
* ``sip.conf``: the UDP port (free, loopback) and a fresh secret for every peer;
* ``rtp.conf``: an RTP port range of its own;
* ``extensions.conf`` ``[globals]``: ``HOTLINE_AGI`` pointing at the backend's FastAGI port;
  ``extra_dialplan`` (the tests' simulated callers and seats) is appended through
  ``#include``, after the shipped text, which is left as it is;
* ``res_pgsql.conf``: ``hostname``, ``port``, ``dbname`` and ``user`` of the queue_log
  database given (:class:`QueueLogDatabase`); its password, if any, goes to Asterisk's
  environment as ``PGPASSWORD``, never into a file, as the shipped file asks of a site.
  Without a database the instance writes its queue_log file alone, as before the database
  was shipped: ``res_config_pgsql.so`` is ``noload`` and the ``queue_log`` mapping of
  ``extconfig.conf`` is commented out, so that a test instance never reaches for a database
  (the shipped ``127.0.0.1:5432`` may be someone's real one) nor tries a connection at every
  queue event.

Asterisk's environment gets ``PGCONNECT_TIMEOUT=2`` (:data:`PG_CONNECT_TIMEOUT`), as a site's
service must set it: res_config_pgsql has no connect-timeout option, and libpq waits for ever
on a database that accepts connections and never answers, holding the lock every queue_log
write takes (README of ``pbx/asterisk``, "queue_log").

Asterisk runs in the foreground (``-f``) as our child, in its own session, and dies with us:
:meth:`PrivateAsterisk.stop` asks ``core stop now`` then signals it; an ``atexit`` hook and
(on Linux, from the main thread) ``PR_SET_PDEATHSIG`` kill any instance left behind, so that
nothing stays running after a failed or interrupted test run.

Finding the install (:func:`find_asterisk`): ``ASTERISK_PREFIX`` (a prefix with
``sbin/asterisk``, as ``scripts/build-asterisk.sh`` makes), else the newest
``.asterisk/<version>`` of the repository, else ``asterisk`` on ``PATH`` (its modules from
``ASTERISK_MODDIR`` or the usual places).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "PG_CONNECT_TIMEOUT",
    "SHIPPED_DIR",
    "AsteriskInstall",
    "AsteriskStartError",
    "PrivateAsterisk",
    "QueueLogDatabase",
    "conf_set",
    "find_asterisk",
    "free_port",
]

#: The configuration a site starts from, and the tests run.
SHIPPED_DIR = Path(__file__).resolve().parent / "asterisk"
REPO_DIR = Path(__file__).resolve().parent.parent

#: The files of ``pbx/asterisk/`` Asterisk reads (the README beside them is not one).
CONF_FILES = (
    "asterisk.conf",
    "modules.conf",
    "manager.conf",
    "extensions.conf",
    "queues.conf",
    "sip.conf",
    "rtp.conf",
    "musiconhold.conf",
    "logger.conf",
    "cdr.conf",
    "cel.conf",
    "indications.conf",
    "extconfig.conf",
    "res_pgsql.conf",
)

#: Seconds libpq may take to connect (``PGCONNECT_TIMEOUT`` in Asterisk's environment).
PG_CONNECT_TIMEOUT = 2

#: u-law silence (the byte 0xFF), 8000 bytes a second.
ULAW_SILENCE = b"\xff"


class AsteriskStartError(RuntimeError):
    """Asterisk did not come up; the message ends with the last lines of its output."""


@dataclass(frozen=True, slots=True)
class AsteriskInstall:
    binary: Path
    moddir: Path
    #: The XML documentation (``<prefix>/var/lib/asterisk/documentation``), if present.
    docdir: Path | None
    version: str


@dataclass(frozen=True, slots=True)
class QueueLogDatabase:
    """The PostgreSQL database a private Asterisk writes its queue_log to (``res_pgsql.conf``).

    ``password`` reaches Asterisk as ``PGPASSWORD`` (libpq's own), never a file.
    """

    host: str
    port: int
    dbname: str
    user: str
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> QueueLogDatabase:
        """From ``postgresql://user[:password]@host[:port]/dbname`` (a driver suffix such as
        ``postgresql+asyncpg`` is accepted and ignored).

        >>> QueueLogDatabase.from_url("postgresql+asyncpg://postgres@127.0.0.1/hl")
        QueueLogDatabase(host='127.0.0.1', port=5432, dbname='hl', user='postgres', password=None)
        """
        from urllib.parse import unquote, urlsplit

        u = urlsplit(url)
        if u.scheme.split("+")[0] not in ("postgresql", "postgres"):
            raise ValueError(f"not a postgresql:// URL: {u.scheme}://...")
        dbname = unquote(u.path.lstrip("/"))
        if not (u.hostname and u.username and dbname):
            raise ValueError("a queue_log database URL needs a user, a host and a database")
        password = unquote(u.password) if u.password is not None else None
        return cls(u.hostname, u.port or 5432, dbname, unquote(u.username), password)


def _version_of(binary: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(binary), "-V"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.match(r"Asterisk (\S+)", out)
    return m.group(1) if m else None


def _from_prefix(prefix: Path) -> AsteriskInstall | None:
    binary = prefix / "sbin" / "asterisk"
    if not os.access(binary, os.X_OK):
        return None
    version = _version_of(binary)
    if version is None:
        return None
    doc = prefix / "var" / "lib" / "asterisk" / "documentation"
    return AsteriskInstall(
        binary, prefix / "lib" / "asterisk" / "modules", doc if doc.is_dir() else None, version
    )


def _version_key(p: Path) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", p.name))


def find_asterisk() -> AsteriskInstall | None:
    """The Asterisk to run, or ``None`` (see the module's docstring for the order)."""
    env = os.environ.get("ASTERISK_PREFIX")
    if env:
        return _from_prefix(Path(env))
    local = REPO_DIR / ".asterisk"
    if local.is_dir():
        for prefix in sorted(local.iterdir(), key=_version_key, reverse=True):
            found = _from_prefix(prefix)
            if found is not None:
                return found
    on_path = shutil.which("asterisk")
    if on_path:
        binary = Path(on_path).resolve()
        version = _version_of(binary)
        candidates = [os.environ.get("ASTERISK_MODDIR", "")]
        candidates += [
            str(binary.parent.parent / "lib" / "asterisk" / "modules"),
            "/usr/lib/x86_64-linux-gnu/asterisk/modules",
            "/usr/lib/asterisk/modules",
        ]
        for c in candidates:
            if c and (Path(c) / "app_queue.so").exists() and version:
                return AsteriskInstall(binary, Path(c), None, version)
    return None


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 free right now (TCP by default, ``socket.SOCK_DGRAM`` for UDP)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_SECTION = re.compile(r"^\s*\[([^\]]+)\]")


def conf_set(text: str, section: str, key: str, value: str, *, all_sections: bool = False) -> str:
    """``text`` (an Asterisk ``.conf``) with ``key`` of ``[section]`` set to ``value``.

    The first ``key =`` or ``key =>`` line of the section is replaced (its comment dropped);
    a missing key is added at the end of the section. With ``all_sections``, ``section`` is a
    regular expression and every matching section that has the key gets it.

    >>> print(conf_set("[a]\\nx = 1 ; c\\n[b]\\nx = 2\\n", "b", "x", "3"), end="")
    [a]
    x = 1 ; c
    [b]
    x = 3
    >>> print(conf_set("[a]\\ny => 1\\n", "a", "z", "2"), end="")
    [a]
    y => 1
    z = 2
    """
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*(=>?)")
    current: str | None = None
    done_here = False
    found_any = False
    insert_at: int | None = None
    out: list[str] = []

    def matches(name: str | None) -> bool:
        if name is None:
            return False
        return bool(re.fullmatch(section, name)) if all_sections else name == section

    for line in lines:
        m = _SECTION.match(line)
        if m:
            if matches(current) and not done_here and not all_sections:
                insert_at = len(out)
            current = m.group(1).strip()
            done_here = False
            out.append(line)
            continue
        k = key_re.match(line)
        if k and matches(current) and not done_here:
            out.append(f"{key} {k.group(1)} {value}\n")
            done_here = True
            found_any = True
            continue
        out.append(line)
    if not all_sections and not found_any:
        if matches(current) and insert_at is None:
            insert_at = len(out)
        if insert_at is None:
            raise KeyError(f"no section [{section}]")
        # after the section's last non-blank line
        while insert_at > 0 and not out[insert_at - 1].strip():
            insert_at -= 1
        out.insert(insert_at, f"{key} = {value}\n")
    return "".join(out)


_live: weakref.WeakSet[PrivateAsterisk] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for a in list(_live):
        a.kill()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class PrivateAsterisk:
    """One private Asterisk in ``workdir`` (created; its ``etc/`` holds the rendered files).

    ``agi_port``: where the backend's FastAGI server listens (``HOTLINE_AGI``).
    ``sounds``: names (``hotline/main-menu``) to install as short u-law silence under
    ``sounds/zh`` and ``sounds/en``, so that the IVR's prompts exist. ``extra_dialplan``:
    contexts appended to the dialplan (the tests' simulated callers and seats), and
    ``extra_modules`` the modules it needs beyond ``modules.conf`` (``load =>`` lines added);
    ``extra_sip``: peers appended to ``sip.conf`` (they get fresh secrets too).
    ``queue_log_db``: where the queue_log goes besides its file (a :class:`QueueLogDatabase`
    or its URL); the table must exist already (the backend's migrations create it; ``pbx``
    does not run them). None: the file alone (see the module's docstring).
    """

    def __init__(
        self,
        install: AsteriskInstall,
        workdir: Path,
        *,
        agi_port: int,
        extra_dialplan: str = "",
        extra_modules: Iterable[str] = (),
        extra_sip: str = "",
        sounds: Iterable[str] = (),
        sound_seconds: float = 0.2,
        config_dir: Path = SHIPPED_DIR,
        queue_log_db: QueueLogDatabase | str | None = None,
    ) -> None:
        self.install = install
        self.dir = Path(workdir)
        self.agi_port = agi_port
        self.extra_dialplan = extra_dialplan
        self.extra_modules = list(extra_modules)
        self.extra_sip = extra_sip
        self.sounds = list(sounds)
        self.sound_seconds = sound_seconds
        self.config_dir = Path(config_dir)
        if isinstance(queue_log_db, str):
            queue_log_db = QueueLogDatabase.from_url(queue_log_db)
        self.queue_log_db = queue_log_db
        self.ami_port = free_port()
        self.sip_port = free_port(socket.SOCK_DGRAM)
        # 1000 RTP sessions (even ports; RTCP takes the odd ones), somewhere in 20000-32000
        base = 20000 + 2 * secrets.randbelow(5000)
        self.rtp_range = (base, base + 1998)
        self.ami_user = "hotline"
        self.ami_secret = secrets.token_urlsafe(16)
        #: Secrets given to the SIP peers of sip.conf, by peer name.
        self.sip_secrets: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._short_run: Path | None = None

    # -- files ----------------------------------------------------------------------------
    @property
    def etc(self) -> Path:
        return self.dir / "etc"

    @property
    def conf(self) -> Path:
        return self.etc / "asterisk.conf"

    @property
    def log_dir(self) -> Path:
        return self.dir / "log"

    @property
    def ami_url(self) -> str:
        return f"ami://{self.ami_user}:{self.ami_secret}@127.0.0.1:{self.ami_port}"

    def _run_dir(self) -> Path:
        """Where the CLI's control socket goes: ``<dir>/run``, unless that path is too long
        for a Unix socket (108 bytes), then a short temporary folder, removed with this object."""
        run = self.dir / "run"
        if len(str(run / "asterisk.ctl").encode()) < 100:
            return run
        if self._short_run is None:
            import tempfile

            self._short_run = Path(tempfile.mkdtemp(prefix="hl-ast-"))
            weakref.finalize(self, shutil.rmtree, self._short_run, True)
        return self._short_run

    def render(self) -> None:
        """Write ``etc/`` from the shipped files, and the folders Asterisk writes to."""
        d = self.dir
        dirs = {
            "astetcdir": d / "etc",
            "astvarlibdir": d / "lib",
            "astdbdir": d / "lib",
            "astkeydir": d / "lib",
            "astdatadir": d / "data",
            "astagidir": d / "agi-bin",
            "astspooldir": d / "spool",
            "astrundir": self._run_dir(),
            "astlogdir": d / "log",
            "astcachedir": d / "cache",
        }
        for p in dirs.values():
            p.mkdir(parents=True, exist_ok=True)
        src = {name: (self.config_dir / name).read_text("utf-8") for name in CONF_FILES}

        text = src["asterisk.conf"]
        for key, path in dirs.items():
            text = conf_set(text, "directories", key, str(path))
        text = conf_set(text, "directories", "astmoddir", str(self.install.moddir))
        text = conf_set(text, "directories", "astsbindir", str(self.install.binary.parent))
        src["asterisk.conf"] = text

        text = conf_set(src["manager.conf"], "general", "port", str(self.ami_port))
        text = conf_set(text, "general", "bindaddr", "127.0.0.1")
        src["manager.conf"] = conf_set(text, self.ami_user, "secret", self.ami_secret)

        sip = src["sip.conf"] + (
            f"\n; added by the test harness\n{self.extra_sip}" if self.extra_sip else ""
        )
        text = conf_set(sip, "general", "udpbindaddr", f"127.0.0.1:{self.sip_port}")
        for name in _sections_with(text, "secret"):
            self.sip_secrets[name] = secrets.token_urlsafe(12)
            text = conf_set(text, name, "secret", self.sip_secrets[name])
        src["sip.conf"] = text

        text = conf_set(src["rtp.conf"], "general", "rtpstart", str(self.rtp_range[0]))
        src["rtp.conf"] = conf_set(text, "general", "rtpend", str(self.rtp_range[1]))

        text = conf_set(
            src["extensions.conf"], "globals", "HOTLINE_AGI", f"agi://127.0.0.1:{self.agi_port}"
        )
        if self.extra_dialplan:
            (self.etc / "extensions_extra.conf").write_text(self.extra_dialplan, "utf-8")
            text += '\n#include "extensions_extra.conf"\n'
        src["extensions.conf"] = text

        db = self.queue_log_db
        if db is not None:
            text = src["res_pgsql.conf"]
            for key, value in (
                ("hostname", db.host),
                ("port", str(db.port)),
                ("dbname", db.dbname),
                ("user", db.user),
            ):
                text = conf_set(text, "general", key, value)
            src["res_pgsql.conf"] = text
        else:
            src["modules.conf"] = re.sub(
                r"(?m)^load(\s*=>\s*res_config_pgsql\.so)",
                r"noload\1",
                src["modules.conf"],
            )
            src["extconfig.conf"] = re.sub(r"(?m)^(queue_log\s*=>)", r";\1", src["extconfig.conf"])

        if self.extra_modules:
            text = src["modules.conf"].rstrip("\n") + "\n; added by the test harness\n"
            src["modules.conf"] = text + "".join(f"load => {m}\n" for m in self.extra_modules)

        for name, body in src.items():
            (self.etc / name).write_text(body, "utf-8")

        data = dirs["astdatadir"]
        moh = data / "moh"
        moh.mkdir(exist_ok=True)
        (moh / "silence.ulaw").write_bytes(ULAW_SILENCE * 16000)
        clip = ULAW_SILENCE * max(1, int(8000 * self.sound_seconds))
        for lang in ("zh", "en"):
            for sound in self.sounds:
                f = data / "sounds" / lang / f"{sound}.ulaw"
                f.parent.mkdir(parents=True, exist_ok=True)
                f.write_bytes(clip)
        doc = data / "documentation"
        if self.install.docdir is not None and not doc.exists():
            doc.symlink_to(self.install.docdir)

    # -- process --------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        """Asterisk's environment: ours, with ``PGCONNECT_TIMEOUT`` (and the queue_log
        database's password as ``PGPASSWORD``, when it has one)."""
        env = dict(os.environ)
        env["PGCONNECT_TIMEOUT"] = str(PG_CONNECT_TIMEOUT)
        if self.queue_log_db is not None and self.queue_log_db.password is not None:
            env["PGPASSWORD"] = self.queue_log_db.password
        return env

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 30.0) -> None:
        """Render the files (first time only), start Asterisk, and wait until the AMI answers
        and Asterisk is fully booted. Raises :class:`AsteriskStartError` (after stopping what
        was started) when it does not come up within ``timeout`` seconds."""
        if self.running:
            raise RuntimeError("this Asterisk is already running")
        if self.starts == 0:
            self.render()
        self.starts += 1
        out = open(self.log_dir / "stdout.log", "ab")
        main = threading.current_thread() is threading.main_thread()
        try:
            self.proc = subprocess.Popen(
                [str(self.install.binary), "-f", "-n", "-C", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=self.environment(),
                start_new_session=True,
                preexec_fn=_die_with_parent if main else None,
            )
        finally:
            out.close()
        _live.add(self)
        try:
            self._wait_ready(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, deadline: float) -> None:
        while True:
            if not self.running:
                raise AsteriskStartError(f"Asterisk exited at start\n{self.output_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.ami_port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"Asterisk Call Manager/"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AsteriskStartError(f"no AMI banner in time\n{self.output_tail()}")
            time.sleep(0.1)
        left = max(1.0, deadline - time.monotonic())
        self.cli("core waitfullybooted", timeout=left)

    def cli(self, command: str, timeout: float = 10.0) -> str:
        """Run one CLI command on the running Asterisk (``asterisk -rx``); its output."""
        r = subprocess.run(
            [str(self.install.binary), "-C", str(self.conf), "-rx", command],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if r.returncode != 0:
            raise RuntimeError(
                f"asterisk -rx {command!r} failed ({r.returncode}): "
                f"{r.stderr.decode(errors='replace')[-500:]}"
            )
        return r.stdout.decode("utf-8", errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """``core stop now``, then SIGTERM, then SIGKILL; returns once the process is gone."""
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            with contextlib.suppress(Exception):
                self.cli("core stop now", timeout=timeout)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    self.kill()
        self.proc = None
        _live.discard(self)

    def kill(self) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                p.wait(5)

    def restart(self, timeout: float = 30.0) -> None:
        """Stop and start again with the same files and ports (Asterisk's counters restart
        at zero, as after a real restart)."""
        self.stop()
        self.start(timeout)

    def output_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("stdout.log", "messages.log"):
            f = self.log_dir / name
            if f.exists():
                tail = f.read_text("utf-8", errors="replace").splitlines()[-lines:]
                text += f"--- {name}\n" + "\n".join(tail) + "\n"
        return text

    def queue_log(self) -> list[list[str]]:
        """Asterisk's own queue log so far, one row of ``|``-separated fields each."""
        f = self.log_dir / "queue_log"
        if not f.exists():
            return []
        return [line.split("|") for line in f.read_text("utf-8").splitlines() if line]

    def __enter__(self) -> PrivateAsterisk:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sections_with(text: str, key: str) -> list[str]:
    """Sections (templates excluded) that set ``key`` themselves."""
    out: list[str] = []
    current: str | None = None
    template = False
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for line in text.splitlines():
        m = _SECTION.match(line)
        if m:
            current = m.group(1).strip()
            template = "(!)" in line
            continue
        if current and not template and key_re.match(line) and current not in out:
            out.append(current)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m pbx.private_asterisk``: start one for trying the backend out, print the
    settings that point ``hotline serve`` at it, and stop it on Ctrl-C."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(prog="python -m pbx.private_asterisk", description=main.__doc__)
    p.add_argument("--agi-port", type=int, default=4573, help="the backend's FastAGI port")
    p.add_argument("--dir", type=Path, help="folder to run in (default: a temporary one)")
    p.add_argument(
        "--extra-dialplan",
        type=Path,
        help="contexts to append, e.g. tests/asterisk/sim_extensions.conf (simulated seats "
        "and callers; it needs --module app_senddtmf.so --module func_global.so)",
    )
    p.add_argument("--module", action="append", default=[], help="a module to load as well")
    p.add_argument(
        "--queue-log-db",
        metavar="URL",
        help="write the queue_log to this PostgreSQL database too "
        "(postgresql://user@host:port/dbname, its table made by the backend's migrations)",
    )
    args = p.parse_args(argv)
    install = find_asterisk()
    if install is None:
        print("no Asterisk found: run `make asterisk` (or set ASTERISK_PREFIX)")
        return 1
    with contextlib.ExitStack() as stack:
        workdir = args.dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        sounds_yaml = REPO_DIR / "config" / "sounds.yaml"
        sounds = re.findall(r"^\s*-\s*(\S+)", sounds_yaml.read_text("utf-8"), re.M)
        a = PrivateAsterisk(
            install,
            workdir,
            agi_port=args.agi_port,
            extra_dialplan=args.extra_dialplan.read_text("utf-8") if args.extra_dialplan else "",
            extra_modules=args.module,
            sounds=sounds,
            queue_log_db=args.queue_log_db,
        )
        stack.callback(a.stop)
        a.start()
        print(f"Asterisk {install.version} running in {workdir}")
        print(f"  export HOTLINE_AMI_URL='{a.ami_url}' HOTLINE_AGI_PORT={args.agi_port}")
        print(f"  CLI: {install.binary} -C {a.conf} -r")
        print("Ctrl-C stops it.")
        try:
            while a.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
