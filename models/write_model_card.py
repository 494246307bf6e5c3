#!/usr/bin/env python3
"""Renders models/pre-reference/model-card.md from model-card.json (so the numbers are the script's)."""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "pre-reference"


def main():
    c = json.loads((OUT / "model-card.json").read_text())
    m, t = c["metrics"], c["training"]
    feats = "\n".join(f"| {i + 1} | `{f['name']}` | {f['unit']} | {f['transform']} | {f['mean']:.4f} | {f['std']:.4f} |"
                      for i, f in enumerate(c["clinical"]["features"]))
    calib = "\n".join(f"| {r['bin']} | {r['n']} | {r['meanPredicted']:.3f} | {r['observedRate']:.3f} |" for r in m["calibration"])
    abl = [("fused (as shipped)", m["fused"]), ("image only: same model, clinical tensor zeroed (all features imputed)", m["imageOnlyZeroedClinical"]),
           ("clinical only: same model, image tensor zeroed (not trained to work without the image)", m["clinicalOnlyZeroedImage"]),
           ("clinical only: separate small MLP trained on the sampled 0/1 labels (not the fused model's target)", m["clinicalOnlyMlp"]),
           ("oracle: the generator's ground-truth probability", m["oracleGroundTruth"])]
    abl_rows = "\n".join(f"| {n} | {v['auc']:.3f} | {v['brier']:.3f} |" for n, v in abl)
    same = m.get("clinicalOnlySameTraining")
    same_section = ""
    if same:
        rng = lambda v: f"{v['mean']:.3f} ({v['min']:.3f}–{v['max']:.3f})"
        rows = [f"| fused (as shipped, same run) | {same['fused']['auc']:.3f} | {same['fused']['brier']:.3f} |",
                f"| clinical only, trained exactly as the fused model (its clinical branch and head; soft targets, AdamW one-cycle, "
                f"{t['epochs']} epochs, batch {t['batch']}, feature dropout), {same['clinicalSameRecipe']['repeats']} seeds | "
                f"{rng(same['clinicalSameRecipe']['auc'])} | {rng(same['clinicalSameRecipe']['brier'])} |",
                f"| clinical only, the small MLP above on soft targets, {same['clinicalMlpSoft']['repeats']} seeds | "
                f"{rng(same['clinicalMlpSoft']['auc'])} | {rng(same['clinicalMlpSoft']['brier'])} |",
                f"| oracle | {same['oracle']['auc']:.3f} | {same['oracle']['brier']:.3f} |"]
        same_section = f"""
### Clinical only, trained the way the fused model was (`models/ablation_clinical.py`)
The two clinical-only rows above understate a clinical-only model: one is the fused network with its image zeroed
(it never learned to work without it), the other was trained on the sampled 0/1 labels while the fused model was
trained on the generator's probability. Trained on the same target, the same patients and the same recipe, on the
same held-out set:

| model | AUC | Brier |
|---|---|---|
{chr(10).join(rows)}

**The image adds {same['gapFusedMinusClinicalSameRecipe']:.3f} AUC over the clinical data alone** ({same['fused']['auc']:.2f} vs {same['clinicalSameRecipe']['auc']['mean']:.2f}), not the ~0.07 the
rows above suggest; the fused model is still {same['oracle']['auc'] - same['fused']['auc']:.3f} below the oracle. This gap reflects how the phantoms
were generated; on real data it is unknown, and a site model must be compared with a clinical-only baseline trained
on the same target before anyone relies on its image branch. (Run time: {same['seconds']['total']:.0f} s on the shared 2-core
machine, {same['seconds']['renderOrReadTestSet']:.0f} s of it rendering the 400 test phantoms; the clinical-only models need no training phantom.)
"""
    s = c.get("scenarioCheck")
    scen = (f"Scenario check (`models/verify_scenarios.py`, {s['phantoms']} demo phantoms, seeds {s['seeds']}): "
            f"{s['failures']} failures; high-risk scenarios PRE {s['highRiskPreRange'][0]:.3f}–{s['highRiskPreRange'][1]:.3f}, "
            f"low-risk {s['lowRiskPreRange'][0]:.3f}–{s['lowRiskPreRange'][1]:.3f}.") if s else ""
    r = c.get("reproducibility")
    repro = (f"Reproducibility: a second run ({r['check']}) produced a {'bit-identical .onnx (same SHA-256)' if r['identicalSha256'] else 'different .onnx'}; "
             f"that run's training took {r['trainSeconds']:.0f} s (machine load varies).") if r else ""
    md = f"""# Model card: `{c['id']}` {c['version']}

> **NOT FOR CLINICAL USE.** A reference model trained on **synthetic phantoms only**. It has the shape of the
> NCT07282184 PRE model (four-phase MRI + clinical data → probability of aggressive recurrence within 2 years)
> so that the service can be built and tested end to end. Its numbers say nothing about real patients. A site
> replaces it with its own validated model (see `models/README.md`).

| | |
|---|---|
| file | `{c['onnx']}` ({c['sizeBytes'] / 1024:.0f} KiB, ONNX opset {c['opset']}) |
| SHA-256 | `{c['sha256']}` |
| version | {c['version']} |
| training data | synthetic (`models/phantoms`), {t['nTrain']} phantoms, seed {t['seed']} |
| training time | {t['trainSeconds']:.0f} s, {t['threads']} CPU thread ({t['epochs']} epochs), plus {t['dataSeconds']:.0f} s to generate the training phantoms (2 processes); measured on a shared 2-core machine under heavy load; PyTorch {t['torch']} |
| threshold | {c['threshold']} (PRE ≥ threshold = high risk; the service reads its threshold from the protocol settings) |

{repro}

## Intended use
Demonstration and testing of the CdsRisk CDS Hooks service: early HCC scheduled for liver resection, the trial's
question "is the PRE ≥ 0.5?". Not validated on, and never to be used for, real patients.

## Input contract (the JSON card is the source of truth)
- `image`: float32 `[N, 4, 32, 64, 64]`; channels non-contrast, arterial, portal venous, delayed; axes D (slices,
  ascending projection of ImagePositionPatient on the slice normal), H (rows), W (columns).
  Each phase: modality values (stored × RescaleSlope + RescaleIntercept) → trilinear resampling in index space
  over the whole acquired extent onto 32×64×64 (`align_corners=False`: output k reads input
  `(k + 0.5) × n_in / n_out − 0.5`, clamped to `[0, n_in − 1]`) → `(v − mean) / max(std, 1e-6)` over the resampled
  phase (population std) → clipped to `[−5, 5]`. Reference implementation: `models/phantoms/preprocess.py`.
- `clinical`: float32 `[N, 9]`, in this order, each `(transform(x) − mean) / std`; a missing value is imputed with
  the training mean, i.e. 0, and reported as imputed.

| # | feature | unit | transform | mean | std |
|---|---|---|---|---|---|
{feats}

- Output `pre`: float32 `[N, 1]`, sigmoid inside the graph: probability of aggressive recurrence (first recurrence
  beyond the Milan criteria) within 2 years of resection.

## Architecture
A 2×2×2 average pool (32×64×64 → 16×32×32, inside the graph), three 3×3×3 convolution blocks with batch norm
(stride 2, 2, 1; 16, 32, 32 channels), global mean + max pooling → 64 image features; an MLP over the 9 clinical
features → 32; concatenated and fused by an MLP (64 → 1), sigmoid. {c['parameters']:,} parameters.
Training (`models/train.py`): AdamW, one-cycle LR {t['lr']}, batch {t['batch']}, {t['epochs']} epochs, seed {t['seed']},
one CPU thread; target: **{'the generator ground-truth probability (soft labels)' if t.get('target') == 'risk' else 'the sampled labels'}**
— a privilege of synthetic data: with {t['nTrain']} cases the sampled 0/1 labels were too noisy for the image
branch to learn (a first run on labels, with an earlier phantom version whose rim and halo were thinner, gave
image-only AUC ≈ 0.54). Modality dropout: the whole clinical vector
zeroed 10 % of the time, the image 8 %, single clinical features 10 %, so that imputation and the ablations below
are meaningful.

## Synthetic data (`models/phantoms`)
Abdominal T1 fat-suppressed gradient-echo volumes (default 48 × 128 × 128, 5 mm slices, 3 mm pixels; training
also uses 40×96², 36×80², 32×64² matrices) with body wall, liver, portal and hepatic veins, IVC, aorta, spleen,
kidneys and spine; per-phase signal tables for extracellular gadolinium; per-"scanner" gain, offset, bias field,
arterial timing, Rician noise (2–7 %), and for one vendor RescaleSlope/Intercept. Tumours (1–3, largest 1.2–11 cm)
carry the features linked to microvascular invasion and aggressive recurrence: arterial hyperenhancement (APHE)
with portal-venous/delayed washout, rim arterial enhancement with a hypoenhancing core, non-smooth (lobulated)
margin, satellite nodules (< 1 cm, not counted), peritumoural arterial enhancement (a wedge-shaped halo), enhancing
capsule. Imaging and clinical latent aggressiveness are correlated (ρ = 0.3).

**Generative risk model** (`models/phantoms/risk.py`):
`logit = −0.35 + 1.25·S_img + 1.0·S_clin + 0.6·S_img·S_clin`, `p = sigmoid(logit)`, label ~ Bernoulli(p), where
`S_img = (1.1(margin − 0.4) + 0.9(rim − 0.35) + 0.8(peritumoural − 0.35) + 0.35(min(satellites, 3) − 0.8) + 0.7(APHE·washout − 0.35)) / 0.9`
and `S_clin = (0.95(log10 AFP − 1.4) + 0.55(ln size_cm − ln 3.5) + 0.35(count − 1.3) − 0.05(albumin g/L − 41) + 0.012(bilirubin µmol/L − 14) − 0.003(platelets − 170)) / 0.85`.
The morphology features exist only in the image, AFP and liver reserve only in the clinical data, and the
interaction makes either modality alone insufficient. Age and sex have no effect.

## Metrics (held-out synthetic set, `models/evaluate.py`)
{m['heldOut']['n']} phantoms (seed {m['heldOut']['seed']}), {m['heldOut']['positives']} positive labels. AUC and Brier against the sampled labels.

| model | AUC | Brier |
|---|---|---|
{abl_rows}

Correlation of PRE with the ground-truth probability: {m['correlationWithGroundTruth']:.3f}; accuracy at 0.5: {m['accuracyAtThreshold']:.3f};
PyTorch one-patient latency {m['torchLatencyMsMedian']:.1f} ms (the C# benchmark measures ONNX Runtime).
For orientation only (real data, not comparable): Recurr-NET reported AUROC 0.77–0.86 internal; clinical scores 0.52–0.62.

{same_section}
{scen}

Calibration (10 bins):

| predicted | n | mean predicted | observed rate |
|---|---|---|---|
{calib}

## Limitations
Synthetic anatomy and contrast behaviour; the risk function is invented; no scanner, protocol or population shift
beyond the simulated variation; the phantom generator and the model share assumptions, so these metrics are
optimistic for anything real.

## Reproduce
```
/usr/bin/python3 models/train.py          # data cached under models/work/ (gitignored)
/usr/bin/python3 models/evaluate.py       # completes model-card.json (metrics, sha256)
/usr/bin/python3 models/ablation_clinical.py  # clinical-only trained as the fused model (after evaluate.py, which rewrites the metrics)
/usr/bin/python3 models/write_model_card.py
/usr/bin/python3 models/make_fixtures.py  # C# parity fixtures
/usr/bin/python3 models/verify_scenarios.py  # demo scenarios land on the intended side of 0.5
```
"""
    (OUT / "model-card.md").write_text(md)


if __name__ == "__main__":
    main()
