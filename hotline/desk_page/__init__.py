"""The reference operator desk, ``/desk``: one HTML page, its script and its style sheet,
served by the service itself (no build step, nothing from another host: an intranet has no
internet). The page is open; everything it does goes through the role-checked API.

Hand-written HTML and JavaScript rather than a front-end framework: it is a page to try the
desk with and to read as an example of the API, and a framework would bring a build step and
a tree of packages to vet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["PAGE_DIR", "add_desk_page"]

PAGE_DIR = Path(__file__).resolve().parent / "static"


def add_desk_page(app: FastAPI) -> None:
    """``GET /desk`` (the page) and ``/desk/*`` (``desk.js``, ``desk.css``: the files of
    ``static/``, nothing else of the package)."""

    @app.get("/desk", include_in_schema=False)
    async def desk() -> FileResponse:
        return FileResponse(PAGE_DIR / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/desk", StaticFiles(directory=PAGE_DIR), name="desk-page")
