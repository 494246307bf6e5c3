"""Synthetic training/evaluation data: sampled patients rendered as phantoms and preprocessed
exactly as the service does (models/phantoms/preprocess.py). Cached under models/work/."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from multiprocessing import Pool
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "phantoms"))

import phantom  # noqa: E402
import preprocess  # noqa: E402
from risk import ground_truth_risk, sample_patient  # noqa: E402

# (slices, rows/cols, slice spacing mm): different "scanners" acquire different matrices over similar fields of view
# (the full 48 x 128 x 128 of the demo phantoms is in the mix; the smaller ones keep generation affordable)
MATRICES = ((48, 128, 5.0), (40, 96, 6.0), (36, 80, 6.5), (32, 64, 7.5))
MATRIX_P = (0.1, 0.3, 0.3, 0.3)


def make_case(args):
    seed, index = args
    rng = np.random.default_rng([seed, index])
    p = sample_patient(rng)
    nz, n, dz = MATRICES[int(rng.choice(len(MATRICES), p=MATRIX_P))]
    grid = phantom.Grid(nz, n, n, dz, 384.0 / n, 384.0 / n)
    scanner = phantom.sample_scanner(rng)
    anat = phantom.sample_anatomy(rng)
    placements = phantom.place_tumours(rng, anat, p.tumour)
    labels = phantom.build_labels(grid, anat, p.tumour, placements)
    stored = phantom.render_phases(rng, grid, labels, p.tumour, scanner)
    image = preprocess.preprocess_phases([phantom.modality_values(s, scanner) for s in stored])
    risk = ground_truth_risk(p.tumour, p.clinical)
    label = int(rng.random() < risk)
    c, t = p.clinical, p.tumour
    raw = [c.age_years, c.sex_male, c.afp_ng_ml, c.albumin_g_l, c.bilirubin_umol_l, c.platelets_10e9_l, c.inr,
           t.size_cm, t.count]
    return image.astype(np.float16), np.array(raw, np.float64), risk, label, asdict(t)


def build(split: str, n: int, seed: int, work: Path, workers: int = 2):
    """Returns dict with image (memmap float16 [n,4,32,64,64]), raw clinical [n,9], risk [n], label [n]."""
    work.mkdir(parents=True, exist_ok=True)
    prefix = work / f"{split}-v{phantom.VERSION}-s{seed}-n{n}"
    img_path = Path(str(prefix) + ".image.f16")
    meta_path = Path(str(prefix) + ".meta.npz")
    if img_path.exists() and meta_path.exists():
        meta = np.load(meta_path)
        img = np.memmap(img_path, dtype=np.float16, mode="r", shape=(n, 4, *preprocess.GRID))
        return {"image": img, **{k: meta[k] for k in meta.files}}
    t0 = time.time()
    img = np.memmap(str(img_path) + ".tmp", dtype=np.float16, mode="w+", shape=(n, 4, *preprocess.GRID))
    raw = np.zeros((n, 9)); risk = np.zeros(n); label = np.zeros(n, np.int64)
    feats = np.zeros((n, 8))
    with Pool(workers) as pool:
        for i, (im, r, rk, lb, tf) in enumerate(pool.imap(make_case, [(seed, i) for i in range(n)], chunksize=8)):
            img[i] = im; raw[i] = r; risk[i] = rk; label[i] = lb
            feats[i] = [tf[k] for k in ("size_cm", "count", "aphe", "washout", "rim", "margin", "peritumoural", "satellites")]
    img.flush(); del img
    Path(str(img_path) + ".tmp").rename(img_path)
    np.savez(meta_path, raw=raw, risk=risk, label=label, tumour=feats, buildSeconds=time.time() - t0, workers=workers)
    return build(split, n, seed, work, workers)


def transform_raw(raw: np.ndarray) -> np.ndarray:
    out = raw.astype(np.float64).copy()
    out[:, 2] = np.log10(np.maximum(out[:, 2], 1.0))
    return out
