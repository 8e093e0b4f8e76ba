"""The Chinese font the report's tests need (``scripts/install-cjk-font.sh`` installs one).

Without one they are skipped, saying why; with ``HOTLINE_REQUIRE_CJK_FONT=1`` (``.ci/run``)
a missing font fails them instead, so CI cannot pass on a report that draws empty boxes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metrics.report_render import FontMissing, cjk_font

REQUIRE_ENV = "HOTLINE_REQUIRE_CJK_FONT"


def font_or_skip() -> Path:
    """The font file, or the test skipped (failed under ``HOTLINE_REQUIRE_CJK_FONT``)."""
    try:
        return cjk_font()
    except FontMissing as e:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {e}", pytrace=False)
        pytest.skip(str(e))
