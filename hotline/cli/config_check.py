"""``hotline config check``: validate the configuration files in ``HOTLINE_CONFIG_DIR``.

Prints each problem as ``file:line: error: what`` with a ``fix:`` line, warnings too; exits
1 when there is an error, 0 otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from config.catalogue import check_catalogue, load_catalogue
from config.centres import check_centres, load_centres
from config.knowledge import FILE_NAME as KNOWLEDGE_FILE
from config.knowledge import check_starter, load_starter
from config.overflow import check_overflow, load_overflow
from config.pause_codes import check_pause_codes, load_pause_codes
from config.report import check_report_rules
from config.skills import check_skills, load_skills
from hotline.cli.common import load_settings
from ivr.menus import check_config, load_menus

__all__ = ["app", "check"]

app = typer.Typer(help="Check the configuration files.", no_args_is_help=True)
out = Console(soft_wrap=True, highlight=False)


@app.command("check")
def check(
    config_dir: Annotated[
        Path | None,
        typer.Option("--dir", help="Configuration folder [HOTLINE_CONFIG_DIR, default config/]."),
    ] = None,
) -> None:
    """Find unreachable menu nodes, loops with no way out, keys used twice in one node,
    queues and sounds that do not exist, knowledge articles that break the rules, skills naming
    unknown queues, pause codes without a label or limit, matters of an unknown department,
    codes written twice, a missing time limit or an unknown legal route, the report's rules
    (report.yaml), overflow rules between queues that do not exist or that overlap
    (overflow.yaml), the platform's centres (centres.yaml); say file, line and fix."""
    if config_dir is None:
        config_dir = load_settings().config_dir
    problems = check_config(config_dir) + check_starter(config_dir)
    ivr_ok = not any(p.severity == "error" for p in problems)
    known_queues = set(load_menus(config_dir).queues) if ivr_ok else None
    problems += check_skills(config_dir, known_queues) + check_pause_codes(config_dir)
    problems += check_catalogue(config_dir) + check_report_rules(config_dir)
    problems += check_overflow(config_dir, known_queues) + check_centres(config_dir)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        colour = "red" if p.severity == "error" else "yellow"
        where = f"{p.file}:{p.line}" if p.line else p.file
        out.print(f"{where}: [{colour}]{p.severity}[/]: {p.message}")
        out.print(f"    fix: {p.fix}")
    if errors:
        out.print(f"[red]{len(errors)} error(s)[/] in {config_dir}")
        raise typer.Exit(1)
    menus = load_menus(config_dir)
    articles = len(load_starter(config_dir)) if (config_dir / KNOWLEDGE_FILE).exists() else 0
    skills, codes = load_skills(config_dir), load_pause_codes(config_dir)
    catalogue = load_catalogue(config_dir)
    overflow = load_overflow(config_dir)
    centres = len(load_centres(config_dir).centres)
    out.print(
        f"[green]ok[/]: {config_dir}: {len(menus.nodes)} menu nodes, {len(menus.queues)} queues, "
        f"{len(menus.districts)} districts, {len(skills.groups)} skill groups, "
        f"{len(codes.codes)} pause codes, {articles} knowledge articles, "
        f"{len(catalogue.departments)} departments, {len(catalogue.matters)} matters, "
        f"{len(overflow.rules)} overflow rules, {centres} centres, "
        f"{len(problems)} warning(s)"
    )
