"""`ashiwatch user add|list`: accounts of the service, made on the server's machine (the
first admin cannot be made over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from service.cli.serve import data_option, make_settings, private_files
from service.errors import fail

user_app = typer.Typer(no_args_is_help=True, help="service accounts")


@user_app.command("add")
def add(
    name: str = typer.Argument(..., help="user name"),
    role: str = typer.Option(..., "--role", help="admin | auditor | viewer"),
    data: Optional[Path] = data_option(),
) -> None:
    """Create a user and print its token, once (only its hash is stored)."""
    from service.api.db import Database
    from service.api.security import Role, UserExists, create_user
    if role not in {r.value for r in Role}:
        raise fail(f"--role {role!r}: choose admin, auditor or viewer")
    if not name.strip():
        raise fail("the user name is empty")
    private_files()
    settings = make_settings(data)
    db = Database(settings.db_path)
    try:
        user, token = create_user(db, name.strip(), Role(role))
    except UserExists as e:
        raise fail(str(e))
    finally:
        db.dispose()
    typer.echo(f"created {user.role} {user.name!r} (id {user.id}); its token, shown only now:",
               err=True)
    typer.echo(token)


@user_app.command("list")
def list_users(data: Optional[Path] = data_option()) -> None:
    """List users (never tokens)."""
    from sqlmodel import select

    from service.api.db import Database, User
    settings = make_settings(data)
    db = Database(settings.db_path)
    with db.session() as s:
        for u in s.exec(select(User).order_by(User.id)).all():
            typer.echo(f"{u.id}\t{u.name}\t{u.role}")
    db.dispose()


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
