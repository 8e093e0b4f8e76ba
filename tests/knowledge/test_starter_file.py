"""The starter set ``config/knowledge.yaml``: the shipped file is right, and a wrong one is
told by file, line and fix (``hotline config check`` and at start)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config.knowledge import FILE_NAME, check_starter, load_starter
from config.settings import CONFIG_DIR
from config.yamlfile import ConfigError
from hotline.cli import app


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    for pattern in ("*.yaml", "*.csv"):  # every data file `hotline config check` reads
        for path in CONFIG_DIR.glob(pattern):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    lines = [i for i, t in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in t]
    return lines[nth - 1]


def test_the_shipped_starter_set_is_right_and_large_enough() -> None:
    assert check_starter(CONFIG_DIR) == []
    articles = load_starter(CONFIG_DIR)
    assert len(articles) >= 60
    assert len({a.key for a in articles}) == len(articles)
    assert len({a.title for a in articles}) == len(articles)
    assert len({a.department for a in articles}) >= 15
    assert any(a.valid_to is not None for a in articles)  # a seasonal one


def test_no_invented_phone_numbers_in_the_starter_set() -> None:
    import re

    text = (CONFIG_DIR / FILE_NAME).read_text("utf-8")
    numbers = set(re.findall(r"(?<![\d.])\d{3,}(?![\d.])", text))
    years = {n for n in numbers if n.startswith("20") and len(n) == 4}
    # 12345 itself, the national emergency numbers, and the public traffic app's name.
    assert numbers - years <= {"12345", "110", "119", "120", "122", "12123"}, numbers


def test_problems_name_the_file_the_line_and_the_fix(cfg: Path) -> None:
    f = cfg / FILE_NAME
    _edit(f, "  - key: passport\n", "  - key: id-card\n")
    _edit(f, "    valid_to: 2026-10-16T00:00:00+08:00", "    valid_to: 2026-04-01T00:00:00+08:00")
    _edit(f, "    department: 税务局\n", "    departmnt: 税务局\n")
    problems = check_starter(cfg)
    by_message = {p.message: p for p in problems}
    assert all(p.file == str(f) and p.severity == "error" for p in problems)
    dup = next(p for m, p in by_message.items() if "'id-card' is used twice" in m)
    assert dup.line == _line_of(f, "- key: id-card", 2)
    window = next(p for m, p in by_message.items() if "(flood-season).valid_to" in m)
    assert (
        window.line == _line_of(f, "valid_to: 2026-04-01") and "after valid_from" in window.message
    )
    typo = next(p for m, p in by_message.items() if "departmnt" in m)
    assert typo.line == _line_of(f, "departmnt:") and "departmnt" in typo.fix
    assert any("department: Field required" in m for m in by_message)
    with pytest.raises(ConfigError):
        load_starter(cfg)


def test_cli_config_check_covers_the_knowledge_file(cfg: Path, monkeypatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(cfg))
    ok = runner.invoke(app, ["config", "check"])
    assert ok.exit_code == 0, ok.output
    assert f"{len(load_starter(CONFIG_DIR))} knowledge articles" in ok.output
    _edit(cfg / FILE_NAME, "title: 居住证办理", "title: ''")
    bad = runner.invoke(app, ["config", "check"])
    assert bad.exit_code == 1
    assert f"{FILE_NAME}:" in bad.output and "(residence-permit).title" in bad.output


def test_a_missing_file_is_a_warning(cfg: Path) -> None:
    (cfg / FILE_NAME).unlink()
    (p,) = check_starter(cfg)
    assert p.severity == "warning" and "no starter set" in p.message
