"""The feet model's network (torch, training only; the runtime loads its ONNX export).

A small fully convolutional heat-map model: (N, 96, 96, 3) uint8 BGR crops of a left foot in
(right feet come mirrored, vision.pose.feet.cut), three heat maps (ankle, heel, toe tip) at
48 x 48 whose soft-argmax gives each point in crop units (0..1), and a visibility per point from
the pooled deep features. The deep features (12 x 12) are brought up to 24 and then 48 with
skips from the stem, so the points are placed from fine detail. The uint8 -> float and the channel order
are inside the graph, so the engine hands it the crops as they are cut.
"""

from __future__ import annotations

import torch
from torch import nn

from vision.pose.feet import INPUT

HEAT = INPUT // 2


def _conv(cin: int, cout: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FeetNet(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.stem = _conv(3, w, 2)                 # 48
        self.b1 = _conv(w, w * 3 // 2, 2)          # 24
        self.b2 = _conv(w * 3 // 2, w * 2)         # 24
        self.b3 = _conv(w * 2, w * 3, 2)           # 12
        self.b4 = _conv(w * 3, w * 4)              # 12
        self.b5 = _conv(w * 4, w * 4)              # 12
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.fuse = _conv(w * 4 + w * 2, w * 2, k=1)              # 24
        self.fuse2 = _conv(w * 2 + w, w, k=1)                     # 48
        self.head = nn.Sequential(_conv(w, w), nn.Conv2d(w, 3, 1))
        self.vis = nn.Linear(w * 4, 3)
        grid = (torch.arange(HEAT, dtype=torch.float32) + 0.5) / HEAT
        self.register_buffer("grid", grid)

    def forward(self, x: torch.Tensor):
        """x (N, 96, 96, 3) uint8 BGR -> uv (N, 3, 2) in crop units, visibility (N, 3) in 0..1,
        heat-map logits (N, 3, 48, 48)."""
        x = x.permute(0, 3, 1, 2).float() / 255.0
        x = x.flip(1)                                # BGR -> RGB
        f0 = self.stem(x)
        f2 = self.b2(self.b1(f0))
        f5 = self.b5(self.b4(self.b3(f2)))
        f24 = self.fuse(torch.cat([self.up(f5), f2], 1))
        heat = self.head(self.fuse2(torch.cat([self.up(f24), f0], 1)))
        n = heat.shape[0]
        p = torch.softmax(heat.reshape(n, 3, -1), -1).reshape(n, 3, HEAT, HEAT)
        u = (p.sum(2) * self.grid).sum(-1)
        v = (p.sum(3) * self.grid).sum(-1)
        vis = torch.sigmoid(self.vis(f5.mean((2, 3))))
        return torch.stack([u, v], -1), vis, heat


class Exported(nn.Module):
    """The graph the runtime loads: crops -> uv, visibility (the heat maps stay inside)."""

    def __init__(self, model: FeetNet):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        uv, vis, _ = self.model(x)
        return uv, vis
