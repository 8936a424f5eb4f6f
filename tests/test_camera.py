"""The studio's camera and the feet's parallax (vision/io/camera.py), against analytic cases."""

import numpy as np
import pytest

from vision.io import camera as C
from vision.safety.backframe import BackMap
from vision.safety.geometry import apply_h, homography
from vision.io.posetrack import KP
from vision.io.studio import StudioError, parse_studio
from vision.safety.zones import default_atlas

K = np.array([[900.0, 0, 640], [0, 900.0, 360], [0, 0, 1]])


def tilted(deg, dist=3.0, target=(0.0, 0.0, 0.77)):
    """A camera looking at ``target`` from ``deg`` off the vertical, from the head end (+x)."""
    a = np.radians(deg)
    eye = np.asarray(target) + dist * np.array([np.sin(a), 0.0, np.cos(a)])
    return C.look_at(eye, target, K)


def test_projection_and_rays_round_trip():
    cam = tilted(35)
    pts = np.array([[0.1, 0.2, 0.8], [-0.3, 0.1, 0.9], [0.0, 0.0, 0.77]])
    uv = cam.project(pts)
    back = C.intersect_plane_z(cam, uv, pts[:, 2])
    np.testing.assert_allclose(back, pts, atol=1e-9)
    # Straight down: the image centre looks along -z.
    down = C.look_at([0, 0, 3.0], [0, 0, 0.0], K)
    np.testing.assert_allclose(down.rays(np.array([640.0, 360.0])), [0, 0, -1], atol=1e-12)
    assert down.ray_angle_deg(np.array([640.0, 360.0])) == pytest.approx(0.0, abs=1e-6)
    assert cam.ray_angle_deg(cam.project(np.array([0, 0, 0.77]))) == pytest.approx(35.0, abs=1e-6)


def test_a_ray_that_never_reaches_the_plane_gives_inf():
    cam = C.look_at([0, 0, 3.0], [0, 0, 0.0], K)
    p = C.intersect_plane_z(cam, np.array([[640.0, 360.0]]), 4.0)    # above the camera
    assert np.all(np.isinf(p))


def test_drop_to_plane_is_the_point_straight_below():
    cam = tilted(40)
    P = np.array([[0.12, -0.05, 0.90], [-0.2, 0.15, 0.92]])
    uv = cam.project(P)
    below = P.copy()
    below[:, 2] = 0.77
    np.testing.assert_allclose(C.drop_to_plane(cam, uv, P[:, 2], 0.77), cam.project(below),
                               atol=1e-9)


def _client_in_image(cam, z_joints):
    """A reference-sized client face down, head toward +x, torso joints at ``z_joints``."""
    fq = default_atlas().frame_quad / 100.0                     # body x (left), y (to the feet)
    world = np.c_[-(fq[:, 1] - 0.25), fq[:, 0], np.full(4, z_joints)]
    return cam.project(world), world


def _body_to_world(b, z):
    b = np.atleast_2d(np.asarray(b, float)) / 100.0
    return np.c_[-(b[:, 1] - 0.25), b[:, 0], np.full(len(b), z)]


@pytest.mark.parametrize("deg", [0.0, 25.0, 40.0, 60.0])
def test_feet_lifted_to_the_joint_plane_map_where_they_stand(deg):
    table = 0.65
    z_j = table + C.JOINT_PLANE_ABOVE_TABLE_M
    cam = tilted(deg)
    quad_px, _ = _client_in_image(cam, z_j)
    kp = np.zeros((33, 3))
    kp[[KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]], :2] = quad_px
    kp[:, 2] = 0.95
    bm = BackMap(camera=cam, table_top_m=table)
    for i in range(20):
        st = bm.update(i / 30, kp)
    assert st.known and st.camera is cam
    foot_b = np.array([[6.2, 20.7], [1.8, 0.6], [-8.0, 35.0]])      # body cm, on the back
    z_foot = z_j + C.SKIN_ABOVE_JOINTS_M + C.FOOT_POINT_ABOVE_SOLE_M   # the default lift
    uv = cam.project(_body_to_world(foot_b, z_foot))
    np.testing.assert_allclose(st.feet_to_body(uv), foot_b, atol=0.05)
    # The plane map alone misses by the parallax: 13 cm x tan(the ray's angle at the foot).
    naive = apply_h(st.h, uv)
    err = np.linalg.norm(naive - foot_b, axis=1)
    want = 100 * C.FOOT_ABOVE_JOINTS_M * np.tan(np.radians(cam.ray_angle_deg(uv)))
    np.testing.assert_allclose(err, want, rtol=0.15, atol=0.1)


