"""A ratio or a mean over no calls is not defined: ``null`` in JSON, never 0.0 (which would
read as "every caller abandoned" or "nobody waited")."""

from __future__ import annotations

import json

import pytest

from config.settings import Settings
from hotline.replay import replay_raw
from hotline.simulation import run_simulation


def test_replay_of_a_stream_with_no_call() -> None:
    out = replay_raw(b"Asterisk Call Manager/9.0.0\r\n")
    assert out["offered"] == 0
    assert out["answer_rate"] is None and out["mean_wait_s"] is None
    assert out["instant_resolution_rate"] is None
    assert json.dumps(out).count("null") >= 3


@pytest.mark.e2e
async def test_simulate_with_no_caller(tmp_path) -> None:
    # 3.6 simulated seconds at one call an hour: with this seed, nobody calls.
    r = await run_simulation(
        Settings(_env_file=None),
        database_url=f"sqlite:///{tmp_path / 't.db'}",
        seats=1,
        calls=None,
        hours=0.001,
        speed=1000.0,
        seed=1,
        talk_mean=None,
        patience_mean=None,
        wrapup=None,
        ring=0.0,
        progress=False,
        profile="flat",
        calls_per_hour=1.0,
    )
    assert r["calls"] == r["offered"] == 0
    assert r["answer_rate"] is None and r["mean_wait_s"] is None
    assert r["instant_resolution_rate"] is None
