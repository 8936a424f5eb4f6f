"""FastAPI dependencies: the app's services, the current user, role checks."""

from __future__ import annotations

from typing import Annotated, Callable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.api.db import User
from service.api.security import PERMISSIONS, user_for_token
from service.api.state import Services

_bearer = HTTPBearer(auto_error=False)   # we answer 401 ourselves, with a clear message


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


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


def require(permission: str) -> Callable[..., User]:
    allowed = PERMISSIONS[permission]

    def check(user: Annotated[User, Depends(current_user)]) -> User:
        if user.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"role {user.role!r} may not do this "
                                f"(needs {' or '.join(sorted(allowed))})")
        return user
    return check