def test_legs_are_mapped_at_their_own_height():
    table = 0.65
    z_j = table + C.JOINT_PLANE_ABOVE_TABLE_M
    cam = tilted(40)
    quad_px, _ = _client_in_image(cam, z_j)
    kp = np.zeros((33, 3))
    kp[[KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]], :2] = quad_px
    knee_b, ankle_b = np.array([19.0, 93.0]), np.array([21.0, 136.0])
    kp[KP["left_hip"], :2] = quad_px[3]
    kp[KP["left_knee"], :2] = cam.project(_body_to_world(knee_b, table + C.KNEE_ABOVE_TABLE_M))[0]
    kp[KP["left_ankle"], :2] = cam.project(_body_to_world(ankle_b,
                                                          table + C.ANKLE_ABOVE_TABLE_M))[0]
    kp[:, 2] = 0.95
    bm = BackMap(camera=cam, table_top_m=table)
    for i in range(20):
        st = bm.update(i / 30, kp)
    np.testing.assert_allclose(st.legs["left"][1:], [knee_b, ankle_b], atol=0.05)


def test_studio_file_camera_block_round_trips_and_bad_blocks_are_one_line_errors():
    cam = tilted(30)
    doc = {"bars": [[[0, 0], [100, 0]]], "camera": cam.to_dict(), "table_top_m": 0.7}
    st = parse_studio(doc, "s.yaml")
    np.testing.assert_allclose(st.camera.centre, cam.centre, atol=1e-3)
    assert st.table_top == 0.7
    assert parse_studio({"bars": []}, "s.yaml").camera is None
    assert parse_studio({"bars": []}, "s.yaml").table_top == C.DEFAULT_TABLE_TOP_M
    bad = [({"camera": {"K": K.tolist(), "R": np.eye(3).tolist()}}, "needs t"),
           ({"camera": {"K": [[1, 2]], "R": np.eye(3).tolist(), "t": [0, 0, 1]}}, "3x3"),
           ({"camera": {"K": K.tolist(), "R": (2 * np.eye(3)).tolist(), "t": [0, 0, 3]}},
            "rotation"),
           ({"camera": "overhead"}, "mapping"),
           ({"table_top_m": "high"}, "table_top_m"),
           ({"table_top_m": 7}, "table_top_m"),
           # A camera looking down whose t puts it under the floor (a sign slip).
           ({"camera": {"K": K.tolist(), "R": np.diag([1.0, -1.0, -1.0]).tolist(),
                        "t": [0, 0, -3.0]}}, "not above the table")]
    for extra, words in bad:
        with pytest.raises(StudioError, match=words) as e:
            parse_studio({"bars": []} | extra, "s.yaml")
        assert "\n" not in str(e.value) and str(e.value).startswith("s.yaml")


def test_opengl_pose_converts_to_the_same_camera():
    cam = tilted(40)
    # The same camera as a pyrender pose: camera-to-world, looking along -z, +y up.
    c2w = np.eye(4)
    c2w[:3, :3] = cam.R.T @ np.diag([1.0, -1.0, -1.0])
    c2w[:3, 3] = cam.centre
    gl = C.camera_from_gl_pose(c2w, 900.0, 1280, 720)
    pts = np.array([[0.1, 0.2, 0.8], [-0.4, 0.1, 0.7]])
    np.testing.assert_allclose(gl.project(pts), cam.project(pts), atol=1e-6)
    # and back: the pose pyrender is given is the one the camera came from
    np.testing.assert_allclose(C.gl_pose(gl), c2w, atol=1e-12)


def test_projection_with_depth_keeps_points_behind_the_camera():
    cam = tilted(40)
    pts = np.array([[0.1, 0.2, 0.8], [-0.4, 0.1, 0.7]])
    uv, depth = cam.project_with_depth(pts)
    np.testing.assert_allclose(uv, cam.project(pts), atol=1e-9)
    np.testing.assert_allclose(depth, (pts @ cam.R.T + cam.t)[:, 2], atol=1e-12)
    behind = 2 * cam.centre - pts[0]           # mirrored through the camera's centre
    uv_b, depth_b = cam.project_with_depth(behind[None])
    assert depth_b[0] < 0 and np.all(np.isfinite(uv_b))
    assert np.all(np.isinf(cam.project(behind[None])))


