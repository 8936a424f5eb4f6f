"""`ashiwatch exercises` and `ashiwatch score`: trainee scoring (docs/scoring.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from service.cli.audit import AuditInputError, AuditRun, _load_inputs
from service.cli.serve import data_option, make_settings
from service.api.scores import store_score, user_dirs
from service.errors import fail


def _exercises_option():
    return typer.Option(None, "--exercises", help="a folder of your own exercise files "
                                                  "(*.yaml); may be given more than once")


def _library(data: Optional[Path], dirs: Optional[list[Path]]):
    from vision.scoring.exercises import ExerciseError, library
    try:
        return library(user_dirs(data, dirs))
    except ExerciseError as e:
        raise fail(str(e))


def exercises(
    dirs: Optional[list[Path]] = _exercises_option(),
    as_json: bool = typer.Option(False, "--json", help="print the library as JSON"),
    data: Optional[Path] = data_option(),
) -> None:
    """List the exercise library: name, title, targets, hands, tempo."""
    lib = _library(data, dirs)
    if as_json:
        typer.echo(json.dumps([ex.model_dump() | {"source": ex.source} for ex in lib.values()],
                              indent=1))
        return
    from vision.scoring.exercises import LIBRARY_DIR
    for ex in sorted(lib.values(), key=lambda e: e.name):
        lo, hi = ex.tempo.steps_per_min
        own = "" if Path(ex.source).parent == LIBRARY_DIR else f"  [{ex.source}]"
        typer.echo(f"{ex.name}: {ex.title}{own}")
        typer.echo(f"    strokes: {'; '.join(s.name for s in ex.strokes)}")
        typer.echo(f"    targets: {'; '.join(t.label for t in ex.targets)}")
        typer.echo(f"    avoid: {', '.join(ex.avoid)}; "
                   f"{'both hands' if ex.both_hands_on_bars else 'at least one hand'} on the "
                   f"bars; tempo {lo:g}-{hi:g} steps/min")


def _report_from_json(path: Path):
    from pydantic import ValidationError

    from vision.safety.report import Report
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise fail(f"{path}: cannot read ({e.strerror})")
    except UnicodeDecodeError:
        raise fail(f"{path}: not a text file (expected an audit report, a pose track or a video)")
    try:
        return Report.model_validate_json(text)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "document"
        raise fail(f"{path}: not an audit report ({where}: {first.get('msg')})")


def _audit(input: Path, studio: Optional[Path], client: Optional[Path], model: Optional[str]):
    """The audit report of a pose track or a video (as `ashiwatch audit` makes it)."""
    st, prof = _load_inputs(studio, client)
    try:
        return AuditRun(input, st, prof, model).run()[0]
    except AuditInputError as e:
        raise fail(str(e))


def score(
    input: Path = typer.Argument(..., help="a pose track (.jsonl), a video, or an audit "
                                           "report (.json) from `ashiwatch audit --out`"),
    exercise: str = typer.Option(..., "--exercise", help="exercise name (`ashiwatch "
                                                         "exercises`) or an exercise file"),
    trainee: str = typer.Option(..., "--trainee", help="who did the exercise"),
    studio: Optional[Path] = typer.Option(None, "--studio", help="studio file (bars, table)"),
    client: Optional[Path] = typer.Option(None, "--client", help="client profile"),
    as_json: bool = typer.Option(False, "--json", help='print {"score", "parts", "reasons"}'),
    dirs: Optional[list[Path]] = _exercises_option(),
    data: Optional[Path] = data_option(),
    store: bool = typer.Option(True, "--store/--no-store",
                               help="keep the score in the service's database (default)"),
    model: Optional[str] = typer.Option(None, "--model", help="pose model for video input: lite, full or heavy (default: heavy)"),
) -> None:
    """Score a trainee's recorded exercise from 0 to 100, with a sentence for each lost point."""
    from vision.scoring.exercises import ExerciseError, find_exercise
    from vision.scoring.score import format_score, score_report
    name = trainee.strip()
    if not name or len(name) > 100 or any(c in name for c in "/\\\n\r\t"):
        raise fail(f"--trainee {trainee!r}: give a name of 1 to 100 characters without "
                   "slashes or line breaks")
    if model is not None and model not in ("lite", "full", "heavy"):
        raise fail(f"--model {model}: choose lite, full or heavy")
    try:    # the exercise first: a typo must not cost a long audit
        ex = find_exercise(exercise, user_dirs(data, dirs))
    except ExerciseError as e:
        raise fail(str(e))
    if not input.exists():
        raise fail(f"{input}: no such file")
    if input.suffix.lower() == ".json":
        report = _report_from_json(input)
    else:
        report = _audit(input, studio, client, model)
    sc = score_report(report, ex, trainee=name)
    if store:
        from service.api.db import Database
        settings = make_settings(data)
        db = Database(settings.db_path)
        try:
            row = store_score(db, sc)
        finally:
            db.dispose()
        typer.echo(f"stored as score {row} of trainee {name!r} in {settings.db_path}", err=True)
    if as_json:
        typer.echo(sc.model_dump_json(indent=1))
    else:
        typer.echo(format_score(sc))


def register(app: typer.Typer) -> None:
    app.command("exercises")(exercises)
    app.command("score")(score)
