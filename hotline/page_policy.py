"""The pages the service serves (``/docs``, ``/redoc``, ``/desk``) may load nothing from
another host: a ``Content-Security-Policy`` on each says so to the browser.

Why: a government intranet has no internet, and a page that reaches for a CDN shows blank or
broken there (and tells the CDN who is reading). Swagger UI and ReDoc are served from the
package (fastapi-offline), but ReDoc's side menu still shows Redocly's logo from
``cdn.redoc.ly``, with no option to turn it off; the policy stops that request, and any such
one a later version of either adds, before it leaves the machine.

A plain ASGI middleware rather than Starlette's ``BaseHTTPMiddleware``: it only adds a
header to the responses of a few paths, and must cost the API's other requests nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["POLICY", "SameOriginPages"]

#: Scripts and styles of the service only (the inline ones Swagger UI's page and ReDoc's
#: styled components need); images and fonts also as data: URLs; ReDoc's search worker from a
#: blob: URL; fetches and the desk's WebSocket to the service itself.
POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_HEADER = (b"content-security-policy", POLICY.encode())


class SameOriginPages:
    """Adds :data:`POLICY` to the answers of ``paths`` (and of what is under them)."""

    def __init__(self, app: Any, paths: tuple[str, ...]) -> None:
        self.app = app
        self.paths = paths

    def _ours(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.paths)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._ours(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), _HEADER]}
            await send(message)

        await self.app(scope, receive, with_policy)
