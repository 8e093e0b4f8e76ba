"""``hotline route suggest --json``: one JSON line on standard output for each line of
standard input, the top three as {"matter", "department", "score"}; a blank line gets []."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.settings import CONFIG_DIR
from hotline.cli import app

ROOT = Path(__file__).resolve().parents[2]
LINES = "小区停电两个小时了\n\n公司把我辞退了不给赔偿\n？？？\n"


def check(lines: list[str]) -> None:
    assert len(lines) == 4
    answers = [json.loads(line) for line in lines]
    assert answers[1] == [] and answers[3] == []  # blank; no word of the catalogue
    power, dismissal = answers[0], answers[2]
    assert len(power) == 3 and all(set(s) == {"matter", "department", "score"} for s in power)
    assert power[0] == {**power[0], "matter": "停电与电力故障", "department": "国网杭州供电公司"}
    assert [s["score"] for s in power] == sorted((s["score"] for s in power), reverse=True)
    assert {"matter": "劳动合同争议", "department": "杭州市劳动人事争议仲裁院"}.items() <= next(
        s for s in dismissal if s["matter"] == "劳动合同争议"
    ).items()


def test_route_suggest_prints_a_json_line_per_line() -> None:
    r = CliRunner().invoke(app, ["route", "suggest", "--json", "--dir", str(CONFIG_DIR)], LINES)
    assert r.exit_code == 0, r.output
    check(r.stdout.splitlines())


def test_route_suggest_without_json_or_with_a_bad_catalogue_fails(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["route", "suggest"], "停电\n")
    assert r.exit_code == 2 and "--json" in r.output
    (tmp_path / "departments.yaml").write_text("version: 1\ndepartments: {}\n", "utf-8")
    r = CliRunner().invoke(app, ["route", "suggest", "--json", "--dir", str(tmp_path)], "停电\n")
    assert r.exit_code == 2 and "departments.yaml" in r.output


@pytest.mark.e2e
def test_route_suggest_in_a_child_process_reads_stdin_and_writes_utf8_json_lines() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_CONFIG_DIR": str(CONFIG_DIR)}
    done = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "route", "suggest", "--json"],
        input=LINES.encode(),
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    check(done.stdout.decode("utf-8").splitlines())
