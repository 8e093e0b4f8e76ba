"""The simulated operator: what a person at the seat decides when a call ends.

Until the agent desktop API lands, someone has to say what each answered call was about and
whether it was resolved on the spot. The simulated operator does, deterministically: the same
seed and the same call (its ``Linkedid``) always give the same decision, whatever the order in
which calls end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Protocol

__all__ = ["KINDS", "Decides", "Decision", "SimulatedOperator"]

#: The kinds of matter a ticket can be, and how often callers bring each (a rough split of a
#: 12345 hotline's traffic: mostly questions, then complaints).
KINDS = ("consultation", "complaint", "report", "help", "suggestion")
KIND_WEIGHTS = (0.55, 0.25, 0.08, 0.07, 0.05)


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str
    resolved_on_call: bool


class Decides(Protocol):
    """Whoever says what an ended call was about: the simulated operator, or the composition
    root's desk, which answers with a signed-in operator's submission."""

    def decide(self, linkedid: str) -> Decision: ...


class SimulatedOperator:
    def __init__(self, *, resolve_share: float = 0.57, seed: int = 0) -> None:
        if not 0.0 <= resolve_share <= 1.0:
            raise ValueError(f"resolve_share must be between 0 and 1, not {resolve_share}")
        self.resolve_share = resolve_share
        self.seed = seed

    def decide(self, linkedid: str) -> Decision:
        rng = random.Random(f"{self.seed}/{linkedid}")
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
        return Decision(kind=kind, resolved_on_call=rng.random() < self.resolve_share)
