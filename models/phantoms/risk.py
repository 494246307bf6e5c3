"""Latent tumour/clinical features of one synthetic patient and the generative risk model.

The ground-truth probability of aggressive recurrence is a logistic model over an imaging score,
a clinical score and their product (the interaction), so that neither modality alone recovers it.
Everything here is synthetic; the weights are chosen to echo the direction of effects reported for
microvascular invasion and early recurrence after resection, not their sizes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, asdict, field

import numpy as np


@dataclass
class TumourFeatures:
    size_cm: float          # largest tumour, longest diameter
    count: int              # distinct nodules >= 1 cm (satellites below are not counted)
    aphe: float             # arterial-phase hyperenhancement, 0..1
    washout: float          # portal venous / delayed washout, 0..1
    rim: float              # rim arterial enhancement with hypoenhancing core, 0..1
    margin: float           # non-smooth margin (irregularity), 0..1
    peritumoural: float     # peritumoural arterial enhancement, 0..1
    satellites: int         # sub-centimetre satellite nodules, 0..4


@dataclass
class ClinicalData:
    age_years: int
    sex_male: int
    afp_ng_ml: float
    albumin_g_l: float
    bilirubin_umol_l: float
    platelets_10e9_l: float
    inr: float
    # Not model inputs, but needed for eligibility (Child-Pugh, renal, BP, performance status).
    creatinine_umol_l: float = 75.0
    egfr: float = 90.0
    systolic: int = 128
    diastolic: int = 78
    ecog: int | None = 0
    ascites: str = "none"
    encephalopathy: int = 0


@dataclass
class Patient:
    tumour: TumourFeatures
    clinical: ClinicalData
    extra: dict = field(default_factory=dict)


# --- generative risk model (documented in the model card) --------------------------------------
INTERCEPT = -0.35
W_IMAGING = 1.25
W_CLINICAL = 1.0
W_INTERACTION = 0.6


def imaging_score(t: TumourFeatures) -> float:
    """Standardised-ish imaging score from the morphology features the image shows."""
    s = (1.1 * (t.margin - 0.4) + 0.9 * (t.rim - 0.35) + 0.8 * (t.peritumoural - 0.35)
         + 0.35 * (min(t.satellites, 3) - 0.8) + 0.7 * (t.aphe * t.washout - 0.35))
    return s / 0.9


def clinical_score(c: ClinicalData, t: TumourFeatures) -> float:
    """Clinical score: AFP dominates; tumour burden and liver reserve contribute; age and sex have no effect."""
    s = (0.95 * (math.log10(max(c.afp_ng_ml, 1.0)) - 1.4)
         + 0.55 * (math.log(t.size_cm) - math.log(3.5))
         + 0.35 * (t.count - 1.3)
         - 0.05 * (c.albumin_g_l - 41.0)
         + 0.012 * (c.bilirubin_umol_l - 14.0)
         - 0.003 * (c.platelets_10e9_l - 170.0)
         )
    return s / 0.85


def ground_truth_risk(t: TumourFeatures, c: ClinicalData) -> float:
    si, sc = imaging_score(t), clinical_score(c, t)
    logit = INTERCEPT + W_IMAGING * si + W_CLINICAL * sc + W_INTERACTION * si * sc
    return 1.0 / (1.0 + math.exp(-logit))


def _clip(x, lo, hi):
    return float(min(max(x, lo), hi))


def sample_patient(rng: np.random.Generator) -> Patient:
    """Samples one patient for training/evaluation: correlated latent aggressiveness drives both modalities."""
    z_img, z_clin = rng.multivariate_normal([0, 0], [[1, 0.3], [0.3, 1]])
    sig = lambda x: 1 / (1 + math.exp(-x))
    size = _clip(math.exp(rng.normal(math.log(3.5) + 0.25 * z_img, 0.45)), 1.2, 11.0)
    count = int(rng.choice([1, 2, 3], p=[0.72, 0.2, 0.08]))
    if count > 1:
        size = min(size, 3.0 + rng.uniform(0, 2.0))
    t = TumourFeatures(
        size_cm=round(size, 1),
        count=count,
        aphe=_clip(sig(1.2 + 0.5 * z_img + rng.normal(0, 1.0)), 0, 1),
        washout=_clip(sig(0.8 + 0.6 * z_img + rng.normal(0, 1.0)), 0, 1),
        rim=_clip(sig(-0.8 + 1.2 * z_img + rng.normal(0, 1.0)), 0, 1),
        margin=_clip(sig(-0.5 + 1.2 * z_img + rng.normal(0, 1.0)), 0, 1),
        peritumoural=_clip(sig(-0.8 + 1.1 * z_img + rng.normal(0, 1.0)), 0, 1),
        satellites=int(min(4, rng.poisson(max(0.05, 0.6 + 0.7 * z_img)))),
    )
    c = ClinicalData(
        age_years=int(_clip(round(rng.normal(59, 10)), 25, 85)),
        sex_male=int(rng.random() < 0.8),
        afp_ng_ml=round(_clip(10 ** rng.normal(1.4 + 0.7 * z_clin, 0.8), 0.5, 1e5), 1),
        albumin_g_l=round(_clip(rng.normal(41 - 1.0 * z_clin, 3.5), 25, 52), 1),
        bilirubin_umol_l=round(_clip(rng.lognormal(math.log(13) + 0.1 * z_clin, 0.35), 3, 60), 1),
        platelets_10e9_l=round(_clip(rng.normal(170 - 15 * z_clin, 55), 40, 450)),
        inr=round(_clip(rng.normal(1.05, 0.09), 0.85, 1.8), 2),
    )
    return Patient(t, c)


def patient_to_dict(p: Patient) -> dict:
    return {"tumour": asdict(p.tumour), "clinical": asdict(p.clinical)}
