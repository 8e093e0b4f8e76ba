"""At start the runtime loads the starter articles into an empty knowledge base (once) and
builds the search index off the event loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.knowledge import load_starter
from config.settings import CONFIG_DIR, Settings
from hotline.runtime import Runtime
from knowledge.models import Article
from pbx.simulator import SimulatorConfig

pytestmark = pytest.mark.e2e


def _runtime(url: str) -> Runtime:
    return Runtime(
        Settings(_env_file=None),
        database_url=url,
        simulation=SimulatorConfig(seats=2, speed=60.0, seed=3),
        agi_port=0,
    )


async def _count(rt: Runtime) -> int:
    assert rt.sessions is not None
    async with rt.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Article)) or 0)


async def test_starter_articles_once_and_the_index_warmed_at_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    expected = len(load_starter(CONFIG_DIR))
    for _ in range(2):  # the second start finds the articles there and adds none
        rt = _runtime(url)
        await rt.start()
        try:
            assert await _count(rt) == expected
            assert rt.knowledge.ready_now or rt.knowledge._task is not None  # warming
            # Started by start() in the background: ready() waits for that build.
            await asyncio.wait_for(rt.knowledge.ready(), 30)
            hits = await rt.knowledge.search("公积金怎么提取", datetime.now(UTC))
            assert hits and hits[0].article.title == "住房公积金提取条件与办理方式"
        finally:
            await rt.stop()
