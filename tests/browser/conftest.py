"""The ``browser`` tests: pages of the service in a real headless Chromium (Debian's
``chromium`` and ``chromium-driver``; ``scripts/install-chromium.sh`` installs them), driven by
selenium through ``/usr/bin/chromedriver`` given explicitly, so Selenium Manager never looks
for a driver on the internet.

Without Chromium they are skipped, and the end of the run says so in red. With
``HOTLINE_REQUIRE_BROWSER=1`` (``.ci/run``) a missing browser fails them instead, and a run in
which none of them passed fails.

Fixture ``browser``: a fresh headless Chromium (``--headless=new``, ``--disable-dev-shm-usage``;
``--no-sandbox`` when running as root, where Chromium's sandbox refuses to start; no host
name but 127.0.0.1 resolves, as on an intranet; the console kept, Content-Security-Policy
refusals included), quit afterwards whatever happens.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

REQUIRE_ENV = "HOTLINE_REQUIRE_BROWSER"
CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
try:
    import selenium  # noqa: F401

    _SELENIUM = True
except ImportError:  # pragma: no cover - the test extras have it
    _SELENIUM = False

_outcomes = {"passed": 0, "skipped": 0, "failed": 0}


def _missing() -> str | None:
    gone = [
        name
        for name, found in (
            ("chromium", CHROMIUM),
            ("chromedriver", DRIVER),
            ("selenium", _SELENIUM),
        )
        if not found
    ]
    if not gone:
        return None
    return f"no {', '.join(gone)}: run scripts/install-chromium.sh (or make browser)"


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    why = _missing()
    if why is not None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {why}", pytrace=False)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager, were it asked: no downloads
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--disable-dev-shm-usage",
        "--window-size=1280,1024",
        # as on an intranet: no name but the service's resolves
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP refusals too
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def pytest_runtest_logreport(report: Any) -> None:
    if "browser" in report.keywords and (report.when == "call" or report.skipped):
        if report.passed and report.when == "call":
            _outcomes["passed"] += 1
        elif report.skipped:
            _outcomes["skipped"] += 1
        elif report.failed:
            _outcomes["failed"] += 1


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    why = _missing()
    if why is not None and _outcomes["skipped"]:
        terminalreporter.write_line(
            f"*** {_outcomes['skipped']} browser tests SKIPPED: {why}. ***", red=True, bold=True
        )


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    ran_any = any(_outcomes.values())
    if os.environ.get(REQUIRE_ENV) and ran_any and _outcomes["passed"] == 0 and exitstatus == 0:
        session.exitstatus = 1
