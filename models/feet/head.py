"""The landmark model's own foot outputs fine-tuned on rendered studios (issue "Feet seen to a
centimetre", its second way): ``python -m models.feet.head data`` makes the crops,
``python -m models.feet.head train`` fits and exports.

Where the feet model (models/feet/net.py) is a new network on new crops, this keeps BlazePose
whole and re-fits only what turns its last features into the six foot points (ankles, heels,
toe tips): the rows of the regression conv (195 x 288 x 2 x 2, on a 2 x 2 x 288 feature map)
that give those points' x and y, and the six heat-map channels of the 1 x 1 conv (39 x 48,
on the 64 x 64 x 48 map) that refine them. Both are linear in frozen features, so the fit is a
ridge regression pulled towards BlazePose's own weights (rows) and a logistic fit from its own
weights (channels): every other output of the model is bit for bit BlazePose's, and where the
renders say nothing new the weights stay where they were.

Data: the crops the engine cuts for the feet, the legs region (vision/pose/regions.legs_region:
3.5 torso lengths round the hip centre, hips to shoulders up), from the same randomised studios,
looks, bodies, foot poses and cameras as the feet model's data (models/feet/data.py: never within
0.35 m of a camera advisor place), with the tracked hips and shoulders simulated by the truth plus
an error, the window rendered at the frame's own pixel density, put through a camera's faults
and warped to 256 x 256 exactly as the engine warps a frame. Output: ``legs_<seed>.npz`` in
``$ASHIWATCH_CACHE/feet_head``: ``x`` (N, 256, 256, 3) uint8 BGR, ``uv`` (N, 6, 2) the true
27..32 in crop px.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from models import MODELS_DIR, sha256_file

POINTS = np.arange(27, 33)     # ankles, heels, toe tips (left, right alternating)
SIZE = 256
CAMERAS_PER_POSE = 4
VAL_SEED = 20261311            # the validation shard: its own looks, poses and cameras


def default_out() -> Path:
    from samples.registry import cache_dir
    return cache_dir() / "feet_head"


def tracked(rng, px: np.ndarray, torso: float) -> np.ndarray:
    """True (n, 2) px -> the tracker's estimate: a shared shift and a point's own error."""
    shared = rng.normal(0, rng.uniform(0.01, 0.08) * torso, 2)
    return px + shared + rng.normal(0, 0.03 * torso, px.shape)


def make_shard(seed: int, poses: int, out: Path) -> Path:
    import cv2

    from models.feet.data import HEIGHT, WIDTH, held_out_eyes, on_floor, random_camera, random_step
    from samples.render.posing import place_client, place_therapist
    from samples.render.randomise import degrade, random_look
    from samples.render.scene import Renderer
    from samples.render.sequence import beside_table
    from vision.io.camera import CameraModel
    from vision.pose.regions import legs_region

    rng = np.random.default_rng(seed)
    excluded = held_out_eyes()
    xs, uvs = [], []
    renderer = None
    look = client = None
    for p in range(poses):
        if p % 8 == 0:
            look = random_look(int(rng.integers(1 << 31)))
            client = place_client(look)
        therapist = place_therapist(client, random_step(rng), look)
        r = rng.random()
        if r < 0.06:
            therapist = on_floor(therapist, rng)
        elif r < 0.12:
            therapist = beside_table(therapist)
        if renderer is None:
            renderer = Renderer(random_camera(rng, excluded))
        scene, _ = renderer.scene(client, therapist, np.zeros((0, 2, 3)), look)
        for _ in range(CAMERAS_PER_POSE):
            cam = random_camera(rng, excluded)
            px, dep = cam.project_with_depth(therapist.keypoints[:33])
            if (dep <= 0).any():
                continue
            hips, shoulders = px[[23, 24]], px[[11, 12]]
            torso = float(np.linalg.norm(shoulders.mean(0) - hips.mean(0)))
            if torso < 20:
                continue
            est = tracked(rng, np.vstack([hips, shoulders]), torso)
            reg = legs_region(est[:2], est[2:].mean(0))
            feet_uv = cv2.transform(px[POINTS][None], reg.crop_matrix(SIZE))[0]
            if (feet_uv < -0.1 * SIZE).any() or (feet_uv > 1.1 * SIZE).any():
                continue
            x0, y0, x1, y1 = reg.bbox()
            x0, y0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
            x1, y1 = min(int(np.ceil(x1)), WIDTH), min(int(np.ceil(y1)), HEIGHT)
            if x1 - x0 < 16 or y1 - y0 < 16:
                continue
            K = cam.K.copy()
            K[0, 2] -= x0
            K[1, 2] -= y0
            wcam = CameraModel(K=K, R=cam.R, t=cam.t, width=x1 - x0, height=y1 - y0)
            renderer.offscreen.viewport_width = x1 - x0
            renderer.offscreen.viewport_height = y1 - y0
            node = renderer.add_camera(scene, wcam)
            color, _ = renderer.offscreen.render(scene)
            scene.remove_node(node)
            img = degrade(cv2.cvtColor(color, cv2.COLOR_RGB2BGR), rng)
            # the engine warps the whole frame (black beyond it) with the region's matrix
            m = reg.crop_matrix(SIZE) @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
            xs.append(cv2.warpAffine(img, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)))
            uvs.append(feet_uv)
    if renderer is not None:
        renderer.close()
    path = out / f"legs_{seed}.npz"
    np.savez_compressed(path, x=np.array(xs, np.uint8), uv=np.array(uvs, np.float32))
    return path


def _work(args):
    seed, poses, out = args
    return make_shard(seed, poses, Path(out))


def data(a) -> None:
    out = a.out or default_out()
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seeds = [a.seed + i for i in range(a.shards)] + [VAL_SEED]
    jobs = [(s, a.poses // a.shards, str(out)) for s in seeds
            if not (out / f"legs_{s}.npz").is_file()]
    from models.feet.data import run_jobs
    run_jobs(_work, jobs, a.workers, out, started)



# ---- the fit -------------------------------------------------------------------------------

def head_parts(model):
    """The two heads in an engine ONNX graph, found by shape: for each of ``regression``
    (landmarks) and ``heatmap``, the conv's feature input and the float16 initializers of its
    weight and bias (the converter stores weights as float16 + Cast)."""
    g = model.graph
    prod = {o: n for n in g.node for o in n.output}
    inits = {i.name for i in g.initializer}

    def conv_before(out_name):
        n = prod[out_name]
        while n.op_type != "Conv":
            n = prod[n.input[0]]
        return n

    def stored(name):   # through the Cast to the initializer
        n = prod.get(name)
        return n.input[0] if n is not None and n.op_type == "Cast" else name

    out = {}
    for key, output in (("regression", "landmarks"), ("heatmap", "heatmap")):
        conv = conv_before(output)
        w, b = stored(conv.input[1]), stored(conv.input[2])
        assert w in inits and b in inits, (key, w, b)
        out[key] = {"features": conv.input[0], "weight": w, "bias": b}
    return out


def features(model_path: Path, x: np.ndarray, threads: int = 2, batch: int = 32):
    """(N, 256, 256, 3) BGR crops -> regression features (N, C*k*k) float64 and heat-map
    features (N, 48, 64, 64) float16, from the frozen model with its two feature maps as
    outputs."""
    import onnx
    import onnxruntime as ort
    m = onnx.load(str(model_path))
    parts = head_parts(m)
    names = [parts["regression"]["features"], parts["heatmap"]["features"]]
    for n in names:
        m.graph.output.append(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    reg, heat = [], []
    for i in range(0, len(x), batch):
        b = np.ascontiguousarray(x[i:i + batch, ..., ::-1].transpose(0, 3, 1, 2),
                                 dtype=np.float32) / 255.0
        r, h = sess.run(names, {inp: b})
        reg.append(r.reshape(len(b), -1).astype(np.float64))
        heat.append(h.astype(np.float16))
    return np.concatenate(reg), np.concatenate(heat)


def initial(model_path: Path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(model_path))
    parts = head_parts(m)
    arr = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return {k: (arr[v["weight"]].astype(np.float64), arr[v["bias"]].astype(np.float64))
            for k, v in parts.items()}


def rows() -> np.ndarray:
    """Regression rows of the six foot points' x and y (the output is 39 x (x, y, z, vis, pres))."""
    return (POINTS[:, None] * 5 + np.arange(2)).ravel()


