"""The supervisors' wallboard: a Grafana dashboard of the live series of ``/metrics``, as code.

Built with the Grafana foundation SDK (typed builders of Grafana's own dashboard schema, so
a misspelt option fails here rather than silently in Grafana). ``python -m
metrics.grafana.wallboard`` (``make wallboard``) writes :data:`JSON_PATH`, which is committed
and provisioned into Grafana by ``metrics/grafana/provisioning/``; a test checks that the
committed file is what this module builds, and another runs every panel's query against a
real Prometheus scraping ``hotline serve``.

Every query reads the Prometheus data source of uid :data:`DATASOURCE_UID` (the provisioned one) and
filters on the dashboard's variables: ``$centre`` (the centres of the platform whose backends
Prometheus scrapes, every series carrying its ``centre`` label; all by default), ``$queue`` (the
queues of those centres, all by default) and ``$window`` (the span of the windowed figures: service
level, abandons, IVR exits, occupancy). Each panel's description is the figure's definition.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from grafana_foundation_sdk.builders import (
    bargauge,
    common,
    dashboard,
    prometheus,
    stat,
    timeseries,
)
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
    VizOrientation,
)

__all__ = ["DASHBOARD_UID", "DATASOURCE_UID", "JSON_PATH", "build", "encode", "main"]

#: The provisioned Prometheus data source (provisioning/datasources/hotline-prometheus.yml).
DATASOURCE_UID = "hotline-prometheus"
DASHBOARD_UID = "hotline-wallboard"
JSON_PATH = Path(__file__).resolve().parent / "dashboards" / "hotline-wallboard.json"

DATASOURCE = model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
#: The centres of the dashboard's ``centre`` variable (a regex: all selected by default).
C = 'centre=~"$centre"'
#: The queues of the dashboard's ``queue`` variable, of those centres.
Q = f'{C},queue=~"$queue"'
#: The city's answer-rate target (as in metrics/prometheus/rules.yml's alert).
ANSWER_RATE_TARGET = 0.95
#: The service-level target shown green from (app_queue's usual 80% within the threshold).
SERVICE_LEVEL_TARGET = 0.8
#: A caller waiting this long fires HotlineCallerWaitingLong (rules.yml).
LONG_WAIT_S = 120


def _in_window(series: str, by: str = "queue") -> str:
    return f"sum by ({by}) (increase({series}[$window]))"


# Service level over the window, as app_queue defines SL and SL2 (its servicelevelperf and
# servicelevelperf2): completed calls answered within the threshold / completed calls, and
# (those + abandoned within it) / (completed + abandoned). app_queue counts an answered call
# when it ends: hence completed, not answered (README, "Definitions").
_ANSWERED_IN_SL = _in_window(f"hotline_calls_answered_in_service_level_total{{{Q}}}")
_ABANDONED_IN_SL = _in_window(f"hotline_calls_abandoned_in_service_level_total{{{Q}}}")
_COMPLETED = _in_window(f"hotline_calls_completed_total{{{Q}}}")
_ABANDONED = _in_window(f"hotline_calls_abandoned_total{{{Q}}}")
SL_WINDOW = f"{_ANSWERED_IN_SL} / {_COMPLETED}"
SL2_WINDOW = f"({_ANSWERED_IN_SL} + {_ABANDONED_IN_SL}) / ({_COMPLETED} + {_ABANDONED})"
#: How callers left the IVR: its sessions by exit, the post-call survey's sessions left out
#: (they are no caller's way into the hotline).
IVR_EXITS = (
    f'sum by (exit) (increase(hotline_ivr_sessions_total{{{C},exit!~"survey|survey_none"}}'
    "[$window]))"
)
# Occupancy: of the time seats were ready or busy with a call (ringing, talking, wrapping
# up), the busy share; paused and unavailable time is not in it.
_BUSY = f'{C},state=~"ringing|on_call|wrapup"'
_STAFFED = f'{C},state=~"ready|ringing|on_call|wrapup"'
OCCUPANCY = (
    f"sum(increase(hotline_seat_state_seconds_total{{{_BUSY}}}[$window]))"
    f" / sum(increase(hotline_seat_state_seconds_total{{{_STAFFED}}}[$window]))"
)
TIME_IN_STATE = (
    f"sum by (state) (increase(hotline_seat_state_seconds_total{{{C}}}[$window]))"
    f" / scalar(sum(increase(hotline_seat_state_seconds_total{{{C}}}[$window])))"
)


def _query(ref: str, expr: str, legend: str, *, instant: bool) -> prometheus.Dataquery:
    q = prometheus.Dataquery().ref_id(ref).expr(expr).legend_format(legend).datasource(DATASOURCE)
    return q.instant() if instant else q.range()


Panel = TypeVar("Panel", stat.Panel, bargauge.Panel, timeseries.Panel)


def _panel(
    panel: Panel,
    title: str,
    description: str,
    queries: list[tuple[str, str]],
    *,
    unit: str,
    width: int,
    height: int,
    instant: bool,
) -> Panel:
    """What every panel has: ``queries`` are (expr, legend) each, as targets A, B, ..."""
    panel = (
        panel.title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
    )
    for i, (expr, legend) in enumerate(queries):
        panel = panel.with_target(_query(chr(ord("A") + i), expr, legend, instant=instant))
    return panel


def _steps(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=v, color=c) for v, c in steps])
    )


NEUTRAL = _steps((None, "blue"))
LAST_VALUE = common.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def _stat(
    title: str,
    description: str,
    queries: list[tuple[str, str]],
    *,
    unit: str = "none",
    thresholds: dashboard.ThresholdsConfig = NEUTRAL,
    width: int = 4,
    height: int = 5,
    decimals: int | None = None,
) -> stat.Panel:
    """A big number per series, coloured by ``thresholds``, over its recent line."""
    panel = (
        stat.Panel()
        .thresholds(thresholds)
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.AREA)
        .text_mode(BigValueTextMode.AUTO)
        .reduce_options(LAST_VALUE)
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    return _panel(
        panel, title, description, queries, unit=unit, width=width, height=height, instant=False
    )


def _bars(
    title: str,
    description: str,
    queries: list[tuple[str, str]],
    *,
    unit: str = "none",
    thresholds: dashboard.ThresholdsConfig = NEUTRAL,
    width: int = 6,
    height: int = 8,
) -> bargauge.Panel:
    """A horizontal bar per series (per state, reason, department, ...) with its value now."""
    panel = (
        bargauge.Panel()
        .min(0)
        .thresholds(thresholds)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .orientation(VizOrientation.HORIZONTAL)
        .show_unfilled(True)
        .reduce_options(LAST_VALUE)
    )
    return _panel(
        panel, title, description, queries, unit=unit, width=width, height=height, instant=True
    )


def _graph(
    title: str,
    description: str,
    queries: list[tuple[str, str]],
    *,
    unit: str = "none",
    stacked: bool = False,
    width: int = 12,
    height: int = 8,
    max_value: float | None = None,
) -> timeseries.Panel:
    """Lines over the dashboard's time range (stacked areas with ``stacked``)."""
    panel = (
        timeseries.Panel()
        .min(0)
        .fill_opacity(20 if stacked else 0)
        .stacking(
            common.StackingConfig().mode(StackingMode.NORMAL if stacked else StackingMode.NONE)
        )
        .legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if max_value is not None:
        panel = panel.max(max_value)
    return _panel(
        panel, title, description, queries, unit=unit, width=width, height=height, instant=False
    )


def _up_down() -> list[model.ValueMapping]:
    return [
        model.ValueMap(
            options={
                "0": model.ValueMappingResult(text="down", color="red", index=0),
                "1": model.ValueMappingResult(text="up", color="green", index=1),
            }
        )
    ]


def _calls() -> list[stat.Panel]:
    return [
        _stat(
            "Answer rate, last 5 min",
            "Answered / offered calls of the last 5 minutes per queue (来电接通率; the "
            "recording rule queue:hotline_answer_ratio:rate5m). The city's target is 95%.",
            [(f"queue:hotline_answer_ratio:rate5m{{{Q}}}", "{{queue}}")],
            unit="percentunit",
            thresholds=_steps((None, "red"), (ANSWER_RATE_TARGET, "green")),
            decimals=1,
        ),
        _stat(
            "Answer rate since start",
            "Answered / offered calls per queue since the backend started (hotline_answer_ratio).",
            [(f"hotline_answer_ratio{{{Q}}}", "{{queue}}")],
            unit="percentunit",
            thresholds=_steps((None, "red"), (ANSWER_RATE_TARGET, "green")),
            decimals=1,
        ),
        _stat(
            "Service level (SL, SL2)",
            "As Asterisk's app_queue defines them, since start: SL = completed calls "
            "answered within the service-level threshold / completed calls; SL2 = (those + "
            "abandoned within the threshold) / (completed + abandoned).",
            [
                (f"hotline_queue_service_level_ratio{{{Q}}}", "SL {{queue}}"),
                (f"hotline_queue_service_level2_ratio{{{Q}}}", "SL2 {{queue}}"),
            ],
            unit="percentunit",
            thresholds=_steps((None, "red"), (SERVICE_LEVEL_TARGET, "green")),
            decimals=1,
        ),
        _stat(
            "SL threshold",
            "The wait within which an answered (or abandoned) call counts in the service "
            "level (hotline_service_level_threshold_seconds).",
            [(f"hotline_service_level_threshold_seconds{{{C}}}", "{{centre}}")],
            unit="s",
            width=2,
        ),
        _stat(
            "Waiting now",
            "Callers waiting in the queue now (hotline_queue_waiting_calls).",
            [(f"hotline_queue_waiting_calls{{{Q}}}", "{{queue}}")],
            thresholds=_steps((None, "green"), (5, "yellow"), (20, "red")),
            width=3,
        ),
        _stat(
            "Longest wait",
            "How long the caller waiting longest now has waited (0 with none); over 2 "
            "minutes fires the alert HotlineCallerWaitingLong.",
            [(f"hotline_queue_longest_wait_seconds{{{Q}}}", "{{queue}}")],
            unit="s",
            thresholds=_steps((None, "green"), (LONG_WAIT_S / 2, "yellow"), (LONG_WAIT_S, "red")),
            width=3,
        ),
        _stat(
            "ASA",
            "Average speed of answer: the mean wait in the queue of the answered calls "
            "(hotline_queue_average_speed_of_answer_seconds).",
            [(f"hotline_queue_average_speed_of_answer_seconds{{{Q}}}", "{{queue}}")],
            unit="s",
            width=2,
            decimals=0,
        ),
        _stat(
            "AHT",
            "Average handle time: talk plus wrap-up of the answered calls that have ended "
            "(hotline_queue_average_handle_seconds).",
            [(f"hotline_queue_average_handle_seconds{{{Q}}}", "{{queue}}")],
            unit="s",
            width=2,
            decimals=0,
        ),
    ]


def _queue_over_time() -> list[timeseries.Panel]:
    def per_minute(counter: str) -> str:
        return f"sum by (queue) (rate({counter}{{{Q}}}[$__rate_interval])) * 60"

    return [
        _graph(
            "Answer rate (5 min), SL and SL2 (last $window)",
            "The answer rate of the last 5 minutes, and SL and SL2 (as app_queue defines "
            "them) over the dashboard's window: completed calls answered within the "
            "threshold / completed; (those + abandoned within the threshold) / (completed + "
            "abandoned).",
            [
                (f"queue:hotline_answer_ratio:rate5m{{{Q}}}", "answer rate {{queue}}"),
                (SL_WINDOW, "SL {{queue}}"),
                (SL2_WINDOW, "SL2 {{queue}}"),
            ],
            unit="percentunit",
            max_value=1,
            width=10,
        ),
        _graph(
            "Waiting calls by priority",
            "Callers waiting in the queue now, by their priority "
            "(hotline_queue_waiting_calls_by_priority).",
            [
                (
                    f"sum by (priority) (hotline_queue_waiting_calls_by_priority{{{Q}}})",
                    "priority {{priority}}",
                )
            ],
            stacked=True,
            width=7,
        ),
        _graph(
            "Calls per minute",
            "Offered, answered and abandoned calls per minute.",
            [
                (per_minute("hotline_calls_offered_total"), "offered {{queue}}"),
                (per_minute("hotline_calls_answered_total"), "answered {{queue}}"),
                (per_minute("hotline_calls_abandoned_total"), "abandoned {{queue}}"),
            ],
            width=7,
        ),
    ]


def _abandons_and_service() -> list[bargauge.Panel | stat.Panel]:
    return [
        _bars(
            "Abandoned, last $window",
            "Calls that left the queue unanswered over the dashboard's window, by reason: "
            "caller (hung up) or timeout (the queue gave up); and the short abandons "
            "(hung up under the short-abandon threshold), counted apart.",
            [
                (_in_window(f"hotline_calls_abandoned_total{{{Q}}}", "reason"), "{{reason}}"),
                (
                    f"sum(increase(hotline_calls_abandoned_short_total{{{Q}}}[$window]))",
                    "short",
                ),
            ],
        ),
        _bars(
            "IVR exits, last $window",
            "How the IVR sessions ended over the dashboard's window "
            "(hotline_ivr_sessions_total by exit, the survey's sessions left out: to a "
            "queue, served by the IVR alone, hung up, ...).",
            [(IVR_EXITS, "{{exit}}")],
        ),
        _stat(
            "Instant resolution",
            "Tickets resolved during the call / answered calls that have ended "
            "(hotline_instant_resolution_ratio, 即时办结率).",
            [(f"hotline_instant_resolution_ratio{{{C}}}", "{{centre}}")],
            unit="percentunit",
            decimals=1,
            width=4,
            height=8,
        ),
        _stat(
            "AMI link and database",
            "up while the backend is logged in to Asterisk's manager (hotline_ami_connected) "
            "and while its last database operation succeeded (hotline_db_up).",
            [
                (f"hotline_ami_connected{{{C}}}", "AMI link {{centre}}"),
                (f"hotline_db_up{{{C}}}", "database {{centre}}"),
            ],
            thresholds=_steps((None, "red"), (1, "green")),
            width=8,
            height=8,
        )
        .mappings(_up_down())
        .text_mode(BigValueTextMode.VALUE_AND_NAME)
        .graph_mode(BigValueGraphMode.NONE),
    ]


def _seats() -> list[bargauge.Panel | stat.Panel]:
    return [
        _bars(
            "Seats by state",
            "Logged-in operator seats by state now (hotline_seats).",
            [(f"sum by (state) (hotline_seats{{{C}}})", "{{state}}")],
        ),
        _bars(
            "Paused seats by reason",
            "Paused seats by pause reason now (hotline_seats_paused; the reasons of "
            "config/pause_codes.yaml).",
            [(f"sum by (reason) (hotline_seats_paused{{{C}}})", "{{reason}}")],
        ),
        _bars(
            "Time in each state, last $window",
            "The share of the seats' logged-in time spent in each state over the "
            "dashboard's window (hotline_seat_state_seconds_total).",
            [(TIME_IN_STATE, "{{state}}")],
            unit="percentunit",
            width=8,
        ),
        _stat(
            "Occupancy, last $window",
            "Of the time seats were ready or busy with a call over the dashboard's window, "
            "the busy share (ringing, talking, wrap-up); paused time is not counted.",
            [(OCCUPANCY, "occupancy")],
            unit="percentunit",
            decimals=1,
            height=8,
        ),
    ]


def _tickets() -> list[bargauge.Panel | stat.Panel | timeseries.Panel]:
    # The ticket series come from the one store every centre's backend reads: each reports
    # the same values, taken once (max), for every centre (the $centre choice is not theirs).
    late = _steps((None, "green"), (1, "red"))
    return [
        _bars(
            "Overdue tickets by department",
            "Running tickets (dispatched, accepted, extension asked) past their due time, "
            "per lead department, at the last supervision scan (hotline_tickets_overdue).",
            [("sort_desc(max by (department) (hotline_tickets_overdue))", "{{department}}")],
            thresholds=late,
        ),
        _bars(
            "Due soon by department",
            "Running tickets with a working day (or hour) or less left, per lead department "
            "(hotline_tickets_due_soon).",
            [("sort_desc(max by (department) (hotline_tickets_due_soon))", "{{department}}")],
            thresholds=_steps((None, "green"), (1, "yellow")),
        ),
        _bars(
            "Tickets by state",
            "Tickets in each lifecycle state at the last scan (hotline_tickets).",
            [("max by (state) (hotline_tickets)", "{{state}}")],
        ),
        _stat(
            "Callbacks pending",
            "Tickets replied by their department and not yet called back "
            "(hotline_tickets_callbacks_pending).",
            [("max(hotline_tickets_callbacks_pending)", "callbacks pending")],
            thresholds=_steps((None, "green"), (10, "yellow")),
            width=6,
            height=8,
        ),
        _graph(
            "Overdue tickets by department over time",
            "hotline_tickets_overdue per department: a line that keeps rising fires "
            "HotlineOverdueTicketsGrowing.",
            [("max by (department) (hotline_tickets_overdue)", "{{department}}")],
            width=24,
        ),
    ]


def _variables() -> list[dashboard.QueryVariable | dashboard.CustomVariable]:
    windows = ["5m", "15m", "30m", "1h", "4h", "8h", "24h"]
    return [
        dashboard.QueryVariable("centre")
        .label("Centre")
        .description(
            "The centres of the platform (config/centres.yaml): the city's and districts'."
        )
        .datasource(DATASOURCE)
        .query("label_values(hotline_calls_offered_total, centre)")
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(model.VariableOption(text="All", value="$__all")),
        dashboard.QueryVariable("queue")
        .label("Queue")
        .datasource(DATASOURCE)
        .query(f"label_values(hotline_calls_offered_total{{{C}}}, queue)")
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(model.VariableOption(text="All", value="$__all")),
        dashboard.CustomVariable("window")
        .label("Window")
        .description(
            "The span of the windowed figures (SL over time, abandons, IVR exits, occupancy)."
        )
        .values(",".join(windows))
        .current(model.VariableOption(text="15m", value="15m")),
    ]


def build() -> model.Dashboard:
    """The wallboard: calls now, the queue over time, abandons and service, seats, tickets."""
    board = (
        dashboard.Dashboard("12345 hotline wallboard")
        .uid(DASHBOARD_UID)
        .description("The live figures a 12345 supervisor watches (hotline /metrics).")
        .tags(["hotline", "12345", "wallboard"])
        .refresh("10s")
        .time("now-3h", "now")
        .timezone("browser")
        .tooltip(model.DashboardCursorSync.CROSSHAIR)
        .editable()
    )
    for variable in _variables():
        board = board.with_variable(variable)
    rows: list[tuple[str, Sequence[stat.Panel | bargauge.Panel | timeseries.Panel]]] = [
        ("Calls now", _calls()),
        ("Queue over time", _queue_over_time()),
        ("Abandons, IVR and service", _abandons_and_service()),
        ("Seats", _seats()),
        ("Tickets", _tickets()),
    ]
    panel_id = 0
    for title, panels in rows:
        panel_id += 1
        board = board.with_row(dashboard.Row(title).id(panel_id))
        for panel in panels:
            panel_id += 1
            board = board.with_panel(panel.id(panel_id))
    return board.build()


def encode(board: model.Dashboard) -> str:
    """The dashboard's JSON as committed: keys sorted, two-space indents, a final newline."""
    return (
        json.dumps(
            json.loads(JSONEncoder().encode(board)), indent=2, sort_keys=True, ensure_ascii=False
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> None:
    """Write the dashboard to :data:`JSON_PATH` (or to the path given)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else JSON_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(encode(build()), "utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
