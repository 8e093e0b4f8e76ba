"""The knowledge base's rules on an ``AsyncSession``: write, archive and read articles, load
the starter set, and record which article helped on a ticket.

Every write is one transaction that commits before it returns, or leaves nothing behind.
Times come from the caller's clock (``at``), never from this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config.knowledge import ArticleData, StarterArticle
from knowledge.index import IndexedArticle
from knowledge.models import Article, TicketArticle
from tickets.db import dialect_insert
from tickets.models import Ticket

__all__ = [
    "UnknownArticle",
    "UnknownTicket",
    "archive_article",
    "create_article",
    "get_article",
    "helpful_articles",
    "indexed",
    "list_articles",
    "load_starter_articles",
    "record_helpful",
    "searchable_articles",
    "update_article",
]


class UnknownTicket(LookupError):
    """No ticket with this id."""


class UnknownArticle(LookupError):
    """No article with this id."""


def _aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: give a time zone")


def _fields(data: ArticleData) -> dict[str, Any]:
    return {
        "title": data.title,
        "body": data.body,
        "tags": list(data.tags),
        "department": data.department,
        "valid_from": data.valid_from,
        "valid_to": data.valid_to,
    }


def indexed(article: Article) -> IndexedArticle:
    """What the search index keeps of a stored article."""
    return IndexedArticle(
        id=article.id,
        title=article.title,
        body=article.body,
        tags=tuple(article.tags),
        department=article.department,
        valid_from=article.valid_from,
        valid_to=article.valid_to,
    )


async def create_article(
    session: AsyncSession,
    data: ArticleData,
    *,
    at: datetime,
    created_by: str | None = None,
    words: dict[str, Any] | None = None,
) -> Article:
    """Store a new article and commit. ``words``: its word counts for the search index
    (``knowledge.stored_words.to_stored``), or None to have them computed when indexed."""
    _aware("at", at)
    article = Article(
        **_fields(data), created_by=created_by, created_at=at, updated_at=at, words=words
    )
    session.add(article)
    await session.commit()
    return article


async def update_article(
    session: AsyncSession,
    ident: int,
    data: ArticleData,
    *,
    at: datetime,
    words: dict[str, Any] | None = None,
) -> Article | None:
    """Replace an article's fields (and its word counts: ``words`` of the new text, or None)
    and commit; None when there is no such article. An archived article may be corrected
    too: it stays archived."""
    _aware("at", at)
    article = await session.get(Article, ident)
    if article is None:
        return None
    for name, value in _fields(data).items():
        setattr(article, name, value)
    article.words = words  # the old counts are of the old text
    article.updated_at = at
    await session.commit()
    return article


async def archive_article(session: AsyncSession, ident: int, *, at: datetime) -> Article | None:
    """Take an article out of search (archive it) and commit; archiving it again keeps the
    first time. None when there is no such article. Never deleted: tickets point at it."""
    _aware("at", at)
    article = await session.get(Article, ident)
    if article is None:
        return None
    if article.archived_at is None:
        article.archived_at = at
        article.updated_at = at
        await session.commit()
    return article


async def get_article(session: AsyncSession, ident: int) -> Article | None:
    return await session.get(Article, ident)


async def list_articles(
    session: AsyncSession, *, include_archived: bool = False, limit: int = 100, after: int = 0
) -> list[Article]:
    """Articles by id, from the first after ``after`` (paging), at most ``limit``."""
    stmt = select(Article).where(Article.id > after).order_by(Article.id).limit(limit)
    if not include_archived:
        stmt = stmt.where(Article.archived_at.is_(None))
    return list((await session.scalars(stmt)).all())


async def searchable_articles(session: AsyncSession) -> list[Article]:
    """Every article not archived (whatever its validity window): what the index holds."""
    stmt = select(Article).where(Article.archived_at.is_(None)).order_by(Article.id)
    return list((await session.scalars(stmt)).all())


def _insert(session: AsyncSession) -> Any:
    return dialect_insert(session.get_bind().dialect.name)


async def load_starter_articles(
    session: AsyncSession, articles: Sequence[StarterArticle], *, at: datetime
) -> int:
    """Store the starter set when the table has no article at all, and commit; how many were
    stored (0: the table had articles). Idempotent, even for two processes starting at once
    on one database: each starter article is stored at most once (its unique key)."""
    _aware("at", at)
    if await session.scalar(select(func.count()).select_from(Article)):
        return 0
    rows = [
        {**_fields(a), "starter_key": a.key, "created_at": at, "updated_at": at} for a in articles
    ]
    if not rows:
        return 0
    stmt = _insert(session)(Article).on_conflict_do_nothing(index_elements=["starter_key"])
    result = await session.execute(stmt.returning(Article.id), rows)
    stored = len(result.all())
    await session.commit()
    return stored


async def record_helpful(
    session: AsyncSession, ticket_id: int, article_id: int, *, at: datetime
) -> bool:
    """Record that the article helped answer the ticket, and commit. True when recorded now,
    False when it already was (once per ticket and article). :class:`UnknownTicket` or
    :class:`UnknownArticle` (both ``LookupError``) when there is no such ticket or article."""
    _aware("at", at)
    if await session.get(Ticket, ticket_id) is None:
        raise UnknownTicket(f"no ticket with id {ticket_id}")
    if await session.get(Article, article_id) is None:
        raise UnknownArticle(f"no article {article_id}")
    stmt = (
        _insert(session)(TicketArticle)
        .values(ticket_id=ticket_id, article_id=article_id, at=at)
        .on_conflict_do_nothing(index_elements=["ticket_id", "article_id"])
    )
    result = await session.execute(stmt)
    await session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def helpful_articles(session: AsyncSession, ticket_id: int) -> list[tuple[Article, datetime]]:
    """The articles that helped on a ticket, with when each was recorded, oldest first."""
    stmt = (
        select(Article, TicketArticle.at)
        .join(TicketArticle, TicketArticle.article_id == Article.id)
        .where(TicketArticle.ticket_id == ticket_id)
        .order_by(TicketArticle.at, Article.id)
    )
    return [(a, when) for a, when in (await session.execute(stmt)).all()]
