"""The gateway: what the domains may ask of Asterisk, as typed calls (DESIGN, principle 7).

Every method sends one AMI action through :class:`pbx.ami.AmiLink` and returns a typed result
or raises one of ``pbx.ami``'s typed errors:

* :class:`~pbx.ami.AmiNotConnected` at once while the link is down: **nothing is queued**
  (a pause, a transfer or a hang-up carried out minutes later, after a reconnect, would do
  harm; the caller decides whether to retry once the state is known again);
* :class:`~pbx.ami.AmiActionError` with Asterisk's own ``Message`` (for example
  ``"Unable to add interface: Already there"``, ``"Interface not found"``, ``"No such
  channel"``, ``"Channel does not exist: NAME"``);
* :class:`~pbx.ami.AmiTimeout` when no answer came within the link's action timeout.

Nothing here reads a header value into a log line: channel names and variables may hold a
caller's number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pbx import events as ev
from pbx.ami import ActionResult, AmiLink

__all__ = ["AmiGateway", "Gateway", "OriginateResult", "QueueState"]


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """An ``Originate``'s outcome. Without ``wait`` only ``queued`` is known; with it, the
    ``OriginateResponse``: ``success``, Asterisk's ``reason`` code and the new ``uniqueid``
    (``None`` when Asterisk says ``<unknown>``)."""

    queued: bool
    success: bool | None = None
    reason: int | None = None
    uniqueid: str | None = None


@dataclass(frozen=True, slots=True)
class QueueState:
    """A ``QueueStatus`` answer, typed."""

    params: dict[str, ev.QueueParams]
    members: list[ev.MemberStatus]
    entries: list[ev.QueueEntry]


class Gateway(Protocol):
    """What the domains see of Asterisk (a fake implements it in tests)."""

    async def pause_member(
        self, interface: str, paused: bool, *, queue: str | None = None, reason: str = ""
    ) -> None: ...
    async def add_member(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        state_interface: str = "",
    ) -> None: ...
    async def remove_member(self, queue: str, interface: str) -> None: ...
    async def set_penalty(self, queue: str, interface: str, penalty: int) -> None: ...
    async def originate(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str = "",
        timeout_ms: int = 30000,
        variables: Mapping[str, str] | None = None,
        wait: bool = False,
    ) -> OriginateResult: ...
    async def redirect(
        self, channel: str, *, context: str, exten: str, priority: int = 1
    ) -> None: ...
    async def hangup(self, channel: str, *, cause: int | None = None) -> None: ...
    async def setvar(self, variable: str, value: str, *, channel: str | None = None) -> None: ...
    async def getvar(self, variable: str, *, channel: str | None = None) -> str: ...
    async def queue_status(self, queue: str | None = None) -> QueueState: ...
    async def channels(self) -> list[ev.ChannelInfo]: ...
    async def ping(self) -> None: ...


def _check_name(what: str, value: str) -> None:
    if not value:
        raise ValueError(f"{what} must not be empty")


class AmiGateway:
    """:class:`Gateway` over an :class:`~pbx.ami.AmiLink`."""

    def __init__(self, link: AmiLink) -> None:
        self.link = link

    async def _do(self, action: dict[str, object], kind: str = "single") -> ActionResult:
        return await self.link.action(action, kind=kind)

    async def pause_member(
        self, interface: str, paused: bool, *, queue: str | None = None, reason: str = ""
    ) -> None:
        """``QueuePause``: in ``queue``, or in all the member's queues when ``None``."""
        _check_name("interface", interface)
        action: dict[str, object] = {
            "Action": "QueuePause",
            "Interface": interface,
            "Paused": "true" if paused else "false",
        }
        if queue:
            action["Queue"] = queue
        if reason:
            action["Reason"] = reason
        await self._do(action)

    async def add_member(
        self,
        queue: str,
        interface: str,
        *,
        member_name: str = "",
        penalty: int = 0,
        paused: bool = False,
        state_interface: str = "",
    ) -> None:
        """``QueueAdd`` (resolves on its response; panoramisk's never did)."""
        _check_name("queue", queue)
        _check_name("interface", interface)
        if penalty < 0:
            raise ValueError("penalty must be >= 0")
        action: dict[str, object] = {
            "Action": "QueueAdd",
            "Queue": queue,
            "Interface": interface,
            "Penalty": penalty,
            "Paused": "true" if paused else "false",
        }
        if member_name:
            action["MemberName"] = member_name
        if state_interface:
            action["StateInterface"] = state_interface
        await self._do(action)

    async def remove_member(self, queue: str, interface: str) -> None:
        _check_name("queue", queue)
        _check_name("interface", interface)
        await self._do({"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def set_penalty(self, queue: str, interface: str, penalty: int) -> None:
        _check_name("interface", interface)
        if penalty < 0:
            raise ValueError("penalty must be >= 0")
        action: dict[str, object] = {
            "Action": "QueuePenalty",
            "Interface": interface,
            "Penalty": penalty,
        }
        if queue:
            action["Queue"] = queue
        await self._do(action)

    async def originate(
        self,
        channel: str,
        *,
        context: str,
        exten: str,
        priority: int = 1,
        caller_id: str = "",
        timeout_ms: int = 30000,
        variables: Mapping[str, str] | None = None,
        wait: bool = False,
    ) -> OriginateResult:
        """An asynchronous ``Originate``. ``wait=True`` also waits (within the action timeout)
        for its ``OriginateResponse``, which still reaches the event path as well."""
        _check_name("channel", channel)
        action: dict[str, object] = {
            "Action": "Originate",
            "Channel": channel,
            "Context": context,
            "Exten": exten,
            "Priority": priority,
            "Timeout": timeout_ms,
            "Async": "true",
        }
        if caller_id:
            action["CallerID"] = caller_id
        if variables:
            action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        r = await self._do(action, "originate" if wait else "single")
        if not wait or not r.items:
            return OriginateResult(queued=True)
        resp = r.items[-1]
        try:
            reason: int | None = int(resp.get("Reason", ""))
        except ValueError:
            reason = None
        uid = resp.get("Uniqueid") or None
        return OriginateResult(
            queued=True,
            success=resp.get("Response") == "Success",
            reason=reason,
            uniqueid=None if uid == "<unknown>" else uid,
        )

    async def redirect(self, channel: str, *, context: str, exten: str, priority: int = 1) -> None:
        _check_name("channel", channel)
        await self._do(
            {
                "Action": "Redirect",
                "Channel": channel,
                "Context": context,
                "Exten": exten,
                "Priority": priority,
            }
        )

    async def hangup(self, channel: str, *, cause: int | None = None) -> None:
        _check_name("channel", channel)
        action: dict[str, object] = {"Action": "Hangup", "Channel": channel}
        if cause is not None:
            action["Cause"] = cause
        await self._do(action)

    async def setvar(self, variable: str, value: str, *, channel: str | None = None) -> None:
        """``Setvar`` on a channel, or a global variable when ``channel`` is ``None``."""
        _check_name("variable", variable)
        action: dict[str, object] = {"Action": "Setvar", "Variable": variable, "Value": value}
        if channel:
            action["Channel"] = channel
        await self._do(action)

    async def getvar(self, variable: str, *, channel: str | None = None) -> str:
        """``Getvar``: the value ("" when unset)."""
        _check_name("variable", variable)
        action: dict[str, object] = {"Action": "Getvar", "Variable": variable}
        if channel:
            action["Channel"] = channel
        r = await self._do(action)
        return r.get("Value")

    async def queue_status(self, queue: str | None = None) -> QueueState:
        action: dict[str, object] = {"Action": "QueueStatus"}
        if queue:
            action["Queue"] = queue
        r = await self._do(action, "list")
        state = QueueState({}, [], [])
        for f in r.items:
            try:
                item = ev.snapshot_item(f, 0.0)
            except (KeyError, ev.BadEvent):
                continue
            if isinstance(item, ev.QueueParams):
                state.params[item.queue] = item
            elif isinstance(item, ev.QueueEntry):
                state.entries.append(item)
            elif isinstance(item, ev.MemberStatus):
                state.members.append(item)
        return state

    async def channels(self) -> list[ev.ChannelInfo]:
        """``CoreShowChannels``."""
        r = await self._do({"Action": "CoreShowChannels"}, "list")
        out = []
        for f in r.items:
            try:
                item = ev.snapshot_item(f, 0.0)
            except (KeyError, ev.BadEvent):
                continue
            if isinstance(item, ev.ChannelInfo):
                out.append(item)
        return out

    async def ping(self) -> None:
        await self.link.ping()
