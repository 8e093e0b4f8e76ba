"""``hotline``: the command line, one module per command.

``serve`` (:mod:`hotline.cli.serve`), ``simulate`` (:mod:`hotline.cli.simulate`),
``staffing`` (:mod:`hotline.cli.staffing`), ``replay`` (:mod:`hotline.cli.replay`),
``backfill`` (:mod:`hotline.cli.backfill`), ``report`` (:mod:`hotline.cli.report`),
``users`` (:mod:`hotline.cli.users`),
``route suggest`` (:mod:`hotline.cli.route`) and ``config check``
(:mod:`hotline.cli.config_check`). Each command module imports what it needs
from below (``hotline.cli.common``, the use cases ``hotline.simulation`` and
``hotline.replay``, the domains) and never this package, which only assembles them into
:data:`app`, the console entry point (``hotline = "hotline.cli:app"`` in pyproject.toml).
"""

from __future__ import annotations

import typer

from hotline.cli.backfill import backfill
from hotline.cli.config_check import app as config_app
from hotline.cli.phones import phones
from hotline.cli.replay import replay
from hotline.cli.report import report
from hotline.cli.route import app as route_app
from hotline.cli.serve import serve
from hotline.cli.simulate import simulate
from hotline.cli.staffing import staffing
from hotline.cli.users import app as users_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="Call-centre backend of the 12345 government service hotline.",
    no_args_is_help=True,
    add_completion=False,
)
app.command()(serve)
app.command()(simulate)
app.command()(staffing)
app.command()(replay)
app.command()(phones)
app.command()(backfill)
app.command()(report)
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.add_typer(route_app, name="route")


def main() -> None:  # pragma: no cover
    app()
