"""The landmark model with its foot outputs re-fitted on renders (models/feet/head.py,
models/pose_landmark_heavy_feet.onnx, the engine's model ``heavy_feet``)."""

from __future__ import annotations

import numpy as np
import pytest

from models import model_path
from models.feet import head as H
from vision.pose.landmarks import INPUT_SIZE, LandmarkModel, refine_from_heatmap


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    """A models folder with the bundled files and a heavy_feet made by ``export`` from heavy's
    weights with the foot rows moved by a known amount (no renders needed)."""
    import models as M
    d = tmp_path_factory.mktemp("models")
    for f in M.MODELS_DIR.iterdir():
        if f.suffix in (".onnx", ".json"):
            (d / f.name).symlink_to(f)
    base = model_path("heavy_engine")
    init = H.initial(base)
    w, b = (a.copy() for a in init["regression"])
    b[H.rows()] += 8.0                                   # every foot point 8 px right and down
    hw, hb = init["heatmap"]
    if (d / M.FILES["heavy_feet_engine"]).exists():
        (d / M.FILES["heavy_feet_engine"]).unlink()
    H.export(base, d / M.FILES["heavy_feet_engine"], w, b, hw, hb)
    return d


def test_a_model_that_is_built_not_bundled_says_how_to_make_it(monkeypatch, tmp_path):
    import models as M
    monkeypatch.setattr(M, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="models.feet.head data"):
        model_path("heavy_feet_engine")
    assert "heavy_feet_engine" not in M.manifest()["models"]


def _crops(n=3, seed=0):
    """Smooth random images (a model reads noise as noise; blobs give it something)."""
    import cv2
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (n, 16, 16, 3), dtype=np.uint8)
    return np.stack([cv2.resize(s, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_CUBIC)
                     for s in small])


def test_export_changes_only_the_foot_points(models_dir):
    """The exported file gives BlazePose's outputs everywhere but the six foot points' x and y,
    and those by exactly what the new weights say."""
    x = _crops()
    base = LandmarkModel(model_path("heavy_engine"), threads=1)
    new = LandmarkModel(models_dir / "pose_landmark_heavy_feet.onnx", threads=1)
    inp = np.ascontiguousarray(x[..., ::-1].transpose(0, 3, 1, 2), np.float32) / 255.0
    lm0, flag0, hm0 = base.infer(inp)
    lm1, flag1, hm1 = new.infer(inp)
    lm0, lm1 = lm0.reshape(len(x), 39, 5), lm1.reshape(len(x), 39, 5)
    foot = np.zeros((39, 5), bool)
    foot[H.POINTS, :2] = True
    np.testing.assert_allclose(lm1[:, ~foot], lm0[:, ~foot], atol=1e-3)
    np.testing.assert_allclose(lm1[:, foot] - lm0[:, foot], 8.0, atol=0.05)
    np.testing.assert_allclose(flag1, flag0, atol=1e-6)
    np.testing.assert_allclose(hm1, hm0, atol=1e-3)


def test_the_regression_head_is_linear_in_the_extracted_features():
    """The fit's premise: BlazePose's landmarks are the stored conv weights times the features
    ``features`` extracts (so the ridge fit is exact, not an approximation)."""
    x = _crops(2, seed=1)
    F, heat = H.features(model_path("heavy_engine"), x, threads=1)
    w, b = H.initial(model_path("heavy_engine"))["regression"]
    pred = F @ w.reshape(len(w), -1).T + b
    lm, _, _ = LandmarkModel(model_path("heavy_engine"), threads=1).infer(
        np.ascontiguousarray(x[..., ::-1].transpose(0, 3, 1, 2), np.float32) / 255.0)
    np.testing.assert_allclose(pred, lm.reshape(2, -1), atol=1e-2)
    assert heat.shape == (2, 48, 64, 64)


def test_ridge_recovers_a_linear_map_and_keeps_the_start_where_data_say_nothing():
    rng = np.random.default_rng(3)
    F = rng.normal(size=(400, 6))
    W_true = rng.normal(size=(7, 12))
    Y = np.hstack([F, np.ones((400, 1))]) @ W_true
    W0 = np.zeros((7, 12))
    np.testing.assert_allclose(H.ridge(F, Y, W0, 1e-6), W_true, atol=1e-4)
    # a feature the data never use keeps its starting weight
    F[:, 2] = 0
    W0[2] = 5.0
    assert np.allclose(H.ridge(F, Y, W0, 1.0)[2], 5.0)


def test_a_foot_point_off_by_a_lot_does_not_pull_the_fit():
    """The Huber weights: one sample with a wild label moves the fit far less than the
    squared loss would."""
    rng = np.random.default_rng(4)
    F = rng.normal(size=(200, 3))
    W_true = rng.normal(size=(4, 12))
    Y = np.hstack([F, np.ones((200, 1))]) @ W_true
    Y[0] += 500.0
    robust = H.ridge(F, Y, np.zeros((4, 12)), 1e-6)
    plain = H.ridge(F, Y, np.zeros((4, 12)), 1e-6, delta=1e12, iters=1)
    assert np.abs(robust - W_true).max() < 0.2 * np.abs(plain - W_true).max()


def test_the_fit_windows_give_the_engines_refinement():
    """fit_heat trains on ``windows``: with BlazePose's weights their sigmoid-weighted mean is
    the engine's refine_from_heatmap where that refines."""
    rng = np.random.default_rng(5)
    heat = rng.normal(0, 1, (2, 48, 64, 64)).astype(np.float16)
    w, b = rng.normal(0, 0.5, (6, 48)), np.full(6, 2.0)
    xy = rng.uniform(30, 220, (2, 6, 2))
    win, pos, inside = H.windows(heat, xy)
    s = 1 / (1 + np.exp(-(np.einsum("nlkc,lc->nlk", win, w) + b[None, :, None]))) * inside
    mean = (s[..., None] * pos).sum(2) / s.sum(2)[..., None] / 64 * INPUT_SIZE
    logits = np.einsum("nchw,lc->nhwl", heat.astype(np.float32), w) + b
    np.testing.assert_allclose(mean, refine_from_heatmap(xy, logits), atol=1e-3)


def test_the_engine_reads_with_the_refitted_model(monkeypatch, models_dir):
    import models as M
    from vision.pose.engine import EngineConfig, PoseEngine
    from vision.safety.steps import KP_SIGMA_CM, params_for
    monkeypatch.setattr(M, "MODELS_DIR", models_dir)
    eng = PoseEngine(EngineConfig(model="heavy_feet", threads=1))
    assert eng.source == "engine:heavy_feet"
    assert eng.landmarks.session._model_path == str(models_dir / "pose_landmark_heavy_feet.onnx")
    # not measured: the base model's keypoint error
    assert "engine:heavy_feet" not in KP_SIGMA_CM
    assert params_for("engine:heavy_feet").kp_sigma_cm == KP_SIGMA_CM["engine:heavy"]
    with pytest.raises(ValueError, match="heavy_feet"):
        PoseEngine(EngineConfig(model="huge"))


@pytest.mark.slow
def test_a_training_shard_holds_legs_crops_with_their_feet(tmp_path):
    d = np.load(H.make_shard(5, 1, tmp_path))
    assert d["x"].shape[1:] == (INPUT_SIZE, INPUT_SIZE, 3) and len(d["x"]) >= 1
    assert d["uv"].shape == (len(d["x"]), 6, 2)
    assert ((d["uv"] > -0.1 * INPUT_SIZE) & (d["uv"] < 1.1 * INPUT_SIZE)).all()
