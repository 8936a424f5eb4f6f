"""The ``ashiwatch`` command. Each sub-command lives in ``service/cli/<name>.py`` and is
registered here; bad input ends in one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="ashiwatch: is this Ashiatsu step safe?")



@app.callback()
def main() -> None:
    """ashiwatch: watches Ashiatsu through a camera and says whether the steps are safe."""


# Modules of this package that define ``register(app)``.
COMMAND_MODULES = ["pose", "audit", "bench", "bench_latency", "demo", "advise", "serve", "user", "score", "batch"]

for _name in COMMAND_MODULES:
    importlib.import_module(f"service.cli.{_name}").register(app)



if __name__ == "__main__":
    app()