def test_look_at_with_an_up_direction_and_a_roll():
    eye, target = [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]
    cam = C.look_at(eye, target, K, up=(0.0, 1.0, 0.0), width=1280, height=720)
    assert (cam.width, cam.height) == (1280, 720)
    # straight down with image up toward +y: a point toward +x lies to the image's right
    assert cam.project(np.array([0.5, 0.0, 0.0]))[0] > 640
    rolled = C.look_at(eye, target, K, up=(0.0, 1.0, 0.0), roll_rad=np.pi / 2)
    np.testing.assert_allclose(rolled.R[0], cam.R[1], atol=1e-12)
    np.testing.assert_allclose(rolled.R[2], cam.R[2], atol=1e-12)


def test_obliqueness_of_a_shape_seen_at_an_angle():
    fq = default_atlas().frame_quad
    for deg in (0.0, 30.0, 50.0):
        cam = tilted(deg, dist=6.0)
        quad_px, _ = _client_in_image(cam, 0.77)
        assert C.obliqueness_deg(quad_px, fq) == pytest.approx(deg, abs=3.0)
    # A straight view of a client 10 % wider than the reference reads straight with the slack.
    wide = fq * [1.1, 1.0]
    assert C.obliqueness_deg(wide * 4, fq) > 20
    assert C.obliqueness_deg(wide * 4, fq, slack=0.88) == 0.0


def test_camera_solved_from_the_table_outline():
    cam = tilted(35, dist=2.8, target=(0.0, 0.0, 0.65))
    L, W, top = 1.9, 0.72, 0.65
    corners = np.array([[L / 2, W / 2, top], [L / 2, -W / 2, top], [-L / 2, -W / 2, top],
                        [-L / 2, W / 2, top]])
    got = C.solve_camera_from_table(cam.project(corners), L, W, 1280, 720, top, focal_px=900.0)
    np.testing.assert_allclose(got.centre, cam.centre, atol=0.01)
    pts = np.array([[0.1, 0.1, 0.9]])
    np.testing.assert_allclose(got.project(pts), cam.project(pts), atol=0.5)
    with pytest.raises(C.CameraError):
        C.solve_camera_from_table(np.zeros((3, 2)), L, W, 1280, 720)


def test_a_foot_seen_by_one_point_is_lifted_too():
    """A tilted camera, the toe tip hidden: the heel and the ankle, each lifted from its own
    height, still place the step (vision.safety.steps with BackState.feet_to_body)."""
    from vision.safety.steps import FootTracker, params_for
    table = 0.65
    z_j = table + C.JOINT_PLANE_ABOVE_TABLE_M
    z_skin = z_j + C.SKIN_ABOVE_JOINTS_M
    cam = tilted(40)
    quad_px, _ = _client_in_image(cam, z_j)
    ckp = np.zeros((33, 3))
    ckp[[KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]], :2] = \
        quad_px
    ckp[[KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]], 2] = 0.95
    bm = BackMap(camera=cam, table_top_m=table)
    for i in range(20):
        back = bm.update(i / 30, ckp)
    ft = FootTracker("left", params=params_for("truth"))   # exact keypoints
    heel_end = np.array([20.0, 34.0])                     # the flank, toes toward the feet
    for i in range(75):
        u = min(i / 15, 1.0)                               # 0.5 s in, then at rest
        heel = np.array([35.0, 30.0]) + u * (heel_end - [35.0, 30.0])
        toe = heel + [0.0, 25.0]
        ankle = heel + 0.2 * (toe - heel)
        kp = np.zeros((33, 3))
        kp[KP["left_heel"], :2] = cam.project(_body_to_world(
            heel, z_skin + C.HEEL_POINT_ABOVE_SOLE_M))[0]
        kp[KP["left_foot_index"], :2] = cam.project(_body_to_world(
            toe, z_skin + C.TOE_POINT_ABOVE_SOLE_M))[0]
        kp[KP["left_ankle"], :2] = cam.project(_body_to_world(ankle, z_skin + 0.07))[0]
        kp[[KP["left_heel"], KP["left_ankle"]], 2] = 0.95
        kp[KP["left_foot_index"], 2] = 0.95 if i < 5 else 0.1  # the toe hides after lift-off
        ft.update(i / 30, kp, back, 4.0)
    ft.finish(74 / 30)
    on = [s for s in ft.steps if s.zone != "off_body"]
    assert [s.zone for s in on] == ["safe"]
    np.testing.assert_allclose(on[0].body_xy, heel_end + [0.0, 0.41 * 25.0], atol=1.5)


