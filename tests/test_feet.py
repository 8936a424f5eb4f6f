"""The feet model (vision/pose/feet.py, models/feet.onnx) and its training data (models/feet/,
samples/render/randomise.py)."""

from __future__ import annotations

import numpy as np
import pytest

from models import model_info, model_path, verify
from vision.pose import feet as F
from vision.pose.engine import EngineConfig, PoseEngine


def _person(ankle, heel, toe, knee, side="left") -> np.ndarray:
    kp = np.zeros((1, 33, 3))
    a, h, t, k = F.FOOT_POINTS[side]
    kp[0, [a, h, t, k], :2] = [ankle, heel, toe, knee]
    return kp


def test_a_crop_is_centred_on_the_foot_and_sized_by_its_length():
    kp = _person((500, 400), (490, 420), (540, 425), (500, 250))
    centres, sides = F.foot_boxes(kp)
    assert np.allclose(centres[0, 0], [(500 + 490 + 540) / 3, (400 + 420 + 425) / 3])
    # heel-toe 50.2 px, the shank's third 50 px: the longer, in foot lengths
    assert sides[0, 0] == pytest.approx(F.WIDE * np.hypot(50, 5))


def test_a_heel_fallen_onto_the_toe_still_gives_a_foot_sized_crop():
    """A wrong estimate (heel on the toe) must not shrink the crop to nothing: the shank and
    the ankle-toe distance keep it a foot long."""
    kp = _person((500, 400), (540, 424), (540, 425), (500, 250))
    _, sides = F.foot_boxes(kp)
    assert sides[0, 0] >= F.WIDE * 50


def test_a_foot_read_onto_the_other_foot_keeps_the_landmark_models_points():
    # the landmark model: feet 60 px apart (ankle, heel, toe tip), knees above them
    left = np.array([[400, 400], [395, 420], [440, 425]], float)
    right = left + [60, 0]
    base = np.stack([left, right])[None]                      # (1, 2, 3, 2)
    knees = np.array([[[400, 250], [460, 250]]], float)
    # the feet model moves each a few px: both kept
    near = base + [[[[2, 1]], [[-1, 2]]]]
    assert not F.collapsed_foot(near, base, knees).any()
    # the right foot's crop found the left foot: the right one is dropped, the left kept
    onto = near.copy()
    onto[0, 1] = left + [3, -2]
    assert F.collapsed_foot(onto, base, knees).tolist() == [[False, True]]
    # feet the landmark model itself has on top of each other: nothing to tell them by
    together = np.stack([left, left + [4, 0]])[None]
    assert not F.collapsed_foot(together + 1.0, together, knees).any()


def test_cut_and_to_image_are_inverse():
    image = np.zeros((300, 400, 3), np.uint8)
    image[148:153, 248:253] = 255           # a bright dot centred on (250.5, 150.5)
    centre, side = np.array([[240.0, 160.0]]), np.array([80.0])
    crop = F.cut(image, centre, side)[0]
    w = crop[..., 0].astype(float)
    vv, uu = np.mgrid[:F.INPUT, :F.INPUT]
    u, v = (w * uu).sum() / w.sum(), (w * vv).sum() / w.sum()   # the dot's centroid
    back = F.to_image(np.array([[[(u + 0.5) / F.INPUT, (v + 0.5) / F.INPUT]]]), centre, side)
    assert np.allclose(back[0, 0], [250.5, 150.5], atol=0.1)


def test_the_committed_model_is_the_manifests():
    assert verify("feet")
    info = model_info("feet")
    assert info["source"]["trained"] == "models/feet/train.py"
    assert info["inputs"][0]["shape"][1:] == [F.INPUT, F.INPUT, 3]


def test_the_model_reads_every_crop_of_a_batch_as_it_reads_it_alone():
    model = F.FeetModel(model_path("feet"), threads=1)
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 255, (3, F.INPUT, F.INPUT, 3), dtype=np.uint8)
    right = np.array([False, True, False])
    uv, vis = model.infer(crops, right)
    assert uv.shape == (3, 3, 2) and vis.shape == (3, 3)
    assert ((vis >= 0) & (vis <= 1)).all()
    one, _ = model.infer(crops[1:2], right[1:2])
    assert np.allclose(one[0], uv[1], atol=1e-5)


def test_a_right_foot_is_read_as_the_mirror_of_a_left_one():
    """The model looks for left feet; a right foot's crop is mirrored in and its points out, so
    a crop read as a right foot gives the mirror image of its mirror read as a left one."""
    model = F.FeetModel(model_path("feet"), threads=1)
    crop = np.random.default_rng(1).integers(0, 255, (1, F.INPUT, F.INPUT, 3), dtype=np.uint8)
    as_right, _ = model.infer(crop, np.array([True]))
    mirrored_as_left, _ = model.infer(crop[:, :, ::-1].copy(), np.array([False]))
    assert np.allclose(as_right[..., 0], 1 - mirrored_as_left[..., 0], atol=1e-5)
    assert np.allclose(as_right[..., 1], mirrored_as_left[..., 1], atol=1e-5)
    back, _ = F.flip_right(crop, None, np.array([True]))
    assert np.array_equal(F.flip_right(back, None, np.array([True]))[0], crop)


@pytest.fixture(scope="module")
def rendered_frames():
    """Frames of a rendered session (seed 0's look, the demo's: not in the training data,
    whose looks come from samples/render/randomise.py) with their truth."""
    from samples.render import scene as S
    from samples.render.candidates import advised_camera
    from samples.render.sequence import render_sequence
    S._import_pyrender()
    gen = render_sequence(advised_camera("head_ceiling_1.1"), 6, seed=0)
    studio = next(gen)
    return studio, list(gen)


