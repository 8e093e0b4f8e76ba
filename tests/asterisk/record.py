"""Record a scenario from a real Asterisk, in the format of ``tests/recordings``.

    ASTERISK_PREFIX=/path/to/asterisk python -m tests.asterisk.record qtimeout [--out DIR]

It starts a private Asterisk (:class:`pbx.private_asterisk.PrivateAsterisk`) with the
recordings' dialplan and queues (``tests/recordings/etc``), a FastAGI stub doing what the
recordings' IVR stub did (``IVR_RESULT=menu-1``, a VERBOSE, ``QUEUE_PRIO=5`` for 139...),
an event connection (``Events: on``) and a driving connection (``Events: off``), runs the
scenario's actions at their times, and writes ``NAME.ami`` / ``NAME.jsonl`` (the event
connection), ``NAME.driver.ami`` / ``NAME.driver.jsonl`` (actions marked ``_sent``, every
row with its time ``t``) and ``NAME.queue_log``; compress the large ones with
``gzip -9 -n`` and write ``NAME.md``. Recording needs Asterisk; replaying it does not.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from pbx.private_asterisk import SHIPPED_DIR, PrivateAsterisk, conf_set, find_asterisk, free_port

REPO = Path(__file__).resolve().parent.parent.parent
RECORDINGS = REPO / "tests" / "recordings"

MANAGER_CONF = """[general]
enabled = yes
port = 5038
bindaddr = 127.0.0.1
webenabled = no
displayconnects = no
timestampevents = yes
allowmultiplelogin = yes

[hotline]
secret = hotline
deny = 0.0.0.0/0.0.0.0
permit = 127.0.0.1/255.255.255.255
read = all
write = all
"""


def parse_frame(raw: bytes) -> dict:
    d: dict = {}
    for line in raw.decode("utf-8", "replace").split("\r\n"):
        if ": " in line:
            k, v = line.split(": ", 1)
        elif line.endswith(":"):
            k, v = line[:-1], ""
        else:
            continue
        if k in d:
            d[k] = d[k] if isinstance(d[k], list) else [d[k]]
            d[k].append(v)
        else:
            d[k] = v
    return d


class Conn:
    """One AMI connection: the raw bytes and the JSON lines of everything said on it."""

    def __init__(self, port: int, secret: str, prefix: str, events: str) -> None:
        self.raw = bytearray()
        self.rows: list[dict] = []
        self.prefix = prefix
        self.n = 0
        self.lock = threading.Lock()
        self.rows.append({"t": time.time(), "_meta": "connect", "conn": 1})
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        self.send({"Action": "Login", "Username": "hotline", "Secret": secret, "Events": events})

    def send(self, action: dict) -> None:
        self.n += 1
        action = {**action}
        action = {"Action": action.pop("Action"), "ActionID": f"{self.prefix}-{self.n}", **action}
        lines = []
        for k, v in action.items():
            for one in v if isinstance(v, list) else [v]:
                lines.append(f"{k}: {one}")
        with self.lock:
            self.rows.append({"t": time.time(), **action, "_sent": True})
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            t = time.time()
            self.raw += data
            buf += data
            if buf.startswith(b"Asterisk Call Manager") and b"\r\n" in buf:
                line, buf = buf.split(b"\r\n", 1)
                with self.lock:
                    self.rows.append({"t": t, "_banner": line.decode()})
            while b"\r\n\r\n" in buf:
                frame, buf = buf.split(b"\r\n\r\n", 1)
                with self.lock:
                    self.rows.append({"t": t, **parse_frame(frame)})

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def agi_stub(port_holder: list[int], stop: threading.Event) -> None:
    """FastAGI: what the recordings' IVR stub did, then hang on to nothing."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(50)
    srv.settimeout(0.2)
    port_holder.append(srv.getsockname()[1])

    def one(c: socket.socket) -> None:
        f = c.makefile("rwb")
        env = {}
        while True:
            line = f.readline().decode().strip()
            if not line:
                break
            k, _, v = line.partition(": ")
            env[k] = v
        num = env.get("agi_callerid", "")
        cmds = ['SET VARIABLE IVR_RESULT "menu-1"', f'VERBOSE "fastagi ivr for {num}" 2']
        if num.startswith("139"):
            cmds.append('SET VARIABLE QUEUE_PRIO "5"')
        for cmd in cmds:
            f.write((cmd + "\n").encode())
            f.flush()
            f.readline()
        c.close()

    while not stop.is_set():
        try:
            c, _ = srv.accept()
        except TimeoutError:
            continue
        threading.Thread(target=one, args=(c,), daemon=True).start()
    srv.close()


