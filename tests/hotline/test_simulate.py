"""End to end: simulated callers cross the embedded PBX, AMI over TCP, the controller and the
ticket store; the books must balance."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from config.settings import Settings
from hotline.simulation import run_simulation

pytestmark = pytest.mark.e2e


async def run(database_url: str, **kw: object) -> dict:
    args = dict(
        seats=15,
        calls=300,
        hours=0.25,
        speed=1500.0,
        seed=7,
        talk_mean=150.0,
        patience_mean=120.0,
        wrapup=10.0,
        ring=2.0,
        progress=False,
    )
    args.update(kw)
    return await run_simulation(Settings(_env_file=None), database_url=database_url, **args)


async def test_books_balance_on_each_database(migrated_url: str) -> None:
    r = await run(migrated_url)
    # Every caller goes through the IVR first; the queue gets those it did not serve alone.
    assert r["calls"] == 300 == r["offered"] + r["served_by_ivr"]
    assert r["offered"] == r["answered"] + r["abandoned"]
    assert r["waiting"] == 0
    assert r["tickets"] == r["answered"]
    # 15 seats for 1200 calls/h of 150 s: overloaded, so both outcomes happen.
    assert 0 < r["abandoned"] < r["offered"]
    assert 0.0 < r["answer_rate"] < 1.0
    assert r["answer_rate"] == round(r["answered"] / r["offered"], 4)
    assert 0.4 < r["instant_resolution_rate"] < 0.75


async def test_same_seed_same_outcome(tmp_path) -> None:
    a = await run(f"sqlite:///{tmp_path / 'a.db'}", calls=120, speed=1000.0)
    b = await run(f"sqlite:///{tmp_path / 'b.db'}", calls=120, speed=1000.0)
    for key in ("offered", "answered", "abandoned", "tickets", "instant_resolution_rate"):
        assert a[key] == b[key], key
    assert a["mean_wait_s"] == b["mean_wait_s"]


def test_cli_prints_json_last(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline.cli",
            "simulate",
            "--seats",
            "10",
            "--calls",
            "60",
            "--hours",
            "0.1",
            "--speed",
            "1000",
            "--seed",
            "3",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    r = json.loads(last)
    assert set(r) >= {
        "offered",
        "answered",
        "abandoned",
        "answer_rate",
        "instant_resolution_rate",
        "tickets",
        "elapsed_s",
    }
    assert r["calls"] == 60 == r["offered"] + r["served_by_ivr"]
    assert r["offered"] == r["answered"] + r["abandoned"]
    assert r["tickets"] == r["answered"]
