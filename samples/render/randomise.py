"""Domain randomisation: looks, studios, lights, bodies, foot poses and camera faults drawn from a
seed, so that a model trained on renders learns feet, not the renderer (models/feet/).

``random_look`` goes well beyond ``Look.from_seed`` (which the benchmark keeps, so its sessions
stay as they were): skin tones on a continuous scale with blotchy texture, clothes and towels
with stripes or checks, the table's sheet and the floor in any colour, up to three coloured
lights, anny's body shapes across their ranges. ``degrade`` is what a studio camera does to an
image (exposure, sensor noise, blur, JPEG). ``foot_pose`` turns a foot out, raises its heel or
puts it on its toes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .posing import Look

# skin tones from light to dark (linear RGB 0..1), interpolated between neighbours
SKIN_TONES = np.array([[0.98, 0.84, 0.74], [0.96, 0.80, 0.69], [0.87, 0.67, 0.52],
                       [0.70, 0.50, 0.37], [0.55, 0.38, 0.26], [0.36, 0.24, 0.17],
                       [0.25, 0.16, 0.11]])


@dataclass
class Scenery:
    """The studio's colours (0..255) and light beyond the look's key light."""
    table: tuple[int, int, int]
    floor: tuple[int, int, int]
    background: tuple[float, float, float]
    ambient: np.ndarray
    lights: tuple  # ((direction (3,), colour (3,), intensity), ...)


@dataclass
class Texture:
    """Per-vertex colour variation: blotches on the skin and a pattern on the clothes."""
    blotch: float            # relative amplitude of the skin's low-frequency variation
    blotch_freq: float       # cycles per metre
    phases: np.ndarray       # (3, 4): random wave directions (3) and phases
    pattern: str             # none | stripes | checks
    pattern_freq: float      # cycles per metre
    pattern_colour: np.ndarray
    clothes: tuple[str, ...]  # bone prefixes the pattern is painted on

    def __call__(self, body, colours: np.ndarray) -> np.ndarray:
        v = body.vertices - body.vertices.mean(0)
        dirs = self.phases[:, :3] / np.linalg.norm(self.phases[:, :3], axis=1, keepdims=True)
        waves = np.sin(2 * np.pi * self.blotch_freq * (v @ dirs.T) + self.phases[:, 3]).mean(1)
        out = colours * (1.0 + self.blotch * waves)[:, None]
        labels = np.array(body.bone_labels)[body.weights]
        cloth = np.zeros(len(v), dtype=bool)
        for prefix in self.clothes:
            cloth |= np.char.startswith(labels, prefix)
        if self.pattern != "none" and cloth.any():
            a = np.sin(2 * np.pi * self.pattern_freq * (v @ dirs[0])) > 0
            if self.pattern == "checks":
                a ^= np.sin(2 * np.pi * self.pattern_freq * (v @ dirs[1])) > 0
            out[cloth & a] = self.pattern_colour
        return np.clip(out, 0.0, 1.0)


def _colour(rng) -> np.ndarray:
    """Any colour, from dark to pale, saturated or grey."""
    base = rng.uniform(0.05, 0.95, 3)
    grey = base.mean()
    return np.clip(grey + rng.uniform(0.2, 1.0) * (base - grey), 0, 1)


def _skin(rng) -> np.ndarray:
    x = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(x), len(SKIN_TONES) - 2)
    tone = SKIN_TONES[i] + (x - i) * (SKIN_TONES[i + 1] - SKIN_TONES[i])
    return np.clip(tone * rng.uniform(0.9, 1.1, 3), 0, 1)


def _texture(rng, clothes: tuple[str, ...]) -> Texture:
    return Texture(blotch=float(rng.uniform(0.0, 0.18)), blotch_freq=float(rng.uniform(3, 15)),
                   phases=np.column_stack([rng.normal(size=(3, 3)),
                                           rng.uniform(0, 2 * np.pi, 3)]),
                   pattern=str(rng.choice(["none", "stripes", "checks"], p=[0.4, 0.35, 0.25])),
                   pattern_freq=float(rng.uniform(4, 20)), pattern_colour=_colour(rng),
                   clothes=clothes)


def body_shape(rng) -> dict[str, float]:
    """anny's phenotype across its ranges."""
    return {k: float(rng.uniform(0.0, 1.0)) for k in
            ("height", "weight", "gender", "muscle", "proportions")}


