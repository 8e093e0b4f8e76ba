"""Record what the embedded PBX sends, in the two forms ``hotline replay`` reads.

* ``NAME.ami``: the raw bytes of the event stream as a client socket receives them (the
  banner first, then every event as :func:`pbx.codec.encode_message` writes it: the same bytes
  the AMI server broadcasts);
* ``NAME.jsonl``: one JSON object a line, the headers in wire order, plus ``_t`` (the time it
  was sent) and ``_kind`` (``event``), as the recordings of the real Asterisk in
  ``tests/recordings`` are.

A name ending in ``.gz`` is written gzip-compressed. Usage::

    rec = Recorder(sim, ami="day.ami.gz", jsonl="day.jsonl")
    ...                      # run traffic
    rec.close()

It listens through :meth:`Simulator.subscribe`, the hook every event goes through on its way to
the AMI server's broadcast, so it needs no change in the simulator's send path.
"""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pbx.codec import encode_message

if TYPE_CHECKING:
    from pbx.simulator import Simulator

__all__ = ["BANNER", "Recorder", "open_out"]

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def open_out(path: str | Path, mode: str) -> IO[Any]:
    """Open for writing, gzip-compressed when the name ends in ``.gz``."""
    p = Path(path)
    if p.suffix == ".gz":
        return gzip.open(p, mode + "b" if "b" not in mode else mode, compresslevel=5)
    return open(p, mode + "b" if "b" not in mode else mode)


class Recorder:
    """Writes every event the simulator emits; :meth:`close` when done."""

    def __init__(
        self,
        sim: Simulator,
        *,
        ami: str | Path | IO[bytes] | None = None,
        jsonl: str | Path | IO[bytes] | None = None,
    ) -> None:
        if ami is None and jsonl is None:
            raise ValueError("give ami=, jsonl= or both")
        self._sim = sim
        self._own: list[IO[Any]] = []
        self._ami = self._open(ami)
        self._jsonl = self._open(jsonl)
        if self._ami is not None:
            self._ami.write(BANNER)
        self.events = 0
        self._unsubscribe = sim.subscribe(self._on_event)

    def _open(self, target: str | Path | IO[bytes] | None) -> IO[bytes] | None:
        if target is None:
            return None
        if isinstance(target, (str, Path)):
            fh = open_out(target, "w")
            self._own.append(fh)
            return fh
        return target

    def _on_event(self, headers: dict[str, str]) -> None:
        self.events += 1
        if self._ami is not None:
            self._ami.write(encode_message(headers))
        if self._jsonl is not None:
            row = {"_t": self._sim.clock.now(), "_kind": "event", **headers}
            self._jsonl.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")

    def close(self) -> None:
        self._unsubscribe()
        for fh in self._own:
            fh.close()
        self._own.clear()
        for fh in (self._ami, self._jsonl):
            if isinstance(fh, io.BufferedIOBase | io.RawIOBase) and not fh.closed:
                fh.flush()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
