"""The skeleton's named points and lengths, and the foot projector's two answers."""

import numpy as np
import pytest

import vision.io.camera as C
from vision.safety.feet import SOLE, FootProjector
from vision.safety.geometry import apply_h, homography
from vision.io.posetrack import KEYPOINT_NAMES
from vision.skeleton import (TORSO_PAIRS, TORSO_QUAD, hip_width, shoulder_width, torso_centre,
                             torso_length)
from vision.safety.zones import default_atlas


def test_the_torso_quad_runs_round_the_torso_in_the_atlas_order():
    assert [KEYPOINT_NAMES[i] for i in TORSO_QUAD] == ["left_shoulder", "right_shoulder",
                                                       "right_hip", "left_hip"]
    assert [KEYPOINT_NAMES[i] for i in TORSO_PAIRS] == ["left_shoulder", "right_shoulder",
                                                        "left_hip", "right_hip"]
    # the atlas's body quad is in the same order: its torso length is shoulders to hips
    f = default_atlas().frame
    assert torso_length(default_atlas().frame_quad) == pytest.approx(
        np.linalg.norm((f["left_shoulder"] + f["right_shoulder"]) / 2
                       - (f["left_hip"] + f["right_hip"]) / 2))


def test_lengths_of_a_body_lying_along_the_image():
    kp = np.zeros((33, 3))
    kp[TORSO_QUAD, :2] = [[120.0, 100.0], [80.0, 100.0], [90.0, 160.0], [110.0, 160.0]]
    assert shoulder_width(kp) == pytest.approx(40.0)
    assert hip_width(kp) == pytest.approx(20.0)
    assert torso_length(kp[TORSO_QUAD, :2]) == pytest.approx(60.0)
    np.testing.assert_allclose(torso_centre(kp), [100.0, 130.0])


def test_the_projector_puts_a_foot_on_the_body_and_with_the_camera_on_the_floor_plan():
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    cam = C.look_at([0.0, 0.0, 3.0], [0.0, 0.0, 0.0], K)
    z_joints = 0.77
    world = np.array([[-0.2, -0.2], [0.2, -0.2], [0.2, 0.2], [-0.2, 0.2]])
    h = homography(cam.project(np.column_stack([world, np.full(4, z_joints)])), 100.0 * world)
    # a foot standing on the back over the joint plane, heel and toe tip at their heights
    feet_w = np.array([[0.03, 0.12], [0.03, -0.13]])
    z = z_joints + C.SKIN_ABOVE_JOINTS_M + SOLE
    px = cam.project(np.column_stack([feet_w, z]))
    foot = FootProjector(h, cam, z_joints).project(px, SOLE)
    np.testing.assert_allclose(foot.room, feet_w, atol=1e-3)
    np.testing.assert_allclose(foot.body, 100.0 * feet_w, atol=0.1)
    # without the camera: the map alone (the parallax uncorrected), no floor plan
    flat = FootProjector(h).project(px, SOLE)
    assert flat.room is None
    np.testing.assert_allclose(flat.body, apply_h(h, px))
    # the heights matter: taken as joints, the same pixels land farther out
    assert np.all(np.abs(flat.body) > np.abs(foot.body))


def _foot_cov(eye):
    """The covariance the projector gives a foot on the back seen from ``eye`` (world m), with
    exact keypoints: only the height's share is left."""
    from vision.safety.feet import HEIGHT_SIGMA_M
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    cam = C.look_at(eye, [0.0, 0.0, 0.77], K)
    z_joints = 0.77
    world = np.array([[-0.2, -0.2], [0.2, -0.2], [0.2, 0.2], [-0.2, 0.2]])
    h = homography(cam.project(np.column_stack([world, np.full(4, z_joints)])), 100.0 * world)
    feet_w = np.array([[0.03, 0.12], [0.03, -0.13]])
    px = cam.project(np.column_stack([feet_w, z_joints + C.SKIN_ABOVE_JOINTS_M + SOLE]))
    zero = {"heel": np.zeros(2), "toe": np.zeros(2)}
    return FootProjector(h, cam, z_joints).foot(px[0], px[1], 0.0, zero).cov, HEIGHT_SIGMA_M


def test_a_foot_seen_at_an_angle_is_unsure_across_the_back_by_its_height_not_along_it():
    # From straight above a height error moves a point little; from a camera at 45 degrees on
    # the +y side it moves it by sigma x tan(45 degrees) toward the camera: along body +y
    # (here body = 100 x world), and not along x.
    above, sigma = _foot_cov([0.0, 0.0, 3.0])
    side, _ = _foot_cov([0.0, 2.0, 2.77])
    assert np.all(np.sqrt(above[:, [0, 1], [0, 1]]) < 0.6)           # cm, < 10 % of the side's
    heel_sd = np.sqrt(np.diag(side[0]))
    assert heel_sd[1] == pytest.approx(100.0 * sigma, rel=0.15)      # tan(45 deg) = 1
    assert heel_sd[0] < 0.2 * heel_sd[1]
    # without the camera the height is not modelled here (the back's obliqueness is)
    K = np.array([[1000.0, 0, 640], [0, 1000.0, 360], [0, 0, 1]])
    h = np.eye(3)
    zero = {"heel": np.zeros(2), "toe": np.zeros(2)}
    flat = FootProjector(h).foot(np.array([600.0, 300.0]), np.array([600.0, 400.0]), 0.0, zero)
    np.testing.assert_allclose(flat.cov, 0.0, atol=1e-9)
