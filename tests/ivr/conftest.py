from __future__ import annotations

from datetime import UTC, datetime

import pytest

from config.settings import CONFIG_DIR
from ivr.menus import Menus, load_menus

# Monday 30 November 2026, 10:00 in Hangzhou (UTC+8): a working day, open hours.
OPEN_NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
# Sunday 29 November 2026, 23:00 in Hangzhou: closed.
CLOSED_NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def menus() -> Menus:
    return load_menus(CONFIG_DIR)
