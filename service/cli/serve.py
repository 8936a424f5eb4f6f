"""`ashiwatch serve`: the HTTP service (docs/service.md), with nothing else to start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from service.errors import fail


def data_option() -> Optional[Path]:
    return typer.Option(None, "--data", help="data folder (database, uploads); default "
                                             "$ASHIWATCH_DATA or ~/.local/share/ashiwatch")


def private_files() -> None:
    """Files this process makes are its user's alone (0600, folders 0700): uploads, pictures
    and videos of sessions are health data. The data folder, the database and the secrets
    file get their modes explicitly too (Settings.ensure_dirs, Database); this covers the rest
    (OpenCV's writers, upload files)."""
    os.umask(0o077)


def make_settings(data: Optional[Path], max_upload_mb: Optional[float] = None, **more):
    """Settings from the options; ``more``: other Settings fields given on the command line
    (None: the default)."""
    import math

    from service.api.settings import DEFAULT_MAX_UPLOAD_MB, Settings, default_data_dir
    data = data or default_data_dir()
    mb = DEFAULT_MAX_UPLOAD_MB if max_upload_mb is None else max_upload_mb
    if not (math.isfinite(mb) and mb > 0):
        raise fail(f"--max-upload-mb {mb}: must be positive")
    more = {k: v for k, v in more.items() if v is not None}
    for k, v in more.items():
        if isinstance(v, float) and not (math.isfinite(v) and v > 0):
            raise fail(f"--{k.replace('_', '-')} {v}: must be positive")
    settings = Settings(data_dir=data, max_upload_bytes=int(mb * 1024 * 1024), **more)
    try:
        settings.ensure_dirs()
    except OSError as e:
        raise fail(f"{data}: cannot create the data folder ({e.strerror})")
    return settings


def serve(
    data: Optional[Path] = data_option(),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8000, "--port", help="port to listen on"),
    max_upload_mb: Optional[float] = typer.Option(
        None, "--max-upload-mb", help="largest upload accepted, MiB (default 2048)"),
    job_timeout_s: Optional[float] = typer.Option(
        None, "--job-timeout-s", help="an audit running longer is stopped and failed "
                                      "(default 21600, 6 h)"),
    job_stall_s: Optional[float] = typer.Option(
        None, "--job-stall-s", help="an audit finishing no frame for this long is stopped "
                                    "and failed (default 120)"),
    upload_idle_s: Optional[float] = typer.Option(
        None, "--upload-idle-s", help="an upload whose body pauses longer is dropped, 408 "
                                      "(default 30)"),
    api_docs: bool = typer.Option(
        False, "--api-docs", help="serve the interactive API pages /docs and /redoc (off by "
                                  "default; /openapi.json is always served)"),
    jobs: str = typer.Option(
        "local", "--jobs", help="where audit jobs run: local (a process each) or ray (a Ray "
                                "task each; the scale extra, docs/scale.md)"),
    ray_address: Optional[str] = typer.Option(
        None, "--ray-address", help="with --jobs ray: join this running Ray cluster "
                                    "(default: RAY_ADDRESS, else a local Ray)"),
) -> None:
    """Run the service: audits of uploaded sessions and live alert feeds."""
    import socket

    import uvicorn

    from service.api.main import create_app
    if jobs not in ("local", "ray"):
        raise fail(f"--jobs {jobs}: choose local or ray")
    if ray_address and jobs != "ray":
        raise fail("--ray-address needs --jobs ray")
    private_files()
    settings = make_settings(data, max_upload_mb, job_timeout_s=job_timeout_s,
                             job_stall_s=job_stall_s, upload_idle_s=upload_idle_s,
                             api_docs=api_docs, jobs=jobs, ray_address=ray_address)
    if jobs == "ray":
        from service.scale import ScaleError, init_ray
        try:   # before the port is taken: a Ray that cannot start is one line, not a 500 later
            where, start_s = init_ray(1, ray_address)
        except ScaleError as e:
            raise fail(str(e))
        typer.echo(f"ashiwatch: audit jobs on {where} (started in {start_s:.1f} s)", err=True)
    # a clear line for a taken port, rather than uvicorn's traceback-ish exit
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        raise fail(f"{host}:{port}: cannot listen ({e.strerror})")
    typer.echo(f"ashiwatch: serving on http://{host}:{port} (data in {settings.data_dir})",
               err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info",
                timeout_graceful_shutdown=5)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
