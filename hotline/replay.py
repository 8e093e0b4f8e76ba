"""Replaying a recorded AMI stream through the controller (``hotline replay FILE``): the
counters it ends with, as one JSON-ready dict.

Two forms are read (either may be gzip-compressed, ``.gz``):

* raw bytes as captured from an AMI socket (``.ami``, or any name not ending in ``.jsonl``):
  cut into frames by the same codec and handled by the same :class:`pbx.ami.AmiLink` frame
  path as a live connection (a missing banner line is supplied);
* JSON lines (``.jsonl``), one AMI message a line, as the recordings in ``tests/recordings``
  are and as :class:`pbx.simulator.recorder.Recorder` writes them: keys starting with ``_``
  (and ``t``) are metadata; actions we sent (``_sent``) and responses are skipped.

This is how a bug report from a real site becomes a test: record the stream there (or take
``tcpdump`` output), replay it here, and assert on the JSON.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from agents.operator import SimulatedOperator
from hotline.controller import Controller
from pbx.ami import AmiLink
from pbx.codec import AmiCodec, Frame
from routing.calls import rounded

__all__ = ["replay_file", "replay_frames", "replay_raw"]

BANNER = b"Asterisk Call Manager/9.0.0\r\n"
_CHUNK = 64 * 1024


def _open(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _is_jsonl(path: Path) -> bool:
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    return name.endswith(".jsonl")


class _Replayer:
    """A controller and an unconnected AMI link whose frame path is fed by hand."""

    def __init__(self, wrapup_s: float = 0.0) -> None:
        self.rejected: Counter[str] = Counter()
        self.tickets = 0
        self.controller = Controller(
            operator=SimulatedOperator(resolve_share=0.57, seed=0),
            on_ticket=self._ticket,
            wrapup_s=wrapup_s,
            on_anomaly=self._reject,
        )
        c = self.controller
        self.link = AmiLink(
            host="replay",
            port=0,
            username="replay",
            secret="",
            on_event=c.handle,
            on_rejected=self._reject,
            now=lambda: c.last_event_at,
        )

    def _ticket(self, draft: Any) -> None:
        self.tickets += 1

    def _reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def frames(self, frames: Iterator[Any]) -> None:
        # Responses in a capture answer actions of the session that was recorded, not ours.
        self.link._frames(
            None,  # type: ignore[arg-type]
            (
                f
                for f in frames
                if type(f) is not Frame or "Response" not in f.headers or "Event" in f.headers
            ),
        )

    def raw(self, stream: IO[bytes]) -> None:
        codec = AmiCodec("client")
        first = stream.read(_CHUNK)
        if not first.startswith(b"Asterisk Call Manager"):
            codec.feed(BANNER)
        data = first
        while data:
            codec.feed(data)
            self.frames(codec.frames())
            data = stream.read(_CHUNK)

    def result(self) -> dict[str, Any]:
        c = self.controller
        calls = c.calls
        t = calls.totals()
        queues = {
            q: {
                "offered": st.offered,
                "answered": st.answered,
                "abandoned": st.abandoned,
                "waiting": calls.waiting_count(q),
                "answer_rate": rounded(st.answer_ratio, 4),
                "mean_wait_s": rounded(st.mean_wait_s, 2),
            }
            for q, st in sorted(calls.stats.items())
        }
        return {
            "events": self.link.events_received,
            "offered": t.offered,
            "answered": t.answered,
            "abandoned": t.abandoned,
            "waiting": sum(len(q) for q in calls.waiting.values()),
            "talking": len(calls.talking),
            "answer_rate": rounded(t.answer_ratio, 4),
            "mean_wait_s": rounded(t.mean_wait_s, 2),
            "tickets": self.tickets,
            "instant_resolution_rate": round(c.instant_resolution_ratio, 4)
            if c.calls_ended
            else None,
            "seats": c.seats.counts(c.last_event_at),
            "unknown_calls": calls.unknown_calls,
            "rejected": dict(sorted(self.rejected.items())),
            "queues": queues,
        }


def _json_frames(stream: IO[bytes]) -> Iterator[Frame]:
    for raw in io.TextIOWrapper(stream, encoding="utf-8", errors="replace"):
        line = raw.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if not isinstance(d, dict) or d.get("_sent") or "Event" not in d:
            continue
        yield Frame(
            {
                k: (v if isinstance(v, (str, list)) else str(v))
                for k, v in d.items()
                if not k.startswith("_") and k != "t"
            }
        )


def replay_raw(data: bytes, wrapup_s: float = 0.0) -> dict[str, Any]:
    """Replay raw AMI bytes (tests)."""
    r = _Replayer(wrapup_s)
    r.raw(io.BytesIO(data))
    return r.result()


def replay_frames(frames: Iterator[Frame], wrapup_s: float = 0.0) -> dict[str, Any]:
    r = _Replayer(wrapup_s)
    r.frames(frames)
    return r.result()


def replay_file(path: str | Path, wrapup_s: float = 0.0) -> dict[str, Any]:
    """Replay one recorded file (either form, optionally ``.gz``)."""
    p = Path(path)
    r = _Replayer(wrapup_s)
    with _open(p) as fh:
        if _is_jsonl(p):
            r.frames(_json_frames(fh))
        else:
            r.raw(fh)
    out = r.result()
    out["file"] = str(p)
    return out
