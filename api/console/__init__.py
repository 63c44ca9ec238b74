"""The pharmacist console at /console/: the rule catalogue (printable as the review sheet),
a try-out of any case with its trace drawn as a graph, and the override analytics.

Server-rendered Jinja2 templates with a little plain JavaScript (search as you type, tabs);
every asset (styles, script) is served from the package, nothing is fetched from elsewhere,
no build step. Read-only: the only forms sign in and try a case, which stores nothing.
Mounted as an application of its own, so that its session cookie and headers concern it
alone; the APIs' middlewares (limits, the check log) still wrap it. Who may open it:
api/console/session.py.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.console import session, views

# Nothing but the console's own files; no inline script, no framing, forms only to itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI) -> None:
    settings = app.state.cds_settings
    console = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    console.state.main = app
    console.include_router(views.router)
    console.mount("/static", StaticFiles(packages=[("api.console", "static")]), name="static")
    views.install_handlers(console)
    if settings.console_secret is not None:
        console.add_middleware(
            SessionMiddleware,
            secret_key=settings.console_secret.get_secret_value(),
            session_cookie=session.COOKIE,
            max_age=int(settings.console_session_hours * 3600),
            path="/console",
            same_site="strict",
            https_only=True,
        )
    console.add_middleware(SecurityHeaders)
    app.mount("/console", console)
