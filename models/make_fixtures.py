#!/usr/bin/env python3
"""Writes the C# test fixtures from the trained reference model (run after train.py and evaluate.py).

tests/CdsRisk.UnitTests/TestData/model/parity/        fixed input tensors -> PyTorch output (ONNX parity, 1e-5)
tests/CdsRisk.UnitTests/TestData/model/phantom-parity/ one small phantom as DICOM + the Python tensor + referencePre
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "phantoms"))

import dataset  # noqa: E402
from pre_net import PreNet  # noqa: E402
from preprocess import FEATURES, clinical_vector  # noqa: E402
from train import OUT, WORK  # noqa: E402

TEST_DATA = ROOT / "tests" / "CdsRisk.UnitTests" / "TestData" / "model"


def main():
    torch.set_num_threads(2)
    card = json.loads((OUT / "model-card.json").read_text())
    stats = card["clinical"]["features"]
    net = PreNet()
    net.load_state_dict(torch.load(OUT / "pre-reference.pt", map_location="cpu"))
    net.eval()

    # 1. the phantom parity fixture (small matrix so that it stays under 3 MB)
    pp = TEST_DATA / "phantom-parity"
    shutil.rmtree(pp, ignore_errors=True)
    cmd = [sys.executable, str(HERE / "phantoms" / "generate.py"), "--out", str(pp), "--seed", "11",
           "--scenario", "eligible-high-risk", "--today", "2026-11-27", "--matrix", "24x96x96", "--dump-tensors"]
    subprocess.run(cmd, check=True)
    (pp / "README.md").write_text(
        "Produced by `" + " ".join(["/usr/bin/python3", "models/make_fixtures.py"]) + "`, which runs\n`/usr/bin/python3 "
        + " ".join(str(Path(c).relative_to(ROOT)) if str(c).startswith(str(ROOT)) else c for c in cmd[1:])
        + "`.\n\n`dicom/` is the phantom (separate layout, Explicit VR LE); `image.f32` is the Python tensor "
        "(little-endian float32, [4, 32, 64, 64], models/phantoms/preprocess.py) read back from those files; "
        "`clinical.f32` the standardised clinical tensor [9]; `expected.json` holds `referencePre` (the model's PRE "
        "for these tensors) and the raw `clinicalFeatures`. The C# pipeline should reproduce `image.f32` within 1e-4 "
        "per value (float32 resampling order) and `referencePre` within 1e-3.\n")

    # 2. ONNX parity cases: fixed tensors -> PyTorch output
    par = TEST_DATA / "parity"
    shutil.rmtree(par, ignore_errors=True)
    par.mkdir(parents=True)
    te = dataset.build("test", 400, 2, WORK)
    exp = json.loads((pp / "expected.json").read_text())
    img_a = np.fromfile(pp / "image.f32", dtype="<f4").reshape(4, 32, 64, 64)
    risks = te["risk"]
    j = int(np.argmin(risks))  # a clearly low-risk held-out phantom
    img_b = np.asarray(te["image"][j], dtype=np.float32)
    img_b.astype("<f4").tofile(par / "case-b.image.f32")
    raw_b = {n: float(v) for n, v in zip(FEATURES, te["raw"][j])}
    missing = dict(raw_b, afp_ng_ml=None, platelets_10e9_l=None)
    cases = []
    for name, image_file, img, feats in (("phantom-high-risk", "../phantom-parity/image.f32", img_a, exp["clinicalFeatures"]),
                                         ("held-out-low-risk", "case-b.image.f32", img_b, raw_b),
                                         ("held-out-afp-and-platelets-missing", "case-b.image.f32", img_b, missing)):
        vec, imputed = clinical_vector(feats, stats)
        with torch.no_grad():
            pre = float(net(torch.from_numpy(img[None].copy()), torch.from_numpy(vec[None]))[0, 0])
        cases.append({"name": name, "image": image_file, "clinicalFeatures": feats,
                      "clinicalTensor": [float(v) for v in vec], "imputed": imputed, "pre": pre})
    # a batch of two checks the dynamic batch axis
    with torch.no_grad():
        both = net(torch.from_numpy(np.stack([img_a, img_b])),
                   torch.from_numpy(np.stack([np.array(cases[0]["clinicalTensor"], np.float32),
                                              np.array(cases[1]["clinicalTensor"], np.float32)])))[:, 0].tolist()
    (par / "cases.json").write_text(json.dumps({
        "modelSha256": card["sha256"], "producedBy": "models/make_fixtures.py (PyTorch " + torch.__version__ + ")",
        "cases": cases, "batchOfFirstTwo": both}, indent=1) + "\n")
    print(json.dumps([(c["name"], c["pre"]) for c in cases]))


if __name__ == "__main__":
    main()
