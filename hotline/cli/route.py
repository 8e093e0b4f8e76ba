"""``hotline route suggest --json``: the routing help from a shell, for a batch of descriptions
or a script: one description a line on standard input, one JSON line each on standard output,
the top three matters as ``{"matter", "department", "score"}`` (names in Chinese), best first.

The catalogue is the one ``hotline serve`` uses (departments.yaml and matters.csv in
``HOTLINE_CONFIG_DIR``, or ``--dir``); a catalogue with errors stops the command with them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from config.catalogue import load_catalogue
from config.yamlfile import ConfigError
from hotline.cli.common import err, load_settings
from routing.suggestions import MAX_TEXT, Suggester

__all__ = ["app", "suggest"]

app = typer.Typer(help="Routing help: suggest matters and departments.", no_args_is_help=True)


@app.command("suggest")
def suggest(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON lines (the only output format).")
    ] = False,
    config_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="Configuration folder [HOTLINE_CONFIG_DIR, default config/]."),
    ] = None,
) -> None:
    """Read descriptions, one a line, on standard input; print for each a JSON line: a list
    of the top 3 as {"matter", "department", "score"}, best first. A blank line (or one with
    no word of the catalogue) gets an empty list []. A line longer than 2,000 characters is
    cut there."""
    if not as_json:
        err.print("[red]error:[/] --json is required (JSON lines are the only output)")
        raise typer.Exit(2)
    if config_dir is None:
        config_dir = load_settings().config_dir
    try:
        catalogue = load_catalogue(config_dir)
    except ConfigError as e:
        err.print(f"[red]error:[/] the catalogue in {config_dir}:\n{e}", markup=False)
        raise typer.Exit(2) from None
    suggester = Suggester(catalogue)
    out = sys.stdout
    for line in sys.stdin:
        text = line.strip()[:MAX_TEXT]
        top = suggester.suggest(text) if text else []
        out.write(
            json.dumps(
                [
                    {"matter": s.matter.name, "department": s.department, "score": s.score}
                    for s in top
                ],
                ensure_ascii=False,
            )
            + "\n"
        )
        out.flush()
