"""The index kept in step with the table: built once off the loop, writes during the build
replayed, archived articles out (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from config.knowledge import ArticleData
from knowledge import service
from knowledge.live import LiveIndex
from tickets.db import session_factory

AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def data(title: str) -> ArticleData:
    return ArticleData(title=title, body="说明。", tags=[], department="部门")


async def titles(live: LiveIndex, q: str) -> list[str]:
    return [h.article.title for h in await live.search(q, AT)]


async def test_built_on_first_search_from_the_table(engine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        await service.create_article(s, data("护照办理"), at=AT)
        archived = await service.create_article(s, data("护照旧规定"), at=AT)
        await service.archive_article(s, archived.id, at=AT)
    live = LiveIndex(lambda: sessions)
    assert not live.ready_now
    assert await titles(live, "护照") == ["护照办理"]
    assert live.ready_now and live.build_seconds is not None and live.load_seconds


async def test_writes_during_the_build_are_replayed_onto_it(engine) -> None:
    sessions = session_factory(engine)
    async with sessions() as s:
        old = await service.create_article(s, data("居住证办理"), at=AT)
    live = LiveIndex(lambda: sessions)
    live.warm()
    await asyncio.sleep(0)  # the build has started: it reads the table as it is now
    assert live._building and not live.ready_now
    async with sessions() as s:
        new = await service.create_article(s, data("居住证签注"), at=AT)
        live.changed(new)
        gone = await service.archive_article(s, old.id, at=AT)
        assert gone is not None
        live.changed(gone)
    assert await titles(live, "居住证") == ["居住证签注"]
    await live.stop()


async def test_changes_after_the_build_apply_at_once(engine) -> None:
    sessions = session_factory(engine)
    live = LiveIndex(lambda: sessions)
    assert await titles(live, "燃气") == []
    async with sessions() as s:
        a = await service.create_article(s, data("燃气停供"), at=AT)
        live.changed(a)
        assert await titles(live, "燃气") == ["燃气停供"]
        b = await service.update_article(s, a.id, data("燃气缴费"), at=AT)
        assert b is not None
        live.changed(b)
        assert await titles(live, "停供") == [] and await titles(live, "缴费") == ["燃气缴费"]


async def test_articles_written_through_the_api_carry_their_words(engine, monkeypatch) -> None:
    import knowledge.stored_words as stored

    sessions = session_factory(engine)
    live = LiveIndex(lambda: sessions)
    body = data("港澳通行证签注")
    words = await live.words_of(body)
    assert words["version"] == stored.VERSION and words["title"]["港澳"] == 1
    async with sessions() as s:
        a = await service.create_article(s, body, at=AT, words=words)
        await service.create_article(s, data("护照办理"), at=AT)  # no words: segmented
        b = await service.update_article(s, a.id, body, at=AT)  # new text, words not given
        assert b is not None and b.words is None
        await service.update_article(s, a.id, body, at=AT, words=words)
    segmented: list[str] = []
    real = stored.prepare
    monkeypatch.setattr(stored, "prepare", lambda art: segmented.append(art.title) or real(art))
    assert await titles(live, "签注") == ["港澳通行证签注"]
    assert segmented == ["护照办理"]  # the stored words were used for the other one


def test_stored_words_of_another_version_or_malformed_are_recomputed() -> None:
    from knowledge.index import IndexedArticle, prepare
    from knowledge.stored_words import prepared, to_stored

    article = IndexedArticle(1, "燃气停供", "燃气企业通知。", ("停气",), "部门")
    words = to_stored(prepare(article))
    assert prepared(article, words).counts == prepare(article).counts
    for bad in (None, [], {**words, "version": "jieba 0.1; rules 0"}, {**words, "body": "x"}):
        assert prepared(article, bad).counts == prepare(article).counts


async def test_a_build_that_fails_says_so_and_the_next_search_tries_again(engine) -> None:
    from knowledge.live import IndexUnavailable

    sessions = session_factory(engine)
    available = False
    live = LiveIndex(lambda: sessions if available else None)
    try:
        await live.search("护照", AT)
    except IndexUnavailable as e:
        assert "not open yet" in str(e)
    else:
        raise AssertionError("expected IndexUnavailable")
    available = True
    assert await live.search("护照", AT) == []
