"""``hotline replay FILE``: feed a recorded AMI stream through the controller and print the
counters it ends with, as one JSON object (the use case: :mod:`hotline.replay`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from hotline.replay import replay_file

__all__ = ["replay"]


def replay(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    wrapup: Annotated[
        float, typer.Option(min=0.0, help="Queue wrap-up time the seat states assume, s.")
    ] = 0.0,
) -> None:
    """Feed a recorded AMI stream (raw .ami bytes or .jsonl events, optionally .gz) through
    the controller and print the resulting counters as JSON."""
    print(json.dumps(replay_file(file, wrapup), ensure_ascii=False), flush=True)
