"""Accounts (admin). `ashiwatch user add` makes the first admin; admins make the others here."""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from sqlmodel import select

from service.api.db import User
from service.api.deps import RowId, ServicesDep, delete_or_404, require
from service.api.openapi import errors
from service.api.schemas import UserCreated, UserIn, UserOut
from service.api.security import UserExists, create_user

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[User, Depends(require("users"))]


def _out(u: User) -> UserOut:
    return UserOut(id=u.id, name=u.name, role=u.role, created=u.created)


@router.post("", status_code=201, response_model=UserCreated, responses=errors(409))
def add_user(body: UserIn, services: ServicesDep, _: Admin) -> UserCreated:
    try:
        user, token = create_user(services.db, body.name, body.role)
    except UserExists as e:
        raise HTTPException(409, str(e))
    return UserCreated(**_out(user).model_dump(), token=token)


@router.get("", response_model=list[UserOut])
def list_users(services: ServicesDep, _: Admin) -> list[UserOut]:
    with services.db.session() as s:
        return [_out(u) for u in s.exec(select(User).order_by(User.id)).all()]


@router.delete("/{user_id}", status_code=204, responses=errors(409))
def delete_user(user_id: RowId, services: ServicesDep, me: Admin) -> Response:
    if user_id == me.id:
        raise HTTPException(409, "an admin cannot delete their own account")
    delete_or_404(services, User, user_id, f"user {user_id}")
    services.hub.forget_user(user_id)     # the feeds it has open end now
    return Response(status_code=204)
