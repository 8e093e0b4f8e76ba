"""The shipped Prometheus rules (metrics/prometheus/rules.yml): valid (`promtool check rules`),
each alert firing when it should and not before (`promtool test rules`, rules_test.yml), and
every series they read is one the backend exports."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from config.settings import Settings
from hotline.runtime import Runtime
from metrics.burst_series import BurstSeries
from metrics.ticket_series import TicketSeries
from tests.hotline.test_app import promtool
from tickets.bursts import Rule, Tracker

RULES = Path(__file__).resolve().parents[2] / "metrics" / "prometheus"


def _promtool() -> str:
    tool = promtool()
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("promtool missing in CI: scripts/install-promtool.sh should provide it")
        pytest.skip("promtool not installed (scripts/install-promtool.sh installs it)")
    return tool


@pytest.mark.parametrize(
    "command",
    [
        ["check", "rules", "rules.yml"],
        ["test", "rules", "rules_test.yml"],
        ["check", "config", "prometheus.yml"],  # the shipped configuration, its rules included
        ["check", "config", "platform.yml"],  # the "1 + 7" platform's, with platform_rules.yml
        ["test", "rules", "platform_rules_test.yml"],
    ],
)
def test_promtool_accepts_the_rules_and_their_unit_tests(command: list[str]) -> None:
    done = subprocess.run(
        [_promtool(), *command], cwd=RULES, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def exported_series() -> set[str]:
    """The names of every series a backend's /metrics has (its ticket series included)."""
    runtime = Runtime(Settings(_env_file=None))
    runtime.registry.register(
        TicketSeries(SimpleNamespace(by_state={}, latest=[], sent=0, failed_attempts=0))
    )
    runtime.registry.register(
        BurstSeries(
            SimpleNamespace(
                tracker=Tracker(Rule()), poster=SimpleNamespace(sent=0, failed_attempts=0)
            )
        )
    )
    exported = set()
    for family in runtime.registry.collect():
        exported.add(family.name)
        exported.update(s.name for s in family.samples)
        if family.type == "counter":
            exported.add(family.name + "_total")
    return exported


def test_every_series_the_rules_read_is_exported() -> None:
    exported = exported_series()
    text = (RULES / "rules.yml").read_text("utf-8")
    read = {m for m in re.findall(r"\bhotline_[a-z_]+\b", text)}
    recorded = set(re.findall(r"record:\s*(\S+)", text))
    assert read, "the rules read no hotline_ series"
    assert read - recorded <= exported, read - recorded - exported
