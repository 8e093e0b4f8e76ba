"""The monthly report (:class:`metrics.kpi.MonthlyReport`) as JSON, CSV, HTML with plots, and
PDF: the files ``hotline report`` writes and ``GET /api/v1/reports/monthly`` serves.

* Plots: matplotlib (its ``Figure`` without pyplot, so no global state or GUI backend), as
  PNG at 150 dpi inlined in the HTML as ``data:`` URIs: the page is one self-contained file.
  (Inline SVG was tried first: weasyprint took three times as long over its many paths, 4 s
  of the 5 a 40-department report took to render.)
* HTML: Jinja2, escaped; PDF: weasyprint from that HTML (fonts through fontconfig).
* Chinese text needs a font with its glyphs: :func:`cjk_font` finds one through fontconfig
  (``scripts/install-cjk-font.sh`` installs Debian's fonts-wqy-microhei) or at
  ``HOTLINE_REPORT_FONT``, and says how to get one when there is none, rather than drawing
  empty boxes.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment

from config.traffic import HOTLINE_TZ
from metrics.kpi import DepartmentKpi, MonthlyReport

__all__ = [
    "BAR_COLOUR",
    "FIGURES",
    "FontMissing",
    "as_json",
    "cjk_font",
    "plots",
    "render_all",
    "render_html",
    "to_csv",
    "to_html",
    "to_pdf",
    "write_files",
]

#: The colour of the efficiency index's bars (a test looks for it in the rendered page).
BAR_COLOUR = "#1f5fa8"
_RATE_COLOURS = ("#2a9d8f", "#e9c46a", "#e76f51")
FONT_ENV = "HOTLINE_REPORT_FONT"
_KNOWN_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


class FontMissing(RuntimeError):
    """No font with Chinese glyphs: the report would show empty boxes."""


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    """A font file with Chinese glyphs: ``HOTLINE_REPORT_FONT``, else fontconfig's first
    for ``:lang=zh``, else a known Debian path. Raises :class:`FontMissing`."""
    named = os.environ.get(FONT_ENV)
    if named:
        if not Path(named).is_file():
            raise FontMissing(f"{FONT_ENV}={named}: no such font file")
        return Path(named)
    if shutil.which("fc-list"):
        found = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout.split()
        files = sorted(
            f.rstrip(":") for f in found if f.rstrip(":").endswith((".ttc", ".ttf", ".otf"))
        )
        if files:
            return Path(files[0])
    for known in _KNOWN_FONTS:
        if Path(known).is_file():
            return Path(known)
    raise FontMissing(
        "no font with Chinese glyphs: run scripts/install-cjk-font.sh (Debian's "
        f"fonts-wqy-microhei), or set {FONT_ENV} to a .ttf/.ttc/.otf file"
    )


@lru_cache(maxsize=4)
def _font_family(path: Path) -> str:
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _per_mille(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}‰"


def _num(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


@dataclass(frozen=True, slots=True)
class Figure:
    """One column of the table: its key, Chinese and English heads, how it is shown, and
    the target it is held to (a key of ``config/report.yaml``'s targets), if any."""

    key: str
    zh: str
    en: str
    show: Callable[[Any], str]
    target: str | None = None
    #: The target is a ceiling (per-thousand figures) rather than a floor.
    ceiling: bool = False


#: The department table's figures, in order (metrics.kpi defines each).
FIGURES = (
    Figure("dispatched", "交办件", "dispatched", str),
    Figure("timely_acceptance", "及时受理率", "timely acceptance", _pct, "timely_acceptance"),
    Figure("completion_on_time", "按期办结率", "completion on time", _pct, "completion_on_time"),
    Figure("satisfaction", "综合满意率", "satisfaction", _pct, "satisfaction"),
    Figure("callback", "回访核实率", "callback rate", _pct, "callback"),
    Figure("late_per_thousand", "超期件", "late ‰", _per_mille, "late_per_thousand", True),
    Figure("missed_per_thousand", "未受理件", "missed ‰", _per_mille, "missed_per_thousand", True),
    Figure(
        "erroneous_per_thousand",
        "差错件",
        "erroneous ‰",
        _per_mille,
        "erroneous_per_thousand",
        True,
    ),
    Figure("index", "效能指数", "efficiency index", _num),
)
_COUNTS = (
    "dispatched",
    "accepted_timely",
    "accepted_late",
    "missed",
    "pending_acceptance",
    "returned",
    "on_time",
    "late",
    "pending_completion",
    "replied",
    "called_back",
    "rated",
    "satisfied",
)


def _misses(report: MonthlyReport, f: Figure, value: float | None) -> bool:
    target = report.rules.targets.get(f.target) if f.target else None
    if value is None or target is None:
        return False
    return value > target if f.ceiling else value < target - 1e-12


def _row(report: MonthlyReport, k: DepartmentKpi) -> dict[str, Any]:
    out: dict[str, Any] = {"department": k.department, "name": report.name(k.department)}
    out["rank"] = k.rank
    out |= {c: getattr(k, c) for c in _COUNTS}
    for f in FIGURES:
        v = getattr(k, f.key)
        out[f.key] = round(v, 6) if isinstance(v, float) else v
    return out


def as_json(report: MonthlyReport) -> dict[str, Any]:
    """The report as one JSON object: the centre, the departments (ranked first), the rules."""
    calls = report.centre_calls
    centre = _row(report, report.centre) | {
        "department": None,
        "name": "全市",
        "offered": calls.offered,
        "answered": calls.answered,
        "resolved_on_call": calls.resolved_on_call,
        "answer_rate": None if calls.answer_rate is None else round(calls.answer_rate, 6),
        "instant_resolution": None
        if calls.instant_resolution is None
        else round(calls.instant_resolution, 6),
    }
    rules = report.rules
    return {
        "month": report.month,
        "as_of": report.as_of.isoformat(),
        "centre": centre,
        "departments": [_row(report, k) for k in report.departments],
        "rules": {
            "acceptance_limit": {
                "amount": rules.acceptance_limit[0],
                "unit": rules.acceptance_limit[1],
            },
            "targets": rules.targets,
            "weights": rules.weights,
            "penalties_per_thousand": rules.penalties,
            "min_dispatched_to_rank": rules.min_dispatched_to_rank,
        },
    }


def to_csv(report: MonthlyReport) -> str:
    """One line per department (ranked first), then the centre's (department ``centre``)."""
    data = as_json(report)
    columns = ["rank", "department", "name", *_COUNTS, *(f.key for f in FIGURES[1:])]
    centre_cols = ["offered", "answered", "resolved_on_call", "answer_rate", "instant_resolution"]
    buf = io.StringIO()
    w = csv.DictWriter(buf, [*columns, *centre_cols], extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for row in data["departments"]:
        w.writerow(row)
    w.writerow(data["centre"] | {"department": "centre"})
    return buf.getvalue()


def plots(report: MonthlyReport, font: Path | None = None) -> dict[str, str]:
    """The plots as ``<img>`` elements with their PNG inline: ``index`` (efficiency index by
    department, ranked) and ``rates`` (timely acceptance, completion on time, satisfaction)."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure as MplFigure

    family = _font_family(font or cjk_font())
    rows = [k for k in report.departments if k.index is not None] or report.departments
    names = [report.name(k.department) for k in rows][::-1]
    height = 1.2 + 0.32 * max(len(rows), 1)
    out: dict[str, str] = {}
    with rc_context({"font.family": [family], "font.size": 9}):
        fig = MplFigure(figsize=(7.5, height))
        ax = fig.add_subplot()
        values = [k.index or 0.0 for k in rows][::-1]
        bars = ax.barh(names, values, color=BAR_COLOUR)
        ax.bar_label(bars, fmt="%.1f", padding=2)
        ax.set_xlim(0, 105)
        ax.set_title(f"效能指数 {report.month}")
        ax.set_xlabel("效能指数 (0-100)")
        fig.tight_layout()
        out["index"] = _img(fig, f"效能指数 {report.month}")

        fig = MplFigure(figsize=(7.5, height + 0.4))
        ax = fig.add_subplot()
        width = 0.27
        ys = range(len(rows))
        for i, (key, label) in enumerate(
            (
                ("timely_acceptance", "及时受理率"),
                ("completion_on_time", "按期办结率"),
                ("satisfaction", "综合满意率"),
            )
        ):
            vals = [100 * (getattr(k, key) or 0.0) for k in rows][::-1]
            ax.barh(
                [y + (1 - i) * width for y in ys],
                vals,
                height=width,
                color=_RATE_COLOURS[i],
                label=label,
            )
        ax.set_yticks(list(ys), names)
        ax.set_xlim(0, 100)
        ax.set_xlabel("%")
        ax.set_title(f"办理质量 {report.month}")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3, fontsize=8)
        fig.tight_layout()
        out["rates"] = _img(fig, f"办理质量 {report.month}")
    return out


def _img(fig: Any, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{data}">'


_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>12345热线月度考核报告 {{ month }}</title>
<style>
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "{{ family }}", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif;
       font-size: 10pt; color: #222; }
h1 { font-size: 16pt; margin: 0 0 4pt; } h2 { font-size: 12pt; margin: 12pt 0 4pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: 2pt 4pt; text-align: right; }
th { background: #eef2f7; } td.name, th.name { text-align: left; }
td.miss { color: #b00020; font-weight: bold; }
.plots img { width: 48%; height: auto; vertical-align: top; }
.note { color: #555; font-size: 8.5pt; }
dl.defs dt { font-weight: bold; margin-top: 3pt; } dl.defs dd { margin: 0 0 0 12pt; }
</style></head><body>
<h1>12345热线月度考核报告 · {{ month }}</h1>
<p class="note">Monthly KPI report, computed from the ticket trail and the queue_log
as of {{ as_of }}. 红色: 未达标 (misses its target).</p>
<h2>热线中心 Centre</h2>
<table><tr>
<th>来电 offered</th><th>接通 answered</th><th>来电接通率 answer rate</th>
<th>即时答复率 instant resolution</th>
{% for f in figures %}<th>{{ f.zh }}</th>{% endfor %}</tr>
<tr><td>{{ c.offered }}</td><td>{{ c.answered }}</td>
<td class="{{ c.answer_cls }}">{{ c.answer_rate }}</td><td>{{ c.instant }}</td>
{% for cell in c.cells %}<td class="{{ cell.cls }}">{{ cell.text }}</td>{% endfor %}</tr></table>
<div class="plots">{{ plot_index | safe }} {{ plot_rates | safe }}</div>
<h2>部门排名 Departments</h2>
<table><tr><th>排名 rank</th><th class="name">部门 department</th>
{% for f in figures %}<th>{{ f.zh }}<br><span class="note">{{ f.en }}</span></th>{% endfor %}</tr>
{% for r in rows %}<tr><td>{{ r.rank }}</td><td class="name">{{ r.name }}</td>
{% for cell in r.cells %}<td class="{{ cell.cls }}">{{ cell.text }}</td>{% endfor %}</tr>
{% endfor %}</table>
<h2>定义 Definitions</h2>
<dl class="defs">
<dt>交办件 dispatched</dt><dd>Dispatches to the department in the month (a ticket sent twice
counts twice), each followed to {{ as_of }}.</dd>
<dt>及时受理率 timely acceptance</dt><dd>Dispatches first answered (accepted, or returned)
within {{ limit }}, of those answered or past that limit.</dd>
<dt>按期办结率 completion on time</dt><dd>Replied by the due time (working days from the
dispatch, extensions granted added, the clock stopped while an extension was asked), of those
replied or past due; returned dispatches are not judged.</dd>
<dt>综合满意率 satisfaction</dt><dd>Satisfied and basically satisfied callbacks, of those
rated.</dd>
<dt>回访核实率 callback rate</dt><dd>Replies called back, of the replies.</dd>
<dt>超期件 / 未受理件 / 差错件 (‰)</dt><dd>Late completions per 1,000 judged; dispatches never
answered past the acceptance limit per 1,000 judged; dispatches returned as the wrong
department per 1,000 dispatches.</dd>
<dt>来电接通率 / 即时答复率</dt><dd>Calls answered / offered (queue_log); tickets resolved on
the call / calls answered.</dd>
<dt>效能指数 efficiency index</dt><dd>100 × Σ wᵢ·rateᵢ / Σ wᵢ over the rates a department has
(weights {{ weights }}), minus Σ pⱼ·‰ⱼ (points per 1‰: {{ penalties }}), at least 0. Ranked
best first; equal indexes share a rank.</dd>
</dl></body></html>
"""


def _cells(report: MonthlyReport, k: DepartmentKpi) -> list[dict[str, str]]:
    return [
        {
            "text": f.show(getattr(k, f.key)),
            "cls": "miss" if _misses(report, f, getattr(k, f.key)) else "",
        }
        for f in FIGURES
    ]


def to_html(report: MonthlyReport, images: dict[str, str], family: str = "") -> str:
    """The page: the centre, the plots (inline PNG), the ranked table, the definitions."""
    env = Environment(autoescape=True)
    calls = report.centre_calls
    answer_target = report.rules.targets.get("answer_rate")
    rules = report.rules
    return env.from_string(_TEMPLATE).render(
        month=report.month,
        as_of=report.as_of.astimezone(HOTLINE_TZ).isoformat(timespec="minutes"),
        family=family,
        figures=FIGURES,
        plot_index=images.get("index", ""),
        plot_rates=images.get("rates", ""),
        limit=f"{rules.acceptance_limit[0]} {rules.acceptance_limit[1]}".replace("_", " "),
        weights=", ".join(f"{k} {v:g}" for k, v in rules.weights.items()),
        penalties=", ".join(f"{k} {v:g}" for k, v in rules.penalties.items()),
        c={
            "offered": calls.offered,
            "answered": calls.answered,
            "answer_rate": _pct(calls.answer_rate),
            "answer_cls": "miss"
            if calls.answer_rate is not None
            and answer_target is not None
            and calls.answer_rate < answer_target
            else "",
            "instant": _pct(calls.instant_resolution),
            "cells": _cells(report, report.centre),
        },
        rows=[
            {"rank": k.rank or "—", "name": report.name(k.department), "cells": _cells(report, k)}
            for k in report.departments
        ],
    )


def to_pdf(html: str) -> bytes:
    """The page as PDF (A4 landscape)."""
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())


def render_html(report: MonthlyReport) -> str:
    """The HTML page with its plots; raises :class:`FontMissing` without a Chinese font."""
    font = cjk_font()
    return to_html(report, plots(report, font), _font_family(font))


def render_all(report: MonthlyReport) -> tuple[str, bytes]:
    """(HTML, PDF) of the report; raises :class:`FontMissing` without a Chinese font."""
    html = render_html(report)
    return html, to_pdf(html)


def write_files(report: MonthlyReport, out: Path) -> list[Path]:
    """Write ``monthly-report-YYYY-MM.{html,pdf,csv}`` into ``out``; the paths written."""
    html, pdf = render_all(report)
    stem = out / f"monthly-report-{report.month}"
    paths = [stem.with_suffix(".html"), stem.with_suffix(".pdf"), stem.with_suffix(".csv")]
    paths[0].write_text(html, encoding="utf-8")
    paths[1].write_bytes(pdf)
    paths[2].write_text(to_csv(report), encoding="utf-8")
    return paths
