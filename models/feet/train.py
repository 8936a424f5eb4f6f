"""Train the feet model on the rendered crops and export it (``python -m models.feet.train``).

Reads the shards of ``models.feet.data`` (one, ``--val``, is the validation set: other looks,
poses and cameras than the rest), mirrors the right feet into left ones as the runtime does
(vision.pose.feet.flip_right), trains ``FeetNet`` on the CPU with fixed seeds (Adam, one-cycle
learning rate; the four quarter turns of each crop, no flips, which would turn a left foot into
a right one), prints each epoch's losses,
validation pixel errors and time, and writes ``models/feet.onnx``, its manifest entry
(models/manifest.json, ``feet``: sha256, data recipe, training settings, figures, licence) and
``models/feet/train_log.json``.

Loss: L1 of the soft-argmax points (hidden points at half weight; points outside the crop not
at all), the heat maps' cross-entropy against a Gaussian of one cell at the true point (a little,
it steadies the start), and the visibilities' binary cross-entropy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from models import MANIFEST, MODELS_DIR, sha256_file

OUT = MODELS_DIR / "feet.onnx"
LOG = MODELS_DIR / "feet" / "train_log.json"


VAL = "shard_20261221.npz"
TURNS = (0, 3, 5, 6)   # the flip/transpose combinations that are rotations (an even number)


def load(paths: list[Path]) -> dict[str, np.ndarray]:
    """Shards -> one set, right feet mirrored into left ones."""
    from vision.pose.feet import flip_right
    parts = [np.load(p) for p in paths]
    d = {k: np.concatenate([p[k] for p in parts]) for k in ("x", "uv", "vis", "px", "right")}
    d["x"], d["uv"] = flip_right(d["x"], d["uv"], d["right"])
    return d


def dihedral(x, uv, k: int):
    """One of the 8 flips/turns of crops (N, H, W, 3) and their points (N, 3, 2), in torch
    (bit 0: flip left-right, bit 1: flip up-down, bit 2: transpose)."""
    import torch
    if k & 1:
        x, uv = x.flip(2), torch.stack([1 - uv[..., 0], uv[..., 1]], -1)
    if k & 2:
        x, uv = x.flip(1), torch.stack([uv[..., 0], 1 - uv[..., 1]], -1)
    if k & 4:
        x, uv = x.transpose(1, 2), uv.flip(-1)
    return x, uv


def losses(model, x, uv, vis):
    import torch
    import torch.nn.functional as F
    from .net import HEAT
    pred, pvis, heat = model(x)
    inside = ((uv >= 0) & (uv <= 1)).all(-1).float()
    w = inside * (0.5 + 0.5 * vis)
    l_uv = ((pred - uv).abs().sum(-1) * w).sum() / w.sum().clamp(min=1)
    cells = (torch.arange(HEAT, dtype=torch.float32) + 0.5) / HEAT
    gu = torch.exp(-0.5 * ((cells[None, None] - uv[..., :1]) * HEAT) ** 2)
    gv = torch.exp(-0.5 * ((cells[None, None] - uv[..., 1:]) * HEAT) ** 2)
    target = (gv[..., :, None] * gu[..., None, :]).flatten(2)
    target = target / target.sum(-1, keepdim=True).clamp(min=1e-9)
    logp = F.log_softmax(heat.flatten(2), -1)
    l_heat = (-(target * logp).sum(-1) * inside).sum() / inside.sum().clamp(min=1)
    l_vis = F.binary_cross_entropy(pvis.clamp(1e-6, 1 - 1e-6), vis * inside)
    return l_uv, l_heat, l_vis, pred, pvis


def px_errors(model, data, batch: int = 256) -> dict:
    import torch
    model.eval()
    errs, seen = [], []
    with torch.no_grad():
        for i in range(0, len(data["x"]), batch):
            pred, _, _ = model(torch.from_numpy(data["x"][i:i + batch]))
            d = (pred.numpy() - data["uv"][i:i + batch]) * data["px"][i:i + batch, None, None]
            errs.append(np.linalg.norm(d, axis=-1))
            seen.append(data["vis"][i:i + batch] > 0.5)
    e, s = np.concatenate(errs), np.concatenate(seen)
    inside = ((data["uv"] >= 0) & (data["uv"] <= 1)).all(-1)
    out = {}
    for j, name in enumerate(("ankle", "heel", "toe")):
        m = inside[:, j] & s[:, j]
        out[name] = {"median_px": round(float(np.median(e[m, j])), 2),
                     "p90_px": round(float(np.percentile(e[m, j], 90)), 2), "n": int(m.sum())}
    model.train()
    return out


def export(model, path: Path) -> None:
    import torch
    from vision.pose.feet import INPUT
    from .net import Exported
    model.eval()
    x = torch.zeros((2, INPUT, INPUT, 3), dtype=torch.uint8)
    torch.onnx.export(Exported(model), (x,), str(path), input_names=["crops"],
                      output_names=["uv", "visibility"], opset_version=17, dynamo=False,
                      dynamic_axes={"crops": {0: "n"}, "uv": {0: "n"}, "visibility": {0: "n"}})


def main(argv=None) -> None:
    import torch
    from .data import default_out
    from .net import FeetNet
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--val", default=VAL, help="the validation shard's file name")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    rng = np.random.default_rng(a.seed)
    shards = sorted((a.data or default_out()).glob("shard_*.npz"))
    held = [s for s in shards if s.name == a.val]
    shards = [s for s in shards if s.name != a.val]
    if not held or not shards:
        raise SystemExit(f"need the validation shard {a.val} and at least one more in "
                         f"{a.data or default_out()}: run python -m models.feet.data first")
    train, val = load(shards), load(held)
    print(f"train {len(train['x'])} crops from {len(shards)} shards, validation "
          f"{len(val['x'])} ({a.val})", flush=True)
    model = FeetNet(a.width)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = a.epochs * (len(train["x"]) // a.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=steps, pct_start=0.1)
    x_all, uv_all = torch.from_numpy(train["x"]), torch.from_numpy(train["uv"])
    vis_all = torch.from_numpy(train["vis"])
    log = []
    started = time.perf_counter()
    for epoch in range(a.epochs):
        order = rng.permutation(len(x_all))
        sums = np.zeros(3)
        for b in range(len(order) // a.batch):
            idx = torch.from_numpy(order[b * a.batch:(b + 1) * a.batch])
            x, uv = dihedral(x_all[idx], uv_all[idx], int(rng.choice(TURNS)))
            l_uv, l_heat, l_vis, _, _ = losses(model, x.contiguous(), uv, vis_all[idx])
            loss = l_uv + 0.05 * l_heat + 0.2 * l_vis
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            sums += [l_uv.item(), l_heat.item(), l_vis.item()]
        n = len(order) // a.batch
        ev = px_errors(model, val)
        row = {"epoch": epoch + 1, "uv_l1": round(sums[0] / n, 5), "heat_ce": round(sums[1] / n, 4),
               "vis_bce": round(sums[2] / n, 4), "val": ev,
               "elapsed_s": round(time.perf_counter() - started, 1)}
        log.append(row)
        print(json.dumps(row), flush=True)
    train_s = time.perf_counter() - started
    export(model, a.out)
    digest = sha256_file(a.out)
    doc = json.loads(MANIFEST.read_text(encoding="utf-8"))
    doc["models"]["feet"] = {
        "file": a.out.name, "sha256": digest, "size": a.out.stat().st_size,
        "source": {"trained": "models/feet/train.py", "data": "models/feet/data.py",
                   "renderer": "samples/render (anny bodies, pyrender), randomised by "
                               "samples/render/randomise.py",
                   "data_recipe": {"shards": [s.name for s in shards], "validation": a.val,
                                   "train_crops":
                                   int(len(train["x"])), "validation_crops": int(len(val["x"])),
                                   "command": "python -m models.feet.data --poses 1600 "
                                              "--shards 16 --workers 2"},
                   "training": {"epochs": a.epochs, "batch": a.batch, "lr": a.lr,
                                "width": a.width, "seed": a.seed, "threads": a.threads,
                                "torch": torch.__version__, "seconds": round(train_s)},
                   "log": "models/feet/train_log.json"},
        "licence": "Apache-2.0 (trained here from our own renders of anny's body model: "
                   "Apache-2.0, Copyright NAVER Corporation)",
        "inputs": [{"name": "crops", "shape": ["n", 96, 96, 3], "dtype": "uint8",
                    "layout": "NHWC", "color": "BGR",
                    "meaning": "square crops around one foot each, cut by "
                               "vision.pose.feet.cut, right feet mirrored into left ones "
                               "(vision.pose.feet.flip_right)"}],
        "outputs": [{"name": "uv", "shape": ["n", 3, 2], "dtype": "float32",
                     "meaning": "ankle, heel, toe tip (x, y) in crop units 0..1"},
                    {"name": "visibility", "shape": ["n", 3], "dtype": "float32",
                     "meaning": "probability that each point is seen"}],
        "validation": log[-1]["val"],
    }
    MANIFEST.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    LOG.write_text(json.dumps({"train_s": round(train_s), "epochs": log}, indent=1) + "\n",
                   encoding="utf-8")
    print(f"trained in {train_s:.0f} s -> {a.out} (sha256 {digest[:12]}…)")


if __name__ == "__main__":
    main()
