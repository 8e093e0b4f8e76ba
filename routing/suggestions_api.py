"""Routing help over HTTP: ``POST /api/v1/routing/suggestions`` with ``{"text": ...}`` answers
the three matters of the catalogue the description most likely is, with their departments and,
for a matter decided by a court or an arbitration body, the flag and what to tell the citizen.

Who may ask is not decided here: ``make_router`` takes the ``reader`` dependency (an operator
or above) from the composition root, and a ``suggester`` callable that builds the suggester on
its first call (jieba's dictionary: half a second of CPU), which the route calls in a worker
thread so the event loop never waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints

from routing.suggestions import MAX_TEXT, Suggester, Suggestion

__all__ = ["SuggestionOut", "SuggestionsIn", "SuggestionsOut", "make_router", "suggestion_out"]

LIMIT = 3


class SuggestionsIn(BaseModel):
    text: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)
    ] = Field(description="The operator's description of the call, in Chinese.")


class SuggestionOut(BaseModel):
    matter: str = Field(description="The matter's name.")
    code: str = Field(description="The matter's code in the catalogue.")
    department: str = Field(description="The responsible department's Chinese name.")
    department_code: str
    score: float = Field(description="Relevance; comparable only within one answer.")
    limit_days: int = Field(description="The handling time limit in working days.")
    legal_route: str | None = Field(
        description="The legal route where one applies (labour_arbitration, litigation...)."
    )
    legal_route_name: str | None = Field(description="The legal route in Chinese (劳动仲裁).")
    flag: bool = Field(
        description="True when the route is litigation or arbitration: tell the citizen."
    )
    advice: str | None = Field(description="What to tell the citizen when flagged.")


class SuggestionsOut(BaseModel):
    suggestions: list[SuggestionOut]


def suggestion_out(s: Suggestion) -> SuggestionOut:
    route = s.matter.legal_route
    return SuggestionOut(
        matter=s.matter.name,
        code=s.matter.code,
        department=s.department,
        department_code=s.matter.department,
        score=s.score,
        limit_days=s.matter.limit_days,
        legal_route=route.value if route else None,
        legal_route_name=route.chinese if route else None,
        flag=s.flagged,
        advice=s.advice(),
    )


def make_router(suggester: Callable[[], Suggester], *, reader: Callable[..., Any]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/routing", tags=["routing"])

    @router.post("/suggestions", response_model=SuggestionsOut, dependencies=[Depends(reader)])
    async def suggestions(body: SuggestionsIn) -> SuggestionsOut:
        """The three matters that best fit the description, best first, with their
        departments; an empty list when no word of it is in the catalogue."""
        ranked = await asyncio.to_thread(lambda: suggester().suggest(body.text, LIMIT))
        return SuggestionsOut(suggestions=[suggestion_out(s) for s in ranked])

    return router