@pytest.mark.parametrize("deg", [0.0, 25.0, 40.0, 60.0])
def test_obliqueness_from_the_table_outline_alone(deg):
    # True focal length 900 px (hfov 71°): the estimate uses the vanishing points, or 70°.
    L, W, top = 1.9, 0.72, 0.65
    corners = np.array([[L / 2, W / 2, top], [L / 2, -W / 2, top], [-L / 2, -W / 2, top],
                        [-L / 2, W / 2, top]])
    for az in (0.0, 40.0, 90.0):
        a, b = np.radians(deg), np.radians(az)
        eye = np.array([0, 0, top]) + 3 * np.array([np.sin(a) * np.cos(b),
                                                    np.sin(a) * np.sin(b), np.cos(a)])
        cam = C.look_at(eye, [0.05, 0.02, top], K)
        got = C.obliqueness_from_outline(cam.project(corners), 1280, 720)
        assert got == pytest.approx(deg, abs=3.0), az
    assert C.obliqueness_from_outline(np.zeros((5, 2)), 1280, 720) is None


def test_without_the_camera_a_straight_view_of_a_narrow_shouldered_client_is_not_oblique():
    """The torso's shape confounds proportions with obliqueness; the table's outline does not."""
    cam = C.look_at([0, 0, 3.0], [0, 0, 0.0], K)
    fq = default_atlas().frame_quad * [0.75, 1.0] / 100.0      # shoulder joints 25 % narrower
    world = np.c_[-(fq[:, 1] - 0.25), fq[:, 0], np.full(4, 0.77)]
    kp = np.zeros((33, 3))
    kp[[KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]], :2] = \
        cam.project(world)
    kp[:, 2] = 0.95
    table = cam.project(np.array([[0.95, 0.36, 0.65], [0.95, -0.36, 0.65], [-0.95, -0.36, 0.65],
                                  [-0.95, 0.36, 0.65]]))
    by_torso, by_table = BackMap(), BackMap(table=table, image_size=(1280, 720))
    for i in range(20):
        st_torso = by_torso.update(i / 30, kp)
        st_table = by_table.update(i / 30, kp)
    assert st_torso.oblique_deg > 10 and st_torso.uncertainty_cm > 2     # read as oblique
    assert st_table.oblique_deg < 2 and st_table.uncertainty_cm == 0.0


def test_calibrate_adds_the_camera_from_the_table_outline():
    from vision.io.calibrate import CalibrationError, add_camera_from_table
    from vision.io.studio import Studio
    cam = tilted(30, dist=2.8, target=(0.0, 0.0, 0.65))
    L, W, top = 1.9, 0.72, 0.65
    corners = np.array([[L / 2, W / 2, top], [L / 2, -W / 2, top], [-L / 2, -W / 2, top],
                        [-L / 2, W / 2, top]])
    st = Studio(bars=np.zeros((0, 2, 2)), table=cam.project(corners))
    got = add_camera_from_table(st, 1280, 720, L, W, focal_px=900.0)
    np.testing.assert_allclose(got.camera.centre, cam.centre, atol=0.01)
    assert parse_studio(got.to_dict(), "s.yaml").camera is not None      # it round-trips
    with pytest.raises(CalibrationError, match="4 corners"):
        add_camera_from_table(Studio(bars=np.zeros((0, 2, 2))), 1280, 720, L, W)


def test_from_the_side_two_near_corners_and_the_camera_make_a_back():
    """Straight from the client's right side both left corners hide behind the body."""
    table = 0.65
    z_j = table + C.JOINT_PLANE_ABOVE_TABLE_M
    eye = np.array([0.0, -2.2, 2.4])
    cam = C.look_at(eye, [0.0, 0.0, 0.8], K)
    quad_px, _ = _client_in_image(cam, z_j)
    order = [KP["left_shoulder"], KP["right_shoulder"], KP["right_hip"], KP["left_hip"]]
    kp = np.zeros((33, 3))
    kp[order, :2] = quad_px
    kp[order, 2] = [0.1, 0.95, 0.95, 0.1]
    with_cam, without = BackMap(camera=cam, table_top_m=table), BackMap()
    for i in range(20):
        st = with_cam.update(i / 30, kp)
        st0 = without.update(i / 30, kp)
    assert st.known and st.corners_seen == 2 and st.uncertainty_cm >= 4.0
    np.testing.assert_allclose(apply_h(st.h, quad_px), default_atlas().frame_quad, atol=0.3)
    assert not st0.known
