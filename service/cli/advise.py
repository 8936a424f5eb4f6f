"""``ashiwatch advise``: where to mount the studio's camera (renders the studio; render extra)."""

from __future__ import annotations

from pathlib import Path

import typer

from service.errors import fail

INSTALL = ("the camera advisor renders the studio and needs the render extra and OSMesa: "
           "bash scripts/setup (uv sync --frozen --all-extras, apt-get install libosmesa6); "
           "see docs/rendered-scenes.md")


def _renderer_available() -> str | None:
    """None when anny and pyrender/OSMesa import; else why not."""
    try:
        import anny  # noqa: F401

        from samples.render.scene import _import_pyrender
        _import_pyrender()
    except Exception as e:  # noqa: BLE001 - any import failure means the extra is not usable
        return f"{type(e).__name__}: {e}".splitlines()[0]
    return None


def register(app: typer.Typer) -> None:
    @app.command()
    def advise(
        studio: Path = typer.Argument(..., help="studio file; its optional room: block describes "
                                                "the table, bars, ceiling and walls"),
        out: Path = typer.Option(Path("out/advise"), "--out", help="folder for the pictures "
                                 "(one per view, contact_sheet.png) and advice.json"),
        candidates: str = typer.Option("", "--candidates", help="comma-separated candidate "
                                       "names or name prefixes (default: all)"),
        engine: bool = typer.Option(True, "--engine/--no-engine",
                                    help="also check that the pose engine finds both people"),
        seed: int = typer.Option(0, help="bodies, skin, clothes and light of the rendered people"),
    ) -> None:
        """Render the studio from candidate camera places and rank them by what the safety core
        needs to see: the client's back, the therapist's feet and raised hands."""
        from samples.render.advise import (AdviseError, advise as run, candidate_places,
                                           load_room, select, table_text)
        names = [n.strip() for n in candidates.split(",") if n.strip()]
        try:
            room = load_room(studio)
            select(candidate_places(room), names)    # a bad name fails before any rendering
        except AdviseError as e:
            raise fail(str(e))
        why = _renderer_available()
        if why is not None:
            raise fail(f"{INSTALL} ({why})")
        typer.echo(f"rendering the studio from candidate camera places (writing {out}/)")
        try:
            results = run(room, out, names, engine, seed, log=typer.echo)
        except AdviseError as e:
            raise fail(str(e))
        typer.echo(table_text(results))
        best = results[0]
        typer.echo(f"best: {best.name} ({best.where}; lens {best.hfov_deg:.0f}° horizontal); "
                   f"its camera block (K, R, t) is in {out / 'advice.json'}; pictures: "
                   f"{out / 'contact_sheet.png'}")
