"""Which rows of the shared ``queue_log`` table are one centre's, as a SQL condition.

Every centre's Asterisk may write the one ``queue_log`` table (res_config_pgsql, one
database for the platform); the table has no column naming the Asterisk. With ``systemname``
set (pbx/asterisk/asterisk.conf) every callid Asterisk writes is ``<systemname>-<epoch>.<n>``,
and the systemname is the centre's code: :func:`config.centres.owns_callid` is the rule,
this is the same rule in SQL (the backfill and the call history read a centre's rows with
it). An Asterisk without a systemname writes ``<epoch>.<n>`` (a digit first): those rows are
the default centre's, so a single-centre site reads every row it always read. Rows without a
call (``callid`` ``NONE``: a queue's member added, a restart) name no centre: the default
centre reads them (:func:`config.centres.reads_row`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.sql.elements import ColumnElement

from config.centres import CODE, DEFAULT_CENTRE

__all__ = ["centre_rows"]


def centre_rows(callid: ColumnElement[Any], centre: str) -> ColumnElement[bool]:
    """The condition on a ``callid`` column that :func:`config.centres.reads_row` is in
    Python. ``centre`` is a checked code (letters and digits: no LIKE wildcard in it)."""
    if not CODE.match(centre):
        raise ValueError(f"centre: {centre!r} is not a centre code (config/centres.yaml)")
    own = callid.like(centre + "-%")
    if centre != DEFAULT_CENTRE:
        return own
    first = func.substr(callid, 1, 1)
    nameless = or_(callid.is_(None), callid.in_(("NONE", "")))
    return or_(own, and_(first >= "0", first <= "9"), nameless)
