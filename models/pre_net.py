"""The reference PRE network: a small 3D CNN over the four phases, an MLP over the nine clinical
features, fused by an MLP; sigmoid output (inside the exported graph).

The image branch starts with a 2x2x2 average pool (32x64x64 -> 16x32x32): on a shared, loaded 2-core CPU that is
what keeps training to minutes. Training feeds pooled tensors directly (`pooled=True`, the pool computed once per
case); the exported graph pools itself, so the ONNX input is the full [N, 4, 32, 64, 64] of docs/contracts.md §2."""
from __future__ import annotations

import torch
from torch import nn


def _block(cin, cout, kernel=3, stride=2, padding=1):
    return nn.Sequential(nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm3d(cout), nn.ReLU(inplace=True))


class PreNet(nn.Module):
    def __init__(self, n_clinical: int = 9):
        super().__init__()
        self.pool = nn.AvgPool3d(2)
        self.image = nn.Sequential(
            _block(4, 16),                 # 8 x 16 x 16
            _block(16, 32),                # 4 x 8 x 8
            _block(32, 32, stride=1),      # 4 x 8 x 8
        )
        self.clinical = nn.Sequential(nn.Linear(n_clinical, 32), nn.ReLU(inplace=True), nn.Linear(32, 32), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Linear(64 + 32, 64), nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(64, 1))

    def logits(self, image, clinical, pooled: bool = False):
        f = self.image(image if pooled else self.pool(image))
        img = torch.cat([f.mean(dim=(2, 3, 4)), f.amax(dim=(2, 3, 4))], dim=1)
        return self.head(torch.cat([img, self.clinical(clinical)], dim=1))

    def forward(self, image, clinical):
        return torch.sigmoid(self.logits(image, clinical))
