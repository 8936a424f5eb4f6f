"""Convert the BlazePose GHUM .tflite models to ONNX and write models/manifest.json.

Re-run from the repository root, in a throw-away conversion venv (never the runtime one):

    python3 -m venv /tmp/conv
    /tmp/conv/bin/pip install -r models/requirements-convert.txt
    /tmp/conv/bin/python models/convert.py

Sources (registry packages only, fetched and cached by ``samples/registry.py``):

* ``pose_detection.tflite`` from the PyPI wheel ``mediapipe==0.10.21``
  (member ``mediapipe/modules/pose_detection/pose_detection.tflite``);
* ``pose_landmark_{lite,full,heavy}.tflite`` from npm ``@mediapipe/pose@0.5.1675469404``
  (tarball members ``package/pose_landmark_*.tflite``).

Steps:

1. The detector stores 38 float16 weight tensors sparse, expanded at run time by TFLite
   ``DENSIFY`` ops that tf2onnx cannot convert. We run the model once with the TFLite
   interpreter *without* the default XNNPACK delegate (XNNPACK would consume the weights and
   leave wrong values in the tensors), read the dense outputs of every DENSIFY op, store them
   as constant buffers in the flatbuffer and delete the DENSIFY ops.
2. tf2onnx (opset 17) converts each model with the input made channels-first (NCHW).
3. The ONNX graph is post-processed: input/outputs get meaningful names, the batch
   dimension becomes symbolic ``N`` (landmark models) and every Reshape whose constant
   target shape hard-codes batch 1 gets 0 ("copy the input's batch") instead.
4. Checks: onnx.checker; onnxruntime (when installed) against the TFLite interpreter;
   batch of 3 == 3 single calls for the landmark models.
5. ``models/manifest.json`` is written with sha256s, sources, converter versions and
   input/output specs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def _load_registry():
    # import samples/registry.py by path (the conversion venv does not install the project)
    spec = importlib.util.spec_from_file_location("ashiwatch_registry", ROOT / "samples" / "registry.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


registry = _load_registry()

import numpy as np  # noqa: E402

from models import sha256_file as sha256  # noqa: E402  (stdlib only; the repo root is on the path)

OPSET = 17

MP_PYPI = ("mediapipe", "0.10.21")
MP_NPM = ("@mediapipe/pose", "0.5.1675469404")

LANDMARK_OUTPUTS = [
    # (tflite name, onnx name, meaning)
    ("Identity", "landmarks",
     "39x5 flattened: per keypoint x, y (pixels of the 256x256 crop), z (same scale as x, "
     "relative to the hip midpoint, smaller = closer to the camera), visibility logit, "
     "presence logit (apply sigmoid to the last two). Keypoints 0-32 are the BlazePose "
     "body landmarks; 33 is the full-body ROI centre (= hip centre) and 34 the full-body "
     "ROI scale/rotation point, which MediaPipe uses to place the next frame's crop. "
     "35-38 are auxiliary points MediaPipe's graph does not use; they are NOT the "
     "shoulder centre (measured), treat them as undocumented"),
    ("Identity_1", "presence",
     "pose presence flag: PROBABILITY in [0,1] (the model already applies a sigmoid); "
     "MediaPipe rejects the crop below 0.5"),
    ("Identity_2", "segmentation",
     "person segmentation LOGITS for the 256x256 crop, NHWC (apply sigmoid for a mask)"),
    ("Identity_3", "heatmap",
     "64x64x39 keypoint heatmap logits, NHWC, used by MediaPipe for sub-pixel "
     "refinement of the keypoints (RefineLandmarksFromHeatmap, kernel 7, sigmoid)"),
    ("Identity_4", "world_landmarks",
     "39x3 flattened: real-world x, y, z in metres, origin at the hip centre"),
]
DETECTOR_OUTPUTS = [
    ("Identity", "regressors",
     "2254 anchors x 12: box centre dx, dy, w, h then 4 keypoints (x, y) each, in pixels of "
     "the 224x224 input relative to the anchor centre. The BOX IS THE FACE. Keypoints: "
     "0 hip centre, 1 full-body scale/rotation point (circle through it centred at the hip "
     "centre encloses the body), 2 shoulder centre, 3 upper-body scale point"),
    ("Identity_1", "scores",
     "2254 anchors x 1: raw detection LOGITS (apply sigmoid; MediaPipe clips to +-100 and "
     "uses min score 0.5)"),
]

MODELS = {
    "detector": {
        "file": "pose_detection.onnx",
        "source": {"registry": "pypi", "package": MP_PYPI[0], "version": MP_PYPI[1],
                   "member": "mediapipe/modules/pose_detection/pose_detection.tflite"},
    },
}
for _v in ("lite", "full", "heavy"):
    MODELS[_v] = {
        "file": f"pose_landmark_{_v}.onnx",
        "source": {"registry": "npm", "package": MP_NPM[0], "version": MP_NPM[1],
                   "member": f"package/pose_landmark_{_v}.tflite"},
    }


def fetch(name: str) -> Path:
    src = MODELS[name]["source"]
    if src["registry"] == "pypi":
        return registry.pypi_file(src["package"], src["version"], src["member"])
    return registry.npm_file(src["package"], src["version"], src["member"][len("package/"):])


# --------------------------------------------------------------------------- detector densify

def densify_tflite(src: Path, dst: Path) -> int:
    """Rewrite every DENSIFY op's output as a constant buffer; drop the DENSIFY ops."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as S
    import flatbuffers

    model = S.ModelT.InitFromObj(S.Model.GetRootAsModel(src.read_bytes(), 0))
    opnames = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}

    def code(op):
        c = model.operatorCodes[op.opcodeIndex]
        return opnames[max(c.builtinCode, c.deprecatedBuiltinCode)]

    sg = model.subgraphs[0]
    dens = [op for op in sg.operators if code(op) == "DENSIFY"]
    if not dens:
        dst.write_bytes(src.read_bytes())
        return 0

    # Dense values from the reference kernels. XNNPACK must be off: with it, the delegate
    # takes the weights and the tensors read back do not hold the densified values.
    it = tf.lite.Interpreter(
        model_path=str(src),
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    it.set_tensor(inp["index"], np.zeros(inp["shape"], inp["dtype"]))
    it.invoke()

    for op in dens:
        t_out = op.outputs[0]
        value = np.ascontiguousarray(it.get_tensor(t_out))
        tensor = sg.tensors[t_out]
        assert list(value.shape) == list(tensor.shape), (tensor.name, value.shape, tensor.shape)
        buf = S.BufferT()
        buf.data = np.frombuffer(value.tobytes(), dtype=np.uint8)
        model.buffers.append(buf)
        tensor.buffer = len(model.buffers) - 1
        # The sparse source tensor is now unused; make it an ordinary dense constant too
        # (sharing the buffer): the interpreter's get_tensor_details(), which tf2onnx calls,
        # crashes on leftover sparsity parameters.
        t_in = sg.tensors[op.inputs[0]]
        t_in.sparsity = None
        t_in.buffer = tensor.buffer
    sg.operators = [op for op in sg.operators if code(op) != "DENSIFY"]

    b = flatbuffers.Builder(len(src.read_bytes()) * 2)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()))
    return len(dens)


