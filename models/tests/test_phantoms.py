"""Tests of the phantom generator's CLI contract and of the shared preprocessing.

  /usr/bin/python3 -m unittest discover -s models/tests -v
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np

MODELS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(MODELS / "phantoms"))

import preprocess  # noqa: E402

GENERATE = MODELS / "phantoms" / "generate.py"


def run(out: Path, *args: str) -> dict:
    subprocess.run([sys.executable, str(GENERATE), "--out", str(out), "--today", "2026-11-27", "--matrix", "12x48x48", *args],
                   check=True, capture_output=True)
    return json.loads((out / "expected.json").read_text())


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.suffix in (".dcm", ".json"):
            h.update(f.name.encode()); h.update(f.read_bytes())
    return h.hexdigest()


class GeneratorContractTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_same_seed_gives_identical_files(self):
        run(self.root / "a", "--seed", "5", "--scenario", "low-risk")
        run(self.root / "b", "--seed", "5", "--scenario", "low-risk")
        self.assertEqual(digest(self.root / "a"), digest(self.root / "b"))

    def test_other_seed_gives_other_uids(self):
        a = run(self.root / "a", "--seed", "5", "--scenario", "low-risk")
        b = run(self.root / "b", "--seed", "6", "--scenario", "low-risk")
        self.assertNotEqual(a["studyInstanceUid"], b["studyInstanceUid"])
        self.assertRegex(a["studyInstanceUid"], r"^2\.25\.\d{1,39}$")

    def test_separate_layout_writes_four_series_with_time_order_and_contrast(self):
        import pydicom
        run(self.root, "--seed", "3", "--scenario", "eligible-high-risk")
        files = [pydicom.dcmread(str(f)) for f in sorted((self.root / "dicom").glob("*.dcm"))]
        self.assertEqual(4 * 12, len(files))
        self.assertTrue(all(f.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1" for f in files))
        series = {}
        for f in files:
            series.setdefault(f.SeriesInstanceUID, f)
        by_time = sorted(series.values(), key=lambda f: f.AcquisitionTime)
        self.assertEqual(["T1 VIBE pre", "T1 arterial", "T1 portal venous", "T1 delayed 3min"], [f.SeriesDescription for f in by_time])
        self.assertNotIn("ContrastBolusAgent", by_time[0])
        self.assertTrue(all("ContrastBolusAgent" in f for f in by_time[1:]))
        self.assertEqual("MR", by_time[0].Modality)

    def test_dynamic_layout_writes_one_series_with_four_temporal_positions(self):
        import pydicom
        exp = run(self.root, "--seed", "3", "--scenario", "eligible-dynamic-layout")
        files = [pydicom.dcmread(str(f)) for f in (self.root / "dicom").glob("*.dcm")]
        self.assertEqual(1, len({f.SeriesInstanceUID for f in files}))
        self.assertEqual({1, 2, 3, 4}, {int(f.TemporalPositionIdentifier) for f in files})
        self.assertTrue(all(int(f.NumberOfTemporalPositions) == 4 for f in files))
        self.assertEqual("dynamic", exp["layout"])

    def test_bundle_is_an_idempotent_transaction_with_the_endpoint_placeholder(self):
        exp = run(self.root, "--seed", "2", "--scenario", "ineligible-age", "--patient-id", "P-42")
        bundle = json.loads((self.root / "bundle.json").read_text())
        self.assertEqual("transaction", bundle["type"])
        self.assertTrue(all(e["request"]["method"] == "PUT" for e in bundle["entry"]))
        types = [e["resource"]["resourceType"] for e in bundle["entry"]]
        for t in ("Patient", "Condition", "Observation", "ServiceRequest", "ImagingStudy", "Endpoint"):
            self.assertIn(t, types)
        endpoint = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Endpoint")
        self.assertEqual("{{DICOMWEB_BASE}}", endpoint["address"])
        study = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ImagingStudy")
        self.assertEqual("urn:oid:" + exp["studyInstanceUid"], study["identifier"][0]["value"])
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        self.assertEqual("1947-11-27", patient["birthDate"])  # 79 on --today
        self.assertEqual({"age": "fail"}, exp["expectedCriteria"])

    def test_missing_delayed_phase_and_missing_ecog_are_left_out(self):
        exp = run(self.root / "a", "--seed", "1", "--scenario", "needs-data-mri-no-delayed")
        self.assertIsNone(exp["referencePre"])
        self.assertEqual(3 * 12, len(list((self.root / "a" / "dicom").glob("*.dcm"))))
        run(self.root / "b", "--seed", "1", "--scenario", "needs-data-no-ecog")
        codes = [c["code"] for e in json.loads((self.root / "b" / "bundle.json").read_text())["entry"]
                 for c in e["resource"].get("code", {}).get("coding", [])]
        self.assertNotIn("89247-1", codes)

    def test_old_mri_is_dated_outside_the_one_month_window(self):
        import pydicom
        run(self.root, "--seed", "1", "--scenario", "needs-data-mri-old")
        f = pydicom.dcmread(str(next((self.root / "dicom").glob("*.dcm"))))
        age = dt.date(2026, 11, 27) - dt.datetime.strptime(f.StudyDate, "%Y%m%d").date()
        self.assertGreater(age.days, 31)

    def test_unknown_scenario_is_a_usage_error(self):
        r = subprocess.run([sys.executable, str(GENERATE), "--out", str(self.root), "--seed", "1", "--scenario", "nope"],
                           capture_output=True, text=True)
        self.assertEqual(2, r.returncode)
        self.assertIn("invalid choice", r.stderr)


class PreprocessTests(unittest.TestCase):
    def test_resampling_matches_torch_trilinear_align_corners_false(self):
        import torch
        v = np.random.default_rng(0).normal(size=(20, 50, 70))
        ours = preprocess.resample(v)
        ref = torch.nn.functional.interpolate(torch.from_numpy(v)[None, None], size=preprocess.GRID, mode="trilinear",
                                              align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(ours, ref, atol=1e-12)

    def test_normalisation_is_zero_mean_unit_std_and_clipped(self):
        v = np.random.default_rng(1).normal(10, 3, size=(4, 8, 8))
        n = preprocess.normalise(v)
        self.assertAlmostEqual(0.0, float(n.mean()), places=9)
        self.assertAlmostEqual(1.0, float(n.std()), places=9)
        v[0, 0, 0] = 1e6
        self.assertEqual(5.0, preprocess.normalise(v).max())

    def test_constant_phase_does_not_divide_by_zero(self):
        self.assertTrue(np.all(preprocess.normalise(np.full((4, 4, 4), 7.0)) == 0))

    def test_clinical_vector_imputes_missing_with_zero_and_reports_it(self):
        stats = [{"name": n, "mean": 1.0, "std": 2.0} for n in preprocess.FEATURES]
        values = {n: 3.0 for n in preprocess.FEATURES}
        values["inr"] = None
        values["afp_ng_ml"] = 1000.0
        vec, imputed = preprocess.clinical_vector(values, stats)
        self.assertEqual(["inr"], imputed)
        self.assertEqual(0.0, vec[6])
        self.assertAlmostEqual(1.0, float(vec[2]))  # (log10(1000) - 1) / 2
        self.assertAlmostEqual(1.0, float(vec[0]))


if __name__ == "__main__":
    unittest.main()
