"""The knowledge base's search index: pure, in memory, BM25F over title, tags and body.

Why in memory and hand-written: the whole base is small (thousands of articles, a few MB of
text), changes a few times a day and is read on every call; an inverted index in a dict answers
a query in about a millisecond on the event loop with no round trip to the database, and the
same code runs on SQLite and PostgreSQL. PostgreSQL's full-text search has no Chinese parser
without an extension (zhparser, pg_jieba) that SQLite does not have, and a search engine
(Elasticsearch with an IK plug-in) is one more service to run for 10 MB of text. BM25 itself is
twenty lines; writing it lets the title count more than the tags and the tags more than the body
(BM25F: each field's term frequency is weighted and normalised by that field's own length).

Articles are indexed only while not archived; their validity window stays in the index, so an
article becomes findable at its ``valid_from`` and stops at its ``valid_to`` with no rebuild.

Cost model: tokenising is the slow part (jieba), so :func:`prepare` does it apart (at start in
a worker thread, for a write before the transaction commits) and :meth:`ArticleIndex.put`
only files the counts. Each posting keeps its saturated, length-normalised term weight, so a
query is one dict walk per query word plus a partial sort; the field length averages those
weights were computed with are refreshed when they drift by more than :data:`RENORMALISE_DRIFT`.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from words.bm25 import add_posting, idf, saturate
from words.tokens import tokenize

__all__ = ["ArticleIndex", "Hit", "IndexedArticle", "Prepared", "prepare"]

#: Fields in the order of every per-field tuple here.
FIELDS = ("title", "tags", "body")
#: How much a word counts in each field: a word of the title says more than one of the body.
WEIGHTS = (3.0, 2.0, 1.0)
#: Length normalisation per field (BM25's b): a long body dilutes a word; tags barely.
B = (0.5, 0.3, 0.75)
#: Term-frequency saturation (BM25's k1).
K1 = 1.2
#: Relative change of a field's mean length that makes the index re-weigh every posting.
RENORMALISE_DRIFT = 0.1


@dataclass(frozen=True, slots=True)
class IndexedArticle:
    """What the search needs of an article (and shows of it)."""

    id: int
    title: str
    body: str
    tags: tuple[str, ...]
    department: str
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        """``valid_from <= at < valid_to``, a missing bound being open."""
        return (self.valid_from is None or self.valid_from <= at) and (
            self.valid_to is None or at < self.valid_to
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """An article with the word counts of each field (the result of tokenising it)."""

    article: IndexedArticle
    counts: tuple[Counter[str], Counter[str], Counter[str]]

    @property
    def lengths(self) -> tuple[int, int, int]:
        t, g, b = (sum(c.values()) for c in self.counts)
        return t, g, b


def prepare(article: IndexedArticle, tokenize: Callable[[str], list[str]] = tokenize) -> Prepared:
    """Tokenise ``article``'s fields (the slow step; no index needed)."""
    tags = Counter[str]()
    for tag in article.tags:
        tags.update(tokenize(tag))
    return Prepared(
        article, (Counter(tokenize(article.title)), tags, Counter(tokenize(article.body)))
    )


@dataclass(frozen=True, slots=True)
class Hit:
    article: IndexedArticle
    score: float


