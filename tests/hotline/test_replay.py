"""``hotline replay``: recorded AMI streams, raw or JSON lines, through the controller."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hotline.replay import replay_file, replay_raw
from pbx.simulator import Simulator, SimulatorConfig, TrafficSpec
from pbx.simulator.recorder import Recorder
from tests.traces import read_recording, recording

EPOCH = 1_800_000_000.0


def test_real_asterisk_load_trace() -> None:
    r = replay_file(recording("load.jsonl"))
    summary = json.loads(read_recording("load.summary.json"))["caller_outcomes"]
    assert r["answered"] == summary["answered"] == r["tickets"]
    assert r["abandoned"] == summary["abandoned"] + summary.get("timeout", 0)
    assert r["waiting"] == r["talking"] == r["unknown_calls"] == 0
    assert r["rejected"] == {}


@pytest.mark.parametrize(("name", "answered"), [("pause", 4), ("priority", 6)])
def test_raw_and_jsonl_captures_agree(name: str, answered: int) -> None:
    raw = replay_file(recording(f"{name}.ami"))
    js = replay_file(recording(f"{name}.jsonl"))
    for key in ("offered", "answered", "abandoned", "tickets", "waiting"):
        assert raw[key] == js[key], key
    assert raw["answered"] == answered


def test_raw_replay_does_not_depend_on_how_the_bytes_are_cut() -> None:
    data = read_recording("priority.ami")
    whole = replay_raw(data)
    # the replayer reads 64 KiB at a time; feed a copy with every line end LF-only
    lf = replay_raw(data.replace(b"\r\n", b"\n"))
    for key in ("offered", "answered", "abandoned", "tickets"):
        assert whole[key] == lf[key]


@pytest.mark.e2e
async def test_the_simulator_records_both_forms_and_replay_matches_its_truth(tmp_path) -> None:
    sim = Simulator(SimulatorConfig(seats=10, speed=20000.0, epoch=EPOCH, seed=5))
    await sim.start(port=0)
    rec = Recorder(sim, ami=tmp_path / "day.ami.gz", jsonl=tmp_path / "day.jsonl")
    try:
        await sim.run_traffic(TrafficSpec(calls=400, hours=1.0, start_at=EPOCH))
    finally:
        rec.close()
        await sim.stop()
    truth = sim.stats
    for path in (tmp_path / "day.ami.gz", tmp_path / "day.jsonl"):
        r = replay_file(path)
        assert (r["offered"], r["answered"], r["abandoned"]) == (
            truth["offered"],
            truth["answered"],
            truth["abandoned"],
        ), path.name
        assert r["tickets"] == r["answered"] and r["rejected"] == {}
        assert r["events"] == rec.events

    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    proc = subprocess.run(  # noqa: ASYNC221  (a CLI run, as a user would)
        [sys.executable, "-m", "hotline.cli", "replay", str(tmp_path / "day.ami.gz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["answered"] == truth["answered"]
