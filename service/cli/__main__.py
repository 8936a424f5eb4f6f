"""``python -m service.cli``: the ashiwatch command."""

from service.cli import app

app()
