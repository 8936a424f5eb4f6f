"""The world of a generated session: the client's body on the table, the bars and the camera,
drawn from the session's seed (samples/scenarios.py).

Body coordinates are cm of the client's own body (x lateral, + toward the client's left; y toward
the feet); the world is metres, z up, the client along a random direction on the floor.
"""

from __future__ import annotations

import numpy as np

from vision.io.camera import CALF_SKIN_ABOVE_TABLE_M, KNEE_SKIN_ABOVE_TABLE_M, CameraModel, \
    intrinsics, look_at
from vision.safety.geometry import apply_h, homography
from vision.io.posetrack import KP
from vision.pictures.reporting.shapes import SHANK, THIGH
from vision.safety.zones import default_atlas

from samples.scenario_config import ScenarioConfig


class SessionWorld:
    """The client, the table, the bars and the camera of one session."""

    def __init__(self, cfg: ScenarioConfig):
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        self.atlas = default_atlas()
        rng = self.rng
        # Client: stature and proportions vary around Drillis & Contini.
        self.Hc = rng.uniform(1.50, 1.95)
        Hc = self.Hc * 100
        self.sw = 0.259 * Hc * rng.uniform(0.94, 1.06)
        self.hw = 0.191 * Hc * rng.uniform(0.94, 1.06)
        self.torso = 0.288 * Hc * rng.uniform(0.95, 1.05)
        self.thigh = THIGH * Hc
        self.shank = SHANK * Hc
        self.leg_spread = rng.uniform(2.0, 8.0)
        phi = rng.uniform(0, 2 * np.pi)
        self.A = np.array([np.cos(phi), np.sin(phi), 0.0])        # toward the client's feet
        self.L = np.cross(self.A, [0, 0, 1.0])                    # client's left
        self.z_table = rng.uniform(0.55, 0.70)
        self.z_back = self.z_table + rng.uniform(0.21, 0.25)   # trunk depth 21-25 cm
        # Depths below the skin, drawn from their own generator so that the plan (and so the
        # suite's sessions) stays what it was: the shoulder and hip keypoints are joint centres
        # near the middle of the trunk's depth, the knee and ankle ones a few cm above the
        # table; the therapist's heel and toe-tip points are above the sole.
        drng = np.random.default_rng([cfg.seed, 7])
        self.z_joints = self.z_table + 0.5 * (self.z_back - self.z_table) \
            + drng.uniform(-0.01, 0.01)
        # Legs on an ankle bolster (vision/io/camera.py): knee ~8 cm, ankle ~10 cm.
        self.z_knee = self.z_table + drng.uniform(0.07, 0.10)
        self.z_ankle = self.z_table + drng.uniform(0.085, 0.115)
        self.heel_h = drng.uniform(0.025, 0.045)
        self.toe_h = drng.uniform(0.015, 0.025)
        self.origin = np.array([rng.normal(0, 0.05), rng.normal(0, 0.05), 0.0]) \
            - self.A * 0.0033 * Hc
        # Therapist
        self.Ht = rng.uniform(1.50, 1.90)
        self.foot_len = 0.152 * self.Ht * 100                      # cm
        # Bars: along the table, each side of the midline, above head height.
        self.z_bar = self.z_back + 0.818 * self.Ht + rng.uniform(0.25, 0.40)
        self.bar_w = rng.uniform(0.28, 0.36)
        self.bars3d = [np.array([self.origin + s * self.bar_w * self.L - 0.9 * self.A,
                                 self.origin + s * self.bar_w * self.L + 1.9 * self.A])
                       for s in (+1, -1)]
        for b in self.bars3d:
            b[:, 2] = self.z_bar
        # True body frame: body cm (client's own proportions) → atlas reference cm.
        quad = np.array([[self.sw / 2, 0], [-self.sw / 2, 0], [-self.hw / 2, self.torso],
                         [self.hw / 2, self.torso]])
        self.T = homography(quad, self.atlas.frame_quad)
        self.Tinv = np.linalg.inv(self.T)
        self.legs_b = {
            "left": np.array([[self.hw / 2, self.torso],
                              [self.hw / 2 + self.leg_spread, self.torso + self.thigh],
                              [self.hw / 2 + 1.6 * self.leg_spread,
                               self.torso + self.thigh + self.shank]]),
            "right": np.array([[-self.hw / 2, self.torso],
                               [-self.hw / 2 - self.leg_spread, self.torso + self.thigh],
                               [-self.hw / 2 - 1.6 * self.leg_spread,
                                self.torso + self.thigh + self.shank]]),
        }
        self.legs_ref = {k: apply_h(self.T, v) for k, v in self.legs_b.items()}
        self.client_b, self.client_z = self._client_body()
        self.camera = self._camera()

    # body cm (x lateral + left, y toward the feet) → world (m)
    def world(self, b, z=None):
        b = np.asarray(b, float)
        p = self.origin + (b[..., :1] * self.L + b[..., 1:2] * self.A) / 100.0
        p = p.copy()
        p[..., 2] = self.surface_z(b[..., 1]) if z is None else z
        return p

    def surface_z(self, y):
        # The back is a plane at z_back over the trunk and the buttocks (to the gluteal fold,
        # ~0.065 H below the hip joints); the thighs slope down to the back of the knee (~20 cm
        # above the table with an ankle bolster), the calves stay about there.
        y = np.asarray(y, float)
        return np.interp(y, [self.torso + 0.065 * self.Hc * 100, self.torso + self.thigh,
                             self.torso + self.thigh + self.shank],
                         [self.z_back, self.z_table + KNEE_SKIN_ABOVE_TABLE_M,
                          self.z_table + CALF_SKIN_ABOVE_TABLE_M])

    def _client_body(self):
        Hc = self.Hc * 100
        b = np.zeros((33, 2))
        b[KP["left_shoulder"]] = [self.sw / 2, 0]
        b[KP["right_shoulder"]] = [-self.sw / 2, 0]
        b[KP["left_hip"]] = [self.hw / 2, self.torso]
        b[KP["right_hip"]] = [-self.hw / 2, self.torso]
        for side, sgn in (("left", 1), ("right", -1)):
            b[KP[f"{side}_knee"]] = self.legs_b[side][1]
            b[KP[f"{side}_ankle"]] = self.legs_b[side][2]
            b[KP[f"{side}_heel"]] = self.legs_b[side][2] + [0, -3.0]
            b[KP[f"{side}_foot_index"]] = self.legs_b[side][2] + [sgn * 1.0, 0.10 * Hc]
            b[KP[f"{side}_elbow"]] = [sgn * (self.sw / 2 + 4), 0.186 * Hc]
            b[KP[f"{side}_wrist"]] = [sgn * (self.sw / 2 + 3), 0.33 * Hc]
            b[KP[f"{side}_pinky"]] = [sgn * (self.sw / 2 + 4), 0.37 * Hc]
            b[KP[f"{side}_index"]] = [sgn * (self.sw / 2 + 2), 0.37 * Hc]
            b[KP[f"{side}_thumb"]] = [sgn * (self.sw / 2 + 1), 0.35 * Hc]
            b[KP[f"{side}_eye_inner"]] = [sgn * 1.5, -0.12 * Hc]
            b[KP[f"{side}_eye"]] = [sgn * 3.0, -0.12 * Hc]
            b[KP[f"{side}_eye_outer"]] = [sgn * 4.5, -0.12 * Hc]
            b[KP[f"{side}_ear"]] = [sgn * 7.5, -0.10 * Hc]
        b[KP["nose"]] = [0, -0.135 * Hc]
        b[KP["mouth_left"]] = [2.0, -0.14 * Hc]
        b[KP["mouth_right"]] = [-2.0, -0.14 * Hc]
        z = self.surface_z(b[:, 1]) + self.rng.uniform(-0.01, 0.01, 33)
        # Joint centres lie inside the body, below the skin (the parallax the camera corrects).
        for k in ("shoulder", "hip"):
            z[[KP[f"left_{k}"], KP[f"right_{k}"]]] = self.z_joints
        z[[KP["left_knee"], KP["right_knee"]]] = self.z_knee
        z[[KP["left_ankle"], KP["right_ankle"]]] = self.z_ankle
        return b, z

    def _camera(self):
        cfg, rng = self.cfg, self.rng
        centre = self.origin + self.A * 0.0033 * self.Hc * 100
        centre[2] = self.z_back
        if cfg.camera == "overhead":
            pos = centre + [rng.normal(0, 0.2), rng.normal(0, 0.2), 0]
            pos[2] = self.z_bar + rng.uniform(0.6, 1.0)
            tilt = np.radians(rng.uniform(0, 8))
            az = rng.uniform(0, 2 * np.pi)
            fwd = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), -np.cos(tilt)])
        else:
            tilt = np.radians(rng.uniform(25, 45))
            az = rng.uniform(0, 2 * np.pi)
            dist = rng.uniform(2.6, 3.4)
            d = np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
            pos = centre + dist * d
            fwd = -d
        # image up: world +z, or +x for a camera looking nearly straight down; then a random roll
        up = (0.0, 0.0, 1.0) if abs(fwd[2]) < 0.95 else (1.0, 0.0, 0.0)
        cam = look_at(pos, pos + fwd, np.eye(3), up=up, roll_rad=rng.uniform(0, 2 * np.pi))
        # Focal length: the client and table fill about 80 % of the frame (xy: the outline in
        # normalised image coordinates, K = I).
        Hc = self.Hc * 100
        outline = self.world(np.array([[x, y] for x in (-40, 40) for y in (-0.15 * Hc, 0.9 * Hc)]))
        xy = cam.project(outline)
        f = 0.8 * min(cfg.width / (2 * np.abs(xy[:, 0]).max()),
                      cfg.height / (2 * np.abs(xy[:, 1]).max()))
        return CameraModel(K=intrinsics(f, cfg.width, cfg.height), R=cam.R, t=cam.t,
                           width=cfg.width, height=cfg.height)

    def studio_camera(self) -> CameraModel:
        """The camera in the studio file's world: origin on the floor under the client's middle
        (standing in for the table's centre), x toward the client's head, z up."""
        cam = self.camera
        c0 = self.origin + self.A * 0.0033 * self.Hc * 100
        c0[2] = 0.0
        x = -self.A
        M = np.stack([x, np.cross([0, 0, 1.0], x), [0, 0, 1.0]])    # studio ← generator axes
        # x_cam = R x + t with x = M.T x_studio + c0
        return CameraModel(K=cam.K, R=cam.R @ M.T, t=cam.R @ c0 + cam.t)
