#!/usr/bin/env python3
"""Trains the reference PRE model on synthetic phantoms and exports it to ONNX.

  /usr/bin/python3 models/train.py [--n-train 1600] [--epochs 30] [--seed 1] [--target risk|label]

Writes models/pre-reference/{pre-reference.onnx, pre-reference.pt, model-card.json (clinical statistics and
training record; evaluate.py completes the card)}. CPU only, seeded; one thread by default (on a
shared 2-core machine a second intra-op thread made training slower, not faster).
"""
from __future__ import annotations

import argparse
import json
import random
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
from preprocess import FEATURES, GRID  # noqa: E402

OUT = HERE / "pre-reference"
WORK = HERE / "work"
UNITS = {"age_years": "a", "sex_male": "1 = male, 0 = female", "afp_ng_ml": "ng/mL", "albumin_g_l": "g/L",
         "bilirubin_umol_l": "umol/L", "platelets_10e9_l": "10*9/L", "inr": "{INR}", "tumour_size_cm": "cm",
         "tumour_count": "{count}"}


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def clinical_stats(raw: np.ndarray) -> list[dict]:
    x = dataset.transform_raw(raw)
    mean, std = x.mean(axis=0), x.std(axis=0)
    return [{"name": n, "unit": UNITS[n], "transform": "log10(max(x, 1))" if n == "afp_ng_ml" else "identity",
             "mean": round(float(m), 6), "std": round(float(max(s, 1e-6)), 6)} for n, m, s in zip(FEATURES, mean, std)]


def standardise(raw: np.ndarray, stats: list[dict]) -> np.ndarray:
    x = dataset.transform_raw(raw)
    mean = np.array([s["mean"] for s in stats]); std = np.array([s["std"] for s in stats])
    return ((x - mean) / std).astype(np.float32)


def train(args) -> dict:
    seed_everything(args.seed)
    torch.set_num_threads(args.threads)
    tr = dataset.build("train", args.n_train, args.seed, WORK, args.workers)
    t_data = float(tr["buildSeconds"])  # measured when the cache was built
    stats = clinical_stats(tr["raw"])
    clin = torch.from_numpy(standardise(tr["raw"], stats))
    y = torch.from_numpy(tr["label"].astype(np.float32))
    pool = nn.AvgPool3d(2)
    with torch.no_grad():  # the network's first layer, computed once for the whole training set
        images = torch.cat([pool(torch.from_numpy(np.asarray(tr["image"][b:b + 100], dtype=np.float32)))
                            for b in range(0, args.n_train, 100)])
    # soft targets: the generator's ground-truth probability (a synthetic-data privilege: with ~2,000 cases the
    # sampled 0/1 labels are too noisy for the image branch to learn the weaker morphology signal)
    target = torch.from_numpy(tr["risk"].astype(np.float32)) if args.target == "risk" else y
    net = PreNet()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-3)
    steps = args.epochs * ((args.n_train + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    lossf = nn.BCEWithLogitsLoss()
    g = torch.Generator().manual_seed(args.seed)
    t1 = time.time()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(args.n_train, generator=g)
        total = 0.0
        for b in range(0, args.n_train, args.batch):
            idx = order[b:b + args.batch]
            sidx = idx
            xi = images[sidx].clone()
            xc = clin[sidx].clone()
            # modality dropout: a whole modality missing (imputed / zeroed) 10 % of the time, and single
            # clinical features imputed with the training mean (0 after standardisation) 10 % of the time
            r = torch.rand(len(sidx), generator=g)
            xc[r < 0.10] = 0.0
            xi[(r >= 0.10) & (r < 0.18)] = 0.0
            xc[torch.rand(xc.shape, generator=g) < 0.10] = 0.0
            loss = lossf(net.logits(xi, xc, pooled=True)[:, 0], target[sidx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(sidx)
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / args.n_train:.4f} {time.time() - t1:.0f}s", flush=True)
    t_train = time.time() - t1
    net.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), args.out / "pre-reference.pt")
    return {"stats": stats, "net": net, "dataSeconds": round(t_data, 1), "trainSeconds": round(t_train, 1)}


def export_onnx(net: PreNet, path: Path):
    net.eval()
    img = torch.zeros(1, 4, *GRID)
    clin = torch.zeros(1, len(FEATURES))
    torch.onnx.export(net, (img, clin), str(path), opset_version=17, input_names=["image", "clinical"],
                      output_names=["pre"], dynamic_axes={"image": {0: "N"}, "clinical": {0: "N"}, "pre": {0: "N"}},
                      do_constant_folding=True)
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-train", type=int, default=1600)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--target", choices=("risk", "label"), default="risk")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT, help="output folder (default models/pre-reference)")
    args = ap.parse_args(argv)
    res = train(args)
    export_onnx(res["net"], args.out / "pre-reference.onnx")
    card_path = args.out / "model-card.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {}
    card.setdefault("clinical", {})["features"] = res["stats"]
    card["training"] = {"seed": args.seed, "nTrain": args.n_train, "epochs": args.epochs, "batch": args.batch,
                        "lr": args.lr, "target": args.target, "threads": args.threads, "dataSeconds": res["dataSeconds"],
                        "trainSeconds": res["trainSeconds"], "torch": torch.__version__}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["training"]))


if __name__ == "__main__":
    main()