def test_the_feet_model_places_the_rendered_therapists_feet_closer(rendered_frames):
    """Against the renderer's truth, the therapist's heels and toe tips with the model are
    nearer than BlazePose's own (median px over points the truth sees)."""
    from samples.render.measure import Tally
    studio, frames = rendered_frames
    kw = dict(model="full", table=studio.table, table_head=studio.table_head, threads=2)
    figures = {}
    for feet in (False, True):
        engine = PoseEngine(EngineConfig(feet=feet, **kw))
        tally = Tally()
        for fr in frames:
            tally.add(fr.people, list(engine.process(fr.bgr, fr.t).frame.people))
        figures[feet] = tally.summary()
    off, on = figures[False], figures[True]
    print(f"\nheels {off['therapist_heels_visible_px']:.1f} -> "
          f"{on['therapist_heels_visible_px']:.1f} px, toes {off['therapist_toes_visible_px']:.1f}"
          f" -> {on['therapist_toes_visible_px']:.1f} px")
    assert on["therapist_found"] == off["therapist_found"]
    assert on["therapist_heels_visible_px"] + on["therapist_toes_visible_px"] < \
        off["therapist_heels_visible_px"] + off["therapist_toes_visible_px"]
    # the client's keypoints are the landmark model's either way
    assert on["client_hips_px"] == pytest.approx(off["client_hips_px"])


def test_the_model_follows_the_footage_and_the_setting_overrides_it(monkeypatch):
    table = np.array([[400, 200], [900, 200], [900, 500], [400, 500]], float)
    monkeypatch.delenv("ASHIWATCH_FEET_MODEL", raising=False)
    # a studio camera over the table: the view it was trained for
    assert EngineConfig().feet is None and EngineConfig(table=table).reads_feet
    assert PoseEngine(EngineConfig(model="lite", table=table)).feet is not None
    # footage without a studio (people walking, seen from the side): off
    assert not EngineConfig().reads_feet
    assert PoseEngine(EngineConfig(model="lite")).feet is None
    assert PoseEngine(EngineConfig(model="lite")).source == "engine:lite"
    monkeypatch.setenv("ASHIWATCH_FEET_MODEL", "1")
    assert EngineConfig().reads_feet
    assert PoseEngine(EngineConfig(model="lite")).source == "engine:lite+feet"
    monkeypatch.setenv("ASHIWATCH_FEET_MODEL", "0")
    assert not EngineConfig(table=table).reads_feet
    assert PoseEngine(EngineConfig(model="lite", table=table)).feet is None
    monkeypatch.setenv("ASHIWATCH_FEET_MODEL", "yes")
    with pytest.raises(ValueError, match="ASHIWATCH_FEET_MODEL='yes'"):
        EngineConfig()


def test_a_live_camera_names_the_reading_it_makes(monkeypatch):
    # The live feed's pose track header says what read the feet, so that the safety core adds
    # that reading's keypoint error (vision.safety.steps.params_for), not the landmark model's.
    from types import SimpleNamespace
    from service.api.cameras import LIVE_MODEL, CameraWorker
    from vision.io.studio import load_studio
    from vision.safety.steps import KP_SIGMA_CM, params_for
    monkeypatch.delenv("ASHIWATCH_FEET_MODEL", raising=False)
    studio = load_studio("samples/demo/studio.yaml")
    assert studio.table is not None
    for st, want in ((studio, f"engine:{LIVE_MODEL}+feet"), (None, f"engine:{LIVE_MODEL}")):
        worker = CameraWorker(SimpleNamespace(id=1, source="samples/demo/demo.mp4", speed=1.0),
                              hub=None)
        headers = []
        monkeypatch.setattr(worker, "_session", lambda header, *a: headers.append(header))
        worker._replay_once(st)       # the bundled video replayed as a camera
        assert [h.source for h in headers] == [want]
    assert params_for(f"engine:{LIVE_MODEL}+feet").kp_sigma_cm == \
        KP_SIGMA_CM[f"engine:{LIVE_MODEL}+feet"] != KP_SIGMA_CM[f"engine:{LIVE_MODEL}"]


def test_randomised_looks_are_fixed_by_their_seed_and_vary_across_seeds():
    from samples.render.randomise import random_look
    a, b, c = random_look(3), random_look(3), random_look(4)
    assert np.array_equal(a.client_skin, b.client_skin) and a.scenery.table == b.scenery.table
    assert np.array_equal(a.therapist_texture.phases, b.therapist_texture.phases)
    assert not np.array_equal(a.client_skin, c.client_skin)
    assert a.scenery.table != c.scenery.table


def test_a_degraded_crop_keeps_its_size_and_type():
    from samples.render.randomise import degrade
    img = np.full((64, 64, 3), 128, np.uint8)
    out = degrade(img, np.random.default_rng(1))
    assert out.shape == img.shape and out.dtype == np.uint8


@pytest.mark.slow
def test_a_training_shard_holds_labelled_crops(tmp_path):
    """One pose of the data generator: crops of the model's size, points in crop units inside
    the crop for most, visibilities 0 or 1."""
    from models.feet.data import make_shard
    d = np.load(make_shard(5, 1, tmp_path))
    assert d["x"].shape[1:] == (F.INPUT, F.INPUT, 3) and len(d["x"]) >= 2
    assert d["uv"].shape == (len(d["x"]), 3, 2)
    assert set(np.unique(d["vis"])) <= {0.0, 1.0}
    inside = ((d["uv"] > 0) & (d["uv"] < 1)).all(-1)
    assert inside.mean() > 0.7
