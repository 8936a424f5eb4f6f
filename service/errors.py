"""One way to end a command on bad input: one line naming the input and the reason, exit 2."""

from __future__ import annotations

import typer


def fail(message: str) -> typer.Exit:
    """Print ``ashiwatch: error: MESSAGE`` to stderr and return the Exit to raise."""
    typer.echo(f"ashiwatch: error: {message}", err=True)
    return typer.Exit(code=2)
