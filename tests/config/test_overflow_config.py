"""config/overflow.yaml: the shipped rules load, and every mistake names file, line and fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config.overflow import FILE_NAME, check_overflow, load_overflow, parse_clock
from config.settings import CONFIG_DIR
from config.yamlfile import ConfigError
from ivr.menus import load_menus


def test_the_shipped_rules_load_and_name_queues_of_the_ivr():
    rules = load_overflow(CONFIG_DIR)
    queues = set(load_menus(CONFIG_DIR).queues)
    assert rules.rules and check_overflow(CONFIG_DIR, queues) == []
    districts = {d.queue for n, d in load_menus(CONFIG_DIR).districts.items() if n != "city"}
    assert {r.from_queue for r in rules.rules if r.to_queue == "hotline"} == districts
    assert rules.rule_for("hotline", 23 * 60) is not None  # the reverse at night
    assert rules.rule_for("hotline", 10 * 60) is None


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    return tmp_path


def test_no_file_means_no_overflow(tmp_path):
    assert load_overflow(tmp_path).rules == () and check_overflow(tmp_path) == []


def test_mistakes_name_the_line_and_the_fix(tmp_path):
    d = _write(
        tmp_path,
        "version: 1\n"
        "rules:\n"
        "  - {from: xiaoshan, to: hotline, when: {no_ready_seat: true}}\n"
        "  - {from: xiaoshan, to: nowhere, when: {longest_wait_s: 30}, hours: ['21:00', '08:00']}\n"
        "  - {from: yuhang, to: yuhang, when: {}}\n",
    )
    problems = check_overflow(d, {"hotline", "xiaoshan", "yuhang"})
    got = {(p.line, p.message.split(":")[0]) for p in problems}
    assert (4, "rules.1") in got  # overlaps line 3's rule of xiaoshan
    assert (4, "rules.1.to") in got  # no such queue
    assert [p.line for p in problems if "into itself" in p.message] == [5]
    assert [p.line for p in problems if "no condition" in p.message] == [5]
    assert all(p.fix and p.file.endswith(FILE_NAME) for p in problems)
    with pytest.raises(ConfigError):
        load_overflow(d)


def test_a_misspelt_key_and_a_bad_time(tmp_path):
    d = _write(
        tmp_path,
        "version: 1\nrules:\n"
        "  - from: fuyang\n    to: hotline\n    when: {no_ready: true}\n"
        "  - from: linan\n    to: hotline\n    when: {no_ready_seat: true}\n"
        "    hours: ['08:00', '25:00']\n",
    )
    problems = check_overflow(d)
    assert (problems[0].line, "no_ready" in problems[0].message) == (5, True)
    assert any(p.line == 9 and "25:00" in p.message for p in problems)


def test_unquoted_times_are_refused_with_the_fix(tmp_path):
    # YAML 1.1 reads 21:00 as the number 1260 (base 60): the times must be quoted
    d = _write(
        tmp_path,
        "version: 1\nrules:\n"
        "  - {from: hotline, to: xiaoshan, when: {no_ready_seat: true}, hours: [21:00, 08:00]}\n",
    )
    (problem,) = check_overflow(d)
    assert problem.line == 3 and "quote" in problem.fix


def test_windows_past_midnight_do_not_clash_with_the_day(tmp_path):
    night, day = "['21:00', '08:00']", "['08:00', '21:00']"
    d = _write(
        tmp_path,
        "version: 1\nrules:\n"
        f"  - {{from: hotline, to: xiaoshan, when: {{no_ready_seat: true}}, hours: {night}}}\n"
        f"  - {{from: hotline, to: yuhang, when: {{no_ready_seat: true}}, hours: {day}}}\n",
    )
    rules = load_overflow(d)
    assert rules.rule_for("hotline", 7 * 60).to_queue == "xiaoshan"
    assert rules.rule_for("hotline", 20 * 60 + 59).to_queue == "yuhang"


def test_config_check_reports_the_file(tmp_path):
    from typer.testing import CliRunner

    from hotline.cli import app

    d = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, d, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (d / FILE_NAME).write_text(
        "version: 1\nrules:\n  - {from: xiaoshan, to: citycentre, when: {no_ready_seat: true}}\n",
        encoding="utf-8",
    )
    res = CliRunner().invoke(app, ["config", "check", "--dir", str(d)])
    assert res.exit_code == 1
    assert f"{d / FILE_NAME}:3: error: rules.0.to: 'citycentre'" in res.output


def test_clock():
    assert parse_clock("08:30") == 510 and parse_clock("24:00") == 1440
    for bad in ("8", "08:5", "08:60", "x:00"):
        with pytest.raises(ValueError):
            parse_clock(bad)
