"""Read the AMI recordings made from a real Asterisk 20 (``tests/recordings``, see its README).

A recording is named as it was made (``pause.jsonl``, ``actions.driver.ami``); the large ones
are stored gzip-compressed (``pause.jsonl.gz``), and :func:`recording` finds either form, so a
test never cares which.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pbx.codec import Frame

RECORDINGS = Path(__file__).resolve().parent / "recordings"


def traces_dir() -> Path:
    """The folder of the recordings (inside the repository)."""
    return RECORDINGS


def recording(name: str) -> Path:
    """The file of one recording, ``NAME`` as recorded or its compressed ``NAME.gz``."""
    plain = RECORDINGS / name
    if plain.exists():
        return plain
    packed = RECORDINGS / f"{name}.gz"
    if packed.exists():
        return packed
    raise FileNotFoundError(f"no recording {name} (nor {name}.gz) in {RECORDINGS}")


def open_recording(name: str, mode: str = "rt") -> IO:
    """Open a recording for reading, uncompressing it when it is stored compressed."""
    path = recording(name)
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8" if "t" in mode else None)
    return path.open(mode, encoding="utf-8" if "t" in mode else None)


def read_recording(name: str) -> bytes:
    """The bytes of a recording, uncompressed."""
    with open_recording(name, "rb") as fh:
        return fh.read()


def recording_rows(name: str) -> list[dict]:
    """The JSON objects of a ``.jsonl`` recording, one a line."""
    with open_recording(name) as fh:
        return [json.loads(line) for line in fh]


def trace_frames(name: str) -> Iterator[Frame]:
    """The event frames of ``NAME.jsonl``, in wire order."""
    for d in recording_rows(f"{name}.jsonl"):
        if "Event" not in d or d.get("_sent"):
            continue
        yield Frame({k: v for k, v in d.items() if not k.startswith("_") and k != "t"})


def trace_header_orders(*names: str) -> dict[str, set[tuple[str, ...]]]:
    """Every header order (``ActionID`` left out) each event type had in the named traces."""
    out: dict[str, set[tuple[str, ...]]] = {}
    for name in names:
        for f in trace_frames(name):
            keys = tuple(k for k in f.headers if k != "ActionID")
            out.setdefault(str(f.headers["Event"]), set()).add(keys)
    return out