# --------------------------------------------------------------------------- conversion

def tflite_to_onnx(tfl: Path, out: Path, outputs, batch_dynamic: bool, value_range):
    import onnx
    import tf2onnx
    from onnx import numpy_helper

    model_proto, _ = tf2onnx.convert.from_tflite(
        str(tfl), opset=OPSET, inputs_as_nchw=["input_1"], output_path=None)
    g = model_proto.graph

    rename = {"input_1": "input"}
    rename.update({t: o for t, o, _ in outputs})
    for n in g.node:
        n.input[:] = [rename.get(x, x) for x in n.input]
        n.output[:] = [rename.get(x, x) for x in n.output]
    for vi in list(g.input) + list(g.output):
        vi.name = rename.get(vi.name, vi.name)
    order = [o for _, o, _ in outputs]
    outs = sorted(g.output, key=lambda vi: order.index(vi.name))
    del g.output[:]
    g.output.extend(outs)

    if batch_dynamic:
        for vi in list(g.input) + list(g.output):
            d0 = vi.type.tensor_type.shape.dim[0]
            assert d0.dim_value == 1, vi
            d0.ClearField("dim_value")
            d0.dim_param = "N"
        del g.value_info[:]
        inits = {i.name: i for i in g.initializer}
        const_nodes = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
        fixed = 0
        for n in g.node:
            if n.op_type == "Reshape":
                shp_name = n.input[1]
                if shp_name in inits:
                    arr = numpy_helper.to_array(inits[shp_name]).copy()
                    if arr.size and arr[0] == 1:
                        arr[0] = 0  # copy the batch dimension from the input
                        inits[shp_name].CopyFrom(numpy_helper.from_array(arr, shp_name))
                        fixed += 1
                elif shp_name in const_nodes:
                    raise RuntimeError(f"Reshape {n.name}: shape from a Constant node, not handled")
                else:
                    raise RuntimeError(f"Reshape {n.name}: non-constant shape {shp_name}")
            elif n.op_type in ("Resize",) and len(n.input) >= 4 and n.input[3]:
                sizes = numpy_helper.to_array(inits[n.input[3]])
                raise RuntimeError(f"Resize {n.name} uses fixed sizes {sizes}")
            elif n.op_type in ("Expand", "Tile", "ConstantOfShape"):
                raise RuntimeError(f"{n.op_type} {n.name} may hard-code batch 1")
        print(f"    batch made dynamic; {fixed} Reshape shapes fixed")

    n16 = store_weights_fp16(model_proto)
    print(f"    {n16} float32 weight tensors stored as float16 (+Cast, exact)")
    canonicalize(model_proto)
    model_proto = onnx.shape_inference.infer_shapes(model_proto, strict_mode=True)
    model_proto.producer_name = "ashiwatch models/convert.py (tf2onnx)"
    model_proto.doc_string = (f"Converted from {tfl.name} (Google MediaPipe BlazePose GHUM, "
                              "Apache-2.0) by ashiwatch models/convert.py")
    onnx.checker.check_model(model_proto, full_check=True)
    onnx.save(model_proto, str(out))
    return model_proto


