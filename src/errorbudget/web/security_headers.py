"""Security headers on every response (docs/dashboard.md "Security headers").

- ``Content-Security-Policy``: the dashboard loads its own script and stylesheet from
  ``/static`` and nothing else — no inline script or style, no other host, no framing
  (``frame-ancestors 'none'``), no plugins, forms only to this server. A route that needs
  another policy sets its own (``/docs`` and ``/redoc``: their bundles boot from an inline
  script, see ``docs_ui``), which is kept.
- ``X-Content-Type-Options: nosniff``: a JSON answer is never run as a script.
- ``Referrer-Policy: no-referrer``: no dashboard URL (SLO names, segments) leaks in links.
- ``X-Frame-Options: DENY``: framing refused by browsers that predate ``frame-ancestors``.

An exception that escapes a route is answered by Starlette's outermost error middleware,
outside every other middleware: :func:`internal_error` gives that answer the headers too (a
JSON 500 that names no internals; the traceback goes to the log, as before).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class SecurityHeaders:
    """Adds :data:`HEADERS` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """The answer to an exception no route handled: 500, with :data:`HEADERS`."""
    return JSONResponse(
        {"detail": "internal error: the server's log has the details"},
        status_code=500,
        headers=HEADERS,
    )
