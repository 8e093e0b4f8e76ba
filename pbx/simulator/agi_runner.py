"""The asynchronous side of the embedded PBX's AGI steps: each :class:`AgiRequest` the core
emits (the IVR before ``Queue()``, the survey after the call) runs as an asyncio task, and its
end, however it ends, is reported back through ``request.finished``.

The core (:mod:`.agi_steps`) never touches asyncio; :class:`~pbx.simulator.Simulator` plugs
this runner in as ``core.run_agi``.
"""

from __future__ import annotations

import asyncio

from pbx.simulator.agi_steps import AgiRequest

__all__ = ["run_agi_step"]


def run_agi_step(request: AgiRequest) -> asyncio.Task[dict[str, str]] | None:
    """Start ``request.hook(request.info)`` on the running loop; None when there is none."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    task = loop.create_task(request.hook(request.info))

    def done(t: asyncio.Task[dict[str, str]]) -> None:
        if t.cancelled():
            request.finished(None, None, True)
            return
        error = t.exception()
        request.finished(None if error is not None else t.result(), error, False)

    task.add_done_callback(done)
    return task