def store_weights_fp16(model_proto, min_size: int = 16) -> int:
    """Store float32 initializers that are exactly float16 values as float16 + a Cast.

    Every weight of these models is float16 in the .tflite (DEQUANTIZE ops, folded to
    float32 by tf2onnx), so the round trip is exact and the file halves in size. ONNX
    Runtime folds the Casts into float32 constants when the session is created (graph
    optimisation level BASIC or higher), so run time is unchanged.
    """
    from onnx import TensorProto, helper, numpy_helper

    g = model_proto.graph
    casts, keep, n = [], [], 0
    for init in g.initializer:
        if init.data_type == TensorProto.FLOAT:
            arr = numpy_helper.to_array(init)
            if arr.size >= min_size:
                a16 = arr.astype(np.float16)
                if np.array_equal(a16.astype(np.float32), arr):
                    keep.append(numpy_helper.from_array(a16, init.name + "__fp16"))
                    casts.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name],
                                                  to=TensorProto.FLOAT,
                                                  name=init.name + "__cast"))
                    n += 1
                    continue
        keep.append(init)
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return n


def canonicalize(model_proto) -> None:
    """Make the file byte-for-byte reproducible.

    tf2onnx numbers the names it makes (``Relu6__2199``) from a global counter and its
    optimisers walk sets, so node order and names change from run to run. Here the nodes
    are sorted topologically with a structural tie-break (op type, attributes, names without
    the counter, hashes of the weights they read) and the counters are renumbered in that
    order; initializers follow in order of first use.
    """
    import hashlib
    import re

    g = model_proto.graph
    strip = lambda s: re.sub(r"__\d+", "", s)  # noqa: E731
    inits = {i.name: i for i in g.initializer}
    cast_of = {n.output[0]: n for n in g.node if n.op_type == "Cast" and n.input[0] in inits}
    nodes = [n for n in g.node if n.output[0] not in cast_of]

    def whash(name):
        src = cast_of[name].input[0] if name in cast_of else name
        if src in inits:
            return hashlib.sha1(inits[src].SerializeToString(deterministic=True)
                                .replace(src.encode(), b"")).hexdigest()
        return ""

    def key(n):
        return (n.op_type, tuple(strip(x) for x in n.input), tuple(strip(x) for x in n.output),
                tuple(whash(x) for x in n.input),
                tuple(a.SerializeToString(deterministic=True) for a in n.attribute))

    available = {i.name for i in g.input} | set(inits) | set(cast_of) | {""}
    pending = list(nodes)
    order = []
    while pending:
        ready = [n for n in pending if all(x in available for x in n.input)]
        assert ready, "graph is not a DAG"
        n = min(ready, key=key)
        order.append(n)
        pending.remove(n)
        available.update(n.output)

    # names, renumbered in order of appearance
    keep = {v.name for v in list(g.input) + list(g.output)}
    seen, mapping, counts = [], {}, {}

    def visit(name):
        if name and name not in keep and name not in mapping:
            seen.append(name)
            mapping[name] = None

    final_nodes = []
    for n in order:
        for x in n.input:
            if x in cast_of and cast_of[x] not in final_nodes:
                final_nodes.append(cast_of[x])
        final_nodes.append(n)
    for n in final_nodes:
        for x in list(n.input) + list(n.output):
            visit(x)
    for name in seen:
        base = strip(name)
        k = counts.get(base, 0)
        counts[base] = k + 1
        mapping[name] = base if k == 0 else f"{base}__{k}"
    # the stripped names must not collide with each other or with the kept names
    taken = set(keep)
    for name in seen:
        new = mapping[name]
        while new in taken:
            new += "_"
        mapping[name] = new
        taken.add(new)

    node_names = {}
    for n in final_nodes:
        n.input[:] = [mapping.get(x, x) for x in n.input]
        n.output[:] = [mapping.get(x, x) for x in n.output]
        base = strip(n.name)
        k = node_names.get(base, 0)
        node_names[base] = k + 1
        n.name = base if k == 0 else f"{base}__{k}"
    used = [mapping[x] for x in seen]
    new_inits = {}
    for name, init in inits.items():
        init.name = mapping.get(name, name)
        new_inits[init.name] = init
    del g.node[:]
    g.node.extend(final_nodes)
    del g.initializer[:]
    g.initializer.extend(new_inits[x] for x in used if x in new_inits)
    del g.value_info[:]


