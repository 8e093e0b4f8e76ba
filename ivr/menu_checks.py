"""Checks of the IVR menus beyond the schema, each a :class:`~config.yamlfile.Problem` with
the file, the line and the fix: references to nodes, queues and sounds that do not exist,
nodes no caller can reach, loops with no way out by keys alone, closed-hours routes to
queues that are not always open, and a holiday calendar that ends too soon.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from config.calendar import calendar_last_year
from config.yamlfile import Problem, YamlDoc
from ivr.menu_model import DISTRICT_QUEUE, SOUNDS_FILE, Menus, Node, Option

__all__ = ["calendar_warnings", "semantic_problems"]


def _edges(menus: Menus, option: Option) -> list[str]:
    """Nodes an option leads to."""
    out = []
    if option.goto:
        out.append(option.goto)
    if option.next:
        out.append(option.next)
    if option.action in ("ticket_status", "open_ticket_status"):
        out.append(menus.self_service.after_lookup_node)
    return out


def _is_exit(option: Option) -> bool:
    return option.queue is not None or option.action in ("hangup",)


def semantic_problems(menus: Menus, doc: YamlDoc, sounds: set[str] | None) -> list[Problem]:
    f = doc.file
    out: list[Problem] = []
    nodes = menus.nodes

    def node_ref(name: str | None, path: list[str], what: str) -> None:
        if name is not None and name not in nodes:
            out.append(
                Problem(
                    f,
                    doc.line(path),
                    f"{what} {name!r} is not a node",
                    f"use one of: {', '.join(sorted(nodes))}, or add node {name!r}",
                )
            )

    node_ref(menus.start, ["start"], "start")
    node_ref(menus.hours.closed_node, ["hours", "closed_node"], "closed_node")
    node_ref(
        menus.self_service.open_ticket_node,
        ["self_service", "open_ticket_node"],
        "open_ticket_node",
    )
    node_ref(
        menus.self_service.after_lookup_node,
        ["self_service", "after_lookup_node"],
        "after_lookup_node",
    )

    def options_of(name: str, node: Node) -> Iterable[tuple[list[str], Option]]:
        for key, opt in node.options.items():
            yield ["nodes", name, "options", key], opt
        if node.fallback is not None:
            yield ["nodes", name, "fallback"], node.fallback

    all_options: list[tuple[list[str], Option]] = [(["operator"], menus.operator)]
    for name, node in nodes.items():
        all_options += list(options_of(name, node))

    for path, opt in all_options:
        node_ref(opt.goto, [*path, "goto"], "goto")
        node_ref(opt.next, [*path, "next"], "next")
        if opt.queue is not None and opt.queue != DISTRICT_QUEUE and opt.queue not in menus.queues:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "queue"]),
                    f"queue {opt.queue!r} does not exist",
                    f"use one of: {', '.join(sorted(menus.queues))}, {DISTRICT_QUEUE}; "
                    "or add it under `queues:` (and to queues.conf)",
                )
            )
        if opt.language is not None and opt.language not in menus.languages:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "language"]),
                    f"language {opt.language!r} is not configured",
                    f"use one of: {', '.join(menus.languages)}",
                )
            )
        if opt.district is not None and opt.district not in menus.districts:
            out.append(
                Problem(
                    f,
                    doc.line([*path, "district"]),
                    f"district {opt.district!r} does not exist",
                    f"use one of: {', '.join(menus.districts)}",
                )
            )
    for name, d in menus.districts.items():
        if d.queue not in menus.queues:
            out.append(
                Problem(
                    f,
                    doc.line(["districts", name, "queue"]),
                    f"district {name!r} sends to queue {d.queue!r}, which does not exist",
                    "add the queue under `queues:` or correct the name",
                )
            )
    if "city" not in menus.districts:
        out.append(
            Problem(
                f,
                doc.line(["districts"]),
                "no district `city` (the centre)",
                "add `city: {name: 市中心, queue: hotline}`: calls of no district go there",
            )
        )
    prefix_owner: dict[str, str] = {}
    for name, d in menus.districts.items():
        for i, p in enumerate(d.prefixes):
            if not p.isdigit():
                out.append(
                    Problem(
                        f,
                        doc.line(["districts", name, "prefixes", i]),
                        f"prefix {p!r} is not digits",
                        "write the prefix as digits",
                    )
                )
            elif p in prefix_owner:
                out.append(
                    Problem(
                        f,
                        doc.line(["districts", name, "prefixes", i]),
                        f"prefix {p} belongs to both {prefix_owner[p]} and {name}",
                        "keep it in one district",
                    )
                )
            else:
                prefix_owner[p] = name

    # sounds
    if sounds is not None:
        for where, prompt in menus.prompts():
            if prompt.sound not in sounds:
                out.append(
                    Problem(
                        f,
                        doc.line([*where, "sound"]),
                        f"sound {prompt.sound!r} is not in {SOUNDS_FILE}",
                        f"install the recording and list it in {SOUNDS_FILE}, or correct the name",
                    )
                )

    # reachability
    roots = [
        menus.start,
        menus.hours.closed_node,
        menus.self_service.open_ticket_node,
        menus.self_service.after_lookup_node,
    ]
    roots += [o.goto or o.next for _, o in [(None, menus.operator)] if o.goto or o.next]
    reach = _reachable(menus, [r for r in roots if r in nodes])
    for name in nodes:
        if name not in reach:
            out.append(
                Problem(
                    f,
                    doc.line(["nodes", name]),
                    f"node {name!r} is unreachable: no option leads to it",
                    f"add an option with `goto: {name}`, or delete the node",
                )
            )

    # loops with no way out: from these nodes no key path ever reaches a queue or an exit
    escape = _can_escape(menus)
    for name in sorted(reach):
        if name in nodes and not escape.get(name, False):
            out.append(
                Problem(
                    f,
                    doc.line(["nodes", name, "options"]),
                    f"node {name!r} is in a loop with no way out: its keys lead only to "
                    "menus that never reach a queue or an end (callers leave only by "
                    "failing into the operator fallback)",
                    "add an option there with a `queue:` or `action: hangup`",
                )
            )

    # closed hours reach only queues staffed day and night
    closed = menus.hours.closed_node
    if closed in nodes:
        for qname, path in _queues_from(menus, closed):
            qs = [d.queue for d in menus.districts.values()] if qname == DISTRICT_QUEUE else [qname]
            bad = [q for q in qs if q in menus.queues and not menus.queues[q].always_open]
            if bad:
                out.append(
                    Problem(
                        f,
                        doc.line(path),
                        f"closed-hours menu {closed!r} reaches queue(s) "
                        f"{', '.join(bad)}, which are not open day and night",
                        "route it to a queue with `always_open: true`, or mark the queue so",
                    )
                )
    return out


def _reachable(menus: Menus, roots: list[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        n = todo.pop()
        if n in seen or n not in menus.nodes:
            continue
        seen.add(n)
        node = menus.nodes[n]
        for opt in [*node.options.values(), *([node.fallback] if node.fallback else [])]:
            todo += _edges(menus, opt)
    return seen


def _can_escape(menus: Menus) -> dict[str, bool]:
    """For each node: can a caller reach a queue or an end by keys alone (no fallback)?"""
    ok = {n: any(_is_exit(o) for o in node.options.values()) for n, node in menus.nodes.items()}
    changed = True
    while changed:
        changed = False
        for n, node in menus.nodes.items():
            if ok[n]:
                continue
            if any(ok.get(m, False) for o in node.options.values() for m in _edges(menus, o)):
                ok[n] = changed = True
    return ok


def _queues_from(menus: Menus, start: str) -> list[tuple[str, list[str]]]:
    out = []
    for n in sorted(_reachable(menus, [start])):
        node = menus.nodes[n]
        for key, opt in node.options.items():
            if opt.queue:
                out.append((opt.queue, ["nodes", n, "options", key, "queue"]))
        if node.fallback and node.fallback.queue:
            out.append((node.fallback.queue, ["nodes", n, "fallback", "queue"]))
    return out


def calendar_warnings(doc: YamlDoc) -> list[Problem]:
    last = calendar_last_year()
    if last is None:
        return [
            Problem(
                doc.file,
                doc.line(["hours"]),
                "package chinesecalendar is not installed: working days are Monday to Friday",
                "pip install chinesecalendar",
                "warning",
            )
        ]
    this_year = datetime.now(timezone(timedelta(hours=8))).year
    if last < this_year + 1:
        return [
            Problem(
                doc.file,
                doc.line(["hours"]),
                f"chinesecalendar knows holidays up to "
                f"{last} only; later days count Monday to Friday as working days",
                "upgrade chinesecalendar when the State Council publishes the next year's holidays",
                "warning",
            )
        ]
    return []
