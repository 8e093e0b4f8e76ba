"""Read the AMI traces recorded from a real Asterisk 20 (``shared/asterisk/traces``)."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pbx.codec import Frame


def traces_dir() -> Path:
    env = os.environ.get("HOTLINE_TRACES_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "asterisk" / "traces"
        if candidate.is_dir():
            return candidate
        candidate = parent.parent / "shared" / "asterisk" / "traces"
        if candidate.is_dir():
            return candidate
    pytest.fail(
        "the Asterisk traces (../shared/asterisk/traces) are not beside the project; "
        "set HOTLINE_TRACES_DIR"
    )


def trace_frames(name: str) -> Iterator[Frame]:
    """The event frames of ``NAME.jsonl`` (or ``.jsonl.gz``), in wire order."""
    path = traces_dir() / f"{name}.jsonl"
    opener = open
    if not path.exists():
        path = path.with_suffix(".jsonl.gz")
        opener = gzip.open  # type: ignore[assignment]
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
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
