"""The OpenAPI schema as the service really answers: every error code each operation can
give, all with one body (``ErrorOut``), and the upload's multipart body. FastAPI documents a
route's success and its 422 only; the rest is added here, from the routes' dependencies (a
token: 401/403, a path id: 404, any input: 422) and what a route declares itself
(``responses=errors(409)``). Checked against the running server by schemathesis
(tests/test_service_schema.py)."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.api.schemas import ErrorOut

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def errors(*codes: int) -> dict:
    """``responses=`` for a route's own error codes (their body: ErrorOut)."""
    return {c: {"model": ErrorOut, "description": HTTPStatus(c).phrase} for c in codes}


def _error(code: int) -> dict:
    return {"description": HTTPStatus(code).phrase,
            "content": {"application/json": {"schema": ERROR_REF}}}


def _complete(schema: dict) -> dict:
    for path, ops in schema["paths"].items():
        for op in ops.values():
            responses = op.setdefault("responses", {})
            codes = set()
            if op.get("security"):
                codes |= {401, 403}
            if "{" in path:
                codes.add(404)
            if op.get("parameters") or op.get("requestBody"):
                codes.add(422)
            if op.get("requestBody"):
                codes.add(400)     # a body that is not even text ("error parsing the body")
            for c in codes:
                responses.setdefault(str(c), _error(c))
            for c, r in responses.items():
                if c.isdigit() and int(c) >= 400:    # FastAPI's 422 has its own body: ours
                    r["content"] = {"application/json": {"schema": ERROR_REF}}
    comps = schema.get("components", {}).get("schemas", {})
    for gone in ("HTTPValidationError", "ValidationError"):
        comps.pop(gone, None)
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _complete(get_openapi(
                title=app.title, version=app.version, description=app.description,
                routes=app.routes))
        return app.openapi_schema
    app.openapi = openapi


# POST /audits reads its body itself (service.api.upload), so FastAPI cannot see it
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "a video or a pose track (docs/pose-track.md), recognised "
                                "by content; at most --max-upload-mb"},
        "studio": {"type": "string", "description": "studio YAML text (docs/studio.md)"},
        "client": {"type": "string", "description": "client profile YAML text"},
        "keep": {"type": "string", "enum": ["true", "false"],
                 "description": "keep the upload after the audit"},
        "annotate": {"type": "string", "enum": ["true", "false"],
                     "description": "also make the annotated video"},
    }}}}}}
