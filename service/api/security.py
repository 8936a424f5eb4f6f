"""Accounts and tokens: a random token shown once, its sha256 stored; roles checked per route."""

from __future__ import annotations

import hashlib
import secrets
from enum import Enum

from sqlmodel import select

from service.api.db import Database, User


class Role(str, Enum):
    admin = "admin"
    auditor = "auditor"
    viewer = "viewer"


# Which roles may do what. Admin may do everything (it manages the others); auditors upload
# and read audits and may watch feeds; viewers only watch.
PERMISSIONS: dict[str, set[str]] = {
    "users": {"admin"},
    "cameras:manage": {"admin"},
    "audits": {"admin", "auditor"},
    "cameras:watch": {"admin", "auditor", "viewer"},
}


def hash_token(token: str) -> str:
    # a 256-bit random token needs no slow hash: nothing to brute-force
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "aw_" + secrets.token_urlsafe(32)


class UserExists(ValueError):
    pass


def create_user(db: Database, name: str, role: Role) -> tuple[User, str]:
    """Create a user; returns it and its token (the only time the token exists in clear)."""
    token = new_token()
    with db.session() as s:
        if s.exec(select(User).where(User.name == name)).first() is not None:
            raise UserExists(f"user {name!r} already exists")
        user = User(name=name, role=Role(role).value, token_hash=hash_token(token))
        s.add(user)
        s.commit()
        s.refresh(user)
    return user, token


def user_for_token(db: Database, token: str | None) -> User | None:
    if not token:
        return None
    with db.session() as s:
        return s.exec(select(User).where(User.token_hash == hash_token(token))).first()