def random_look(seed: int) -> Look:
    rng = np.random.default_rng(seed)
    d = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), -1.0])
    lights = []
    for _ in range(rng.integers(0, 3)):
        e = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), -rng.uniform(0.2, 1.0)])
        tint = np.clip(1.0 + rng.uniform(-0.25, 0.25, 3), 0, 1)
        lights.append((e / np.linalg.norm(e), tint, float(rng.uniform(0.5, 2.5))))
    sheet = _colour(rng) if rng.random() < 0.6 else np.full(3, rng.uniform(0.7, 0.98))
    scenery = Scenery(table=tuple(int(c) for c in 255 * sheet),
                      floor=tuple(int(c) for c in 255 * _colour(rng)),
                      background=tuple(float(c) for c in _colour(rng)),
                      ambient=np.full(3, rng.uniform(0.15, 0.5)) * (1 + rng.uniform(-0.1, 0.1, 3)),
                      lights=tuple(lights))
    towel = _colour(rng) if rng.random() < 0.6 else np.full(3, rng.uniform(0.75, 0.98))
    return Look(client_skin=_skin(rng), therapist_skin=_skin(rng), towel=towel,
                therapist_top=_colour(rng), therapist_shorts=_colour(rng),
                light_dir=d / np.linalg.norm(d), light_intensity=float(rng.uniform(1.5, 5.0)),
                client_shape=body_shape(rng), therapist_shape=body_shape(rng), scenery=scenery,
                client_texture=_texture(rng, ("pelvis", "upperleg")),
                therapist_texture=_texture(rng, ("spine", "clavicle", "pelvis", "upperleg")))


def foot_pose(rng, side: str) -> dict:
    """Extra bone rotations for one of the therapist's feet ("L"/"R"): flat, turned out or in,
    the heel raised, or on the toes."""
    kind = rng.choice(["flat", "turned", "heel_up", "toes"], p=[0.35, 0.3, 0.2, 0.15])
    out: dict = {}
    sign = 1.0 if side == "L" else -1.0
    if kind == "turned" or rng.random() < 0.3:
        out[f"upperleg01.{side}"] = (("z", sign * float(rng.uniform(-15, 35))),)
    if kind == "heel_up":
        out[f"foot.{side}"] = (("x", float(rng.uniform(15, 35))),)
    elif kind == "toes":
        out[f"foot.{side}"] = (("x", float(rng.uniform(35, 55))),)
        out[f"toe1-1.{side}"] = (("x", float(-rng.uniform(20, 40))),)
    elif kind != "flat":
        out[f"foot.{side}"] = (("x", float(rng.uniform(-8, 10))),)
    return out


def degrade(bgr: np.ndarray, rng) -> np.ndarray:
    """A studio camera's faults on an 8-bit image: exposure and gamma, a colour cast, sensor
    noise, defocus or motion blur, JPEG compression."""
    import cv2
    img = bgr.astype(np.float32) / 255.0
    img = np.clip(img * rng.uniform(0.6, 1.5) * (1 + rng.uniform(-0.08, 0.08, 3)), 0, 1)
    img = img ** rng.uniform(0.75, 1.35)
    if rng.random() < 0.5:
        k = float(rng.uniform(0.3, 1.4))
        img = cv2.GaussianBlur(img, (0, 0), k)
    elif rng.random() < 0.4:
        n = int(rng.integers(3, 8))
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2] = 1.0 / n
        m = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(0, 180)), 1)
        kernel = cv2.warpAffine(kernel, m, (n, n))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    img = img + rng.normal(0, rng.uniform(0.0, 0.04), img.shape).astype(np.float32)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if rng.random() < 0.8:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
