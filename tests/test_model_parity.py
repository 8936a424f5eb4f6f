"""The committed ONNX models (models/*.onnx) against the original MediaPipe .tflite files.

For each model the original .tflite is fetched through ``samples.registry`` (PyPI wheel
``mediapipe==0.10.21`` / npm ``@mediapipe/pose@0.5.1675469404``) and run with
``ai_edge_litert`` (XNNPACK, the way MediaPipe runs it); the ONNX file runs in ONNX Runtime
with the settings the engine uses (ORT_ENABLE_ALL, spinning off). Inputs: three seeded
random tensors and one real frame (Pose2Sim SinglePerson cam01, resized to the model input).

Max abs differences are printed (``pytest -s``) and written to
``<pytest tmp>/model_parity.json``. Tolerances, per output (the measured figures are in
docs/models.md; each tolerance is >= 5x the worst one measured):

* landmarks x, y, z: 0.05 px of the 256-px crop (1/5000 of the crop: invisible after the
  crop is mapped back to the frame, far below the model's own jitter);
* landmarks visibility / presence logits: 0.01 (< 0.0025 after the sigmoid);
* presence flag (already a probability): 1e-3;
* heatmap logits: 0.02 (the sub-pixel refinement weights sigmoid(heatmap); 0.02 in logit
  moves a weight by < 0.5 %);
* world landmarks: 1e-3 m;
* segmentation: the logits reach +-2000, so they are compared after the sigmoid (what a
  mask uses): 0.03 (the worst measured, 0.006, is on random noise, where many logits sit
  near 0; a mask thresholds at 0.5);
* detector regressors: 0.01 px of the 224-px input; detector score logits: 0.01.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import models  # noqa: E402
from samples import registry  # noqa: E402

import onnxruntime as ort  # noqa: E402

MP_PYPI = ("mediapipe", "0.10.21")
MP_NPM = ("@mediapipe/pose", "0.5.1675469404")
NAMES = ("detector", "lite", "full", "heavy")
N_RANDOM = 3

TOL = {
    "landmarks_xyz": 0.05,
    "landmarks_vis_presence_logits": 0.01,
    "presence": 1e-3,
    "segmentation_sigmoid": 0.03,
    "heatmap": 0.02,
    "world_landmarks": 1e-3,
    "regressors": 0.01,
    "scores": 0.01,
}

_RESULTS: dict[str, dict[str, float]] = {}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80, 80)))


def _tflite_path(name: str) -> Path:
    # the registries are reachable wherever the project installs; a fetch error fails loudly
    if name == "detector":
        return registry.pypi_file(*MP_PYPI, "mediapipe/modules/pose_detection/pose_detection.tflite")
    return registry.npm_file(*MP_NPM, f"pose_landmark_{name}.tflite")


def _session(name: str, threads: int = 2):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(models.model_path(name)), so,
                                providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def real_frame() -> np.ndarray:
    import cv2

    video = registry.pose2sim_video("SinglePerson", 1)
    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    cap.release()
    assert ok, f"could not read a frame from {video}"
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)  # 1920x1080 portrait, one person


def _inputs(name: str, frame: np.ndarray) -> list[np.ndarray]:
    """NHWC float32 inputs: seeded random + the real frame, in the model's value range."""
    import cv2

    size = 224 if name == "detector" else 256
    lo = -1.0 if name == "detector" else 0.0
    rng = np.random.default_rng(1234)
    xs = [rng.uniform(lo, 1.0, (1, size, size, 3)).astype(np.float32) for _ in range(N_RANDOM)]
    img = cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    img = img / 127.5 - 1.0 if name == "detector" else img / 255.0
    xs.append(img[None])
    return xs


@pytest.fixture(scope="module")
def parity_record(tmp_path_factory):
    yield _RESULTS
    out = tmp_path_factory.getbasetemp() / "model_parity.json"
    out.write_text(json.dumps({"tolerance": TOL, "max_abs_diff": _RESULTS}, indent=2))
    print(f"\nparity figures written to {out}")


