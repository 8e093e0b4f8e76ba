"""The search index of the articles table, built once off the event loop and kept in step with
every write the API commits.

Building it needs jieba's dictionary (about half a second of CPU) and the tokens of every
article (about 0.1 ms each): both run in a worker thread, so the event loop keeps serving the
IVR and the AMI link meanwhile. The runtime starts the build at start (:meth:`LiveIndex.warm`);
a search that comes first waits for that build, and an index no one warmed (a test's app)
builds itself on its first search. Writes committed while the build runs are replayed onto it
once it is done (putting an article twice, or removing it twice, changes nothing).

One process keeps its own index: another controller writing to the same database is seen at
its next start (articles change a few times a day; the departments' catalogue will bring a
change feed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.knowledge import ArticleData
from knowledge.index import ArticleIndex, Hit, IndexedArticle, Prepared, prepare
from knowledge.models import Article
from knowledge.service import indexed, searchable_articles
from knowledge.stored_words import prepared, to_stored
from words import tokens

__all__ = ["IndexUnavailable", "LiveIndex"]

log = logging.getLogger(__name__)


class IndexUnavailable(Exception):
    """The index could not be built (the database did not answer); the next search tries
    again."""


def _build(rows: list[tuple[IndexedArticle, object]]) -> ArticleIndex:
    index = ArticleIndex()
    index.put_many(prepared(article, words) for article, words in rows)
    return index


def _words_of(data: ArticleData) -> dict[str, Any]:
    tokens.load()
    article = IndexedArticle(0, data.title, data.body, tuple(data.tags), data.department)
    return to_stored(prepare(article))


class LiveIndex:
    """The articles' :class:`ArticleIndex`, in step with the table."""

    def __init__(self, sessions: Callable[[], async_sessionmaker[AsyncSession] | None]) -> None:
        """``sessions()``: the store's session factory (None until the runtime has one)."""
        self._sessions = sessions
        self._index: ArticleIndex | None = None
        self._lock = asyncio.Lock()
        self._building = False
        #: Writes committed during a build: (article id, the article or None when archived).
        self._pending: list[tuple[int, Prepared | None]] = []
        self._task: asyncio.Task[ArticleIndex] | None = None
        #: Seconds the last build took: jieba's dictionary, and the articles.
        self.load_seconds: float | None = None
        self.build_seconds: float | None = None

    @property
    def ready_now(self) -> bool:
        return self._index is not None

    def warm(self) -> None:
        """Start building the index in the background (at start), if not built yet."""
        if self._index is None and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.ready())
            self._task.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Task[ArticleIndex]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.warning(
                "knowledge index not built at start (%s); built on first search", task.exception()
            )
        self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass

    async def ready(self) -> ArticleIndex:
        """The index, built first if need be (jieba and the articles, in a worker thread)."""
        if self._index is not None:
            return self._index
        async with self._lock:
            if self._index is None:
                try:
                    self._index = await self._build()
                except Exception as e:
                    raise IndexUnavailable(f"the knowledge index cannot be built: {e}") from e
        return self._index

    async def _build(self) -> ArticleIndex:
        sessions = self._sessions()
        if sessions is None:
            raise RuntimeError("the knowledge index needs the database, which is not open yet")
        self._building = True
        self._pending = []
        try:
            self.load_seconds = await asyncio.to_thread(tokens.load) or tokens.load_seconds
            started = time.perf_counter()
            async with sessions() as session:
                rows = [(indexed(a), a.words) for a in await searchable_articles(session)]
            index = await asyncio.to_thread(_build, rows)
            for ident, article in self._pending:
                if article is None:
                    index.remove(ident)
                else:
                    index.put(article)
            self.build_seconds = time.perf_counter() - started
        finally:
            self._building = False
            self._pending = []
        log.info(
            "knowledge index: %d articles in %.2f s (jieba's dictionary: %.2f s)",
            len(index),
            self.build_seconds,
            self.load_seconds or 0.0,
        )
        return index

    async def words_of(self, data: ArticleData) -> dict[str, Any]:
        """The word counts to store with an article of this text (``Article.words``),
        computed in a worker thread (jieba; its dictionary first if need be)."""
        return await asyncio.to_thread(_words_of, data)

    def changed(self, article: Article) -> None:
        """An article was committed (created, updated or archived): the index follows (with
        the counts stored with it, or segmenting it here when it has none)."""
        doc = None
        if article.archived_at is None:
            doc = prepared(indexed(article), article.words)
        if self._index is not None:
            if doc is None:
                self._index.remove(article.id)
            else:
                self._index.put(doc)
        elif self._building:
            self._pending.append((article.id, doc))
        # Neither built nor building: the build will read the table, this article included.

    async def search(self, query: str, at: datetime, limit: int = 10) -> list[Hit]:
        """The best articles for ``query`` valid at ``at`` (waits for the build if need be)."""
        return (await self.ready()).search(query, at, limit)
