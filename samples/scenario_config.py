"""What a generated session is made of (ScenarioConfig) and the evaluation suites of them."""

from __future__ import annotations

from dataclasses import dataclass, field

ZONE_PLAN = ["safe", "spine", "safe", "kidney", "safe", "ribs", "safe", "sciatic_notch", "safe",
             "popliteal", "safe", "neck", "safe", "spine", "kidney", "safe"]


@dataclass
class ScenarioConfig:
    seed: int = 0
    fps: float = 30.0
    noise_px: float = 1.0
    camera: str = "overhead"            # "overhead" | "tilted"
    width: int = 1280
    height: int = 720
    n_steps: int = 14
    zones: list[str] = field(default_factory=lambda: list(ZONE_PLAN))
    safe_only: bool = False             # only safe steps, both hands on the bars throughout
    hidden_steps: int = 2               # steps whose foot is hidden from lift-off to lift-off
    no_hands: int = 2                   # intervals with both hands off the bars while loaded
    one_hand: int = 1
    shifts: int = 1                     # sudden shifts (loss of balance)
    occlude_client: bool = True
    margin_cm: float = 2.0              # the step's zone holds under shifts this large
    wrong_rate: float = 0.03            # occluded client keypoints confidently wrong, per frame
    shuffle_ids: bool = False           # new ids every frame (ids are never to be trusted)
    studio_camera: bool = True          # write the camera into the studio file (False: the
                                        # safety core must do without it)


def suite(kind: str = "small") -> list[tuple[str, ScenarioConfig]]:
    """The evaluation suite: cameras overhead and tilted, 25 and 30 fps, 1 and 3.5 px noise,
    plus sessions of only safe, bar-held steps."""
    if kind == "stress":
        # Harder than the goals ask: tighter placement margins, more noise, small images,
        # ids shuffled every frame, more confident garbage under the therapist.
        out = []
        for i, (camera, noise, size) in enumerate(
                [("overhead", 3.5, (640, 360)), ("tilted", 3.5, (960, 540)),
                 ("overhead", 5.0, (1280, 720)), ("tilted", 5.0, (1920, 1080)),
                 ("tilted", 1.0, (640, 360)), ("overhead", 1.0, (960, 540))]):
            out.append((f"stress_{camera}_{noise:g}px_{i}", ScenarioConfig(
                seed=5000 + i, fps=(25.0, 30.0)[i % 2], noise_px=noise, camera=camera,
                width=size[0], height=size[1], margin_cm=1.0, wrong_rate=0.1,
                shuffle_ids=True, hidden_steps=3)))
        return out
    n = {"small": 1, "large": 4}[kind]
    out = []
    seed = 1000
    for rep in range(n):
        for camera in ("overhead", "tilted"):
            for noise in (1.0, 3.5):
                fps = 30.0 if (seed % 2 == 0) else 25.0
                out.append((f"{camera}_{noise:g}px_{rep}",
                            ScenarioConfig(seed=seed, fps=fps, noise_px=noise, camera=camera)))
                seed += 1
        out.append((f"safeonly_3.5px_{rep}", ScenarioConfig(seed=seed, fps=25.0 + 5 * (rep % 2),
                                                       noise_px=3.5, safe_only=True,
                                                       hidden_steps=0, shifts=0,
                                                       camera=("overhead", "tilted")[rep % 2])))
        seed += 1
    return out
