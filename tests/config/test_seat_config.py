"""The skills and the pause codes as data: the shipped files load and agree with the IVR's
queues; each mistake is reported with its file, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.pause_codes import check_pause_codes, load_pause_codes
from config.settings import CONFIG_DIR
from config.skills import check_skills, load_skills
from config.yamlfile import ConfigError
from ivr.menus import load_menus


def test_the_shipped_skills_name_queues_of_the_ivr() -> None:
    skills = load_skills(CONFIG_DIR)
    queues = set(load_menus(CONFIG_DIR).queues)
    assert skills.queues() <= queues
    assert check_skills(CONFIG_DIR, queues) == []
    assert skills.queues_of("zhangwei") == {"hotline": 0, "urgent": 0}  # the lowest penalty
    assert skills.queues_of("ZhangWei") == {"hotline": 0, "urgent": 0}
    assert skills.queues_of("lina") == {"xiaoshan": 0, "hotline": 2}
    assert skills.queues_of("someone-else") == {"hotline": 0}  # default_groups


def test_the_shipped_pause_codes() -> None:
    codes = load_pause_codes(CONFIG_DIR)
    labels = {c: p.label for c, p in codes.codes.items()}
    assert labels["lunch"] == "午餐" and labels["training"] == "培训"
    assert labels["meeting"] == "会议" and labels["after_call_work"] == "话后处理"
    assert labels["restroom"] == "休息" and labels["supervisor"] == "班长指派"
    assert codes.codes["lunch"].limit_s == 3600 and not codes.codes["lunch"].counts_as_working_time
    assert codes.codes["training"].counts_as_working_time
    assert codes.codes[codes.auto_pause_code].system
    assert codes.supervisor_code == "supervisor"
    # the wrap-up after a call, up to a limit: it ends itself
    assert codes.codes["after_call_work"].auto_ready
    assert codes.codes["after_call_work"].limit_s == 180
    assert not codes.codes["lunch"].auto_ready
    assert check_pause_codes(CONFIG_DIR) == []


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


PAUSE_BAD = """\
version: 1
codes:
  lunch: {label: 午餐, limit_minutes: 60, counts_as_working_time: false}
  Lunch Break: {label: x, limit_minutes: 1, counts_as_working_time: true}
  nap: {limit_minutes: 0, counts_as_working_time: maybe, colour: red, auto_ready: 1}
  lunch: {label: 午餐, limit_minutes: 60, counts_as_working_time: false}
auto_pause_code: no_answer
supervisor_code: lunch
"""


def test_pause_code_mistakes_name_file_line_and_fix(tmp_path: Path) -> None:
    problems = check_pause_codes(_write(tmp_path, "pause_codes.yaml", PAUSE_BAD))
    said = {(p.line, p.message.split(":")[0]) for p in problems}
    text = "\n".join(str(p) for p in problems)
    assert "pause_codes.yaml:6: error: key 'lunch' written twice (first on line 3)" in text
    assert "pause_codes.yaml:4: error: pause code 'Lunch Break' is not a lower-case name" in text
    assert (5, "code nap") in said  # no label, limit, working time, unknown key
    assert "code nap: unknown key 'colour'" in text
    assert "limit_minutes must be" in text and "counts_as_working_time must be" in text
    assert "code nap: auto_ready must be true or false" in text
    assert "pause_codes.yaml:7: error: auto_pause_code: 'no_answer' is not one of the codes" in text
    assert all("fix:" in str(p) for p in problems)
    with pytest.raises(ConfigError):
        load_pause_codes(tmp_path)


SKILLS_BAD = """\
version: 1
groups:
  general: {hotline: 0}
  broken: {urgent: -1, "bad queue!": 0}
  urgent: [urgent]
default_groups: [general, nosuch]
users:
  ZhangWei: [general]
  lina: general
"""


def test_skill_mistakes_name_file_line_and_fix(tmp_path: Path) -> None:
    problems = check_skills(_write(tmp_path, "skills.yaml", SKILLS_BAD))
    text = "\n".join(str(p) for p in problems)
    assert "skills.yaml:4: error: group broken: the penalty of urgent must be" in text
    assert "skills.yaml:4: error: group broken: 'bad queue!' is not a queue name" in text
    assert "skills.yaml:5: error: group urgent: not a mapping" in text
    assert "skills.yaml:6: error: default_groups: no skill group 'nosuch'" in text
    assert "skills.yaml:8: error: users: 'ZhangWei' is not lower case" in text
    assert "skills.yaml:9: error: users.lina: not a list of skill groups" in text
    with pytest.raises(ConfigError):
        load_skills(tmp_path)


def test_a_skill_queue_the_ivr_does_not_have(tmp_path: Path) -> None:
    _write(tmp_path, "skills.yaml", "version: 1\ngroups:\n  g: {nowhere: 0}\ndefault_groups: [g]\n")
    (problem,) = check_skills(tmp_path, {"hotline"})
    assert (problem.line, problem.message) == (
        3,
        "group g: queue 'nowhere' is not a queue of ivr.yaml",
    )


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    (problem,) = check_pause_codes(tmp_path)
    assert problem.message == "file not found"
