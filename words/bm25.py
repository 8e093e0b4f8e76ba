"""The pieces of BM25 that the knowledge base's search (:mod:`knowledge.index`) and the routing
help (:mod:`routing.suggestions`) share: a word's idf, the saturation of its weighted term
frequency, and adding one word's postings into the scores of a query.

Each index keeps, per word, a posting ``{document: saturated weight}``; a query adds
``idf * weight`` for each of its words. A word found in many documents can be added to the
candidates other words found only (the "max-score" shortcut: its long posting is not walked),
which the caller decides: the knowledge base when no other document could reach the top any
more, the routing help for a word in more than half of the catalogue.
"""

from __future__ import annotations

import math

__all__ = ["K1", "add_posting", "idf", "saturate"]

#: Term-frequency saturation (BM25's k1).
K1 = 1.2


def idf(documents: int, with_word: int) -> float:
    """BM25's inverse document frequency (never negative).

    >>> round(idf(100, 1), 3), round(idf(100, 100), 3)
    (4.21, 0.005)
    """
    return math.log(1.0 + (documents - with_word + 0.5) / (with_word + 0.5))


def saturate(frequency: float, k1: float = K1) -> float:
    """A weighted term frequency saturated: 0 for 0, towards ``k1 + 1`` for many."""
    return frequency * (k1 + 1.0) / (k1 + frequency)


def add_posting(
    scores: dict[int, float], posting: dict[int, float], word_idf: float, *, candidates_only: bool
) -> None:
    """Add one word's ``posting`` (document -> weight) times its idf into ``scores``; with
    ``candidates_only``, only to the documents already in ``scores``."""
    if candidates_only:
        for doc in scores:
            weight = posting.get(doc)
            if weight is not None:
                scores[doc] += word_idf * weight
    else:
        get = scores.get
        for doc, weight in posting.items():
            scores[doc] = get(doc, 0.0) + word_idf * weight
