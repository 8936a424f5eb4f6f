"""The FastAPI app: routers, error shape, and the services started with it."""

from __future__ import annotations

import logging
import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

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


STATIC = Path(__file__).resolve().parent / "static"
_TOKEN_IN_URL = re.compile(r"([?&]token=)[^&\s]*")


class _RedactTokens(logging.Filter):
    """Access-log lines must not carry the ?token= of event streams and WebSockets."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def create_app(settings: Settings) -> FastAPI:
    services = Services.create(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services.start()
        try:
            yield
        finally:
            services.stop()

    app = FastAPI(title="ashiwatch", lifespan=lifespan,
                  description="Audits of Ashiatsu sessions and live step-safety alerts.")
    app.state.services = services
    app.add_exception_handler(RequestValidationError, _validation_error)
    for r in (health.router, users.router, audits.router, cameras.router, trainees.router):
        app.include_router(r)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _RedactTokens) for f in access.filters):
        access.addFilter(_RedactTokens())
    # the dashboard: static files, no build step (docs/service.md)
    app.mount("/dashboard", StaticFiles(directory=STATIC, html=True), name="dashboard")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")
    return app
