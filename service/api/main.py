"""The FastAPI app: routers, error shape, and the services started with it."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from service.api.camera_sources import redact
from service.api import openapi
from service.api.routers import audits, cameras, health, users
from service.api.routers import trainees
from service.api.settings import Settings
from service.api.state import Services


def _where(loc) -> str:
    return ".".join(str(p) for p in loc if p != "body") or "body"


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable line in ``detail`` (FastAPI's list stays in ``errors``)."""
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            parts.append(f"body is not valid JSON ({ctx.get('error', 'decode error')})")
        else:
            parts.append(f"{_where(err.get('loc', ()))}: {err.get('msg')}")
    errors = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
    return JSONResponse({"detail": "; ".join(parts), "errors": errors}, status_code=422)


async def _method_not_allowed(request: Request, exc) -> JSONResponse:
    """405 with an ``Allow`` that lists every method of the path, from the OpenAPI schema:
    Starlette names only the methods of the first route that matches, and GET and DELETE of
    one path are two routes here."""
    allowed: set[str] = set()
    for pattern, methods in _path_methods(request.app):
        if pattern.fullmatch(request.url.path):
            allowed |= methods
    if "GET" in allowed:
        allowed.add("HEAD")         # (Starlette answers HEAD wherever GET is)
    return JSONResponse({"detail": "Method Not Allowed"}, status_code=405,
                        headers={"Allow": ", ".join(sorted(allowed))})


def _path_methods(app) -> list[tuple[re.Pattern, set[str]]]:
    cached = getattr(app.state, "path_methods", None)
    if cached is None:
        cached = [(re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))),
                   {m.upper() for m in ops})
                  for path, ops in app.openapi()["paths"].items()]
        app.state.path_methods = cached
    return cached


STATIC = Path(__file__).resolve().parent / "static"
_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s]*")
_BARE_TOKEN = re.compile(r"\baw_[A-Za-z0-9_-]{16,}")     # security.new_token()


def redact_secrets(text: str) -> str:
    """``text`` without tokens (``?token=…`` of the feeds, or a bare ``aw_…``) and without
    the passwords of stream URLs."""
    return redact(_BARE_TOKEN.sub("aw_***", _TOKEN_IN_URL.sub(r"\1***", text)))


def _redact_arg(a):
    if a is None or isinstance(a, (int, float)):
        return a                    # (kept as they are: %d and the access log's status code)
    try:
        s = a if isinstance(a, str) else str(a)
    except Exception:
        return a
    r = redact_secrets(s)
    return a if r == s else r


def _redacted_record_factory(base):
    """Every log record, whatever its logger (uvicorn.access, uvicorn.error's "WebSocket
    /…?token=… [accepted]", ours, libraries'), loses its secrets when it is made: its message,
    its arguments and its traceback. A filter would have to be on every logger that logs,
    since a logger's filters do not see its children's records."""
    def make(*args, **kwargs) -> logging.LogRecord:
        record = base(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = redact_secrets(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # formatted now (Formatter.format uses exc_text when set), then redacted
            record.exc_text = redact_secrets(logging.Formatter().formatException(
                record.exc_info))
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return record
    make.redacts = True
    return make


def _redact_logs() -> None:
    base = logging.getLogRecordFactory()
    if not getattr(base, "redacts", False):      # once per process
        logging.setLogRecordFactory(_redacted_record_factory(base))


# Pages load only from the service itself: no inline script or style, no framing (a page of
# the service inside another site's frame could be clicked through), no referrer leaving it.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: "
            "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"x-frame-options", b"DENY")]
# FastAPI's /docs and /redoc load their scripts from a CDN: with --api-docs only, and left
# without the CSP that would refuse them
_API_DOC_PAGES = ("/docs", "/redoc")


class SecurityHeaders:
    """Every HTTP answer gets nosniff, no-referrer, no framing and a CSP (an answer that has
    its own CSP, the report page, gets frame-ancestors added to it). Pure ASGI, so that the
    streamed feeds pass through unbuffered."""

    def __init__(self, app, exempt: tuple[str, ...] = ()) -> None:
        self.app, self.exempt = app, exempt

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in (b"x-frame-options",)]
                csp = [v for k, v in headers if k.lower() == b"content-security-policy"]
                if csp:
                    if b"frame-ancestors" not in csp[0]:
                        headers = [(k, v + b"; frame-ancestors 'none'"
                                    if k.lower() == b"content-security-policy" else v)
                                   for k, v in headers]
                else:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings) -> FastAPI:
    services = Services.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.start()
        try:
            yield
        finally:
            services.stop()

    docs = settings.api_docs
    app = FastAPI(title="ashiwatch", lifespan=lifespan,
                  description="Audits of Ashiatsu sessions and live step-safety alerts.",
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None)
    app.state.services = services
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(405, _method_not_allowed)
    for r in (health.router, users.router, audits.router, cameras.router, trainees.router):
        app.include_router(r)
    openapi.install(app)
    _redact_logs()
    app.add_middleware(SecurityHeaders, exempt=_API_DOC_PAGES if docs else ())
    # the dashboard: static files, no build step (docs/service.md)
    app.mount("/dashboard", StaticFiles(directory=STATIC, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")
    return app
