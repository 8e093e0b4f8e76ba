"""The menu file's loader and `hotline config check`."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from config.settings import CONFIG_DIR
from hotline.cli import app
from ivr.menus import ConfigError, check_config, district_for, is_open, is_workday, load_menus


@pytest.fixture
def cfg(tmp_path):
    for name in ("ivr.yaml", "sounds.yaml", "skills.yaml", "pause_codes.yaml"):
        shutil.copy(CONFIG_DIR / name, tmp_path / name)
    return tmp_path


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path, needle):
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_shipped_config_has_no_errors():
    assert [p for p in check_config(CONFIG_DIR) if p.severity == "error"] == []


def test_digit_used_twice_names_both_lines(cfg):
    f = cfg / "ivr.yaml"
    _edit(
        f,
        '      "0": {queue: hotline, skill: general, kind: consultation}\n\n  district:',
        '      "0": {queue: hotline, skill: general, kind: consultation}\n'
        '      "5": {queue: urgent}\n\n  district:',
    )
    (p,) = [p for p in check_config(cfg) if "used twice" in p.message]
    assert p.line == _line_of(f, '"5": {queue: urgent}')
    assert "node 'main'" in p.message and "renumber" in p.fix
    with pytest.raises(ConfigError):
        load_menus(cfg)


def test_unknown_queue_and_sound(cfg):
    f = cfg / "ivr.yaml"
    _edit(f, '"6": {queue: urgent, skill: urgent', '"6": {queue: emergency, skill: urgent')
    _edit(f, "sound: hotline/district-menu", "sound: hotline/district-menu-v2")
    problems = check_config(cfg)
    q = next(p for p in problems if "emergency" in p.message)
    assert q.line == _line_of(f, "queue: emergency") and "urgent" in q.fix
    s = next(p for p in problems if "district-menu-v2" in p.message)
    assert s.line == _line_of(f, "district-menu-v2") and "sounds.yaml" in s.fix


def test_unreachable_node_and_loop_without_exit(cfg):
    f = cfg / "ivr.yaml"
    text = f.read_text(encoding="utf-8")
    text += (
        "  orphan:\n    prompt: {sound: hotline/closed, text: x}\n"
        '    options:\n      "1": {queue: hotline}\n'
        "  ring_a:\n    prompt: {sound: hotline/closed, text: a}\n"
        '    options:\n      "1": {goto: ring_b}\n'
        "  ring_b:\n    prompt: {sound: hotline/closed, text: b}\n"
        '    options:\n      "1": {goto: ring_a}\n'
    )
    f.write_text(text, encoding="utf-8")
    _edit(
        f,
        '      "8": {goto: district}\n',
        '      "8": {goto: district}\n      "7": {goto: ring_a}\n',
    )
    msgs = {p.message.split(":")[0]: p for p in check_config(cfg)}
    assert any("'orphan' is unreachable" in m for m in msgs)
    loops = [p for p in check_config(cfg) if "no way out" in p.message]
    assert {p.message.split("'")[1] for p in loops} == {"ring_a", "ring_b"}
    assert all(p.line for p in loops)


def test_closed_menu_must_reach_only_day_and_night_queues(cfg):
    f = cfg / "ivr.yaml"
    closed_urgent = '"1": {queue: urgent, skill: urgent, kind: help, priority: 8}\n      "2"'
    _edit(f, closed_urgent, closed_urgent.replace("queue: urgent", 'queue: "@district"'))
    assert any("not open day and night" in p.message for p in check_config(cfg))


def test_schema_error_has_a_line(cfg):
    f = cfg / "ivr.yaml"
    _edit(
        f,
        '"4": {queue: "@district", skill: suggestion, kind: suggestion}',
        '"4": {queue: "@district", skil: suggestion}',
    )
    (p,) = [p for p in check_config(cfg) if p.severity == "error"]
    assert p.line == _line_of(f, "skil: suggestion") and "skil" in p.fix


def test_cli_config_check(cfg, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(cfg))
    ok = runner.invoke(app, ["config", "check"])
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.output
    _edit(cfg / "ivr.yaml", "start: language", "start: lobby")
    bad = runner.invoke(app, ["config", "check"])
    assert bad.exit_code == 1
    assert "ivr.yaml:" in bad.output and "'lobby' is not a node" in bad.output


def test_calendar_and_hours(menus):
    assert not is_workday(date(2026, 10, 1))  # National Day
    assert is_workday(date(2026, 11, 30))
    assert is_workday(date(2031, 3, 3)) and not is_workday(date(2031, 3, 2))  # beyond: Mon-Fri
    assert is_open(menus, datetime(2026, 11, 30, 2, tzinfo=UTC))  # Mon 10:00 +08
    assert not is_open(menus, datetime(2026, 11, 30, 14, tzinfo=UTC))  # Mon 22:00 +08
    assert is_open(menus, datetime(2026, 11, 29, 2, tzinfo=UTC))  # Sun 10:00: rest-day hours


def test_district_by_prefix(menus):
    assert district_for(menus, "+86 571 8200 1234") is None  # no leading 0 in 0571: no match
    assert district_for(menus, "057182001234") == "xiaoshan"
    assert district_for(menus, "0086057164711000") == "jiande"  # longest prefix wins
    assert district_for(menus, "057164000000") == "tonglu"
    assert district_for(menus, "13800001234") is None
