"""``ashiwatch bench``: speed figures of the pose engine (a benchmark, not a test)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(
        model: str = typer.Option("full", help="landmark model: lite, full or heavy"),
        frames_per_cam: int = typer.Option(100, help="frames from each of the 4 two-person clips"),
        mediapipe_python: Optional[str] = typer.Option(
            None, help="python of an environment with mediapipe==0.10.21 (default: made in "
                       "the cache on first use)"),
        no_mediapipe: bool = typer.Option(False, help="skip MediaPipe's own pipeline"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="also write figures here"),
    ) -> None:
        """Frames per second, per-stage ms, and MediaPipe / XNNPACK in the same run."""
        from service.cli import bench_engine as b

        figures: dict = {"model": model}
        with tempfile.TemporaryDirectory() as tmp:
            clip = b.two_person_clip(Path(tmp) / "two_person_1280x720.mp4", frames_per_cam)
            typer.echo(f"frames: 4 two-person clips (pose2sim MultiPerson cam01-04), "
                       f"letterboxed to 1280x720, {frames_per_cam} each")
            typer.echo(f"{'threads':>7} {'fps':>7} {'ms/frame':>9} {'people/frame':>12} "
                       f"{'ms/person-frame':>15} | {'decode':>6} {'detect':>6} {'crops':>6} "
                       f"{'landmk':>6} {'feet':>6} {'other':>6}  (ms per frame) | feet model "
                       f"ms/person-frame")
            for threads in (1, 2):
                r = b.run_engine(clip, threads, model)
                s = r.stage_ms
                typer.echo(f"{threads:>7} {r.fps:>7.1f} {1e3 / r.fps:>9.2f} "
                           f"{r.person_frames / r.frames:>12.2f} {r.ms_per_person_frame:>15.2f} | "
                           f"{s['decode']:>6.2f} {s['detector']:>6.2f} {s['crops']:>6.2f} "
                           f"{s['landmarks']:>6.2f} {s['feet']:>6.2f} {s['other']:>6.2f} | "
                           f"{r.feet_ms_per_person_frame:.2f} (goal <= 3)")
                figures[f"engine_{threads}t"] = dict(
                    fps=r.fps, ms_per_person_frame=r.ms_per_person_frame,
                    people_per_frame=r.person_frames / r.frames,
                    crops_inferred_per_frame=r.inferred / r.frames, stage_ms=s,
                    feet_ms_per_person_frame=r.feet_ms_per_person_frame,
                    feet_people_per_frame=r.feet_people / r.frames)
            frames = b.read_frames(clip, 120)
            lm = b.landmark_model_times(frames, model)
            figures["landmark_model"] = lm
            typer.echo(f"landmark model '{model}' alone, one 256x256 crop (median ms; ort = the "
                       f"engine's graph, ort_complete = with segmentation and world outputs, "
                       f"xnnpack = TFLite, complete):")
            for k, v in lm.items():
                typer.echo(f"  {k:<22} {v if isinstance(v, str) else f'{v:.2f}'}")
            if "xnnpack_2t_ms" in lm:
                for t in (1, 2):
                    typer.echo(f"  ORT / XNNPACK at {t} thread(s): engine graph "
                               f"{lm[f'ort_{t}t_ms'] / lm[f'xnnpack_{t}t_ms']:.2f}x, complete "
                               f"graph {lm[f'ort_complete_{t}t_ms'] / lm[f'xnnpack_{t}t_ms']:.2f}x"
                               f" (goal <= 1.2x)")
            if not no_mediapipe:
                py = b.mediapipe_python(mediapipe_python)
                mp = b.mediapipe_times(frames, py) if py else None
                figures["mediapipe"] = mp
                if mp:
                    ours = figures["engine_2t"]["ms_per_person_frame"]
                    typer.echo(f"MediaPipe {mp.get('mediapipe')} solutions.pose (complexity 1, "
                               f"video mode, one person) on the same {mp['frames']} frames: "
                               f"{mp['ms_per_frame']:.2f} ms/frame")
                    typer.echo(f"  ours / MediaPipe per person-frame (2 threads): "
                               f"{ours / mp['ms_per_frame']:.2f}x (goal <= 0.75x)")
                else:
                    typer.echo("MediaPipe: not measured (see message above)")
        if json_out:
            json_out.write_text(json.dumps(figures, indent=2))
