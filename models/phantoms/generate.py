#!/usr/bin/env python3
"""Writes one synthetic phantom patient for the service's tests and demo.

  /usr/bin/python3 models/phantoms/generate.py --out DIR --seed N --scenario NAME \
      [--layout separate|dynamic] [--today YYYY-MM-DD] [--patient-id ID]

DIR/dicom/*.dcm   MR Part 10 files (Explicit VR LE), one series per phase or one dynamic series
DIR/bundle.json   FHIR R4 transaction Bundle (PUT with deterministic ids; Endpoint.address is the
                  literal placeholder {{DICOMWEB_BASE}} for the seeder to replace)
DIR/expected.json {scenario, expectedOutcome, expectedCriteria, referencePre, groundTruthRisk, ...}

Everything is deterministic from (seed, scenario, patient id, today). Synthetic data: not a patient.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import shutil
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dicomio  # noqa: E402
import fhirbundle  # noqa: E402
import phantom  # noqa: E402
import preprocess  # noqa: E402
from risk import ClinicalData, TumourFeatures, ground_truth_risk  # noqa: E402

MODEL_DIR = HERE.parent / "pre-reference"

HIGH_TUMOUR = TumourFeatures(size_cm=6.5, count=1, aphe=0.95, washout=0.9, rim=0.85, margin=0.9,
                             peritumoural=0.85, satellites=3)
HIGH_CLINICAL = ClinicalData(age_years=62, sex_male=1, afp_ng_ml=1250.0, albumin_g_l=39.5, bilirubin_umol_l=15.4,
                             platelets_10e9_l=142.0, inr=1.08, creatinine_umol_l=78.0, egfr=88.0)
LOW_TUMOUR = TumourFeatures(size_cm=2.3, count=1, aphe=0.8, washout=0.6, rim=0.05, margin=0.05,
                            peritumoural=0.0, satellites=0)
LOW_CLINICAL = ClinicalData(age_years=57, sex_male=0, afp_ng_ml=4.2, albumin_g_l=44.0, bilirubin_umol_l=10.3,
                            platelets_10e9_l=215.0, inr=1.0, creatinine_umol_l=64.0, egfr=96.0)

SCENARIOS = {
    "eligible-high-risk": dict(outcome="eligible", criteria={"pre-score": "pass", "mri-4-phase": "pass"}),
    "low-risk": dict(outcome="low-risk", criteria={"pre-score": "fail"}, risk="low"),
    "ineligible-age": dict(outcome="ineligible", criteria={"age": "fail"}, clinical={"age_years": 79}),
    "ineligible-child-pugh": dict(
        outcome="ineligible", criteria={"child-pugh": "fail"},
        # bilirubin 2.5 mg/dL (2) + albumin 3.0 g/dL (2) + INR 1.45 (1) + mild ascites (2) + no encephalopathy (1) = 8, class B
        clinical={"bilirubin_umol_l": 42.75, "albumin_g_l": 30.0, "inr": 1.45, "ascites": "mild", "platelets_10e9_l": 96.0}),
    "ineligible-ecog": dict(outcome="ineligible", criteria={"ecog": "fail"}, clinical={"ecog": 2}),
    "ineligible-cholangiocarcinoma": dict(
        outcome="ineligible", criteria={"non-hcc-pathology": "fail"},
        conditions=[{"id": "cca", "text": "Intrahepatic cholangiocarcinoma",
                     "coding": [{"system": fhirbundle.SNOMED, "code": "312104005", "display": "Cholangiocarcinoma of intrahepatic bile duct"},
                                {"system": fhirbundle.ICD10, "code": "C22.1", "display": "Intrahepatic bile duct carcinoma"}]}]),
    "ineligible-oxaliplatin-allergy": dict(
        outcome="ineligible", criteria={"regimen-hypersensitivity": "fail"},
        allergies=[{"id": "allergy-oxaliplatin", "text": "Oxaliplatin",
                    "coding": [{"system": fhirbundle.RXNORM, "code": "32592", "display": "oxaliplatin"}]}]),
    "ineligible-nyha3": dict(
        outcome="ineligible", criteria={"heart-failure": "fail"}, clinical={"nyha": 3},
        conditions=[{"id": "heart-failure", "text": "Heart failure",
                     "coding": [{"system": fhirbundle.SNOMED, "code": "84114007", "display": "Heart failure"},
                                {"system": fhirbundle.ICD10, "code": "I50.9", "display": "Heart failure, unspecified"}]}]),
    "needs-data-no-ecog": dict(outcome="needs-data", criteria={"ecog": "unknown"}, clinical={"ecog": None}),
    "needs-data-mri-no-delayed": dict(outcome="needs-data", criteria={"mri-4-phase": "unknown"}, phases=(0, 1, 2)),
    # 45 days: outside the protocol's one 31-day MRI window, so the service does not score it (pre_shown False).
    "needs-data-mri-old": dict(outcome="needs-data", criteria={"mri-4-phase": "unknown"}, study_age_days=45, pre_shown=False),
    "eligible-dynamic-layout": dict(outcome="eligible", criteria={"pre-score": "pass", "mri-4-phase": "pass"},
                                    layout="dynamic"),
    # After enrolment (issue 17): on study (ResearchSubject of NCT07282184), resected resected_days before --today; the pre-operative
    # picture (labs, MRI) is dated before the resection. Visits are days after the resection with a liver MRI, AFP and LFTs.
    # expectedFollowUp: the overdue items, the safety signals and the card kinds the service must answer with.
    "on-study-up-to-date": dict(
        outcome="on-study", criteria={"early-death-or-loss": "pass", "non-hcc-pathology": "pass"},
        follow_up=dict(resected_days=200, visits=(88, 183), pathology="hcc"),
        expected_follow_up={"overdue": [], "done": ["m3-imaging", "m6-imaging", "m6-afp", "m6-lft"], "signals": [], "cards": ["follow-up"]}),
    "on-study-overdue-mri": dict(
        outcome="on-study", criteria={"early-death-or-loss": "pass", "non-hcc-pathology": "pass"},
        follow_up=dict(resected_days=200, visits=(88, 183), no_mri=(183,), pathology="hcc"),
        expected_follow_up={"overdue": ["m6-imaging"], "done": ["m6-afp", "m6-lft"], "signals": [], "cards": ["follow-up"]}),
    "on-study-grade3-alt": dict(
        outcome="on-study", criteria={"early-death-or-loss": "to-be-confirmed"},
        # Adjuvant oxaliplatin given 6 days ago (its drug a medicationReference to a Medication), labs the day before the cycle,
        # ALT 250 U/L (ULN 40, reference range) yesterday: 6.25 x ULN, CTCAE v5.0 grade 3.
        follow_up=dict(resected_days=60, visits=(), therapy=dict(drug="oxaliplatin", given_days_ago=6, alt_u_l=250)),
        expected_follow_up={"overdue": [], "done": ["cycle-1-labs"], "signals": ["alt-increased"], "cards": ["safety-signal", "follow-up"]}),
}


def _birth_date(today: dt.date, age: int) -> dt.date:
    try:
        return today.replace(year=today.year - age)
    except ValueError:  # 29 February
        return today.replace(year=today.year - age, day=28)


def _fhir_level_features(clin: dict, tumour: dict, units: str) -> dict:
    """The nine model features as the service will read them back from the bundle (after unit conversion)."""
    conv = units == "conventional"
    return {
        "age_years": clin["age_years"],
        "sex_male": clin["sex_male"],
        "afp_ng_ml": clin["afp_ng_ml"],
        "albumin_g_l": round(clin["albumin_g_l"] / 10, 2) * 10 if conv else clin["albumin_g_l"],
        "bilirubin_umol_l": round(clin["bilirubin_umol_l"] / 17.1, 4) * 17.1 if conv else clin["bilirubin_umol_l"],
        "platelets_10e9_l": clin["platelets_10e9_l"],
        "inr": clin["inr"],
        "tumour_size_cm": tumour["size_cm"] if conv else round(tumour["size_cm"] * 10, 1) / 10,
        "tumour_count": tumour["count"],
    }


def reference_pre(dicom_dir: Path, features: dict, model_dir: Path = MODEL_DIR):
    """PRE from the DICOM files through preprocess.py and the reference network's weights.
    Returns (pre, image tensor, clinical tensor, imputed) or (None, ...) when no trained model exists yet."""
    card_path, weights = model_dir / "model-card.json", model_dir / "pre-reference.pt"
    phases = preprocess.read_dicom_phases(dicom_dir)
    if len(phases) != 4:
        return None, None, None, []
    image = preprocess.preprocess_phases(phases)
    if not card_path.exists() or not weights.exists():
        return None, image, None, []
    card = json.loads(card_path.read_text())
    clinical, imputed = preprocess.clinical_vector(features, card["clinical"]["features"])
    import torch
    sys.path.insert(0, str(HERE.parent))
    from pre_net import PreNet
    torch.set_num_threads(1)
    net = PreNet()
    net.load_state_dict(torch.load(weights, map_location="cpu"))
    net.eval()
    with torch.no_grad():
        pre = float(net(torch.from_numpy(image[None]), torch.from_numpy(clinical[None]))[0, 0])
    return pre, image, clinical, imputed


def generate(out: Path, seed: int, scenario: str, layout: str | None, today: dt.date, patient_id: str | None,
             matrix: tuple[int, int, int] | None = None, dump_tensors: bool = False) -> dict:
    spec = SCENARIOS[scenario]
    layout = layout or spec.get("layout", "separate")
    patient_id = patient_id or f"phantom-{scenario}-{seed}"
    rng = np.random.default_rng([seed, sum(map(ord, scenario)), sum(map(ord, patient_id))])
    low = spec.get("risk") == "low"
    tumour = copy.deepcopy(LOW_TUMOUR if low else HIGH_TUMOUR)
    clin = asdict(LOW_CLINICAL if low else HIGH_CLINICAL)
    clin.update(spec.get("clinical", {}))
    clin["birth_date"] = _birth_date(today, clin["age_years"]).isoformat()
    clin["bp"] = [(128 + seed % 7, 78 + seed % 5), (131, 80)]
    units = "conventional" if seed % 2 else "si"
    follow_up = spec.get("follow_up")
    # An on-study patient was screened before the resection: the screening picture is dated a week before it.
    screened = today - dt.timedelta(days=follow_up["resected_days"] + 7) if follow_up else today

    nz, ny, nx = matrix or (48, 128, 128)
    # the field of view stays 240 x 384 x 384 mm whatever the matrix
    grid = phantom.Grid(nz, ny, nx, 240.0 / nz, 384.0 / ny, 384.0 / nx)
    scanner = phantom.sample_scanner(rng)
    anat = phantom.sample_anatomy(rng)
    placements = phantom.place_tumours(rng, anat, tumour)
    labels = phantom.build_labels(grid, anat, tumour, placements)
    phases = spec.get("phases", (0, 1, 2, 3))
    stored = dict(zip(phases, phantom.render_phases(rng, grid, labels, tumour, scanner, phases)))

    study_day = screened - dt.timedelta(days=spec.get("study_age_days", 6))
    study_dt = dt.datetime.combine(study_day, dt.time(10, 12 + seed % 40, 5))
    if out.exists():
        shutil.rmtree(out / "dicom", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    key = ("cdsrisk-phantom", seed, scenario, patient_id)
    pat = {"id": patient_id, "dicom_name": f"PHANTOM^{scenario.upper().replace('-', '_')}",
           "birth_date": clin["birth_date"], "sex_male": clin["sex_male"],
           "accession": "PH" + dicomio.uid(*key, "acc")[-10:]}
    series = dicomio.write_series(out / "dicom", key=key, grid=grid, scanner=scanner, phases=stored,
                                  study_dt=study_dt, patient=pat, layout=layout)
    study = {"uid": dicomio.uid(*key, "study"), "started": study_dt.isoformat() + "Z", "series": series}
    bundle = fhirbundle.build_bundle(patient_id=patient_id, seed_key=f"{seed}/{scenario}", today=screened,
                                     clinical=clin, tumour=asdict(tumour), scenario={"name": scenario, **spec},
                                     study=study, units=units, follow_up=follow_up, now=today)
    (out / "bundle.json").write_text(json.dumps(bundle, indent=1))

    features = _fhir_level_features(clin, asdict(tumour), units)
    pre, image, clinical, imputed = reference_pre(out / "dicom", features)
    truth = ground_truth_risk(tumour, ClinicalData(**{k: v for k, v in clin.items() if k in ClinicalData.__dataclass_fields__}))
    expected = {
        "scenario": scenario,
        "expectedOutcome": spec["outcome"],
        "expectedCriteria": spec["criteria"],
        **({"expectedFollowUp": spec["expected_follow_up"]} if "expected_follow_up" in spec else {}),
        "referencePre": None if pre is None else round(pre, 6),
        # Whether the service shows a PRE for this patient: never outside the trial's population (ineligible), nor for a study
        # outside the MRI window (issue 14 section 3). referencePre stays what the model gives on these images.
        "preShown": pre is not None and spec.get("pre_shown", spec["outcome"] not in ("ineligible", "on-study")),
        "groundTruthRisk": round(truth, 6),
        "patientId": patient_id,
        "studyInstanceUid": study["uid"],
        "layout": layout,
        "phasesWritten": [phantom.PHASES[p] for p in phases],
        "units": units,
        "clinicalFeatures": features,
        "imputedFeatures": imputed,
        "tumour": asdict(tumour),
        "scanner": {"model": scanner.name, "rescaleSlope": scanner.rescale_slope, "rescaleIntercept": scanner.rescale_intercept},
        "matrix": [grid.nz, grid.ny, grid.nx],
        "today": today.isoformat(),
        "seed": seed,
        "note": "Synthetic phantom, not a patient. referencePre: models/phantoms/preprocess.py + the reference network"
                + ("" if pre is not None else " (null: no trained model yet, or fewer than four phases)"),
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1))
    if dump_tensors and image is not None:
        image.astype("<f4").tofile(out / "image.f32")
        if clinical is not None:
            clinical.astype("<f4").tofile(out / "clinical.f32")
    return expected


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--layout", choices=("separate", "dynamic"))
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.datetime.now(dt.timezone.utc).date())
    ap.add_argument("--patient-id")
    ap.add_argument("--matrix", help="DxHxW, default 48x128x128 (field of view stays 384 mm)")
    ap.add_argument("--dump-tensors", action="store_true", help="also write image.f32 / clinical.f32 (little-endian float32)")
    a = ap.parse_args(argv)
    matrix = tuple(int(v) for v in a.matrix.split("x")) if a.matrix else None
    if a.seed < 0:
        ap.error("--seed must be >= 0")
    exp = generate(a.out, a.seed, a.scenario, a.layout, a.today, a.patient_id, matrix, a.dump_tensors)
    print(json.dumps({k: exp[k] for k in ("scenario", "expectedOutcome", "referencePre", "groundTruthRisk", "patientId")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
