"""config/report.yaml: the shipped rules load; each mistake is named with its line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.report import (
    CITY_TARGETS,
    ReportRules,
    check_report_rules,
    load_report_rules,
)
from config.settings import CONFIG_DIR
from config.yamlfile import ConfigError


def test_the_shipped_rules_load() -> None:
    rules = load_report_rules(CONFIG_DIR)
    assert rules.acceptance_limit == (1, "working_days")
    assert rules.targets == CITY_TARGETS
    assert sum(rules.weights.values()) == 100
    assert check_report_rules(CONFIG_DIR) == []


def test_a_folder_without_the_file_gets_the_defaults_and_a_warning(tmp_path: Path) -> None:
    assert load_report_rules(tmp_path) == ReportRules()
    (warning,) = check_report_rules(tmp_path)
    assert warning.severity == "warning" and "defaults" in warning.message


@pytest.mark.parametrize(
    ("old", "new", "line", "says"),
    [
        ("{amount: 1, unit: working_days}", "{amount: 0, unit: days}", 8, "acceptance_limit"),
        ("  satisfaction: 0.90", "  satisfaction: high", 13, "targets.satisfaction"),
        ("    callback: 10", "    callback: 10\n    speed: 5", 30, "unknown key 'speed'"),
        ("    late: 0.5", "    late: -1", 32, "penalties_per_thousand.late"),
        ("min_dispatched_to_rank: 1", "min_dispatched_to_rank: few", 36, "min_dispatched"),
    ],
)
def test_each_mistake_is_named_with_its_line(
    tmp_path: Path, old: str, new: str, line: int, says: str
) -> None:
    text = (CONFIG_DIR / "report.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "report.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    (problem,) = check_report_rules(tmp_path)
    assert (problem.file, problem.line, problem.severity) == ("report.yaml", line, "error")
    assert says in problem.message and problem.fix
    with pytest.raises(ConfigError, match=f"report.yaml:{line}: error"):
        load_report_rules(tmp_path)
