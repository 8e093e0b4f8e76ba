"""The import graph: no cycle, and no import from a lower layer to a higher one.

The contracts are in pyproject.toml (``[tool.importlinter]``; the layers are explained in the
README, "Layers"). import-linter builds the graph with grimp from every ``import`` in the
source, including those inside functions and under ``TYPE_CHECKING``: a lazy import still
ties one package to another. The same check from a shell: ``.venv/bin/lint-imports``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

    monkeypatch.chdir(ROOT)  # lint_imports puts the working folder on sys.path: bench, tests
    status = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    report = capsys.readouterr().out
    assert status == EXIT_STATUS_SUCCESS, report
    assert "0 broken" in report
