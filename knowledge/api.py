"""Knowledge base API (``/api/v1/knowledge``): operators search it during a call and say which
article helped on a ticket; administrators write and archive articles.

Who may do what is not decided here: ``make_router`` takes two FastAPI dependencies, ``reader``
(search, read, record a helpful article) and ``admin`` (write, archive), which the
composition root gives (accounts and roles live there). Errors are problem details (the app's
handlers turn ``HTTPException`` and validation errors into ``application/problem+json``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi import Path as FastApiPath
from pydantic import AwareDatetime

from knowledge import service
from knowledge.live import IndexUnavailable, LiveIndex
from knowledge.models import Article
from knowledge.schemas import ArticleIn, ArticleOut, HelpfulIn, HelpfulOut, SearchHit
from tickets.numbers import is_valid, ticket_id

__all__ = ["make_router"]

NOT_FOUND = {404: {"description": "No article with this id."}}
#: The largest id of a row (32-bit integer keys on PostgreSQL).
MAX_ID = 2**31 - 1
SNIPPET_CHARS = 80
#: An article's id: the table's integer key (32 bits on PostgreSQL).
Ident = Annotated[int, FastApiPath(ge=1, le=MAX_ID, description="The article's id.")]
TicketNumber = Annotated[
    str, FastApiPath(pattern=r"^[0-9]{8,20}$", description="The ticket's number.")
]


def _out(a: Article) -> ArticleOut:
    return ArticleOut(
        id=a.id,
        title=a.title,
        body=a.body,
        tags=list(a.tags),
        department=a.department,
        valid_from=a.valid_from,
        valid_to=a.valid_to,
        created_by=a.created_by,
        created_at=a.created_at,
        updated_at=a.updated_at,
        archived_at=a.archived_at,
        starter_key=a.starter_key,
    )


def _ticket_id(number: str) -> int:
    if not is_valid(number):
        raise HTTPException(422, f"{number!r} is not a ticket number: its check digit is wrong")
    return ticket_id(number)


def make_router(
    runtime: Any, *, reader: Callable[..., Any], admin: Callable[..., Any]
) -> APIRouter:
    """Routes on ``runtime.sessions`` (an ``async_sessionmaker``), ``runtime.now()`` (epoch
    seconds) and ``runtime.knowledge`` (a :class:`LiveIndex`; one is made on the runtime's
    sessions when it has none)."""
    router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
    can_read = [Depends(reader)]
    can_write = [Depends(admin)]
    live: LiveIndex | None = getattr(runtime, "knowledge", None)
    if live is None:
        live = LiveIndex(lambda: runtime.sessions)

    def now() -> datetime:
        return datetime.fromtimestamp(runtime.now(), UTC)

    @router.get(
        "/search",
        response_model=list[SearchHit],
        dependencies=can_read,
        responses={503: {"description": "The index is not built: the database did not answer."}},
    )
    async def search(
        q: str = Query(min_length=1, max_length=200, description="What the caller asks."),
        limit: int = Query(10, ge=1, le=50),
        at: Annotated[
            AwareDatetime | None,
            Query(description="Search as at this moment (validity windows); default now."),
        ] = None,
    ) -> list[SearchHit]:
        """Articles valid now (or ``at``), best first by BM25F (title over tags over body)."""
        try:
            hits = await live.search(q, now() if at is None else at, limit)
        except IndexUnavailable as e:
            raise HTTPException(503, str(e)) from None
        return [
            SearchHit(
                id=h.article.id,
                title=h.article.title,
                department=h.article.department,
                tags=list(h.article.tags),
                score=round(h.score, 4),
                snippet=h.article.body[:SNIPPET_CHARS],
            )
            for h in hits
        ]

    @router.get("/articles", response_model=list[ArticleOut], dependencies=can_write)
    async def list_(
        include_archived: bool = Query(False, description="Also list archived articles."),
        after: int = Query(0, ge=0, le=MAX_ID, description="Only ids above this (paging)."),
        limit: int = Query(100, ge=1, le=500),
    ) -> list[ArticleOut]:
        """Articles by id, for administration."""
        async with runtime.sessions() as session:
            rows = await service.list_articles(
                session, include_archived=include_archived, limit=limit, after=after
            )
        return [_out(a) for a in rows]

    @router.get(
        "/articles/{ident}", response_model=ArticleOut, responses=NOT_FOUND, dependencies=can_read
    )
    async def get(ident: Ident) -> ArticleOut:
        """One article, archived ones too."""
        async with runtime.sessions() as session:
            a = await service.get_article(session, ident)
        if a is None:
            raise HTTPException(404, f"no article {ident}")
        return _out(a)

    @router.post(
        "/articles",
        status_code=201,
        response_model=ArticleOut,
        dependencies=can_write,
        responses={422: {"description": "A field is invalid (valid_to not after valid_from)."}},
    )
    async def create(body: ArticleIn) -> ArticleOut:
        """Write a new article; it is searchable at once (within its validity window)."""
        words = await live.words_of(body)  # before the transaction: it is all or nothing
        async with runtime.sessions() as session:
            a = await service.create_article(
                session, body, at=now(), created_by=body.created_by, words=words
            )
        live.changed(a)
        return _out(a)

    @router.put(
        "/articles/{ident}",
        response_model=ArticleOut,
        dependencies=can_write,
        responses={
            **NOT_FOUND,
            422: {"description": "A field is invalid (valid_to not after valid_from)."},
        },
    )
    async def replace(ident: Ident, body: ArticleIn) -> ArticleOut:
        """Replace an article's fields (an archived one stays archived)."""
        words = await live.words_of(body)
        async with runtime.sessions() as session:
            a = await service.update_article(session, ident, body, at=now(), words=words)
        if a is None:
            raise HTTPException(404, f"no article {ident}")
        live.changed(a)
        return _out(a)

    @router.delete(
        "/articles/{ident}", status_code=204, responses=NOT_FOUND, dependencies=can_write
    )
    async def archive(ident: Ident) -> Response:
        """Archive an article: out of search, still readable, still linked to its tickets."""
        async with runtime.sessions() as session:
            a = await service.archive_article(session, ident, at=now())
        if a is None:
            raise HTTPException(404, f"no article {ident}")
        live.changed(a)
        return Response(status_code=204)

    @router.post(
        "/articles/{ident}/helpful",
        status_code=201,
        response_model=HelpfulOut,
        dependencies=can_read,
        responses={
            200: {"model": HelpfulOut, "description": "It was already recorded: nothing new."},
            404: {"description": "No article with this id, or no ticket with this number."},
            422: {"description": "Invalid request, or the ticket number's check digit is wrong."},
        },
    )
    async def helpful(ident: Ident, body: HelpfulIn, response: Response) -> HelpfulOut:
        """Record that this article helped answer the ticket (once; 200 when it already was)."""
        tid = _ticket_id(body.ticket)
        if tid > MAX_ID:
            raise HTTPException(404, f"no ticket {body.ticket}")
        async with runtime.sessions() as session:
            try:
                recorded = await service.record_helpful(session, tid, ident, at=now())
            except service.UnknownTicket:
                raise HTTPException(404, f"no ticket {body.ticket}") from None
            except service.UnknownArticle:
                raise HTTPException(404, f"no article {ident}") from None
            pairs = await service.helpful_articles(session, tid)
        if not recorded:
            response.status_code = 200
        article, when = next((a, w) for a, w in pairs if a.id == ident)
        return HelpfulOut(ticket=body.ticket, article_id=ident, title=article.title, at=when)

    @router.get(
        "/tickets/{number}/articles",
        response_model=list[HelpfulOut],
        dependencies=can_read,
        responses={422: {"description": "The ticket number's check digit is wrong."}},
    )
    async def helped(number: TicketNumber) -> list[HelpfulOut]:
        """The articles recorded as helpful on a ticket, oldest first (none: an empty list)."""
        tid = _ticket_id(number)
        if tid > MAX_ID:
            return []
        async with runtime.sessions() as session:
            pairs = await service.helpful_articles(session, tid)
        return [
            HelpfulOut(ticket=number, article_id=a.id, title=a.title, at=when) for a, when in pairs
        ]

    return router
