"""An article's word counts, stored with it so that building the index at start does not
segment every article again.

Segmenting is what the index costs: jieba takes about 1.5 ms for an article of 360 characters
(10,000 articles: 15 to 25 s of CPU), filing the counts takes 0.1 ms. So the counts computed
when an article is written (in a worker thread, before the transaction) are kept in the
article's ``words`` column with the tokenizer's :data:`words.tokens.VERSION`; the build
uses them when the version matches and segments only the articles that have none (the starter
set, loaded at start before jieba is) or counts of another version (after a jieba upgrade).
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from knowledge.index import FIELDS, IndexedArticle, Prepared, prepare
from words.tokens import VERSION

__all__ = ["prepared", "to_stored"]


def to_stored(p: Prepared) -> dict[str, Any]:
    """The JSON kept in ``kb_articles.words``."""
    return {"version": VERSION, **{f: dict(c) for f, c in zip(FIELDS, p.counts, strict=True)}}


def prepared(article: IndexedArticle, stored: object) -> Prepared:
    """``article`` with its stored counts when they are of this tokenizer's version and
    well formed; otherwise segmented now (slow: call it off the event loop). Words are
    interned, as :func:`words.tokens.tokenize` gives them."""
    if isinstance(stored, dict) and stored.get("version") == VERSION:
        fields = [stored.get(f) for f in FIELDS]
        if all(isinstance(c, dict) for c in fields):
            counts = [
                Counter(
                    {sys.intern(str(w)): n for w, n in c.items() if isinstance(n, int) and n > 0}
                )
                for c in fields
                if isinstance(c, dict)
            ]
            return Prepared(article, (counts[0], counts[1], counts[2]))
    return prepare(article)