def ridge(F: np.ndarray, Y: np.ndarray, W0: np.ndarray, lam: float, delta: float = 4.0,
          iters: int = 4) -> np.ndarray:
    """argmin sum huber_delta(|[F 1] W - Y| per point) + lam |W - W0|^2, W (D+1, 12) with the
    bias as the last row, by iteratively reweighted ridge regressions (one weight per sample
    and point, from its x-y residual): the squared loss alone trades the median for the
    tails, and a point the renders show badly (a foot under the other) should not pull the
    rest."""
    A = np.hstack([F, np.ones((len(F), 1))])
    eye = lam * np.eye(A.shape[1])
    W = W0.copy()
    for _ in range(iters):
        res = np.linalg.norm((A @ W - Y).reshape(len(A), -1, 2), axis=-1)      # (N, 6)
        wts = np.minimum(1.0, delta / np.maximum(res, 1e-9))
        for j in range(res.shape[1]):
            cols = [2 * j, 2 * j + 1]
            Aw = A * wts[:, j:j + 1]
            W[:, cols] = np.linalg.solve(A.T @ Aw + eye, Aw.T @ Y[:, cols] + lam * W0[:, cols])
    return W


def refine(xy: np.ndarray, heat: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The engine's heat-map refinement (vision.pose.landmarks.refine_from_heatmap) of the six
    foot points (N, 6, 2) crop px, with heat-map weights w (6, 48) and bias b (6,)."""
    from vision.pose.landmarks import refine_from_heatmap
    logits = np.einsum("nchw,lc->nhwl", heat.astype(np.float32), w.astype(np.float32)) + b
    return refine_from_heatmap(xy, logits)


def windows(heat: np.ndarray, xy: np.ndarray, k: int = 7):
    """The refinement's k x k windows of heat-map features round each point: (N, 6, k*k, 48)
    features, (N, 6, k*k, 2) cell positions (x, y), (N, 6, k*k) inside the map."""
    n, c, hh, hw = heat.shape
    half = k // 2
    cc = np.floor(xy[..., 0] / SIZE * hw).astype(int)
    cr = np.floor(xy[..., 1] / SIZE * hh).astype(int)
    off = np.arange(-half, half + 1)
    r = cr[..., None, None] + off[:, None]          # (N, 6, k, 1)
    q = cc[..., None, None] + off[None, :]          # (N, 6, 1, k)
    r, q = np.broadcast_arrays(r, q)
    inside = (r >= 0) & (r < hh) & (q >= 0) & (q < hw)
    rc, qc = np.clip(r, 0, hh - 1), np.clip(q, 0, hw - 1)
    f = heat[np.arange(n)[:, None, None, None], :, rc, qc]     # (N, 6, k, k, 48)
    pos = np.stack([qc, rc], -1).astype(np.float32)
    return (f.reshape(n, 6, k * k, c).astype(np.float32), pos.reshape(n, 6, k * k, 2),
            inside.reshape(n, 6, k * k))


def fit_heat(win, pos, inside, uv, w0, b0, epochs: int = 300, l2: float = 1.0, seed: int = 7):
    """The six heat channels fitted so that the refinement's weighted mean lands on the true
    point: L1 in cells of the sigmoid-weighted mean over each window, a hinge that keeps the
    window's peak over the refinement's threshold, plus ``l2`` |w - w0|^2, from BlazePose's
    weights (full-batch Adam, fixed seed)."""
    import torch
    torch.manual_seed(seed)
    f, p = torch.tensor(win), torch.tensor(pos)
    m = torch.tensor(inside, dtype=torch.float32)
    t = torch.tensor(uv / SIZE * 64.0, dtype=torch.float32)          # cells
    W0, B0 = torch.tensor(w0, dtype=torch.float32), torch.tensor(b0, dtype=torch.float32)
    W, B = W0.clone().requires_grad_(True), B0.clone().requires_grad_(True)
    opt = torch.optim.Adam([W, B], lr=0.01)
    for _ in range(epochs):
        logit = torch.einsum("nlkc,lc->nlk", f, W) + B[None, :, None]
        s = torch.sigmoid(logit) * m
        mean = (s[..., None] * p).sum(2) / s.sum(2, keepdim=True).clamp_min(1e-6)
        # the engine refines only where a window's peak is >= 0.5 (REFINE_MIN_CONFIDENCE):
        # a fit that lowers the peaks would switch the refinement off
        peak = torch.relu(0.6 - s.max(2).values).mean()
        loss = ((mean - t).abs().sum(-1).mean() + 5.0 * peak
                + l2 * ((W - W0) ** 2).sum() / len(f) * 100)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return W.detach().numpy().astype(np.float64), B.detach().numpy().astype(np.float64)


def px_errors(pred: np.ndarray, uv: np.ndarray) -> dict:
    """Median / p90 crop-px error of ankles, heels and toe tips (both sides)."""
    e = np.linalg.norm(pred - uv, axis=-1)   # (N, 6)
    out = {}
    for name, cols in (("ankle", [0, 1]), ("heel", [2, 3]), ("toe", [4, 5])):
        v = e[:, cols].ravel()
        out[name] = {"median_px": round(float(np.median(v)), 2),
                     "p90_px": round(float(np.percentile(v, 90)), 2)}
    return out


def export(base: Path, out: Path, reg_w, reg_b, heat_w, heat_b) -> None:
    """The engine file with the foot rows and channels replaced (float16, as stored)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(str(base))
    parts = head_parts(m)
    by_name = {i.name: i for i in m.graph.initializer}

    def put(name, arr):
        old = by_name[name]
        new = numpy_helper.from_array(arr.astype(numpy_helper.to_array(old).dtype), name)
        old.CopyFrom(new)

    for key, w, b in (("regression", reg_w, reg_b), ("heatmap", heat_w, heat_b)):
        put(parts[key]["weight"], w)
        put(parts[key]["bias"], b)
    onnx.save(m, str(out))


def train(a) -> None:
    from models import model_path
    started = time.perf_counter()
    src = a.data or default_out()
    paths = sorted(src.glob("legs_*.npz"))
    val_path = src / f"legs_{VAL_SEED}.npz"
    train_paths = [p for p in paths if p != val_path]
    if not train_paths or not val_path.is_file():
        raise SystemExit(f"no shards in {src}: run `python -m models.feet.head data` first")
    load = lambda ps: [np.load(p) for p in ps]   # noqa: E731
    tr, va = load(train_paths), load([val_path])
    x_tr = np.concatenate([d["x"] for d in tr])
    uv_tr = np.concatenate([d["uv"] for d in tr]).astype(np.float64)
    x_va, uv_va = va[0]["x"], va[0]["uv"].astype(np.float64)
    base = model_path(f"{a.model}_engine")
    print(f"{len(x_tr)} training crops, {len(x_va)} validation crops; features from {base.name}",
          flush=True)
    F_tr, H_tr = features(base, x_tr, a.threads)
    F_va, H_va = features(base, x_va, a.threads)
    print(f"features: {time.perf_counter() - started:.0f} s", flush=True)
    init = initial(base)
    w_reg, b_reg = init["regression"]
    C = w_reg.reshape(len(w_reg), -1)
    r = rows()
    W0 = np.vstack([C[r].T, b_reg[r][None]])                       # (D+1, 12)
    Y_tr = uv_tr.reshape(len(uv_tr), -1)
    A_va = np.hstack([F_va, np.ones((len(F_va), 1))])
    w_heat, b_heat = init["heatmap"]
    hw0 = w_heat.reshape(len(w_heat), -1)[POINTS]                  # (6, 48)
    hb0 = b_heat[POINTS]
    pred0 = (A_va @ W0).reshape(-1, 6, 2)
    log = {"blazepose": {"regression": px_errors(pred0, uv_va),
                         "refined": px_errors(refine(pred0, H_va, hw0, hb0), uv_va)}}
    print("BlazePose on validation:", json.dumps(log["blazepose"]), flush=True)
    # lambda chosen on the validation shard by what the engine gives: the refined points
    score = lambda e: np.mean([v["median_px"] + 0.25 * v["p90_px"] for v in e.values()])  # noqa: E731
    best = None
    for lam in a.lams:
        W = ridge(F_tr, Y_tr, W0, lam)
        e = px_errors(refine((A_va @ W).reshape(-1, 6, 2), H_va, hw0, hb0), uv_va)
        log[f"ridge_{lam:g}"] = e
        print(f"ridge lambda={lam:g}, refined: {json.dumps(e)}", flush=True)
        if best is None or score(e) < best[0]:
            best = (score(e), lam, W)
    _, lam, W = best
    A_tr = np.hstack([F_tr, np.ones((len(F_tr), 1))])
    p_tr, p_va = (A_tr @ W).reshape(-1, 6, 2), (A_va @ W).reshape(-1, 6, 2)
    log["chosen_lambda"] = lam
    log["refined_blazepose_heat"] = px_errors(refine(p_va, H_va, hw0, hb0), uv_va)
    win, pos, inside = windows(H_tr, p_tr)
    hw, hb = fit_heat(win, pos, inside, uv_tr, hw0, hb0, epochs=a.epochs)
    log["refined_fitted_heat"] = px_errors(refine(p_va, H_va, hw, hb), uv_va)
    print("refined, BlazePose's heat:", json.dumps(log["refined_blazepose_heat"]))
    print("refined, fitted heat:", json.dumps(log["refined_fitted_heat"]), flush=True)
    # the fitted channels only where they measure better on validation
    log["heat"] = "fitted"
    if score(log["refined_fitted_heat"]) >= score(log["refined_blazepose_heat"]):
        hw, hb, log["heat"] = hw0, hb0, "blazepose"
    print(f"heat-map channels kept: {log['heat']}")
    # the new weights: BlazePose's everywhere but the foot rows and channels
    reg_w, reg_b = w_reg.copy(), b_reg.copy()
    reg_w.reshape(len(reg_w), -1)[r] = W[:-1].T
    reg_b[r] = W[-1]
    heat_w, heat_b = w_heat.copy(), b_heat.copy()
    heat_w.reshape(len(heat_w), -1)[POINTS] = hw
    heat_b[POINTS] = hb
    out = MODELS_DIR / f"pose_landmark_{a.model}_feet.onnx"
    export(base, out, reg_w, reg_b, heat_w, heat_b)
    import torch
    log["seconds"] = round(time.perf_counter() - started)
    log["train_crops"], log["validation_crops"] = len(x_tr), len(x_va)
    # the record of the run (the file itself is not bundled: models.BUILT)
    log["recipe"] = {"file": out.name, "sha256": sha256_file(out), "size": out.stat().st_size,
                     "derived_from": base.name, "shards": [p.name for p in train_paths],
                     "validation": val_path.name, "data": "python -m models.feet.head data",
                     "train": f"python -m models.feet.head train --model {a.model} --lams "
                     + " ".join(f"{x:g}" for x in a.lams),
                     "torch": torch.__version__, "seed": 7}
    (MODELS_DIR / "feet" / f"head_{a.model}_log.json").write_text(
        json.dumps(log, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out.name} ({log['seconds']} s)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data", help="render the legs crops")
    d.add_argument("--out", type=Path, default=None)
    d.add_argument("--poses", type=int, default=640, help="poses in all (the training shards)")
    d.add_argument("--shards", type=int, default=8)
    d.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    d.add_argument("--seed", type=int, default=20261301, help="first shard's seed")
    t = sub.add_parser("train", help="fit the foot rows and channels, export the ONNX file")
    t.add_argument("--data", type=Path, default=None)
    # the engine knows one re-fitted model (models.FILES["heavy_feet_engine"])
    t.add_argument("--model", default="heavy", choices=["heavy"])
    t.add_argument("--lams", type=float, nargs="+", default=[0.3, 1, 3, 10, 100])
    t.add_argument("--epochs", type=int, default=300)
    t.add_argument("--threads", type=int, default=2)
    a = ap.parse_args(argv)
    if a.cmd == "data":
        data(a)
    else:
        train(a)


if __name__ == "__main__":
    main()
