"""What the dispatchers' past choices teach the routing help: the words of the descriptions
each matter was chosen for.

A catalogue's keywords are written once by a department; citizens say things their own way
("老板跑路了", "工头卷钱走了"). When a dispatcher confirms or corrects a suggestion, the pair
(description, chosen matter) says that those words belong to that matter. :func:`learn` counts
them, per matter, as a pure function of the pairs: where they are stored (the dispatch tables)
is not its business. :class:`routing.suggestions.Suggester` ranks them as one more field of
each matter, so a word dispatchers keep choosing a matter for lifts that matter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Choice", "LearnedWords", "learn"]


@dataclass(frozen=True, slots=True)
class Choice:
    """A dispatcher's choice: this description was routed as this matter (its code)."""

    description: str
    matter: str


@dataclass(frozen=True, slots=True)
class LearnedWords:
    """Per matter code: how often each word occurred in the descriptions it was chosen for,
    and how many choices there were."""

    words: Mapping[str, Counter[str]] = field(default_factory=dict)
    choices: Mapping[str, int] = field(default_factory=dict)


def learn(
    choices: Iterable[Choice | tuple[str, str]],
    tokenize: Callable[[str], list[str]],
    known: Callable[[str], bool] = lambda code: True,
) -> LearnedWords:
    """Count the words of each choice's description under its matter; choices of matters
    ``known`` says are not (any more) in the catalogue are left out. A word counts once per
    description, so one long, repetitive description does not outweigh many short ones."""
    words: dict[str, Counter[str]] = {}
    counts: Counter[str] = Counter()
    for choice in choices:
        description, matter = (
            (choice.description, choice.matter) if isinstance(choice, Choice) else choice
        )
        if not known(matter):
            continue
        words.setdefault(matter, Counter()).update(set(tokenize(description)))
        counts[matter] += 1
    return LearnedWords(words, dict(counts))
