"""The knowledge base's tables: the articles, and which article helped on which ticket.

Declared on the store's base (``tickets.db.Base``) and listed in ``hotline.models``, so the one
Alembic chain creates them. The link table refers to ``tickets.id`` by name: knowing that a
ticket was helped needs no change to the ticket's own table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tickets.db import Base, UTCDateTime

__all__ = ["Article", "TicketArticle"]


class Article(Base):
    """One article (知识库条目). It is searchable while it is not archived and ``valid_from
    <= t < valid_to`` (a null bound is open). Articles are archived, never deleted: tickets
    keep pointing at the ones that helped."""

    __tablename__ = "kb_articles"
    __table_args__ = ({"sqlite_autoincrement": True},)
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: A JSON list of strings.
    tags: Mapped[list[str]] = mapped_column(JSON)
    #: The owning department's name (the departments' catalogue comes later).
    department: Mapped[str] = mapped_column(String(100), index=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The key of the starter article (``config/knowledge.yaml``) it was loaded from; null for
    #: articles written through the API. Unique: loading the starter set twice adds nothing.
    starter_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())
    #: When it was archived (taken out of search); null while it is in use.
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Its word counts per field, as the search index files them, with the tokenizer's
    #: version (``knowledge.stored_words``); null: not computed yet (the starter set).
    words: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def __repr__(self) -> str:
        return f"Article(id={self.id!r}, title={self.title!r})"


class TicketArticle(Base):
    """An article that helped answer a ticket (the operator said so), once per pair."""

    __tablename__ = "ticket_articles"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("kb_articles.id"), primary_key=True, index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
