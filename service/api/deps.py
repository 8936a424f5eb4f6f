"""FastAPI dependencies: the app's services, the current user, role checks."""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.db import User
from service.api.security import PERMISSIONS, user_for_token
from service.api.state import Services

_bearer = HTTPBearer(auto_error=False)   # we answer 401 ourselves, with a clear message


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]

# SQLite's integers are 64-bit signed: an id beyond them is no row, and is refused (422)
# before it reaches the database (where it would be an OverflowError, a 500)
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id (1 .. 2^63-1)")]
EventAfter = Annotated[int | None, Query(ge=0, le=MAX_ID,
                                         description="same as Last-Event-ID")]


def get_or_404(services: Services, model: type, key, what: str):
    """The row of ``model`` with primary key ``key``, or a 404 naming ``what``."""
    with services.db.session() as s:
        row = s.get(model, key)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
    return row


def get_job(services: Services, job_id: str, user: User):
    """The audit ``job_id`` if ``user`` may see it: auditors see their own audits, admins
    all of them (docs/service.md, Ownership); else 404, not 403, since another's audit is
    not even said to exist."""
    from service.api.db import Job
    job = get_or_404(services, Job, job_id, f"audit {job_id!r}")
    if user.role != "admin" and (job.owner_id is None or job.owner_id != user.id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no audit {job_id!r}")
    return job


def delete_or_404(services: Services, model: type, key, what: str):
    """Delete the row of ``model`` with primary key ``key`` and return it, or a 404."""
    with services.db.session() as s:
        row = s.get(model, key)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {what}")
        s.delete(row)
        s.commit()
    return row


def _unauthorized(msg: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, msg,
                         headers={"WWW-Authenticate": "Bearer"})


def current_user(services: ServicesDep,
                 cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> User:
    if cred is None:
        raise _unauthorized("missing token: send 'Authorization: Bearer TOKEN'")
    user = user_for_token(services.db, cred.credentials)
    if user is None:
        raise _unauthorized("invalid token")
    return user


def current_user_or_query(
        services: ServicesDep,
        cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        token: Annotated[str | None, Query(description="the token, for clients that cannot "
                                                       "set headers (EventSource)")] = None,
) -> User:
    """The header's token, else ``?token=``: for event streams only, since a browser's
    EventSource cannot set headers (as for the WebSocket). Not accepted elsewhere: a URL with
    a token ends up in histories and logs."""
    if cred is not None:
        return current_user(services, cred)
    if not token:
        raise _unauthorized("missing token: send 'Authorization: Bearer TOKEN' or ?token=TOKEN")
    user = user_for_token(services.db, token)
    if user is None:
        raise _unauthorized("invalid token")
    return user


def require(permission: str, query_token: bool = False) -> Callable[..., User]:
    """A role check; ``query_token``: also take the token as ``?token=`` (event streams)."""
    allowed = PERMISSIONS[permission]
    who = current_user_or_query if query_token else current_user

    # (a default, not Annotated: with postponed annotations a local name cannot be resolved)
    def check(user: User = Depends(who)) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {user.role!r} may not do this "
                                f"(needs {' or '.join(sorted(allowed))})")
        return user
    return check
