"""Geometry on hand-made cases: projective map, distances, polylines, the foot's loaded parts."""

import numpy as np
import pytest

from vision.safety.geometry import (apply_h, disc_samples, foot_loaded_parts, homography,
                             point_segment_distance, points_in_polygon, polyline_project,
                             quad_is_convex)


def test_homography_maps_the_four_corners_exactly():
    src = np.array([[100.0, 50.0], [400.0, 80.0], [380.0, 300.0], [90.0, 260.0]])
    dst = np.array([[0.0, 0.0], [10.0, 0.0], [10.0, 20.0], [0.0, 20.0]])
    h = homography(src, dst)
    np.testing.assert_allclose(apply_h(h, src), dst, atol=1e-9)


def test_homography_recovers_a_perspective_view_of_a_plane():
    # A plane seen by a pinhole camera at an angle: image = K [R|t] X for points X on z = 0.
    ang = np.radians(35)
    R = np.array([[1, 0, 0], [0, np.cos(ang), -np.sin(ang)], [0, np.sin(ang), np.cos(ang)]])
    t = np.array([0.1, -0.2, 3.0])
    f = 800.0

    def cam(p):
        q = np.c_[p, np.zeros(len(p))] @ R.T + t
        return f * q[:, :2] / q[:, 2:3] + [640, 360]

    corners = np.array([[-0.3, -0.5], [0.3, -0.5], [0.3, 0.5], [-0.3, 0.5]])
    h = homography(cam(corners), corners)
    # Any other point of the plane maps back to where it is, although the image is not affine.
    grid = np.array([[x, y] for x in np.linspace(-0.5, 0.5, 5) for y in np.linspace(-1, 1, 7)])
    np.testing.assert_allclose(apply_h(h, cam(grid)), grid, atol=1e-9)
    # ... which an affine fit of the same corners would not do.
    a, *_ = np.linalg.lstsq(np.c_[cam(corners), np.ones(4)], corners, rcond=None)
    assert np.abs(np.c_[cam(grid), np.ones(len(grid))] @ a - grid).max() > 0.01


def test_homography_handles_a_mirror_image():
    src = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    dst = src * [-1, 1]
    h = homography(src, dst)
    np.testing.assert_allclose(apply_h(h, [[0.25, 0.75]]), [[-0.25, 0.75]], atol=1e-12)


def test_homography_rejects_degenerate_quads():
    with pytest.raises(ValueError):
        homography(np.array([[0, 0], [1, 1], [2, 2], [3, 3.0]]),
                   np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]))
    with pytest.raises(ValueError):
        homography(np.zeros((3, 2)), np.zeros((3, 2)))


def test_apply_h_is_vectorised_over_leading_axes():
    h = np.array([[2.0, 0, 1], [0, 3.0, -1], [0, 0, 1]])
    pts = np.arange(24, dtype=float).reshape(3, 4, 2)
    out = apply_h(h, pts)
    assert out.shape == (3, 4, 2)
    np.testing.assert_allclose(out[..., 0], 2 * pts[..., 0] + 1)
    np.testing.assert_allclose(out[..., 1], 3 * pts[..., 1] - 1)


def test_quad_convexity():
    assert quad_is_convex(np.array([[0, 0], [1, 0], [1, 1], [0, 1.0]]))
    assert quad_is_convex(np.array([[0, 0], [0, 1], [1, 1], [1, 0.0]]))  # other winding
    assert not quad_is_convex(np.array([[0, 0], [1, 1], [1, 0], [0, 1.0]]))  # bow tie


def test_point_segment_distance():
    segs = np.array([[[0.0, 0.0], [10.0, 0.0]], [[0.0, 5.0], [0.0, 9.0]]])
    pts = np.array([[5.0, 3.0], [-4.0, 0.0], [0.0, 12.0]])
    d = point_segment_distance(pts, segs)
    assert d.shape == (3, 2)
    np.testing.assert_allclose(d[:, 0], [3.0, 4.0, 12.0])
    np.testing.assert_allclose(d[:, 1], [np.hypot(5, 2), np.hypot(4, 5), 3.0])


