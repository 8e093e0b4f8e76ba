"""The knowledge base's rules on the store (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from config.knowledge import ArticleData, load_starter
from config.settings import CONFIG_DIR
from knowledge import service
from knowledge.models import Article, TicketArticle
from tickets.db import make_engine, session_factory
from tickets.service import TicketDraft, create_tickets

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def data(title: str = "居住证办理", **kw) -> ArticleData:
    fields = {"body": "到居住地派出所办理。", "tags": ["居住证"], "department": "公安局"}
    return ArticleData(title=title, **{**fields, **kw})


async def a_ticket(session) -> int:
    draft = TicketDraft(
        linkedid="1795966595.1",
        call_uniqueid="1795966595.1",
        caller_num="13800000001",
        caller_name="张三",
        queue="hotline",
        seat="Local/8001@agents/n",
        joined_at=AT,
        answered_at=AT,
        ended_at=AT,
        kind="consultation",
        resolved_on_call=True,
    )
    (ticket,) = await create_tickets(session, [draft])
    return ticket.id


async def test_create_read_update_archive(session) -> None:
    a = await service.create_article(session, data(), at=AT, created_by="张主任")
    assert a.id >= 1 and a.created_at == AT and a.updated_at == AT and a.archived_at is None
    later = AT + timedelta(hours=1)
    window = {"valid_from": AT, "valid_to": AT + timedelta(days=30)}
    b = await service.update_article(
        session, a.id, data("居住证签注", tags=["签注", "签注"], **window), at=later
    )
    assert b is not None and b.title == "居住证签注" and b.tags == ["签注"]
    assert b.updated_at == later and b.created_at == AT and b.created_by == "张主任"
    session.expunge_all()
    stored = await service.get_article(session, a.id)
    assert stored is not None
    assert (stored.valid_from, stored.valid_to) == (AT, AT + timedelta(days=30))
    assert stored.valid_from.tzinfo is not None and stored.tags == ["签注"]

    archived = await service.archive_article(session, a.id, at=later + timedelta(hours=1))
    assert archived is not None and archived.archived_at == later + timedelta(hours=1)
    again = await service.archive_article(session, a.id, at=later + timedelta(hours=5))
    assert again is not None and again.archived_at == later + timedelta(hours=1)  # the first
    assert await service.searchable_articles(session) == []
    assert [x.id for x in await service.list_articles(session, include_archived=True)] == [a.id]
    assert await service.list_articles(session) == []


async def test_missing_articles_and_naive_times(session) -> None:
    assert await service.get_article(session, 999) is None
    assert await service.update_article(session, 999, data(), at=AT) is None
    assert await service.archive_article(session, 999, at=AT) is None
    with pytest.raises(ValueError, match="time zone"):
        await service.create_article(session, data(), at=datetime(2026, 11, 30))


async def test_list_pages_by_id(session) -> None:
    ids = [(await service.create_article(session, data(f"条目{i}"), at=AT)).id for i in range(5)]
    first = await service.list_articles(session, limit=2)
    rest = await service.list_articles(session, limit=10, after=first[-1].id)
    assert [a.id for a in first + rest] == ids


async def test_record_helpful_once_per_ticket_and_article(session) -> None:
    tid = await a_ticket(session)
    a = await service.create_article(session, data(), at=AT)
    b = await service.create_article(session, data("护照"), at=AT)
    assert await service.record_helpful(session, tid, a.id, at=AT) is True
    assert await service.record_helpful(session, tid, a.id, at=AT + timedelta(1)) is False
    assert await service.record_helpful(session, tid, b.id, at=AT + timedelta(2)) is True
    pairs = await service.helpful_articles(session, tid)
    assert [(x.id, when) for x, when in pairs] == [(a.id, AT), (b.id, AT + timedelta(2))]
    # An archived article stays linked to the ticket it helped.
    await service.archive_article(session, a.id, at=AT)
    assert len(await service.helpful_articles(session, tid)) == 2


async def test_record_helpful_names_what_is_missing_and_stores_nothing(session) -> None:
    tid = await a_ticket(session)
    a = await service.create_article(session, data(), at=AT)
    with pytest.raises(service.UnknownTicket):
        await service.record_helpful(session, tid + 100, a.id, at=AT)
    with pytest.raises(service.UnknownArticle):
        await service.record_helpful(session, tid, a.id + 100, at=AT)
    count = await session.scalar(select(func.count()).select_from(TicketArticle))
    assert count == 0


async def test_the_starter_set_loads_into_an_empty_table_once(session) -> None:
    starter = load_starter(CONFIG_DIR)
    assert len(starter) >= 60
    assert await service.load_starter_articles(session, starter, at=AT) == len(starter)
    assert await service.load_starter_articles(session, starter, at=AT) == 0
    keys = set((await session.scalars(select(Article.starter_key))).all())
    assert keys == {a.key for a in starter}
    flood = await session.scalar(select(Article).where(Article.starter_key == "flood-season"))
    assert flood is not None and flood.valid_from == datetime(2026, 4, 14, 16, 0, tzinfo=UTC)


async def test_a_table_with_articles_gets_no_starter_set(session) -> None:
    await service.create_article(session, data(), at=AT)
    assert await service.load_starter_articles(session, load_starter(CONFIG_DIR), at=AT) == 0


async def test_two_processes_loading_the_starter_set_at_once_store_it_once(migrated_url) -> None:
    starter = load_starter(CONFIG_DIR)
    engines = [make_engine(migrated_url) for _ in range(2)]
    try:

        async def load(engine) -> int:
            async with session_factory(engine)() as s:
                return await service.load_starter_articles(s, starter, at=AT)

        results = await asyncio.gather(*(load(e) for e in engines), return_exceptions=True)
        async with session_factory(engines[0])() as s:
            count = await s.scalar(select(func.count()).select_from(Article))
    finally:
        for e in engines:
            await e.dispose()
    assert count == len(starter)
    stored = [r for r in results if isinstance(r, int)]
    assert sum(stored) == len(starter), results