@pytest.mark.parametrize("name", NAMES)
def test_onnx_matches_tflite(name, real_frame, parity_record):
    from ai_edge_litert import interpreter as interp_mod
    tfl = _tflite_path(name)
    it = interp_mod.Interpreter(model_path=str(tfl), num_threads=2)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    tfl_out = {d["name"]: d["index"] for d in it.get_output_details()}
    info = models.model_info(name)
    sess = _session(name)
    onnx_names = [o.name for o in sess.get_outputs()]
    assert onnx_names == [o["name"] for o in info["outputs"]]

    diffs: dict[str, float] = {}

    def note(key, value):
        diffs[key] = max(diffs.get(key, 0.0), float(value))

    for x in _inputs(name, real_frame):
        assert tuple(inp["shape"]) == x.shape
        it.set_tensor(inp["index"], x)
        it.invoke()
        got = sess.run(None, {"input": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})
        for spec, onnx_val in zip(info["outputs"], got):
            ref = it.get_tensor(tfl_out[spec["tflite_name"]])
            assert ref.shape == onnx_val.shape, (spec["name"], ref.shape, onnx_val.shape)
            d = np.abs(ref - onnx_val)
            out = spec["name"]
            if out == "landmarks":
                d = d.reshape(-1, 39, 5)
                note("landmarks_xyz", d[..., :3].max())
                note("landmarks_vis_presence_logits", d[..., 3:].max())
            elif out == "segmentation":
                note("segmentation_logits", d.max())
                note("segmentation_sigmoid", np.abs(_sigmoid(ref) - _sigmoid(onnx_val)).max())
            else:
                note(out, d.max())

    parity_record[name] = diffs
    print(f"\n[{name}] max |tflite - onnx| over {N_RANDOM} random + 1 real input: "
          + ", ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
    bad = {k: (v, TOL[k]) for k, v in diffs.items() if k in TOL and not v <= TOL[k]}
    assert not bad, f"{name}: differences over tolerance (diff, tol): {bad}"


@pytest.mark.parametrize("name", ["lite", "full", "heavy"])
def test_batched_equals_single(name, real_frame):
    """The engine runs all people in one call: batch of 3 == 3 single calls."""
    sess = _session(name)
    xs = [np.ascontiguousarray(x.transpose(0, 3, 1, 2)) for x in _inputs(name, real_frame)[-3:]]
    assert sess.get_inputs()[0].shape[0] == "N"
    batched = sess.run(None, {"input": np.concatenate(xs)})
    worst = {}
    for i, x in enumerate(xs):
        single = sess.run(None, {"input": x})
        for o, b, s in zip(sess.get_outputs(), batched, single):
            assert b.shape[0] == 3 and b.shape[1:] == s.shape[1:], (o.name, b.shape, s.shape)
            scale = max(1.0, float(np.abs(s).max()))
            worst[o.name] = max(worst.get(o.name, 0.0), float(np.abs(b[i:i + 1] - s).max()) / scale)
    print(f"\n[{name}] batch(3) vs single, max abs diff / max(1, |value|): "
          + ", ".join(f"{k}={v:.1e}" for k, v in worst.items()))
    assert all(v < 1e-5 for v in worst.values()), worst


@pytest.mark.parametrize("name", NAMES)
def test_committed_files_match_manifest(name):
    info = models.model_info(name)
    path = models.model_path(name)
    assert path.name == info["file"] == models.FILES[name]
    assert path.stat().st_size == info["size"]
    assert models.verify(name), f"{path.name}: sha256 differs from models/manifest.json"
    assert info["licence"] == "Apache-2.0"
    src = info["source"]
    assert {"registry", "package", "version", "member", "sha256"} <= set(src)


@pytest.mark.parametrize("name", ["lite", "full", "heavy"])
def test_engine_variant_equals_full_model(name, real_frame):
    """The engine's cut-down model (no segmentation, no world landmarks) gives exactly the
    full model's landmarks, presence and heatmap, batched as the engine runs it."""
    info = models.model_info(f"{name}_engine")
    assert info["derived_from"] == name and models.verify(f"{name}_engine")
    full, cut = _session(name), _session(f"{name}_engine")
    assert [o.name for o in cut.get_outputs()] == info["outputs"] == \
        ["landmarks", "presence", "heatmap"]
    x = np.concatenate([np.ascontiguousarray(x.transpose(0, 3, 1, 2))
                        for x in _inputs(name, real_frame)])
    for a, b in zip(full.run(info["outputs"], {"input": x}), cut.run(None, {"input": x})):
        assert np.array_equal(a, b)


def test_manifest_io_specs_match_onnx():
    for name in NAMES:
        info = models.model_info(name)
        sess = ort.InferenceSession(str(models.model_path(name)),
                                    providers=["CPUExecutionProvider"])
        (i,) = sess.get_inputs()
        assert i.name == info["inputs"][0]["name"] == "input"
        assert i.shape == info["inputs"][0]["shape"]
        assert [(o.name, o.shape) for o in sess.get_outputs()] == \
            [(o["name"], o["shape"]) for o in info["outputs"]]


def test_missing_model_error_names_file(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="pose_landmark_full.onnx"):
        models.model_path("full")