def test_polyline_project_positions_and_distances():
    poly = np.array([[0.0, 0.0], [0.0, 10.0], [0.0, 30.0]])
    s, d = polyline_project(np.array([[2.0, 5.0], [-3.0, 20.0], [0.0, 40.0], [1.0, -5.0]]), poly)
    np.testing.assert_allclose(s, [0.5, 1.5, 2.5, -0.5])
    np.testing.assert_allclose(d, [2.0, 3.0, 0.0, 1.0])


def test_foot_loaded_parts_follow_the_foot_axis():
    heel = np.array([10.0, 0.0])
    toe = np.array([10.0, 25.0])
    centres, radii = foot_loaded_parts(heel, toe)
    np.testing.assert_allclose(centres[0], [10.0, 0.12 * 25])   # heel pad
    np.testing.assert_allclose(centres[1], [10.0, 0.70 * 25])   # ball of the foot
    assert radii[0] > 0 and radii[1] > 0
    # Vectorised over feet, and rotating the foot rotates the parts.
    c2, r2 = foot_loaded_parts(np.array([[0.0, 0.0], [0.0, 0.0]]),
                               np.array([[25.0, 0.0], [0.0, -25.0]]))
    np.testing.assert_allclose(c2[0, 1], [17.5, 0.0])
    np.testing.assert_allclose(c2[1, 1], [0.0, -17.5])
    np.testing.assert_allclose(r2[0], radii)


def test_disc_samples_cover_the_disc_edge():
    pts = disc_samples(np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([1.0, 2.0]), n=4)
    assert pts.shape == (10, 2)
    r = np.linalg.norm(pts[5:] - [10.0, 0.0], axis=1)
    np.testing.assert_allclose(sorted(r), [0, 2, 2, 2, 2])


def test_points_in_polygon():
    square = np.array([[0, 0], [4, 0], [4, 4], [0, 4.0]])
    inside = points_in_polygon(np.array([[1, 1], [5, 1], [2, 3.9], [-0.1, 2]]), square)
    assert inside.tolist() == [True, False, True, False]


def test_disc_grid_leaves_no_gap_a_spine_could_pass_through():
    from vision.safety.geometry import disc_grid
    pts = disc_grid(np.array([5.0, 5.0]), 10.0, spacing=1.0)
    assert np.all(np.linalg.norm(pts - [5, 5], axis=1) <= 10.0 + 1e-9)
    # Every strip 1 cm wide crossing the disc holds a sample.
    for x0 in np.arange(-4.5, 14.5, 0.37):
        assert np.any(np.abs(pts[:, 0] - x0) <= 0.5)
    np.testing.assert_allclose(disc_grid(np.array([1.0, 2.0]), 0.0), [[1.0, 2.0]])


def test_complete_foot_from_heel_or_toe_and_the_ankle():
    from vision.safety.geometry import complete_foot
    heel, toe = np.array([0.0, 0.0]), np.array([0.0, -25.0])
    ankle = heel + 0.2 * (toe - heel)
    h, t = complete_foot(heel, ankle, "heel", 25.0)
    np.testing.assert_allclose([h, t], [heel, toe], atol=1e-12)
    h, t = complete_foot(toe, ankle, "toe", 25.0)
    np.testing.assert_allclose([h, t], [heel, toe], atol=1e-12)
    # Vectorised over feet; an ankle on top of the seen point gives no direction: nan.
    seen = np.array([[0.0, 0.0], [10.0, 0.0]])
    ank = np.array([[0.0, -5.0], [10.0, -0.5]])
    h, t = complete_foot(seen, ank, "heel", np.array([25.0, 25.0]))
    np.testing.assert_allclose(t[0], [0.0, -25.0])
    assert np.all(np.isnan(t[1]))
    with pytest.raises(ValueError):
        complete_foot(heel, ankle, "ankle", 25.0)
