"""The MediaPipe golden files load and look like keypoints (see tests/golden/README.md)."""

import numpy as np
import pytest

from tests.goldens import MODES, golden_clips, load_golden, torso_length, unrotate

SINGLE = [f"single_cam{c:02d}" for c in range(1, 5)]


def test_all_single_person_clips_present():
    assert set(SINGLE) <= set(golden_clips())


@pytest.mark.parametrize("clip", golden_clips())
def test_golden_shapes_and_ranges(clip):
    g = load_golden(clip)
    h = g["header"]
    assert h["mediapipe"] == "0.10.21" and h["model_complexity"] == 1
    assert h["columns"] == ["x_px", "y_px", "visibility", "presence"]
    w, ht = h["frame_size"]
    assert (w, ht) in ((1080, 1920), (1088, 1920))
    assert set(g["image"]) == set(range(0, h["n_frames"], 5))
    assert set(g["video"]) == set(range(h["n_frames"]))
    modes = [m for m in MODES if m in g]
    if clip.startswith("single"):
        assert modes == list(MODES)
    for mode in modes:
        iw, ih = g["image_size"][mode]
        assert sorted((iw, ih)) == sorted((w, ht))
        found = [kp for kp in g[mode].values() if kp is not None]
        assert len(found) >= 0.8 * len(g[mode]), mode
        for kp in found:
            assert kp.shape == (33, 4)
            assert np.all((kp[:, 2:] >= 0) & (kp[:, 2:] <= 1))
            inside = (kp[:, 0] >= 0) & (kp[:, 0] <= iw) & (kp[:, 1] >= 0) & (kp[:, 1] <= ih)
            assert inside.mean() >= 0.8
            # a standing adult seen from ~2-4 m in a 1920 px tall frame
            assert 100 < torso_length(kp) < 600


def test_single_person_video_mode_finds_someone_every_frame():
    for clip in SINGLE:
        g = load_golden(clip)
        assert all(kp is not None for kp in g["video"].values()), clip


def test_rotated_goldens_map_back_onto_image_mode():
    g = load_golden("single_cam01")
    for mode in ("rot90cw", "rot180", "rot90ccw"):
        for i, kp in g[mode].items():
            ref = g["image"][i]
            xy = unrotate(kp, mode, g["header"]["frame_size"])
            err = np.median(np.linalg.norm(xy - ref[:, :2], axis=1))
            assert err < 0.1 * torso_length(ref), (mode, i)


def test_torso_length():
    kp = np.zeros((33, 4))
    kp[[11, 12], :2] = [[0, 0], [2, 0]]
    kp[[23, 24], :2] = [[0, 3], [2, 5]]
    assert torso_length(kp) == pytest.approx(np.hypot(0, 4))
