"""``hotline report --month --out``: the seeded month's three files from a real store, and a
clear ``error:`` (exit 2) for a bad month, a database that cannot be reached and a folder
that cannot be written."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from tests.metrics.month import seed
from tests.metrics.report_font import font_or_skip
from tickets.db import make_engine, session_factory, upgrade

AS_OF = ["--as-of", "2026-12-01T00:00+08:00"]


async def _seeded(url: str) -> None:
    await upgrade(url)
    engine = make_engine(url)
    try:
        await seed(session_factory(engine))
    finally:
        await engine.dispose()


def test_the_month_comes_out_as_html_pdf_and_csv(tmp_path: Path, monkeypatch) -> None:
    font_or_skip()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    asyncio.run(_seeded(url))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", url)
    out = tmp_path / "reports" / "november"
    got = CliRunner().invoke(app, ["report", "--month", "2026-11", "--out", str(out), *AS_OF])
    assert got.exit_code == 0, got.output
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"monthly-report-2026-11.{x}" for x in ("csv", "html", "pdf")]
    assert got.output.split() == [str(out / n) for n in (names[1], names[2], names[0])]
    text = (out / names[0]).read_text(encoding="utf-8")
    rows = {r["department"]: r for r in csv.DictReader(io.StringIO(text))}
    water = rows["water"]
    assert (water["name"], water["rank"], water["dispatched"], water["on_time"]) == (
        "杭州市林业水利局",
        "2",
        "6",
        "3",
    )
    assert float(water["completion_on_time"]) == pytest.approx(0.6)
    assert (rows["centre"]["offered"], rows["centre"]["answered"]) == ("10", "8")
    html = (out / names[1]).read_text(encoding="utf-8")
    # both plots inline, nothing fetched from elsewhere: the page is one file
    assert html.count('src="data:image/png;base64,') == html.count("src=") == 2
    assert "杭州市城市管理局" in html
    assert (out / names[2]).read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "november", "1999-12"])
def test_a_bad_month_is_named(tmp_path: Path, month: str) -> None:
    got = CliRunner().invoke(app, ["report", "--month", month, "--out", str(tmp_path)])
    assert got.exit_code == 2
    assert f"error: --month: {month!r} is not a month (YYYY-MM" in got.output
    assert list(tmp_path.iterdir()) == []


def test_a_database_that_cannot_be_reached_is_said(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    got = CliRunner().invoke(app, ["report", "--month", "2026-11", "--out", str(tmp_path)])
    assert got.exit_code == 2
    assert "error: the database at HOTLINE_DATABASE_URL cannot be used" in got.output


def test_a_folder_that_cannot_be_written_is_said(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    got = CliRunner().invoke(
        app, ["report", "--month", "2026-11", "--out", str(blocker / "reports")]
    )
    assert got.exit_code == 2
    assert f"error: --out {blocker / 'reports'}: cannot write there" in got.output
