"""The centre a database session writes as: each controller of the "1 + 7" platform opens
its sessions with its centre in ``Session.info`` (``tickets.db.session_factory``), so a row
that records who acted (an audit entry, a ticket's step) carries the centre without every
caller passing it. A session opened without one (the command line, a test) is the default
centre's, as a single-centre site always was.
"""

from __future__ import annotations

from typing import Any

from config.centres import DEFAULT_CENTRE

__all__ = ["INFO_KEY", "session_centre"]

#: The key of ``Session.info`` that holds the centre.
INFO_KEY = "centre"


def session_centre(session: Any) -> str:
    """The centre ``session`` (a Session or an AsyncSession) writes as."""
    info = getattr(session, "info", None) or {}
    centre = info.get(INFO_KEY, DEFAULT_CENTRE)
    return centre if isinstance(centre, str) else DEFAULT_CENTRE