def _version(dist: str) -> str:
    from importlib.metadata import version
    return version(dist)


def _io_spec(model_proto):
    def spec(vi):
        tt = vi.type.tensor_type
        import onnx
        return {
            "name": vi.name,
            "shape": [d.dim_param if d.dim_param else d.dim_value for d in tt.shape.dim],
            "dtype": onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name,
        }
    return [spec(v) for v in model_proto.graph.input], [spec(v) for v in model_proto.graph.output]


def _check_with_ort(name, tfl: Path, onnx_path: Path, outputs, batch_dynamic: bool):
    """Parity against the TFLite interpreter, batch == single (needs onnxruntime)."""
    try:
        import onnxruntime as ort
    except ImportError:
        print("    onnxruntime not installed: skipping the run-time checks")
        return {}
    import tensorflow as tf

    it = tf.lite.Interpreter(model_path=str(tfl))
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    outd = {d["name"]: d["index"] for d in it.get_output_details()}
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    lo = -1.0 if name == "detector" else 0.0
    xs = [rng.uniform(lo, 1.0, size=tuple(inp["shape"])).astype(np.float32) for _ in range(3)]
    diffs = {o: 0.0 for _, o, _ in outputs}
    singles = []
    for x in xs:
        it.set_tensor(inp["index"], x)
        it.invoke()
        res = sess.run(None, {"input": x.transpose(0, 3, 1, 2).copy()})
        singles.append(res)
        for (t, o, _), r in zip(outputs, res):
            diffs[o] = max(diffs[o], float(np.abs(it.get_tensor(outd[t]) - r).max()))
    print(f"    max |tflite - onnx|: " + ", ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
    if batch_dynamic:
        xb = np.concatenate([x.transpose(0, 3, 1, 2) for x in xs])
        rb = sess.run(None, {"input": xb})
        bd = max(float(np.abs(rb[j][i:i + 1] - singles[i][j]).max())
                 for i in range(3) for j in range(len(outputs)))
        print(f"    batch(3) vs 3 single calls: max abs diff {bd:.2e}")
        assert bd < 1e-3, bd
    return diffs


INPUT_SPECS = {
    "detector": {
        "layout": "NCHW", "color": "RGB", "value_range": [-1.0, 1.0],
        "meaning": "224x224 RGB image, letterboxed (aspect kept, padded) to square, "
                   "scaled to [-1, 1] (x / 127.5 - 1), channels first",
    },
    "landmark": {
        "layout": "NCHW", "color": "RGB", "value_range": [0.0, 1.0],
        "meaning": "256x256 RGB crop of one person (the ROI rotated/scaled from the "
                   "detector's keypoints or the previous frame's landmarks), scaled to "
                   "[0, 1] (x / 255), channels first. Batch N = one crop per person",
    },
}


# The engine needs only these outputs; the segmentation decoder and the world-coordinate head
# cost about a third of the landmark model's time on a CPU, so the engine runs variants
# without them (same weights, same nodes up to these outputs: identical values).
ENGINE_OUTPUTS = ["landmarks", "presence", "heatmap"]


def engine_variant(name: str, full_path: Path) -> dict:
    """Write pose_landmark_<name>_engine.onnx: the converted model cut to ENGINE_OUTPUTS."""
    import onnx
    from onnx.utils import Extractor

    out = HERE / f"pose_landmark_{name}_engine.onnx"
    sub = Extractor(onnx.load(str(full_path))).extract_model(["input"], ENGINE_OUTPUTS)
    sub.graph.name = f"pose_landmark_{name}_engine"
    onnx.checker.check_model(sub, full_check=True)
    onnx.save(sub, str(out))
    print(f"    wrote {out.name} ({out.stat().st_size} bytes, {len(sub.graph.node)} nodes)")
    return {
        "file": out.name,
        "sha256": sha256(out),
        "size": out.stat().st_size,
        "derived_from": name,
        "outputs": ENGINE_OUTPUTS,
        "licence": "Apache-2.0",
        "notes": [f"pose_landmark_{name}.onnx cut to the outputs the engine reads "
                  f"({', '.join(ENGINE_OUTPUTS)}) with onnx.utils.Extractor: the "
                  "segmentation decoder and world-landmark head are removed; inputs, "
                  "weights and the kept outputs are unchanged (identical values)"],
    }


def main() -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    manifest = {
        "description": "Google MediaPipe BlazePose GHUM pose models, converted to ONNX by "
                       "models/convert.py. See models/README.md and docs/models.md.",
        "licence": "Apache-2.0",
        "copyright": "Copyright Google LLC",
        "models": {},
    }
    for name, info in MODELS.items():
        print(f"[{name}]")
        src = fetch(name)
        print(f"    source {src} ({src.stat().st_size} bytes)")
        is_det = name == "detector"
        outputs = DETECTOR_OUTPUTS if is_det else LANDMARK_OUTPUTS
        out = HERE / info["file"]
        with tempfile.TemporaryDirectory() as tmp:
            tfl = src
            notes = []
            if is_det:
                tfl = Path(tmp) / "pose_detection_dense.tflite"
                n = densify_tflite(src, tfl)
                print(f"    {n} DENSIFY ops folded into constants")
                notes.append(f"{n} sparse float16 weight tensors (TFLite DENSIFY ops) were "
                             "densified into constants before conversion (values read "
                             "with the TFLite reference kernels, XNNPACK off)")
            proto = tflite_to_onnx(tfl, out, outputs, batch_dynamic=not is_det,
                                   value_range=None)
            diffs = _check_with_ort(name, src, out, outputs, batch_dynamic=not is_det)
        ins, outs = _io_spec(proto)
        spec_in = dict(ins[0], **INPUT_SPECS["detector" if is_det else "landmark"])
        meaning = {o: m for _, o, m in outputs}
        tfl_names = {o: t for t, o, _ in outputs}
        spec_out = [dict(o, meaning=meaning[o["name"]], tflite_name=tfl_names[o["name"]])
                    for o in outs]
        if not is_det:
            notes.append("batch dimension made symbolic ('N'); Reshape target shapes that "
                         "hard-coded batch 1 now use 0 (copy input dim)")
        notes.append("float16 weights of the .tflite are stored as float16 initializers "
                     "followed by Cast to float32 (exact; folded by ONNX Runtime at load)")
        notes.append("input made channels-first (NCHW) by tf2onnx --inputs-as-nchw; the "
                     "outputs keep the TFLite (NHWC) layout")
        manifest["models"][name] = {
            "file": info["file"],
            "sha256": sha256(out),
            "size": out.stat().st_size,
            "source": dict(info["source"], sha256=sha256(src), size=src.stat().st_size),
            "licence": "Apache-2.0",
            "converter": {"tool": "tf2onnx", "version": tf2onnx.__version__,
                          "opset": OPSET, "tensorflow": tf.__version__,
                          "onnx": onnx.__version__, "numpy": np.__version__,
                          "flatbuffers": _version("flatbuffers"),
                          "script": "models/convert.py"},
            "inputs": [spec_in],
            "outputs": spec_out,
            "notes": notes,
            "conversion_check_max_abs_diff": {k: float(f"{v:.3g}") for k, v in diffs.items()},
        }
        print(f"    wrote {out.name} ({out.stat().st_size} bytes)")
        if not is_det:
            manifest["models"][f"{name}_engine"] = engine_variant(name, out)
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print("wrote manifest.json")


if __name__ == "__main__":
    main()
