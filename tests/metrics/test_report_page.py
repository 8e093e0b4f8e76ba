"""The monthly report's PDF looked at as a person would: its first page rendered to PNG
(pypdfium2) is not blank, the efficiency index's plot has bars, longest for the best
department, and the departments' Chinese names are in the page's text and drawn as glyphs,
not empty boxes (tofu): each checked character's ink is compared with the same character
drawn from the font, and a page rendered with no Chinese font fails that comparison."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pypdfium2
import pytest
from PIL import Image, ImageDraw, ImageFont

from config.catalogue import load_catalogue
from config.report import ReportRules
from config.settings import CONFIG_DIR
from metrics.kpi import CentreCalls, Dispatch, MonthlyReport, monthly_report
from metrics.report_render import BAR_COLOUR, render_all
from tests.metrics.report_font import font_or_skip
from tickets.deadlines import Limit

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, tzinfo=UTC)
DEPARTMENTS = ("urban", "water", "housing", "police.traffic")
SCALE = 2.0  # 144 dpi
#: The least likeness of a drawn character to the font's own glyph (measured: 0.52 to 0.82 with
#: WenQuanYi Micro Hei; boxes and blanks without a Chinese font: 0.02 to 0.19).
GLYPH_LIKE = 0.35


def _report() -> MonthlyReport:
    """Four departments, each of its own quality: urban replies on time, water half late,
    housing misses a third of its acceptances, police.traffic is late on most."""
    facts: list[Dispatch] = []
    late = {"urban": 0, "water": 5, "housing": 3, "police.traffic": 8}
    for dept in DEPARTMENTS:
        for i in range(10):
            missed = dept == "housing" and i < 3
            facts.append(
                Dispatch(
                    ticket_id=i,
                    department=dept,
                    dispatched_at=T0,
                    limit=Limit(5),
                    answered_at=None if missed else T0 + timedelta(hours=1),
                    replied_at=None
                    if missed
                    else T0 + timedelta(days=2 if i >= late[dept] else 12),
                    called_back_at=None if missed else T0 + timedelta(days=13),
                    rating=None if missed else ("satisfied" if i % 4 else "dissatisfied"),
                )
            )
    names = {c: d.name for c, d in load_catalogue(CONFIG_DIR).departments.items()}
    rules = ReportRules(penalties={"late": 0.01, "missed": 0.01, "erroneous": 0.01})
    calls = CentreCalls(offered=1000, answered=930, resolved_on_call=540)
    return monthly_report("2026-11", facts, calls, rules, AS_OF, names)


def _page(pdf: bytes, out: Path) -> tuple[np.ndarray, pypdfium2.PdfPage, str]:
    doc = pypdfium2.PdfDocument(pdf)
    page = doc[0]
    image = page.render(scale=SCALE).to_pil().convert("RGB")
    image.save(out)
    text = page.get_textpage().get_text_range()
    return np.asarray(image), page, text


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


def _ink(glyph: Image.Image, size: int = 32) -> np.ndarray:
    """The glyph's ink (dark pixels) on a ``size`` square, cropped to its bounding box."""
    g = np.asarray(glyph.convert("L")) < 128
    ys, xs = np.nonzero(g)
    if len(xs) == 0:
        return np.zeros((size, size), bool)
    box = Image.fromarray(g[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    return np.asarray(box.resize((size, size))) > 0


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two inks."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def _glyph_scores(
    pixels: np.ndarray, page: pypdfium2.PdfPage, chars: str, font: Path
) -> list[float]:
    """For each of ``chars`` (first occurrence in the page's text): how much its drawn ink
    looks like the font's own glyph (1.0 the same)."""
    textpage = page.get_textpage()
    full = textpage.get_text_range()
    height = page.get_height()
    reference = ImageFont.truetype(str(font), 64)
    scores = []
    for ch in chars:
        i = full.index(ch)
        left, bottom, right, top = textpage.get_charbox(i)
        x0, x1 = int(left * SCALE) - 2, int(right * SCALE) + 2
        y0, y1 = int((height - top) * SCALE) - 2, int((height - bottom) * SCALE) + 2
        drawn = Image.fromarray(pixels[y0:y1, x0:x1])
        own = Image.new("L", (96, 96), 255)
        ImageDraw.Draw(own).text((8, 8), ch, font=reference, fill=0)
        scores.append(_similarity(_ink(drawn), _ink(own)))
    return scores


def test_the_pdf_page_shows_plots_with_data_and_chinese_text(tmp_path: Path) -> None:
    font = font_or_skip()
    report = _report()
    html, pdf = render_all(report)
    assert html.count('src="data:image/png;base64,') == 2  # both plots inline: one file
    pixels, page, text = _page(pdf, tmp_path / "page1.png")

    # it renders: a fair share of the page is not white
    inked = (pixels < 240).any(axis=2).mean()
    assert inked > 0.03, f"the page is almost blank ({inked:.1%} inked)"

    # the efficiency index's plot has bars, in its colour, longest for the best department
    bar = np.abs(pixels.astype(int) - _rgb(BAR_COLOUR)).sum(axis=2) < 30
    assert bar.sum() > 5000, f"only {bar.sum()} pixels of the bars' colour"
    rows = [r for r in range(bar.shape[0]) if bar[r].sum() > 10]
    lengths = [int(bar[r].sum()) for r in rows]
    runs: list[int] = []  # one length per bar: rows of colour separated by a gap
    prev = -2
    for r, n in zip(rows, lengths, strict=True):
        if not runs or r - prev > 1:
            runs.append(n)
        runs[-1] = max(runs[-1], n)
        prev = r
    assert len(runs) == len(DEPARTMENTS), runs
    best = report.departments[0]
    assert best.department == "urban"
    assert runs[0] == max(runs)  # the best department's bar is drawn first (top), longest
    assert min(runs) > 0.2 * max(runs)  # the worst has data too

    # the Chinese names are in the page's text...
    for dept in DEPARTMENTS:
        assert report.name(dept) in text.replace("\r\n", "").replace("\n", ""), dept
    # ... and drawn as the font's glyphs, not boxes
    scores = _glyph_scores(pixels, page, "杭州城管理局交警", font)
    assert min(scores) > GLYPH_LIKE, scores


def test_the_glyph_check_fails_on_a_page_drawn_without_a_chinese_font(tmp_path: Path) -> None:
    """The check above, on the same HTML rendered where fontconfig knows no Chinese font:
    the characters come out as boxes (or nothing), and their scores fall."""
    font = font_or_skip()
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("no DejaVu fonts to render the page without a Chinese font")
    html, _ = render_all(_report())
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    (tmp_path / "fonts.conf").write_text(
        f'<?xml version="1.0"?><fontconfig><dir>{dejavu}</dir>'
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>"
    )
    env = dict(os.environ, FONTCONFIG_FILE=str(tmp_path / "fonts.conf"))
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from weasyprint import HTML; "
            "HTML(filename=sys.argv[1]).write_pdf(sys.argv[2])",
            str(tmp_path / "page.html"),
            str(tmp_path / "tofu.pdf"),
        ],
        env=env,
        check=True,
        timeout=120,
    )
    pixels, page, _ = _page((tmp_path / "tofu.pdf").read_bytes(), tmp_path / "tofu.png")
    scores = _glyph_scores(pixels, page, "杭州城管理局交警", font)
    assert max(scores) < GLYPH_LIKE, scores
