"""The renderer: the studio and the two posed people drawn by pyrender (colour, depth and who owns
each pixel), and the depth test that says which keypoints the camera sees."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from vision.io.camera import CameraModel, gl_pose, look_at

from . import body as anny_body
from .posing import Look
from .room import BAR_RADIUS, DEFAULT_ROOM, Room


def body_colours(b: anny_body.Body, skin: np.ndarray, clothes: dict[str, np.ndarray]) -> np.ndarray:
    """Per-vertex RGB: skin, with clothes painted by the vertex's dominant bone."""
    colours = np.tile(skin, (len(b.vertices), 1))
    labels = np.array(b.bone_labels)[b.weights]
    for prefix, colour in clothes.items():
        colours[np.char.startswith(labels, prefix)] = colour
    return colours


@dataclass
class Shot:
    color: np.ndarray       # (H, W, 3) uint8 RGB
    depth: np.ndarray       # (H, W) m along the view axis; 0 = nothing
    owner: np.ndarray       # (H, W) int: 0 nothing/studio, 1 client, 2 therapist


def _import_pyrender():
    os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
    if not hasattr(np, "infty"):
        np.infty = np.inf  # pyrender 0.1.45 still spells it the NumPy 1 way
    import pyrender
    return pyrender


class Renderer:
    def __init__(self, camera: CameraModel, room: Room = DEFAULT_ROOM):
        self.pyrender = _import_pyrender()
        self.camera = camera   # may be replaced between frames (same width and height)
        self.room = room
        self.offscreen = self.pyrender.OffscreenRenderer(camera.width, camera.height)

    def close(self) -> None:
        self.offscreen.delete()

    def render(self, client: anny_body.Body, therapist: anny_body.Body, bars: np.ndarray,
               look: Look) -> Shot:
        scene, people = self.scene(client, therapist, bars, look)
        self.add_camera(scene, self.camera)
        color, depth = self.offscreen.render(scene)
        pr = self.pyrender
        seg_map = {people[0]: (1, 1, 1), people[1]: (2, 2, 2)}
        for node in scene.mesh_nodes:
            seg_map.setdefault(node, (0, 0, 0))
        seg, _ = self.offscreen.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        return Shot(color=color, depth=depth, owner=seg[..., 0].astype(np.int64))

    def add_camera(self, scene, cam: CameraModel):
        pr = self.pyrender
        return scene.add(pr.IntrinsicsCamera(cam.K[0, 0], cam.K[1, 1], cam.K[0, 2], cam.K[1, 2],
                                             znear=0.05, zfar=20.0), pose=gl_pose(cam))

    def scene(self, client: anny_body.Body, therapist: anny_body.Body, bars: np.ndarray,
              look: Look):
        """The pyrender scene without a camera, and the two people's nodes. ``look.scenery``
        (domain randomisation, samples/render/randomise.py) recolours the studio and adds
        lights; without it the studio is drawn as it always was."""
        import trimesh
        pr = self.pyrender
        sc = look.scenery
        scene = pr.Scene(ambient_light=np.full(3, 0.35) if sc is None else sc.ambient,
                         bg_color=np.array([0.55, 0.55, 0.6, 1.0]) if sc is None else
                         np.array([*sc.background, 1.0]))
        people = []
        for b, skin, clothes, texture in (
                (client, look.client_skin, {"pelvis": look.towel, "upperleg": look.towel},
                 look.client_texture),
                (therapist, look.therapist_skin,
                 {"spine": look.therapist_top, "clavicle": look.therapist_top,
                  "pelvis": look.therapist_shorts, "upperleg": look.therapist_shorts},
                 look.therapist_texture)):
            colours = body_colours(b, skin, clothes)
            if texture is not None:
                colours = texture(b, colours)
            mesh = trimesh.Trimesh(b.vertices, b.faces, vertex_colors=colours, process=False)
            people.append(scene.add(pr.Mesh.from_trimesh(mesh, smooth=True)))
        room = self.room
        table = trimesh.creation.box((room.table_length, room.table_width, room.table_top))
        table.apply_translation((0, 0, room.table_top / 2))
        table.visual.vertex_colors = (90, 60, 40, 255) if sc is None else (*sc.table, 255)
        scene.add(pr.Mesh.from_trimesh(table, smooth=False))
        floor = trimesh.creation.box((8.0, 8.0, 0.02))
        floor.visual.vertex_colors = (150, 140, 125, 255) if sc is None else (*sc.floor, 255)
        scene.add(pr.Mesh.from_trimesh(floor, smooth=False))
        for centre, size in room.obstacles:
            box = trimesh.creation.box(size)
            box.apply_translation(centre)
            box.visual.vertex_colors = (70, 70, 75, 255)
            scene.add(pr.Mesh.from_trimesh(box, smooth=False))
        for a, b in bars:
            bar = trimesh.creation.cylinder(BAR_RADIUS, segment=(a, b))
            bar.visual.vertex_colors = (200, 200, 205, 255)
            scene.add(pr.Mesh.from_trimesh(bar, smooth=False))
        lights = [(look.light_dir, np.ones(3), look.light_intensity)]
        if sc is not None:
            lights += list(sc.lights)
        for direction, colour, intensity in lights:
            # the light shines along its direction, as a camera looking that way would look
            up = (0, 1, 0) if abs(direction[1]) < 0.9 else (1, 0, 0)
            pose = np.eye(4)
            pose[:3, :3] = gl_pose(look_at((0, 0, 0), direction, np.eye(3), up=up))[:3, :3]
            scene.add(pr.DirectionalLight(color=colour, intensity=intensity), pose=pose)
        return scene, people


def visibility(kp_world: np.ndarray, camera: CameraModel, shot: Shot, owner: int,
               tolerance: float = 0.16) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints -> pixels and visibility (1 seen, 0 hidden or outside the frame).

    A keypoint is seen when the surface the camera sees at its pixel belongs to the same
    person and lies within ``tolerance`` in front of it (along the view). Joints sit inside
    the body, hence the tolerance: along an oblique ray a hip joint lies deeper behind its own
    skin than under it (from the head-end places 0.13-0.15 m behind the buttocks of the
    benchmark's clients, whose hip joints are 0.08-0.09 m from the nearest skin), while the far
    hip seen from a side wall lies behind the pelvis, 0.17-0.20 m and more, and is hidden. The
    owner test is what tells "under the therapist's foot" from "under its own skin".
    """
    px, depth = camera.project_with_depth(kp_world)
    u = np.round(px[:, 0]).astype(np.int64)
    v = np.round(px[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < camera.width) & (v >= 0) & (v < camera.height) & (depth > 0)
    seen = np.zeros(len(kp_world), dtype=bool)
    # a 5x5 neighbourhood: a joint on the silhouette's edge (wrist, ankle) is seen if any of
    # the pixels around it shows its own body at its depth
    for du in (-2, 0, 2):
        for dv in (-2, 0, 2):
            uu = np.clip(u + du, 0, camera.width - 1)
            vv = np.clip(v + dv, 0, camera.height - 1)
            surface = shot.depth[vv, uu]
            seen |= (shot.owner[vv, uu] == owner) & (surface > 0) & \
                (surface > depth - tolerance)
    return px, (seen & inside).astype(np.float64)