def caller(name: str, num: str, queue: str, **var: object) -> dict:
    return {
        "Action": "Originate",
        "Channel": f"Local/q{queue}@callers/n",
        "Context": "caller-sim",
        "Exten": "s",
        "Priority": "1",
        "CallerID": f'"{name}" <{num}>',
        "Variable": [f"{k}={v}" for k, v in var.items()],
        "Async": "true",
    }


def seat(queue: str, n: int) -> dict:
    return {
        "Action": "QueueAdd",
        "Queue": queue,
        "Interface": f"Local/{n}@agents/n",
        "StateInterface": f"Local/{n}@agents",
        "MemberName": f"Agent {n}",
        "Penalty": "0",
        "Paused": "false",
    }


def status(queue: str) -> list[tuple[float, dict]]:
    return [
        (0.0, {"Action": "QueueStatus", "Queue": queue}),
        (0.0, {"Action": "QueueSummary", "Queue": queue}),
        (0.0, {"Action": "Command", "Command": f"queue show {queue}"}),
    ]


JQUEUES = ("qjyes", "qjno", "qjstrict", "qjlist")


def _waves(
    queues: tuple[str, ...], number_prefix: str
) -> tuple[list[tuple[float, dict]], Callable[[str, int, float], None]]:
    """A scenario's steps, and ``wave(tag, maxwait, first)``: one caller into each of
    ``queues``, the first ``first`` seconds after the previous step, the others 0.2 s apart,
    numbered on from ``number_prefix``."""
    steps: list[tuple[float, dict]] = []
    n = 0

    def wave(tag: str, maxwait: int, first: float) -> None:
        nonlocal n
        for i, q in enumerate(queues):
            n += 1
            who = caller(f"{tag}{i + 1}", f"{number_prefix}{n:02d}", q, MAXWAIT=maxwait, TALK=4)
            steps.append((first if i == 0 else 0.2, who))

    return steps, wave


def _joinempty() -> list[tuple[float, dict]]:
    steps, wave = _waves(JQUEUES, "138000001")

    wave("甲", 3, 0.5)  # no member at all
    for q in JQUEUES:  # 8001 paused in every queue
        steps.append((4.0 if q == "qjyes" else 0.0, {**seat(q, 8001), "Paused": "true"}))
    wave("乙", 3, 0.5)  # only a paused member
    wave("丙", 10, 4.0)  # the same, waiting longer ...
    for q in JQUEUES:  # ... when the paused member is removed
        steps.append(
            (
                2.0 if q == "qjyes" else 0.0,
                {"Action": "QueueRemove", "Queue": q, "Interface": "Local/8001@agents/n"},
            )
        )
    for q in JQUEUES:  # 8002 free in every queue (it answers after 1 s, talks 4 s)
        steps.append((3.0 if q == "qjyes" else 0.0, seat(q, 8002)))
    wave("丁", 12, 0.5)  # one talks, the others wait (ringinuse no) ...
    # ... until 8002, busy, is paused in every queue
    steps.append(
        (
            2.0,
            {
                "Action": "QueuePause",
                "Interface": "Local/8002@agents/n",
                "Paused": "true",
                "Reason": "break",
            },
        )
    )
    steps.append((14.0, {"Action": "Ping"}))
    for q in JQUEUES:
        steps += status(q)
    return steps


