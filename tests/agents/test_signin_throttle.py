"""Failed sign-ins are slowed down per user name and per address, on an injected clock."""

from __future__ import annotations

from agents.signin_throttle import SigninThrottle, ThrottleRules

RULES = ThrottleRules(
    max_failures=3, max_failures_per_address=5, lock_s=10, lock_max_s=60, forget_s=600
)


class Clock:
    t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_name_is_locked_after_n_failures_and_the_lock_grows() -> None:
    clock = Clock()
    th = SigninThrottle(clock, RULES)
    for _ in range(2):
        assert th.retry_after("Op1", "10.0.0.1") is None
        th.failed("Op1", "10.0.0.1")
    assert th.retry_after("op1", "10.0.0.2") is None
    th.failed("op1", "10.0.0.2")  # the third: locked 10 s, whatever the address or case
    assert th.retry_after("OP1", "10.0.0.9") == 10
    clock.t += 9.5
    assert th.retry_after("op1", None) == 1
    clock.t += 0.5
    assert th.retry_after("op1", None) is None
    th.failed("op1", None)  # the fourth: 20 s, then 40, then capped at 60
    assert th.retry_after("op1", None) == 20
    th.failed("op1", None)
    th.failed("op1", None)
    assert th.retry_after("op1", None) == 60
    assert th.retry_after("op2", None) is None  # another name is not touched


def test_a_success_clears_the_name_but_not_the_address() -> None:
    clock = Clock()
    th = SigninThrottle(clock, RULES)
    for i in range(5):  # five names guessed from one address
        th.failed(f"user{i}", "10.0.0.1")
    assert th.retry_after("anyone", "10.0.0.1") == 10
    assert th.retry_after("anyone", "10.0.0.2") is None
    th.failed("op1", "10.0.0.3")
    th.failed("op1", "10.0.0.3")
    th.succeeded("op1")
    th.failed("op1", "10.0.0.3")
    assert th.retry_after("op1", None) is None  # counting starts over


def test_old_failures_are_forgotten_and_the_table_is_bounded() -> None:
    clock = Clock()
    th = SigninThrottle(clock, ThrottleRules(max_failures=2, forget_s=60, max_keys=10))
    th.failed("op1", None)
    clock.t += 61
    th.failed("op1", None)
    assert th.retry_after("op1", None) is None
    for i in range(100):
        th.failed(f"random{i}", None)
    assert len(th._records) <= 10
