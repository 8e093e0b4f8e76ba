"""A queue's figures over no calls are not defined (None, JSON null), not 0.0."""

from __future__ import annotations

from pbx import events as ev
from routing.calls import CallBoard, QueueStats, rounded


def test_ratios_over_no_calls_are_not_defined() -> None:
    st = QueueStats()
    assert st.answer_ratio is None and st.mean_wait_s is None  # not 0.0: nothing to divide
    b = CallBoard()
    b.apply(ev.CallerJoined(0.0, "hotline", "1", "1", "Local/x;2", "13800001234", "张三", 1, 1))
    st = b.stats["hotline"]
    assert st.offered == 1
    assert st.answer_ratio == 0.0  # one offered, none answered: defined, and zero
    assert st.mean_wait_s is None  # still waiting: no call has left the queue
    assert rounded(None, 4) is None and rounded(0.123456, 4) == 0.1235