UQUEUES = ("quyes", "quunav", "qulist", "quleave")


def _unavailable() -> list[tuple[float, dict]]:
    steps, wave = _waves(UQUEUES, "138000004")

    # SIP/seat8001 of the shipped sip.conf, never registered: its device is unavailable
    for q in UQUEUES:
        steps.append(
            (
                0.3 if q == "quyes" else 0.0,
                {
                    "Action": "QueueAdd",
                    "Queue": q,
                    "Interface": "SIP/seat8001",
                    "MemberName": "Seat 8001",
                    "Penalty": "0",
                    "Paused": "false",
                },
            )
        )
    wave("戊", 3, 0.5)  # only the unavailable member
    for q in UQUEUES:  # 8002 free in every queue (it answers after 1 s, talks 4 s)
        steps.append((4.0 if q == "quyes" else 0.0, seat(q, 8002)))
    wave("己", 12, 0.5)  # one talks, the others wait (ringinuse no) ...
    for q in UQUEUES:  # ... until 8002 is removed: only the unavailable member is left
        steps.append(
            (
                2.0 if q == "quyes" else 0.0,
                {"Action": "QueueRemove", "Queue": q, "Interface": "Local/8002@agents/n"},
            )
        )
    steps.append((13.0, {"Action": "Ping"}))
    for q in UQUEUES:
        steps += status(q)
    return steps


#: name -> (queue, [(seconds after the previous action, action)], seconds to wait at the end)
SCENARIOS: dict[str, tuple[str, list[tuple[float, dict]], float]] = {
    # Queue() gives up (MAXWAIT 5) while a member that never answers is ringing (timeout 15);
    # the next caller goes to the other member (rrmemory) and talks.
    "qtimeout": (
        "qtimeout",
        [
            (0.3, {"Action": "Setvar", "Variable": "SEAT_8001_ANSWER", "Value": "no"}),
            (0.0, seat("qtimeout", 8001)),
            (0.0, seat("qtimeout", 8002)),
            (0.3, caller("张三", "13800000001", "qtimeout", MAXWAIT=5, TALK=3)),
            (7.0, caller("李四", "13800000002", "qtimeout", MAXWAIT=20, TALK=3, PATIENCE=60)),
            (8.0, {"Action": "Ping"}),
            *status("qtimeout"),
        ],
        2.0,
    ),
    # joinempty / leavewhenempty yes, no, strict and a list, with no member, a paused member
    # and a member removed while callers wait.
    "joinempty": ("qjyes", _joinempty(), 2.0),
    # joinempty / leavewhenempty unavailable, yes and a list, with a SIP member never
    # registered (device unavailable), alone and with a free member that goes away.
    "unavailable": ("quyes", _unavailable(), 2.0),
    # a member removed while it talks (and one removed while it rings)
    "removed": (
        "hotline2",
        [
            (0.3, seat("hotline2", 8001)),
            (0.0, seat("hotline2", 8002)),
            (0.3, caller("赵一", "13800000301", "hotline2", TALK=6, PATIENCE=60)),
            (
                2.2,
                {"Action": "QueueRemove", "Queue": "hotline2", "Interface": "Local/8001@agents/n"},
            ),
            (0.45, caller("赵二", "13800000302", "hotline2", TALK=3, PATIENCE=60, AGENT_RING=3)),
            (0.3, caller("赵三", "13800000303", "hotline2", TALK=3, PATIENCE=60)),
            (
                1.0,
                {"Action": "QueueRemove", "Queue": "hotline2", "Interface": "Local/8002@agents/n"},
            ),
            (1.55, seat("hotline2", 8001)),
            (12.0, {"Action": "Ping"}),
            *status("hotline2"),
        ],
        2.0,
    ),
    # members shared by queues with different penalties, strategies and weights: who gets a
    # freed member when callers wait in several of its queues
    "shared": (
        "qsa",
        [
            (0.3, {**seat("qsa", 8001), "Penalty": "0"}),
            (0.0, {**seat("qsb", 8001), "Penalty": "1"}),
            (0.0, {**seat("qsc", 8001), "Penalty": "0"}),
            (0.0, {**seat("qsa", 8002), "Penalty": "1"}),
            (0.0, {**seat("qsb", 8002), "Penalty": "0"}),
            (0.3, caller("一号", "13800000201", "qsa", TALK=4, PATIENCE=60)),
            (0.2, caller("二号", "13800000202", "qsb", TALK=4, PATIENCE=60)),
            (1.15, caller("三号", "13800000203", "qsa", TALK=4, PATIENCE=60)),
            (0.3, caller("四号", "13800000204", "qsb", TALK=4, PATIENCE=60)),
            (0.3, caller("五号", "13800000205", "qsc", TALK=4, PATIENCE=60)),
            (0.35, caller("六号", "13800000206", "qsb", TALK=4, PATIENCE=60)),
            (16.0, {"Action": "Ping"}),
            *status("qsa"),
            *status("qsb"),
            *status("qsc"),
        ],
        2.0,
    ),
}


