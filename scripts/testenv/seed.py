#!/usr/bin/python3
"""Seeds the demo patients into a running test environment.

For each scenario: runs the phantom generator
  /usr/bin/python3 models/phantoms/generate.py --out DIR --seed N --scenario NAME [--layout separate|dynamic]
                                               [--today YYYY-MM-DD] [--patient-id ID]
which writes DIR/dicom/*.dcm, DIR/bundle.json (a transaction Bundle whose Endpoint address holds the
placeholder {{DICOMWEB_BASE}}) and DIR/expected.json; uploads the DICOM files to Orthanc, replaces the
placeholder with the real DICOMweb base, posts the Bundle to the FHIR server, and writes OUT/manifest.json.

  seed.py --env ENV_JSON --out OUT [--scenarios a,b,...] [--generator PATH] [--today YYYY-MM-DD] [--jobs N]

ENV_JSON is the env.json that testenv.py writes (fhirBaseUrl, fhirToken, orthancUrl, dicomWebBaseUrl).
Progress goes to stderr; the manifest path is printed on stdout.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_GENERATOR = os.path.join(REPO, "models", "phantoms", "generate.py")
PLACEHOLDER = "{{DICOMWEB_BASE}}"

# The twelve screening scenarios of issue #7 and the three after enrolment of issue 17 (on study: everything done, an overdue
# MRI, a grade-3 ALT rise during adjuvant therapy), in the order the demo shows them; the seed is fixed per scenario so a
# re-seed produces the same phantoms (and the same reference PRE scores).
SCENARIOS = [
    ("eligible-high-risk", "separate"),
    ("low-risk", "separate"),
    ("ineligible-age", "separate"),
    ("ineligible-child-pugh", "separate"),
    ("ineligible-ecog", "separate"),
    ("ineligible-cholangiocarcinoma", "separate"),
    ("ineligible-oxaliplatin-allergy", "separate"),
    ("ineligible-nyha3", "separate"),
    ("needs-data-no-ecog", "separate"),
    ("needs-data-mri-no-delayed", "separate"),
    ("needs-data-mri-old", "separate"),
    ("eligible-dynamic-layout", "dynamic"),
    ("on-study-up-to-date", "separate"),
    ("on-study-overdue-mri", "separate"),
    ("on-study-grade3-alt", "separate"),
]
BASE_SEED = 7001


class SeedError(Exception):
    pass


def log(msg):
    print(f"seed: {msg}", file=sys.stderr, flush=True)


def http(method, url, body=None, headers=None, timeout=120):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        raise SeedError(f"{method} {url.split('?')[0]}: {e}") from None


def run_generator(generator, out_dir, scenario, layout, seed, today, patient_id):
    argv = ["/usr/bin/python3", generator, "--out", out_dir, "--seed", str(seed), "--scenario", scenario,
            "--layout", layout, "--patient-id", patient_id]
    if today:
        argv += ["--today", today]
    r = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
    if r.returncode != 0:
        raise SeedError(f"generator failed for {scenario} ({r.returncode}):\n{r.stderr[-3000:]}")
    for required in ("bundle.json", "expected.json"):
        if not os.path.isfile(os.path.join(out_dir, required)):
            raise SeedError(f"generator wrote no {required} for {scenario}")
    files = sorted(glob.glob(os.path.join(out_dir, "dicom", "*.dcm")))
    if not files:
        raise SeedError(f"generator wrote no DICOM files for {scenario}")
    return files


def upload_dicom(orthanc_url, files, jobs):
    def one(path):
        with open(path, "rb") as f:
            status, body = http("POST", orthanc_url + "/instances", f.read(), {"Content-Type": "application/dicom"})
        if status != 200:
            raise SeedError(f"Orthanc refused {os.path.basename(path)}: {status} {body[:300]!r}")
        return json.loads(body)["ParentStudy"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        studies = set(pool.map(one, files))
    uids = []
    for orthanc_study in sorted(studies):
        status, body = http("GET", f"{orthanc_url}/studies/{orthanc_study}")
        if status != 200:
            raise SeedError(f"Orthanc study {orthanc_study}: {status}")
        uids.append(json.loads(body)["MainDicomTags"]["StudyInstanceUID"])
    return sorted(uids)


def post_bundle(env, bundle_text):
    status, body = http("POST", env["fhirBaseUrl"], bundle_text.encode("utf-8"), {
        "Content-Type": "application/fhir+json", "Accept": "application/fhir+json",
        "Authorization": "Bearer " + env["fhirToken"]})
    if status not in (200, 201):
        raise SeedError(f"FHIR server refused the bundle: {status} {body[:1500].decode('utf-8', 'replace')}")
    return json.loads(body)


def seed_one(env, args, index, scenario, layout):
    t0 = time.monotonic()
    out_dir = os.path.join(args.out, scenario)
    os.makedirs(out_dir, exist_ok=True)
    seed = BASE_SEED + index
    patient_key = f"demo-{scenario}"
    files = run_generator(args.generator, out_dir, scenario, layout, seed, args.today, patient_key)
    t_gen = time.monotonic()
    study_uids = upload_dicom(env["orthancUrl"], files, args.upload_jobs)
    t_up = time.monotonic()
    with open(os.path.join(out_dir, "bundle.json"), encoding="utf-8") as f:
        bundle_text = f.read()
    if PLACEHOLDER not in bundle_text:
        raise SeedError(f"{scenario}: bundle.json has no {PLACEHOLDER} placeholder for the Endpoint address")
    bundle_text = bundle_text.replace(PLACEHOLDER, env["dicomWebBaseUrl"])
    response = post_bundle(env, bundle_text)
    resources = [e.get("resource") or {} for e in response.get("entry", [])]
    patients = [r["id"] for r in resources if r.get("resourceType") == "Patient" and "id" in r]
    if len(patients) != 1:
        raise SeedError(f"{scenario}: expected one Patient in the transaction response, got {len(patients)}")
    imaging = [r for r in resources if r.get("resourceType") == "ImagingStudy"]
    with open(os.path.join(out_dir, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    return {
        "scenario": scenario,
        "seed": seed,
        "layout": layout,
        "patientKey": patient_key,
        "patientId": patients[0],
        "studyInstanceUids": study_uids,
        "imagingStudyIds": [r["id"] for r in imaging],
        "dicomFiles": len(files),
        "expectedPath": os.path.abspath(os.path.join(out_dir, "expected.json")),
        "expected": expected,
        "seconds": {"generate": round(t_gen - t0, 2), "upload": round(t_up - t_gen, 2),
                    "fhir": round(time.monotonic() - t_up, 2)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--env", required=True, help="env.json written by testenv.py")
    ap.add_argument("--out", required=True, help="folder for the generated phantoms and manifest.json")
    ap.add_argument("--scenarios", help="comma list (default: all fifteen)")
    ap.add_argument("--generator", default=DEFAULT_GENERATOR)
    ap.add_argument("--today", help="date the phantoms are generated relative to (YYYY-MM-DD)")
    ap.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)), help="scenarios in parallel")
    ap.add_argument("--upload-jobs", type=int, default=4)
    args = ap.parse_args()

    with open(args.env, encoding="utf-8") as f:
        env = json.load(f)
    for key in ("fhirBaseUrl", "fhirToken", "orthancUrl", "dicomWebBaseUrl"):
        if not env.get(key):
            log(f"{args.env} has no {key}: is the test environment running with Orthanc and FHIR?")
            return 2
    if not os.path.isfile(args.generator):
        log(f"phantom generator not found: {args.generator}")
        return 2
    known = dict(SCENARIOS)
    wanted = args.scenarios.split(",") if args.scenarios else [s for s, _ in SCENARIOS]
    unknown = [s for s in wanted if s not in known]
    if unknown:
        log(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    os.makedirs(args.out, exist_ok=True)
    index_of = {s: i for i, (s, _) in enumerate(SCENARIOS)}

    t0 = time.monotonic()
    results = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(seed_one, env, args, index_of[s], s, known[s]): s for s in wanted}
        for fut in concurrent.futures.as_completed(futures):
            s = futures[fut]
            try:
                results[s] = fut.result()
                r = results[s]
                log(f"[{len(results)}/{len(wanted)}] {s}: Patient/{r['patientId']}, {r['dicomFiles']} DICOM files, "
                    f"{len(r['studyInstanceUids'])} study ({sum(r['seconds'].values()):.1f} s)")
            except SeedError as e:
                failures.append(s)
                log(f"FAILED {s}: {e}")
    manifest = {
        "seededAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.monotonic() - t0, 2),
        "fhirBaseUrl": env["fhirBaseUrl"],
        "dicomWebBaseUrl": env["dicomWebBaseUrl"],
        "patients": [results[s] for s in wanted if s in results],
        "failed": failures,
    }
    path = os.path.join(args.out, "manifest.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
    print(path)
    log(f"seeded {len(results)}/{len(wanted)} scenario(s) in {manifest['seconds']} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
