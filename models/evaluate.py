#!/usr/bin/env python3
"""Evaluates the reference PRE model on a held-out synthetic set and completes the model card JSON.

  /usr/bin/python3 models/evaluate.py [--n-test 400] [--seed 2]

Metrics: AUC (against the sampled labels), Brier score, a 10-bin calibration table, and the ablation:
  fused          the model as shipped
  image-only     the same model with the clinical tensor zeroed (every feature imputed with the training mean)
  clinical-only  the same model with the image tensor zeroed (training used 8 % image dropout)
  clinical-mlp   a separate small MLP trained on the clinical features alone (same training set)
  oracle         the generator's ground-truth probability (the ceiling any model can reach on sampled labels)
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "phantoms"))

import dataset  # noqa: E402
from pre_net import PreNet  # noqa: E402
from train import OUT, WORK, standardise  # noqa: E402


def auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p)); ranks[order] = np.arange(1, len(p) + 1)
    # average ranks of ties
    for v in np.unique(p):
        m = p == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    n1 = y.sum(); n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def brier(y, p):
    return float(np.mean((p - y) ** 2))


def calibration(y, p, bins=10):
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for i in range(bins):
        m = (p >= edges[i]) & ((p < edges[i + 1]) if i < bins - 1 else (p <= 1))
        if m.any():
            rows.append({"bin": f"{edges[i]:.1f}-{edges[i + 1]:.1f}", "n": int(m.sum()),
                         "meanPredicted": round(float(p[m].mean()), 3), "observedRate": round(float(y[m].mean()), 3)})
    return rows


def predict(net, images, clin, zero_image=False, zero_clinical=False, batch=50):
    out = []
    with torch.no_grad():
        for b in range(0, len(clin), batch):
            xi = torch.from_numpy(np.asarray(images[b:b + batch], dtype=np.float32))
            xc = torch.from_numpy(clin[b:b + batch])
            if zero_image:
                xi = torch.zeros_like(xi)
            if zero_clinical:
                xc = torch.zeros_like(xc)
            out.append(net(xi, xc)[:, 0].numpy())
    return np.concatenate(out).astype(np.float64)


def clinical_mlp(train_x, train_y, test_x, seed):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2, weight_decay=1e-3)
    x, y = torch.from_numpy(train_x), torch.from_numpy(train_y.astype(np.float32))
    for _ in range(400):
        loss = nn.functional.binary_cross_entropy_with_logits(m(x)[:, 0], y)
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad():
        return torch.sigmoid(m(torch.from_numpy(test_x))[:, 0]).numpy().astype(np.float64)


def metrics(y, p):
    return {"auc": round(auc(y, p), 4), "brier": round(brier(y, p), 4)}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--version", default="1.0.0")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    card_path = OUT / "model-card.json"
    card = json.loads(card_path.read_text())
    stats = card["clinical"]["features"]
    tr_cfg = card["training"]
    te = dataset.build("test", args.n_test, args.seed, WORK)
    tr = dataset.build("train", tr_cfg["nTrain"], tr_cfg["seed"], WORK)
    net = PreNet()
    net.load_state_dict(torch.load(OUT / "pre-reference.pt", map_location="cpu"))
    net.eval()
    clin = standardise(te["raw"], stats)
    y = te["label"].astype(np.float64)
    p = predict(net, te["image"], clin)
    res = {
        "heldOut": {"n": int(len(y)), "positives": int(y.sum()), "seed": args.seed},
        "fused": metrics(y, p),
        "imageOnlyZeroedClinical": metrics(y, predict(net, te["image"], clin, zero_clinical=True)),
        "clinicalOnlyZeroedImage": metrics(y, predict(net, te["image"], clin, zero_image=True)),
        "clinicalOnlyMlp": metrics(y, clinical_mlp(standardise(tr["raw"], stats), tr["label"], clin, 0)),
        "oracleGroundTruth": metrics(y, te["risk"]),
        "correlationWithGroundTruth": round(float(np.corrcoef(p, te["risk"])[0, 1]), 4),
        "accuracyAtThreshold": round(float(np.mean((p >= 0.5) == (y == 1))), 4),
        "calibration": calibration(y, p),
    }
    # one-patient latency in PyTorch (the C# benchmark measures ONNX Runtime)
    xi = torch.from_numpy(np.asarray(te["image"][:1], dtype=np.float32)); xc = torch.from_numpy(clin[:1])
    ts = []
    with torch.no_grad():
        for _ in range(20):
            t = time.perf_counter(); net(xi, xc); ts.append(time.perf_counter() - t)
    res["torchLatencyMsMedian"] = round(1000 * float(np.median(ts)), 2)
    onnx_path = OUT / "pre-reference.onnx"
    sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    card = {
        "id": "pre-reference",
        "version": args.version,
        "name": "PRE reference model (synthetic)",
        "onnx": onnx_path.name,
        "sha256": sha,
        "sizeBytes": onnx_path.stat().st_size,
        "opset": 17,
        "parameters": sum(p.numel() for p in net.parameters()),
        "inputs": [{"name": "image", "shape": ["N", 4, 32, 64, 64], "dtype": "float32"},
                   {"name": "clinical", "shape": ["N", 9], "dtype": "float32"}],
        "output": {"name": "pre", "shape": ["N", 1], "dtype": "float32",
                   "meaning": "probability of aggressive recurrence (beyond Milan) within 2 years of resection",
                   "activation": "sigmoid (inside the graph)"},
        "image": {"grid": [32, 64, 64], "axes": ["D", "H", "W"],
                  "phases": ["non-contrast", "arterial", "portal-venous", "delayed"],
                  "sliceOrder": "ascending projection of ImagePositionPatient on the slice normal",
                  "modalityValues": "stored * RescaleSlope + RescaleIntercept",
                  "resampling": "trilinear in index space over the whole acquired extent, align_corners=false: out k <- in (k + 0.5) * n_in / n_out - 0.5, clamped to [0, n_in - 1]",
                  "normalisation": "per phase (v - mean) / max(std, 1e-6), population std over the resampled phase, clipped to [-5, 5]"},
        "clinical": {"features": stats, "imputation": "training-mean",
                     "standardisation": "(transform(x) - mean) / std; an imputed feature is 0"},
        "threshold": 0.5,
        "notForClinicalUse": True,
        "trainingData": "synthetic",
        "training": tr_cfg,
        "metrics": res,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps({k: v for k, v in res.items() if k != "calibration"}, indent=1))


if __name__ == "__main__":
    main()