def config_dir(d: Path) -> Path:
    """The shipped Asterisk files, with the recordings' dialplan and queues and an AMI user
    that reads everything (as the recordings' did)."""
    shutil.copytree(SHIPPED_DIR, d, dirs_exist_ok=True)
    shutil.copy(RECORDINGS / "etc" / "queues.conf", d / "queues.conf")
    shutil.copy(RECORDINGS / "etc" / "extensions.conf", d / "extensions.conf")
    (d / "manager.conf").write_text(MANAGER_CONF, "utf-8")
    return d


def record(name: str, out: Path) -> None:
    install = find_asterisk()
    if install is None:
        sys.exit("no Asterisk found (ASTERISK_PREFIX)")
    queue, steps, tail = SCENARIOS[name]
    stop = threading.Event()
    port: list[int] = []
    threading.Thread(target=agi_stub, args=(port, stop), daemon=True).start()
    while not port:
        time.sleep(0.01)
    with tempfile.TemporaryDirectory(prefix="hl-rec-") as tmp:
        conf = config_dir(Path(tmp) / "conf")
        ext = conf / "extensions.conf"
        text = ext.read_text("utf-8")
        ext.write_text(
            conf_set(text, "globals", "AGI_URL", f"agi://127.0.0.1:{port[0]}/ivr"), "utf-8"
        )
        ast = PrivateAsterisk(
            install,
            Path(tmp) / "ast",
            agi_port=free_port(),
            extra_modules=("func_global.so", "func_rand.so"),
            config_dir=conf,
        )
        ast.ami_secret = "hotline"
        with ast:
            ev = Conn(ast.ami_port, "hotline", "rec", "on")
            time.sleep(0.3)
            drv = Conn(ast.ami_port, "hotline", "drv", "off")
            for delay, action in steps:
                time.sleep(delay)
                drv.send(action)
            time.sleep(tail)
            drv.send({"Action": "Logoff"})
            ev.send({"Action": "Logoff"})
            time.sleep(0.3)
            ev.close()
            drv.close()
            log = ast.log_dir / "queue_log"
            qlog = log.read_text("utf-8") if log.exists() else ""
    stop.set()
    out.mkdir(parents=True, exist_ok=True)
    for conn, stem in ((ev, name), (drv, f"{name}.driver")):
        (out / f"{stem}.ami").write_bytes(bytes(conn.raw))
        with open(out / f"{stem}.jsonl", "w", encoding="utf-8") as f:
            for row in conn.rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / f"{name}.queue_log").write_text(qlog, "utf-8")
    print(f"recorded {name} into {out} (queue {queue})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=sorted(SCENARIOS))
    p.add_argument("--out", type=Path, default=Path("recorded"))
    args = p.parse_args(argv)
    record(args.name, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