class ArticleIndex:
    """Articles by their words; :meth:`search` ranks those valid at a moment by BM25F."""

    def __init__(self, tokenize: Callable[[str], list[str]] = tokenize) -> None:
        self._tokenize = tokenize
        self._docs: dict[int, Prepared] = {}
        #: word -> {article id: the word's weight in that article}
        self._postings: dict[str, dict[int, float]] = {}
        self._total = [0, 0, 0]  # sum of each field's length over the articles
        self._ref_avg = (1.0, 1.0, 1.0)  # the mean lengths the weights were computed with

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, article_id: object) -> bool:
        return article_id in self._docs

    def get(self, article_id: int) -> IndexedArticle | None:
        p = self._docs.get(article_id)
        return p.article if p is not None else None

    # -- changes -------------------------------------------------------------------------
    def put(self, article: IndexedArticle | Prepared) -> None:
        """Add an article, or replace the one with its id."""
        p = article if isinstance(article, Prepared) else prepare(article, self._tokenize)
        self._unfile(p.article.id)
        self._docs[p.article.id] = p
        for i, n in enumerate(p.lengths):
            self._total[i] += n
        if self._drifted():
            self._renormalise()
        else:
            self._file(p)

    def put_many(self, articles: Iterable[IndexedArticle | Prepared]) -> None:
        """Add many articles, weighing the postings once at the end."""
        for a in articles:
            p = a if isinstance(a, Prepared) else prepare(a, self._tokenize)
            self._unfile(p.article.id)
            self._docs[p.article.id] = p
            for i, n in enumerate(p.lengths):
                self._total[i] += n
        self._renormalise()

    def remove(self, article_id: int) -> bool:
        """Take an article out (archived); False when it was not there."""
        if not self._unfile(article_id):
            return False
        if self._drifted():
            self._renormalise()
        return True

    def _unfile(self, article_id: int) -> bool:
        p = self._docs.pop(article_id, None)
        if p is None:
            return False
        for i, n in enumerate(p.lengths):
            self._total[i] -= n
        for word in set().union(*p.counts):
            posting = self._postings.get(word)
            if posting is not None:
                posting.pop(article_id, None)
                if not posting:
                    del self._postings[word]
        return True

    def _averages(self) -> tuple[float, float, float]:
        n = len(self._docs) or 1
        a, b, c = (max(t / n, 1.0) for t in self._total)
        return a, b, c

    def _drifted(self) -> bool:
        return any(
            abs(now - ref) > RENORMALISE_DRIFT * ref
            for now, ref in zip(self._averages(), self._ref_avg, strict=True)
        )

    def _renormalise(self) -> None:
        self._ref_avg = self._averages()
        self._postings = {}
        for p in self._docs.values():
            self._file(p)

    def _file(self, p: Prepared) -> None:
        norms = [
            (1.0 - b) + b * length / avg
            for b, length, avg in zip(B, p.lengths, self._ref_avg, strict=True)
        ]
        tf: dict[str, float] = {}
        for weight, norm, counts in zip(WEIGHTS, norms, p.counts, strict=True):
            for word, n in counts.items():
                tf[word] = tf.get(word, 0.0) + weight * n / norm
        doc_id = p.article.id
        postings = self._postings
        for word, f in tf.items():
            posting = postings.get(word)
            if posting is None:
                posting = postings[word] = {}
            posting[doc_id] = saturate(f, K1)

    # -- search --------------------------------------------------------------------------
    def search(self, query: str, at: datetime, limit: int = 10) -> list[Hit]:
        """The ``limit`` best articles for ``query`` that are valid at ``at``, best first
        (equal scores: the older article first). Nothing for a query of stop words only.

        Exact, with the "max-score" shortcut: words are taken rarest first; once no article
        outside the candidates found so far could reach the ``limit``-th best score with the
        words left (each adds at most ``idf * (K1 + 1)``), the common words only add to the
        candidates' scores instead of walking their long postings (办理, 申请: most articles).
        """
        if limit < 1:
            return []
        n = len(self._docs)
        terms = []
        for word in dict.fromkeys(self._tokenize(query)):
            posting = self._postings.get(word)
            if posting:
                terms.append((idf(n, len(posting)), posting))
        terms.sort(key=lambda t: -t[0])
        left = [0.0] * (len(terms) + 1)  # the most the words from i on can add
        for i in range(len(terms) - 1, -1, -1):
            left[i] = left[i + 1] + terms[i][0] * (K1 + 1.0)
        scores: dict[int, float] = {}
        for i, (word_idf, posting) in enumerate(terms):
            beaten = bool(i) and self._kth_score(scores, at, limit) > left[i]
            add_posting(scores, posting, word_idf, candidates_only=beaten)
        return self._best_valid(scores, at, limit)

    def _best_valid(self, scores: dict[int, float], at: datetime, limit: int) -> list[Hit]:
        """The ``limit`` best-scored articles valid at ``at``, best first."""
        if not scores:
            return []
        docs = self._docs

        def ranked(k: int) -> list[tuple[int, float]]:
            return heapq.nlargest(k, scores.items(), key=lambda kv: (kv[1], -kv[0]))

        # Most articles are valid: look at a few more than asked, all of them only if needed.
        best = ranked(limit * 4 + 16)
        hits = [Hit(docs[i].article, s) for i, s in best if docs[i].article.valid_at(at)]
        if len(hits) < limit and len(best) < len(scores):
            best = ranked(len(scores))
            hits = [Hit(docs[i].article, s) for i, s in best if docs[i].article.valid_at(at)]
        return hits[:limit]

    def _kth_score(self, scores: dict[int, float], at: datetime, limit: int) -> float:
        """The ``limit``-th best score among valid candidates (-inf with fewer of them)."""
        if len(scores) < limit:
            return -math.inf
        hits = self._best_valid(scores, at, limit)
        return hits[-1].score if len(hits) == limit else -math.inf
