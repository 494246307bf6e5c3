#!/usr/bin/env python3
"""Clinical-only ablation on the fused model's own terms (issue 14: the review found clinical-only reaches 0.779, not 0.755,
when trained on the same target as the fused model).

  /usr/bin/python3 models/ablation_clinical.py [--n-test 400] [--seed 2] [--repeats 5]

The fused model is trained on the generator's ground-truth probability (soft targets, models/train.py --target risk). The
card's earlier clinical-only rows were either the fused model with its image zeroed, or a small MLP trained on the sampled
0/1 labels: neither is a clinical-only model trained the way the fused one was. Here, on the same held-out set as
evaluate.py (400 phantoms, seed 2; AUC and Brier against the sampled labels):

  fused               the shipped model (recomputed, to compare on the same run)
  clinicalSameRecipe  the fused network's own clinical branch and head, no image branch, trained exactly as the fused model:
                      same 1,600 training patients, soft targets, AdamW + one-cycle LR 0.003, batch 32, 30 epochs, seed,
                      10 % single-feature dropout
  clinicalMlpSoft     evaluate.py's small MLP (9 -> 32 -> 1, Adam, 400 full-batch steps) on the soft targets
  clinicalMlpLabels   the same MLP on the sampled labels (the card's earlier row)
  oracle              the generator's ground-truth probability

Training the clinical-only models needs the training patients' clinical features and ground-truth risk only; both come
from the patient sampler before any image is drawn, so no training phantom is rendered (the sampled labels are: for the
label-trained MLP the rendered training cache in models/work/ is used when present, otherwise that row is skipped).
The test phantoms are rendered (or read from the cache). Each clinical-only model is trained with --repeats seeds; the
mean and range are reported. Writes metrics.clinicalOnlySameTraining into model-card.json.
"""
from __future__ import annotations

import argparse
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
from evaluate import auc, brier, clinical_mlp, predict  # noqa: E402
from pre_net import PreNet  # noqa: E402
from risk import ground_truth_risk, sample_patient  # noqa: E402
from train import OUT, WORK, standardise  # noqa: E402


def clinical_training_set(n: int, seed: int):
    """Clinical features and ground-truth risk of the training patients, exactly as dataset.make_case draws them (the patient
    is the first thing drawn from the case's generator)."""
    raw = np.zeros((n, 9)); risk = np.zeros(n)
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        p = sample_patient(rng)
        c, t = p.clinical, p.tumour
        raw[i] = [c.age_years, c.sex_male, c.afp_ng_ml, c.albumin_g_l, c.bilirubin_umol_l, c.platelets_10e9_l, c.inr, t.size_cm, t.count]
        risk[i] = ground_truth_risk(t, c)
    return raw, risk


class ClinicalNet(nn.Module):
    """PreNet without its image branch: the same clinical MLP and the same head, fed 32 clinical features only."""

    def __init__(self):
        super().__init__()
        ref = PreNet()
        self.clinical = ref.clinical
        self.head = nn.Sequential(nn.Linear(32, 64), nn.ReLU(inplace=True), nn.Dropout(0.2), nn.Linear(64, 1))

    def forward(self, x):
        return self.head(self.clinical(x))


def train_same_recipe(x: np.ndarray, target: np.ndarray, seed: int, epochs=30, batch=32, lr=3e-3) -> ClinicalNet:
    torch.manual_seed(seed)
    net = ClinicalNet()
    xt, yt = torch.from_numpy(x), torch.from_numpy(target.astype(np.float32))
    n = len(xt)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-3)
    steps = epochs * ((n + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    g = torch.Generator().manual_seed(seed)
    lossf = nn.BCEWithLogitsLoss()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(n, generator=g)
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            xc = xt[idx].clone()
            xc[torch.rand(xc.shape, generator=g) < 0.10] = 0.0  # single features imputed, as for the fused model
            loss = lossf(net(xc)[:, 0], yt[idx])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    net.eval()
    return net


def summary(values):
    a = np.array(values)
    return {"mean": round(float(a.mean()), 4), "min": round(float(a.min()), 4), "max": round(float(a.max()), 4)}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-test", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.time()
    card_path = OUT / "model-card.json"
    card = json.loads(card_path.read_text())
    stats = card["clinical"]["features"]
    tr_cfg = card["training"]

    raw, risk = clinical_training_set(tr_cfg["nTrain"], tr_cfg["seed"])
    x = standardise(raw, stats)
    te = dataset.build("test", args.n_test, args.seed, WORK, args.workers)
    t_render = time.time() - t0
    y = te["label"].astype(np.float64)
    xte = standardise(te["raw"], stats)

    net = PreNet()
    net.load_state_dict(torch.load(OUT / "pre-reference.pt", map_location="cpu"))
    net.eval()
    fused = predict(net, te["image"], xte)
    res = {"heldOut": {"n": int(len(y)), "positives": int(y.sum()), "seed": args.seed},
           "fused": {"auc": round(auc(y, fused), 4), "brier": round(brier(y, fused), 4)},
           "oracle": {"auc": round(auc(y, te["risk"]), 4), "brier": round(brier(y, te["risk"]), 4)}}

    same, mlp_soft = {"auc": [], "brier": []}, {"auc": [], "brier": []}
    for r in range(args.repeats):
        seed = tr_cfg["seed"] + r
        m = train_same_recipe(x, risk, seed, epochs=tr_cfg["epochs"], batch=tr_cfg["batch"], lr=tr_cfg["lr"])
        with torch.no_grad():
            p = torch.sigmoid(m(torch.from_numpy(xte))[:, 0]).numpy().astype(np.float64)
        same["auc"].append(auc(y, p)); same["brier"].append(brier(y, p))
        p2 = clinical_mlp(x, risk, xte, seed)
        mlp_soft["auc"].append(auc(y, p2)); mlp_soft["brier"].append(brier(y, p2))
    res["clinicalSameRecipe"] = {"auc": summary(same["auc"]), "brier": summary(same["brier"]), "repeats": args.repeats}
    res["clinicalMlpSoft"] = {"auc": summary(mlp_soft["auc"]), "brier": summary(mlp_soft["brier"]), "repeats": args.repeats}

    # The label-trained MLP needs the rendered training cache (labels are drawn after the images).
    cache = WORK / f"train-v{dataset.phantom.VERSION}-s{tr_cfg['seed']}-n{tr_cfg['nTrain']}.meta.npz"
    if cache.exists():
        tr = np.load(cache)
        p3 = clinical_mlp(standardise(tr["raw"], stats), tr["label"], xte, 0)
        res["clinicalMlpLabels"] = {"auc": round(auc(y, p3), 4), "brier": round(brier(y, p3), 4)}
    res["gapFusedMinusClinicalSameRecipe"] = round(res["fused"]["auc"] - res["clinicalSameRecipe"]["auc"]["mean"], 4)
    res["seconds"] = {"renderOrReadTestSet": round(t_render, 1), "total": round(time.time() - t0, 1)}
    card.setdefault("metrics", {})["clinicalOnlySameTraining"] = res
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
