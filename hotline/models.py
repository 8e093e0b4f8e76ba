"""Every table of the store, in one registry: the ``MetaData`` the migrations are compared with.

The store has one declarative base, :class:`tickets.db.Base` (tickets owns the store, its
connection and its Alembic chain). Each package that keeps tables declares them on that base
in its own ``models.py``; this module imports every one of them, so :data:`metadata` holds
every table whatever else was imported. It lives in the composition root because it is the
one place that may know every package: ``tickets.migrations`` cannot import ``ivr`` (a
package above it), so the registry is handed down to Alembic instead
(:func:`migrations_config`). A test checks that no ``models.py`` is missing here.

To write a new migration from the models (upgrade that database to head first, then review
the generated file by hand)::

    from alembic import command
    from hotline.models import migrations_config
    command.revision(migrations_config("sqlite:///var/dev.db"), "what changed", autogenerate=True)
"""

from __future__ import annotations

from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import URL

import agents.models
import ivr.models
import metrics.models
import tickets.models
from tickets.db import Base, alembic_config

__all__ = ["MODEL_MODULES", "metadata", "migrations_config"]

#: The modules whose tables make up the store (each declares them on ``tickets.db.Base``).
MODEL_MODULES = (tickets.models, ivr.models, metrics.models, agents.models)

#: Every table of the store.
metadata: MetaData = Base.metadata


def migrations_config(url: str | URL) -> Config:
    """Alembic's configuration for the store at ``url`` with every table as its target
    (autogenerate compares the database with :data:`metadata`)."""
    return alembic_config(url, metadata=metadata)
