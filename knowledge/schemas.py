"""The knowledge base's API shapes. An article's fields and their rules are
:class:`config.knowledge.ArticleData`'s, the same the starter file is checked against."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from config.knowledge import ArticleData

__all__ = ["ArticleIn", "ArticleOut", "HelpfulIn", "HelpfulOut", "SearchHit"]


class ArticleIn(ArticleData):
    """An article as an administrator writes it (POST, and PUT replacing every field)."""

    created_by: str | None = Field(
        default=None,
        max_length=100,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Who wrote it (until accounts say who is logged in); ignored by PUT.",
    )


class ArticleOut(BaseModel):
    id: int
    title: str
    body: str
    tags: list[str]
    department: str
    valid_from: datetime | None
    valid_to: datetime | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None = Field(description="When it was archived; null: in use.")
    starter_key: str | None = Field(description="Its key in config/knowledge.yaml, if from there.")


class SearchHit(BaseModel):
    id: int
    title: str
    department: str
    tags: list[str]
    score: float = Field(description="BM25F relevance: only the order means something.")
    snippet: str = Field(description="The start of the body.")


class HelpfulIn(BaseModel):
    ticket: str = Field(
        pattern=r"^[0-9]{8,20}$",
        description="The ticket's number (digits with a Luhn check digit).",
        examples=["00000018"],
    )


class HelpfulOut(BaseModel):
    ticket: str
    article_id: int
    title: str
    at: datetime = Field(description="When it was recorded as helpful.")
