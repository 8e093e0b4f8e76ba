"""The embedded PBX's reports: the list actions ``QueueStatus`` (QueueParams, QueueMember,
QueueEntry), ``QueueSummary`` and ``CoreShowChannels``, and the CLI's ``queue show`` and
``core show channels`` through ``Command``, with Asterisk 20's fields and layout.
"""

from __future__ import annotations

from pbx.simulator.actions import Actions
from pbx.simulator.model import DONE, STATE_DESC, Queue

__all__ = ["Reports"]


class Reports(Actions):
    """What QueueStatus, QueueSummary, CoreShowChannels and the CLI show."""

    def queue_status(self, queue: str = "", member: str = "") -> list[dict[str, str]]:
        """The QueueParams/QueueMember/QueueEntry items of ``QueueStatus`` (no ActionID)."""
        now = self.clock.now()
        items: list[dict[str, str]] = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            sl, sl2 = q.servicelevel_perf(), q.servicelevel_perf2()
            items.append(
                {
                    "Event": "QueueParams",
                    "Queue": q.name,
                    "Max": str(q.maxlen),
                    "Strategy": q.strategy,
                    "Calls": str(len(q.callers)),
                    "Holdtime": str(q.holdtime),
                    "TalkTime": str(q.talktime),
                    "Completed": str(q.completed),
                    "Abandoned": str(q.abandoned),
                    "ServiceLevel": str(q.servicelevel),
                    "ServicelevelPerf": f"{sl:2.1f}",
                    "ServicelevelPerf2": f"{sl2:2.1f}",
                    "Weight": str(q.weight),
                }
            )
            for m in q.members.values():
                if member and member.lower() not in (m.interface.lower(), m.name.lower()):
                    continue
                items.append(
                    {
                        "Event": "QueueMember",
                        "Queue": q.name,
                        "Name": m.name,
                        "Location": m.interface,
                        "StateInterface": m.state_interface,
                        "Membership": m.membership,
                        "Penalty": str(m.penalty),
                        "CallsTaken": str(m.calls_taken),
                        "LastCall": str(m.last_call),
                        "LastPause": str(m.last_pause),
                        "LoginTime": str(m.login_time),
                        "InCall": "1" if m.in_call else "0",
                        "Status": str(m.status),
                        "Paused": "1" if m.paused else "0",
                        "PausedReason": m.paused_reason,
                        "Wrapuptime": str(m.wrapuptime),
                    }
                )
            for pos, c in enumerate(q.callers, 1):
                items.append(
                    {
                        "Event": "QueueEntry",
                        "Queue": q.name,
                        "Position": str(pos),
                        "Channel": c.chan2.name,
                        "Uniqueid": c.chan2.uniqueid,
                        "CallerIDNum": c.num,
                        "CallerIDName": c.name,
                        "ConnectedLineNum": c.chan2.conn_num,
                        "ConnectedLineName": c.chan2.conn_name,
                        "Wait": str(int(now - c.join_time)),
                        "Priority": str(c.priority),
                    }
                )
        return items

    def queue_summary(self, queue: str = "") -> list[dict[str, str]]:
        now = self.clock.now()
        items = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            avail = sum(
                1
                for m in q.members.values()
                if not m.paused
                and m.dev.leg is None
                and m.dev.call is None
                and not self._in_wrapup(q, m, now)
            )
            longest = max((int(now - c.join_time) for c in q.callers), default=0)
            items.append(
                {
                    "Event": "QueueSummary",
                    "Queue": q.name,
                    "LoggedIn": str(len(q.members)),
                    "Available": str(avail),
                    "Callers": str(len(q.callers)),
                    "HoldTime": str(q.holdtime),
                    "TalkTime": str(q.talktime),
                    "LongestHoldTime": str(longest),
                }
            )
        return items

    def core_show_channels(self) -> list[dict[str, str]]:
        """The CoreShowChannel items (no ActionID)."""
        now = self.clock.now()
        items = []
        for ch in reversed(list(self.channels.values())):
            h: dict[str, str] = {"Event": "CoreShowChannel"}
            ch.headers(h)
            d = int(now - ch.created)
            h.update(
                Application=ch.app,
                ApplicationData=ch.appdata,
                Duration=f"{d // 3600:02d}:{d % 3600 // 60:02d}:{d % 60:02d}",
                BridgeId=ch.bridge,
            )
            items.append(h)
        return items

    def cli(self, command: str) -> list[str] | None:
        """Output lines of a CLI command (``queue show [q]``, ``core show channels``)."""
        words = command.split()
        low = [w.lower() for w in words]
        if low[:2] == ["queue", "show"]:
            names = [words[2]] if len(words) > 2 else list(self.queues)
            out: list[str] = []
            for n in names:
                q = self.queues.get(n)
                if q is None:
                    out.append(f"No such queue: {n}.")
                    continue
                out.extend(self._queue_show(q))
            if len(words) <= 2 and not names:
                out.append("No queues.")
            return [*out, ""]
        if low[:3] == ["core", "show", "channels"]:
            out = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<30}"]
            for ch in reversed(list(self.channels.values())):
                loc = f"{ch.exten}@{ch.context}:{ch.priority}"
                app = f"{ch.app}({ch.appdata})"
                out.append(
                    f"{ch.name:<64} {loc:<32} {STATE_DESC.get(ch.state, 'Unknown'):<7} {app:<30}"
                )
            n = len(self.channels)
            calls = sum(1 for c in set(self.owners.values()) if c.state != DONE)
            out.append(f"{n} active channel{'s' if n != 1 else ''}")
            out.append(
                f"{calls} of 2000 max active calls ({100.0 * calls / 2000:5.2f}% of capacity)"
            )
            out.append(f"{self.calls_processed} calls processed")
            return out
        return None

    def _queue_show(self, q: Queue) -> list[str]:
        now = self.clock.now()
        sl, sl2 = q.servicelevel_perf(), q.servicelevel_perf2()
        mx = f"max {q.maxlen}" if q.maxlen else "max unlimited"
        out = [
            f"{q.name} has {len(q.callers)} calls ({mx}) in '{q.strategy}' strategy "
            f"({q.holdtime}s holdtime, {q.talktime}s talktime), W:{q.weight}, "
            f"C:{q.completed}, A:{q.abandoned}, SL:{sl:.1f}%, SL2:{sl2:.1f}% "
            f"within {q.servicelevel}s"
        ]
        if q.members:
            out.append("   Members: ")
            for m in q.members.values():
                line = f"      {m.name} ({m.interface}"
                if m.state_interface != m.interface:
                    line += f" from {m.state_interface}"
                line += ")"
                if m.penalty:
                    line += f" with penalty {m.penalty}"
                line += " (ringinuse enabled)" if m.ringinuse else " (ringinuse disabled)"
                line += f" ({m.membership})"
                if m.paused:
                    reason = f":{m.paused_reason}" if m.paused_reason else ""
                    line += f" (paused{reason} was {int(now - m.last_pause)} secs ago)"
                if m.in_call:
                    line += " (in call)"
                line += {2: " (In use)", 5: " (Unavailable)"}.get(m.status, " (Not in use)")
                if m.calls_taken:
                    line += (
                        f" has taken {m.calls_taken} calls "
                        f"(last was {int(now - m.last_call)} secs ago)"
                    )
                else:
                    line += " has taken no calls yet"
                line += f" (login was {int(now - m.login_time)} secs ago)"
                out.append(line)
        else:
            out.append("   No Members")
        if q.callers:
            out.append("   Callers: ")
            for i, c in enumerate(q.callers, 1):
                w = int(now - c.join_time)
                out.append(
                    f"      {i}. {c.chan2.name} (wait: {w // 60}:{w % 60:02d}, prio: {c.priority})"
                )
        else:
            out.append("   No Callers")
        out.append("")
        return out
