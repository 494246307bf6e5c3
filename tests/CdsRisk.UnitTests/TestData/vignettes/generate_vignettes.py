#!/usr/bin/env python3
"""Writes the NCT07282184 eligibility vignettes: NN-name.json (a FHIR R4 collection Bundle) and NN-name.expected.json
(the PRE input, the expected outcome, and for every one of the 17 criteria its status and key words of its reason).
Each vignette is the base patient with a few changes. Run: /usr/bin/python3 generate_vignettes.py (from this folder)."""
import copy, json, os

EVAL = "2026-06-15T09:00:00Z"
SCT, LOINC, ICD = "http://snomed.info/sct", "http://loinc.org", "http://hl7.org/fhir/sid/icd-10-cm"
RX, ATC, CPT = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc", "http://www.ama-assn.org/go/cpt"
OBS = "https://cdsrisk.example.org/fhir/CodeSystem/observation"
UCUM = "http://unitsofmeasure.org"

def cc(system, code, display=None, text=None):
    c = {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}
    if text: c["text"] = text
    return c

def status(system_suffix, code):
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system_suffix}", "code": code}]}

def qty(rid, code, value, unit, date, system=LOINC):
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": cc(system, code),
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": date,
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}

def coded(rid, system, code, vsystem, vcode, date):
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": cc(system, code),
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": date, "valueCodeableConcept": cc(vsystem, vcode)}

def integer(rid, system, code, value, date):
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": cc(system, code),
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": date, "valueInteger": value}

def bp(rid, sys_, dia, date):
    return {"resourceType": "Observation", "id": rid, "status": "final", "code": cc(LOINC, "85354-9"),
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": date,
            "component": [
                {"code": cc(LOINC, "8480-6"), "valueQuantity": {"value": sys_, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}},
                {"code": cc(LOINC, "8462-4"), "valueQuantity": {"value": dia, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}}]}

def condition(rid, code, clinical="active", verification="confirmed", **extra):
    r = {"resourceType": "Condition", "id": rid, "code": code, "subject": {"reference": "Patient/p1"},
         "clinicalStatus": status("condition-clinical", clinical), "verificationStatus": status("condition-ver-status", verification)}
    r.update(extra)
    return r

def allergy(rid, code, verification="confirmed"):
    return {"resourceType": "AllergyIntolerance", "id": rid, "patient": {"reference": "Patient/p1"}, "code": code,
            "clinicalStatus": status("allergyintolerance-clinical", "active"),
            "verificationStatus": status("allergyintolerance-verification", verification)}

LAB = "2026-06-05T08:00:00Z"

def base():
    return {
        "Patient/p1": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1966-03-10"},
        "Condition/hcc": condition("hcc", cc(SCT, "109841003", "Liver cell carcinoma"), recordedDate="2026-05-20",
            evidence=[{"code": [cc("https://cdsrisk.example.org/fhir/CodeSystem/hcc-diagnosis-basis", "histology")]}],
            stage=[{"summary": cc("https://cdsrisk.example.org/fhir/CodeSystem/bclc", "A", text="BCLC A")}]),
        "Observation/size": qty("size", "33728-7", 3.2, "cm", "2026-06-01T10:00:00Z"),
        "Observation/count": integer("count", OBS, "hcc-nodule-count", 1, "2026-06-01T10:00:00Z"),
        "Observation/bili": qty("bili", "1975-2", 0.8, "mg/dL", LAB),
        "Observation/alb": qty("alb", "1751-7", 4.1, "g/dL", LAB),
        "Observation/inr": qty("inr", "6301-6", 1.1, "{INR}", LAB),
        "Observation/crea": qty("crea", "2160-0", 0.9, "mg/dL", LAB),
        "Observation/egfr": qty("egfr", "98979-8", 88, "mL/min/{1.73_m2}", LAB),
        "Observation/afp": qty("afp", "1834-1", 220, "ng/mL", LAB),
        "Observation/plt": qty("plt", "777-3", 165, "10*3/uL", LAB),
        "Observation/ascites": coded("ascites", OBS, "ascites-grade", "https://cdsrisk.example.org/fhir/CodeSystem/ascites-grade", "none", LAB),
        "Observation/he": integer("he", OBS, "hepatic-encephalopathy-grade", 0, LAB),
        "Observation/ecog": coded("ecog", LOINC, "89247-1", LOINC, "LA9622-7", LAB),
        "Observation/bp1": bp("bp1", 128, 78, LAB),
        "Observation/bp2": bp("bp2", 132, 82, "2026-06-10T09:00:00Z"),
        "ServiceRequest/resect": {"resourceType": "ServiceRequest", "id": "resect", "status": "active", "intent": "order",
            "code": cc(CPT, "47120", "Hepatectomy, partial lobectomy"), "subject": {"reference": "Patient/p1"},
            "occurrenceDateTime": "2026-06-25T08:00:00Z"},
        "ImagingStudy/mri": {"resourceType": "ImagingStudy", "id": "mri", "status": "available",
            "subject": {"reference": "Patient/p1"}, "started": "2026-06-01T10:00:00Z",
            "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"}],
            "series": [{"uid": f"1.2.826.0.1.3680043.8.498.1.{i}", "number": i, "description": d,
                        "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}, "numberOfInstances": 40}
                       for i, d in enumerate(["T1 pre", "arterial", "portal venous", "delayed"], 1)]},
    }

PASS, FAIL, UNK, TBC, PEND = "pass", "fail", "unknown", "to-be-confirmed", "pending"
BASE_EXPECT = {
    "age": (PASS, ["Age 60", "18-75"]),
    "consent": (TBC, ["consent"]),
    "bclc-stage": (PASS, ["BCLC A (recorded)", "histology"]),
    "resection-scheduled": (PASS, ["Liver resection scheduled", "2026-06-25"]),
    "pre-score": (PASS, ["PRE 0.72", "≥ 0.5"]),
    "child-pugh": (PASS, ["Child-Pugh 5 (A5)", "ALBI grade 1", "≤ 7"]),
    "ecog": (PASS, ["ECOG 0", "0-1"]),
    "mri-4-phase": (PASS, ["all four phases found"]),
    "follow-up": (TBC, ["follow-up"]),
    "non-hcc-pathology": (TBC, ["pathology pending"]),
    "other-malignancy": (PASS, ["No other malignancy within 5 years"]),
    "early-death-or-loss": (TBC, ["90 days"]),
    "regimen-hypersensitivity": (PASS, ["No recorded allergy", "oxaliplatin", "leucovorin", "lenvatinib"]),
    "heart-failure": (PASS, ["No heart failure recorded"]),
    "severe-renal-dysfunction": (PASS, ["eGFR 88", "not below 30"]),
    "uncontrolled-hypertension": (PASS, ["132/82"]),
    "investigator-judgement": (TBC, ["investigator"]),
}

vignettes = []

def v(name, description, changes=None, expect=None, outcome="eligible", pre=None, to_record=None, remove=(), **extra):
    """extra: mri ({"status", "reason"} or "none"), toRecordCount, preIsMeaningful, imputed -- see Vignette.Inputs and VignetteTests."""
    vignettes.append((name, description, changes or {}, remove, expect or {}, outcome, pre or {"status": "computed", "value": 0.72}, to_record or [], extra))

def set_value(key, value):
    def f(res): res[key]["valueQuantity"]["value"] = value
    return f

H = {"hook": True}  # also run through the real hook, prefetch and fetch modes (VignetteHookTests)

# --- the reference patient
v("base-eligible", "All automatic criteria met, PRE 0.72", preIsMeaningful=True, imputed=[])
# --- age boundaries (evaluation date 2026-06-15)
v("age-17", "18th birthday is the day after the evaluation", {"Patient/p1": {"birthDate": "2008-06-16"}},
  {"age": (FAIL, ["Age 17", "below 18"])}, "ineligible")
v("age-18", "18th birthday on the evaluation date", {"Patient/p1": {"birthDate": "2008-06-15"}}, {"age": (PASS, ["Age 18"])})
v("age-75", "76th birthday is the day after the evaluation", {"Patient/p1": {"birthDate": "1950-06-16"}}, {"age": (PASS, ["Age 75"])})
v("age-76", "76th birthday on the evaluation date", {"Patient/p1": {"birthDate": "1950-06-15"}},
  {"age": (FAIL, ["Age 76", "above 75"])}, "ineligible")
v("age-partial-birth-year", "Birth year only: 75 or 76 on the evaluation date", {"Patient/p1": {"birthDate": "1950"}},
  {"age": (UNK, ["Age 75-76", "partial birth date"])}, "needs-data", to_record=["full date of birth"])
# --- Child-Pugh boundaries
v("child-pugh-6", "Albumin 3.2 g/dL scores 2", {"Observation/alb": {"valueQuantity": {"value": 3.2}}},
  {"child-pugh": (PASS, ["Child-Pugh 6 (A6)"])})
v("child-pugh-7-b7", "Albumin 3.2 g/dL and INR 1.8: B7, admitted by the protocol's stated number",
  {"Observation/alb": {"valueQuantity": {"value": 3.2}}, "Observation/inr": {"valueQuantity": {"value": 1.8}}},
  {"child-pugh": (PASS, ["Child-Pugh 7 (B7)", "class A is 5–6; 7 is B7", "≤ 7"])})
v("child-pugh-8", "Albumin 3.2 g/dL, INR 1.8, bilirubin 2.5 mg/dL: B8",
  {"Observation/alb": {"valueQuantity": {"value": 3.2}}, "Observation/inr": {"valueQuantity": {"value": 1.8}},
   "Observation/bili": {"valueQuantity": {"value": 2.5}}},
  {"child-pugh": (FAIL, ["Child-Pugh 8 (B8)", "≤ 7"])}, "ineligible")
v("bilirubin-umol-per-l", "Bilirubin 40 umol/L (LOINC 14631-6) scores 2",
  {"Observation/bili": {"code": cc(LOINC, "14631-6"), "valueQuantity": {"value": 40, "unit": "umol/L", "code": "umol/L"}}},
  {"child-pugh": (PASS, ["Child-Pugh 6 (A6)"])})
v("bilirubin-mg-per-dl-3.1", "Bilirubin 3.1 mg/dL (53 umol/L) scores 3", {"Observation/bili": {"valueQuantity": {"value": 3.1}}},
  {"child-pugh": (PASS, ["Child-Pugh 7 (B7)"])})
v("albumin-g-per-l", "Albumin 27 g/L scores 3", {"Observation/alb": {"valueQuantity": {"value": 27, "unit": "g/L", "code": "g/L"}}},
  {"child-pugh": (PASS, ["Child-Pugh 7 (B7)"])})
v("bilirubin-conflicting", "Two bilirubin results the same day disagree (0.8 mg/dL vs 35 umol/L)",
  {"Observation/bili2": qty("bili2", "14631-6", 35, "umol/L", "2026-06-05T14:00:00Z")},
  {"child-pugh": (UNK, ["Child-Pugh incomplete", "bilirubin conflicting", "disagree"])}, "needs-data", to_record=["Record bilirubin"])
v("bilirubin-both-units-agree", "Same bilirubin reported in mg/dL and umol/L is not a conflict",
  {"Observation/bili2": qty("bili2", "14631-6", 13.7, "umol/L", "2026-06-05T08:00:00Z")}, {})
v("albumin-unknown-unit", "Albumin in an unrecognised unit is not usable",
  {"Observation/alb": {"valueQuantity": {"value": 41, "unit": "mg", "code": "mg"}}},
  {"child-pugh": (UNK, ["albumin not usable", "unit 'mg'"])}, "needs-data", to_record=["Record albumin"])
v("labs-stale", "All labs 75 days old",
  {k: {"effectiveDateTime": "2026-04-01T08:00:00Z"} for k in ["Observation/bili", "Observation/alb", "Observation/inr", "Observation/crea", "Observation/egfr", "Observation/afp", "Observation/plt"]},
  {"child-pugh": (UNK, ["bilirubin out of date", "75 days old", "needed within 30 days"]),
   "severe-renal-dysfunction": (UNK, ["Renal function unknown", "out of date"]),
   "pre-score": (UNK, ["key inputs", "AFP out of date"])}, "needs-data",
  to_record=["Record bilirubin, albumin, INR", "Record creatinine or eGFR", "Record AFP (within 30 days)"], preIsMeaningful=False)
v("ascites-condition-without-grade", "Ascites only as a Condition with no severity",
  {"Condition/asc": condition("asc", cc(SCT, "389026000", "Ascites"))},
  {"child-pugh": (UNK, ["ascites not usable", "without a grade"])}, "needs-data", remove=["Observation/ascites"])
v("ascites-moderate-condition", "Ascites Condition graded severe scores 3, Child-Pugh 7; recorded BCLC A next to B7 with ascites is to be confirmed",
  {"Condition/asc": condition("asc", cc(SCT, "389026000", "Ascites"), severity=cc(SCT, "24484000", "Severe"))},
  {"child-pugh": (PASS, ["Child-Pugh 7 (B7)"]), "bclc-stage": (TBC, ["BCLC A (recorded)", "Child-Pugh B7 with ascites"])}, remove=["Observation/ascites"])
# --- ECOG
v("ecog-1", "ECOG 1 passes; BCLC note about PS 0", {"Observation/ecog": {"valueCodeableConcept": cc(LOINC, "LA9623-5")}},
  {"ecog": (PASS, ["ECOG 1"]), "bclc-stage": (PASS, ["BCLC A (recorded)", "strict BCLC needs PS 0"])})
v("ecog-2", "ECOG 2 fails", {"Observation/ecog": {"valueCodeableConcept": cc(SCT, "422894000")}},
  {"ecog": (FAIL, ["ECOG 2", "0-1"]), "bclc-stage": (PASS, ["BCLC A (recorded)", "strict BCLC needs PS 0"])}, "ineligible")
v("ecog-missing", "No ECOG on record", {}, {"ecog": (UNK, ["ECOG not recorded"])}, "needs-data",
  to_record=["Record ECOG performance status (within 30 days)"], remove=["Observation/ecog"])
v("ecog-stale", "ECOG 56 days old", {"Observation/ecog": {"effectiveDateTime": "2026-04-20T08:00:00Z"}},
  {"ecog": (UNK, ["ECOG out of date", "56 days old"])}, "needs-data", to_record=["Record ECOG performance status"])
v("ecog-entered-in-error-ignored", "A later ECOG 2 entered in error is ignored",
  {"Observation/ecog2": {**coded("ecog2", LOINC, "89247-1", LOINC, "LA9624-3", "2026-06-12T08:00:00Z"), "status": "entered-in-error"}}, {})
# --- renal
v("egfr-29", "eGFR 29 fails", {"Observation/egfr": {"valueQuantity": {"value": 29}}},
  {"severe-renal-dysfunction": (FAIL, ["eGFR 29", "< 30"])}, "ineligible")
v("egfr-30", "eGFR 30 passes", {"Observation/egfr": {"valueQuantity": {"value": 30}}},
  {"severe-renal-dysfunction": (PASS, ["eGFR 30", "not below 30"])})
v("egfr-derived-from-creatinine", "No eGFR: CKD-EPI 2021 from creatinine 0.9 mg/dL, male 60",
  {}, {"severe-renal-dysfunction": (PASS, ["derived", "CKD-EPI 2021", "eGFR 97"])}, remove=["Observation/egfr"])
# --- allergies
v("allergy-by-code", "Oxaliplatin allergy by RxNorm code", {"AllergyIntolerance/a1": allergy("a1", cc(RX, "32592", "oxaliplatin"))},
  {"regimen-hypersensitivity": (FAIL, ["oxaliplatin", "code 32592"])}, "ineligible")
v("allergy-by-class", "Cisplatin allergy: another platinum drug, possible cross-reactivity with oxaliplatin (not the regimen's drug)",
  {"AllergyIntolerance/a1": allergy("a1", cc(RX, "2555", "cisplatin"))},
  {"regimen-hypersensitivity": (TBC, ["cisplatin", "possible cross-reactivity with oxaliplatin", "not the same drug"])}, **H)
v("allergy-by-atc-class", "Allergy coded only by the ATC group L01FF (PD-1 and PD-L1 inhibitors together): which one is to be confirmed",
  {"AllergyIntolerance/a1": allergy("a1", cc(ATC, "L01FF", "PD-1/PDL-1 (Programmed cell death protein 1/death ligand 1) inhibitors"))},
  {"regimen-hypersensitivity": (TBC, ["PD-1/PD-L1 inhibitors (class not resolved)", "possible cross-reactivity with PD-1 inhibitors"])}, **H)
v("allergy-by-text", "Camrelizumab allergy as free text only", {"AllergyIntolerance/a1": allergy("a1", {"text": "Camrelizumab - rash"})},
  {"regimen-hypersensitivity": (FAIL, ["PD-1 inhibitors", "camrelizumab"])}, "ineligible")
v("allergy-refuted-ignored", "A refuted oxaliplatin allergy is ignored", {"AllergyIntolerance/a1": allergy("a1", cc(RX, "32592", "oxaliplatin"), "refuted")}, {})
v("allergy-sorafenib-to-confirm", "Sorafenib allergy: cross-reactivity with lenvatinib to be assessed",
  {"AllergyIntolerance/a1": allergy("a1", {"text": "Sorafenib"})},
  {"regimen-hypersensitivity": (TBC, ["Sorafenib", "cross-reactivity with lenvatinib"])})
# --- pathology and other malignancies
v("cholangiocarcinoma-recorded", "A recorded cholangiocarcinoma fails non-HCC pathology (and is not an 'other' malignancy); the PRE is not used",
  {"Condition/cca": condition("cca", cc(SCT, "312104005", "Cholangiocarcinoma"))},
  {"non-hcc-pathology": (FAIL, ["Non-HCC pathology recorded", "Cholangiocarcinoma"])}, "ineligible", preIsMeaningful=False)
v("other-malignancy-active", "Active colon cancer", {"Condition/crc": condition("crc", cc(ICD, "C18.9", "Malignant neoplasm of colon"))},
  {"other-malignancy": (FAIL, ["Other malignancy within 5 years", "colon"])}, "ineligible")
v("other-malignancy-resolved-7-years", "Colon cancer resolved in 2019", {"Condition/crc": condition("crc", cc(ICD, "C18.9", "Malignant neoplasm of colon"), "resolved", abatementDateTime="2019-01-10")},
  {"other-malignancy": (PASS, ["No other malignancy", "more than 5 years ago"])})
v("other-malignancy-resolved-2-years", "Colon cancer resolved in 2024", {"Condition/crc": condition("crc", cc(ICD, "C18.9", "Malignant neoplasm of colon"), "resolved", abatementDateTime="2024-03-01")},
  {"other-malignancy": (FAIL, ["ended 2024-03-01", "within 5 years"])}, "ineligible")
v("other-malignancy-skin-active-untreated", "Active (untreated) basal cell carcinoma: the exception is for appropriately treated skin cancer, to be confirmed",
  {"Condition/bcc": condition("bcc", cc(ICD, "C44.91", "Basal cell carcinoma of skin, unspecified"))},
  {"other-malignancy": (TBC, ["Basal cell carcinoma", "non-melanoma skin cancer, active", "investigator to confirm"])}, **H)
v("other-malignancy-undated", "Breast cancer in remission with no dates", {"Condition/br": condition("br", cc(ICD, "C50.911", "Malignant neoplasm of breast"), "remission")},
  {"other-malignancy": (UNK, ["breast", "no end date"])}, "needs-data", to_record=["Record when"])
# --- heart failure, blood pressure
v("heart-failure-nyha-3", "Heart failure, NYHA III", {"Condition/hf": condition("hf", cc(SCT, "84114007", "Heart failure")),
  "Observation/nyha": coded("nyha", LOINC, "88020-3", SCT, "420913000", LAB)},
  {"heart-failure": (FAIL, ["NYHA class III", "III-IV"])}, "ineligible")
v("heart-failure-nyha-2", "Heart failure, NYHA II", {"Condition/hf": condition("hf", cc(ICD, "I50.9", "Heart failure, unspecified")),
  "Observation/nyha": coded("nyha", LOINC, "88020-3", SCT, "421704003", LAB)},
  {"heart-failure": (PASS, ["NYHA class II", "only NYHA III-IV"])})
v("heart-failure-without-nyha", "Heart failure without NYHA class", {"Condition/hf": condition("hf", cc(SCT, "84114007", "Heart failure"))},
  {"heart-failure": (UNK, ["Heart failure recorded", "without a NYHA class"])}, "needs-data", to_record=["NYHA"])
v("bp-uncontrolled", "Latest two readings high", {"Observation/bp1": bp("bp1", 162, 96, LAB), "Observation/bp2": bp("bp2", 148, 104, "2026-06-10T09:00:00Z")},
  {"uncontrolled-hypertension": (FAIL, ["Latest 2 readings", "150 systolic or 100 diastolic", "162/96", "148/104"])}, "ineligible")
v("bp-one-high-one-normal", "Latest high, previous normal: not uncontrolled by the two-reading rule",
  {"Observation/bp2": bp("bp2", 165, 90, "2026-06-10T09:00:00Z")},
  {"uncontrolled-hypertension": (PASS, ["not all at or above", "165/90"])})
v("bp-missing", "No blood pressure in 30 days", {"Observation/bp1": {"effectiveDateTime": "2026-03-01T08:00:00Z"}},
  {"uncontrolled-hypertension": (UNK, ["No blood pressure within 30 days", "out of date"])}, "needs-data",
  to_record=["Record blood pressure"], remove=["Observation/bp2"])
# --- BCLC
v("bclc-derived-a", "No recorded stage; 2 nodules, largest 2.5 cm, Child-Pugh A5: BCLC A derived, saying which elements were not assessed",
  {"Condition/hcc": {"stage": None}, "Observation/count": {"valueInteger": 2}, "Observation/size": {"valueQuantity": {"value": 25, "unit": "mm", "code": "mm"}}},
  {"bclc-stage": (PASS, ["BCLC A (derived", "2 nodules", "2.5 cm", "not assessed from the record: macrovascular invasion and extrahepatic spread (none recorded)"])})
v("bclc-derived-b", "No recorded stage; 3 nodules, largest 4 cm: BCLC B derived",
  {"Condition/hcc": {"stage": None}, "Observation/count": {"valueInteger": 3}, "Observation/size": {"valueQuantity": {"value": 4}}},
  {"bclc-stage": (FAIL, ["BCLC B (derived", "> 3 cm"])}, "ineligible")
v("bclc-recorded-c", "Recorded BCLC C by Observation", {"Condition/hcc": {"stage": None},
  "Observation/bclc": coded("bclc", OBS, "bclc-stage", "https://cdsrisk.example.org/fhir/CodeSystem/bclc", "C", LAB)},
  {"bclc-stage": (FAIL, ["BCLC C (recorded)"])}, "ineligible")
v("bclc-not-derivable", "No recorded stage, no tumour measurements (also the PRE's key inputs)", {"Condition/hcc": {"stage": None}},
  {"bclc-stage": (UNK, ["cannot be derived", "tumour count not recorded"]),
   "pre-score": (UNK, ["key inputs", "largest tumour size not recorded", "tumour count not recorded"])}, "needs-data",
  to_record=["Record the BCLC stage", "Record largest tumour size and tumour count"], remove=["Observation/count", "Observation/size"], preIsMeaningful=False)
v("hcc-diagnosis-missing", "No HCC Condition: the PRE describes patients with HCC and is not used", {}, {"bclc-stage": (UNK, ["No active HCC diagnosis"])}, "needs-data",
  to_record=["Record the HCC diagnosis"], remove=["Condition/hcc"], preIsMeaningful=False)
# --- resection, MRI, PRE
v("resection-missing", "No resection ordered", {}, {"resection-scheduled": (UNK, ["No scheduled or ordered liver resection"])}, "needs-data",
  to_record=["Record the planned curative liver resection"], remove=["ServiceRequest/resect"])
v("resection-by-appointment", "A booked appointment for a hepatectomy",
  {"Appointment/ap": {"resourceType": "Appointment", "id": "ap", "status": "booked", "start": "2026-06-28T08:00:00Z", "end": "2026-06-28T12:00:00Z",
                      "serviceType": [{"text": "Laparoscopic hepatectomy"}], "participant": [{"actor": {"reference": "Patient/p1"}, "status": "accepted"}]}},
  {"resection-scheduled": (PASS, ["Laparoscopic hepatectomy", "appointment", "2026-06-28"])}, remove=["ServiceRequest/resect"])
v("mri-too-old", "MR study 45 days before evaluation (images read and complete): outside the one 31-day window", {"ImagingStudy/mri": {"started": "2026-05-01T10:00:00Z"}},
  {"mri-4-phase": (UNK, ["45 days old", "needed within 31 days"])}, "needs-data", to_record=["4-phase liver MRI", "within 31 days"])
v("mri-missing", "No MR study: the MRI is the one item to record, the PRE waits on it", {},
  {"mri-4-phase": (UNK, ["No MR study"]), "pre-score": (UNK, ["needs a usable 4-phase MRI"])}, "needs-data", to_record=["4-phase liver MRI"],
  remove=["ImagingStudy/mri"], pre={"status": "unavailable", "reason": "no pre-operative MR ImagingStudy on record"}, mri="none", toRecordCount=1, **H)
v("pre-low", "PRE 0.31: low risk", {}, {"pre-score": (FAIL, ["PRE 0.31", "< 0.5", "low risk"])}, "low-risk", pre={"status": "computed", "value": 0.31})
v("pre-at-threshold", "PRE exactly 0.5 is high risk", {}, {"pre-score": (PASS, ["PRE 0.5", "≥ 0.5"])}, pre={"status": "computed", "value": 0.5})
v("pre-pending", "PRE being computed, images not yet read: the MRI criterion is pending, not passed and not 'not inspected'", {},
  {"pre-score": (PEND, ["being computed"]), "mri-4-phase": (PEND, ["within 31 days", "checked when the images are read"])}, "pending",
  pre={"status": "pending"}, toRecordCount=0, **H)
v("pre-unavailable-phase-missing", "The images lack the arterial phase: one item to record (the MRI), never the PRE itself, never two items for one phase", {},
  {"pre-score": (UNK, ["needs a usable 4-phase MRI"]), "mri-4-phase": (UNK, ["arterial phase not found"])}, "needs-data",
  pre={"status": "unavailable", "reason": "MRI cannot be used: arterial phase not found"},
  mri={"status": "unknown", "reason": "MRI cannot be used: arterial phase not found"}, to_record=["4-phase liver MRI"], toRecordCount=1, **H)
# --- more edge cases
v("ecog-conflicting", "ECOG 0 and ECOG 1 recorded the same day",
  {"Observation/ecog2": coded("ecog2", LOINC, "89247-1", LOINC, "LA9623-5", "2026-06-05T15:00:00Z")},
  {"ecog": (UNK, ["ECOG conflicting", "disagree"])}, "needs-data", to_record=["Record ECOG"])
v("allergy-inactive-ignored", "An inactive fluorouracil allergy is not current",
  {"AllergyIntolerance/a1": {**allergy("a1", cc(RX, "4492", "fluorouracil")), "clinicalStatus": status("allergyintolerance-clinical", "inactive")}}, {})
v("allergy-in-reaction-substance", "Allergy recorded against 'chemotherapy' with lenvatinib as the reaction substance",
  {"AllergyIntolerance/a1": {**allergy("a1", {"text": "Chemotherapy"}), "reaction": [{"substance": cc(RX, "1603296", "lenvatinib"), "manifestation": [{"text": "rash"}]}]}},
  {"regimen-hypersensitivity": (FAIL, ["lenvatinib", "code 1603296"])}, "ineligible")
v("heart-failure-nyha-stale", "Heart failure with a NYHA class from 200 days ago",
  {"Condition/hf": condition("hf", cc(SCT, "84114007", "Heart failure")), "Observation/nyha": coded("nyha", LOINC, "88020-3", SCT, "421704003", "2025-11-27T08:00:00Z")},
  {"heart-failure": (UNK, ["NYHA class out of date", "200 days old", "needed within 90 days"])}, "needs-data", to_record=["NYHA"])
v("bp-single-high-reading", "Only one reading in 30 days and it is high",
  {"Observation/bp2": bp("bp2", 158, 92, "2026-06-10T09:00:00Z")},
  {"uncontrolled-hypertension": (UNK, ["Only 1 reading", "158/92"])}, "needs-data", to_record=["Repeat blood pressure"], remove=["Observation/bp1"])
v("hcc-by-imaging-criteria", "HCC diagnosed by non-invasive imaging criteria",
  {"Condition/hcc": {"evidence": [{"code": [cc("https://cdsrisk.example.org/fhir/CodeSystem/hcc-diagnosis-basis", "imaging")]}]}},
  {"bclc-stage": (PASS, ["BCLC A (recorded)", "imaging criteria"])})
v("hcc-basis-missing", "HCC diagnosis without its basis", {"Condition/hcc": {"evidence": None}},
  {"bclc-stage": (UNK, ["Basis of the HCC diagnosis", "not recorded"])}, "needs-data", to_record=["basis of the HCC diagnosis"])
v("cholangiocarcinoma-provisional", "Combined HCC-CCA only suspected",
  {"Condition/cca": condition("cca", {"text": "Combined hepatocellular-cholangiocarcinoma"}, verification="provisional")},
  {"non-hcc-pathology": (TBC, ["provisional", "pathology to confirm"])})
v("albumin-3.5-boundary", "Albumin exactly 3.5 g/dL scores 2 (class A needs > 3.5)", {"Observation/alb": {"valueQuantity": {"value": 3.5}}},
  {"child-pugh": (PASS, ["Child-Pugh 6 (A6)"])})
v("family-history-of-cancer-ignored", "A family history of cancer is a mention, not a malignancy",
  {"Condition/fh": condition("fh", cc(ICD, "Z80.0", "Family history of malignant neoplasm of digestive organs"))}, {})
v("personal-history-of-cancer-undated", "Personal history of colon cancer (Z85) without dates: placed by its dates only",
  {"Condition/ph": condition("ph", cc(ICD, "Z85.038", "Personal history of other malignant neoplasm of large intestine"))},
  {"other-malignancy": (UNK, ["Personal history", "no end date"])}, "needs-data", to_record=["Record when"])
v("personal-history-of-cancer-recent", "Personal history of colon cancer diagnosed 2023",
  {"Condition/ph": condition("ph", cc(ICD, "Z85.038", "Personal history of other malignant neoplasm of large intestine"), onsetDateTime="2023-02-01")},
  {"other-malignancy": (FAIL, ["Personal history", "diagnosed 2023-02-01", "within 5 years"])}, "ineligible")
v("nyha-stale-without-heart-failure-condition", "An out-of-date NYHA III and no heart-failure Condition asks for a current class",
  {"Observation/nyha": coded("nyha", LOINC, "88020-3", SCT, "420913000", "2025-11-27T08:00:00Z")},
  {"heart-failure": (UNK, ["NYHA class out of date"])}, "needs-data", to_record=["NYHA"])
v("bp-in-kpa-not-usable", "Blood pressure recorded in kPa only",
  {"Observation/bp2": {"component": [
      {"code": cc(LOINC, "8480-6"), "valueQuantity": {"value": 17.3, "unit": "kPa", "system": UCUM, "code": "kPa"}},
      {"code": cc(LOINC, "8462-4"), "valueQuantity": {"value": 10.7, "unit": "kPa", "system": UCUM, "code": "kPa"}}]}},
  {"uncontrolled-hypertension": (UNK, ["No blood pressure within 30 days", "'kPa' not usable"])}, "needs-data", remove=["Observation/bp1"])
v("ecog-integer-out-of-scale", "ECOG recorded as the integer 7", {"Observation/ecog": {"valueCodeableConcept": None, "valueInteger": 7}},
  {"ecog": (UNK, ["ECOG not usable", "not on the scale"])}, "needs-data")

# --- issue 14 section 2: no false exclusions (each probe of the clinical review is a vignette). hook=True: also run through the
# real hook, prefetch and fetch modes (tests/CdsRisk.IntegrationTests/EndToEnd/VignetteHookTests.cs).
LIVER_EXTRA = "An HCC patient with an extra Condition {} is not excluded for 'other malignancy': liver cancer codes are the liver diagnosis"
v("extra-liver-c22-9", LIVER_EXTRA.format("ICD-10 C22.9"),
  {"Condition/liver": condition("liver", cc(ICD, "C22.9", "Malignant neoplasm of liver, not specified as primary or secondary"))},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("extra-liver-c22-8", LIVER_EXTRA.format("ICD-10 C22.8"),
  {"Condition/liver": condition("liver", cc(ICD, "C22.8", "Malignant neoplasm of liver, primary, unspecified as to type"))},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("extra-liver-c78-7", LIVER_EXTRA.format("ICD-10 C78.7"),
  {"Condition/liver": condition("liver", cc(ICD, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"))},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("extra-liver-snomed-malignant-neoplasm-of-liver", LIVER_EXTRA.format("SNOMED 93870000 malignant neoplasm of liver"),
  {"Condition/liver": condition("liver", cc(SCT, "93870000", "Malignant neoplasm of liver"))},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("hcc-coded-only-c22-9", "The liver cancer is coded only as ICD-10 C22.9 (with histology and BCLC A): the HCC diagnosis is to be confirmed, never 'another' malignancy",
  {"Condition/hcc": {"code": cc(ICD, "C22.9", "Malignant neoplasm of liver, not specified as primary or secondary")}},
  {"bclc-stage": (TBC, ["BCLC A (recorded)", "not as HCC"]), "other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("hcc-morphology-code-accepted", "An HCC Condition coded with SNOMED 25370001 (the morphology concept) is still read as HCC on input",
  {"Condition/hcc": {"code": cc(SCT, "25370001", "Hepatocellular carcinoma")}}, {}, **H)
v("malignant-hypertension-not-cancer", "'Malignant hypertension' is not a malignancy (anchored text with an exclusion list)",
  {"Condition/mh": condition("mh", cc(SCT, "70272006", "Malignant hypertension"))},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("neuroleptic-malignant-syndrome-not-cancer", "'Neuroleptic malignant syndrome' (text only) is not a malignancy",
  {"Condition/nms": condition("nms", {"text": "Neuroleptic malignant syndrome (2019)"})},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("premalignant-text-not-cancer", "'Premalignant' does not match 'malignan': text patterns start at a word",
  {"Condition/pm": condition("pm", {"text": "Premalignant polyp of colon, removed"})},
  {"other-malignancy": (PASS, ["No other malignancy within 5 years"])}, **H)
v("dcis-to-confirm", "Ductal carcinoma in situ of the breast (D05.1): in situ outside the cervix is for the investigator, not an exclusion",
  {"Condition/dcis": condition("dcis", cc(ICD, "D05.11", "Intraductal carcinoma in situ of right breast"))},
  {"other-malignancy": (TBC, ["in situ outside the cervix", "investigator"])}, **H)
v("very-low-risk-cancer-to-confirm", "A site-listed very-low-risk cancer is to be confirmed, never a pass that says 'investigator to confirm'",
  {"Condition/ptmc": condition("ptmc", {"text": "Papillary thyroid microcarcinoma"})},
  {"other-malignancy": (TBC, ["very-low-risk", "investigator"])}, **H)
v("skin-cancer-treated-excepted", "A resolved basal cell carcinoma (appropriately treated non-melanoma skin cancer) is the protocol's exception",
  {"Condition/bcc": condition("bcc", cc(ICD, "C44.91", "Basal cell carcinoma of skin, unspecified"), "resolved", abatementDateTime="2025-09-01")},
  {"other-malignancy": (PASS, ["No other malignancy", "non-melanoma skin cancer (resolved; protocol exception)"])}, **H)
v("cervix-in-situ-treated-excepted", "Treated carcinoma in situ of the cervix is the protocol's exception",
  {"Condition/cin": condition("cin", cc(ICD, "D06.9", "Carcinoma in situ of cervix, unspecified"), "resolved", abatementDateTime="2024-02-01")},
  {"other-malignancy": (PASS, ["No other malignancy", "treated carcinoma in situ of the cervix"])}, **H)
v("secondary-lung-malignancy-to-confirm", "Lung metastases (C78.0) in an HCC patient: extrahepatic spread or another primary, both to be confirmed",
  {"Condition/lungmet": condition("lungmet", cc(ICD, "C78.00", "Secondary malignant neoplasm of unspecified lung"))},
  {"other-malignancy": (TBC, ["secondary malignancy", "spread of the HCC or another primary"]),
   "bclc-stage": (TBC, ["BCLC A (recorded)", "possible extrahepatic spread", "BCLC C"])}, **H)
v("allergy-carboplatin-to-confirm", "Carboplatin allergy: another platinum drug, cross-reactivity with oxaliplatin to be confirmed (was a false exclusion)",
  {"AllergyIntolerance/a1": allergy("a1", cc(RX, "40048", "carboplatin"))},
  {"regimen-hypersensitivity": (TBC, ["carboplatin", "other platinum compounds", "possible cross-reactivity with oxaliplatin"])}, **H)
v("allergy-atezolizumab-pd-l1-to-confirm", "Atezolizumab allergy: a PD-L1 inhibitor, not the regimen's PD-1 inhibitor",
  {"AllergyIntolerance/a1": allergy("a1", cc(RX, "1792776", "atezolizumab"))},
  {"regimen-hypersensitivity": (TBC, ["atezolizumab", "PD-L1 inhibitors", "possible cross-reactivity with PD-1 inhibitors"])}, **H)
v("allergy-durvalumab-atc-to-confirm", "Durvalumab allergy coded by ATC L01FF03: PD-L1, to be confirmed",
  {"AllergyIntolerance/a1": allergy("a1", cc(ATC, "L01FF03", "durvalumab"))},
  {"regimen-hypersensitivity": (TBC, ["durvalumab", "PD-L1 inhibitors"])}, **H)
v("allergy-pembrolizumab-excludes", "Pembrolizumab allergy by ATC L01FF02: a PD-1 inhibitor of the regimen's class, excluded",
  {"AllergyIntolerance/a1": allergy("a1", cc(ATC, "L01FF02", "pembrolizumab"))},
  {"regimen-hypersensitivity": (FAIL, ["regimen drug PD-1 inhibitors", "pembrolizumab"])}, "ineligible", preIsMeaningful=False, **H)
v("allergy-leucovorin-to-confirm", "Leucovorin (folinic acid) allergy: given with fluorouracil, not named by the trial: to be confirmed",
  {"AllergyIntolerance/a1": allergy("a1", {"text": "Calcium folinate (leucovorin) - urticaria"})},
  {"regimen-hypersensitivity": (TBC, ["leucovorin", "for the investigator"])}, **H)
v("egfr-loinc-48642-3", "eGFR recorded as LOINC 48642-3 (MDRD, non-blacks) = 25 is read and excludes",
  {"Observation/egfr": {"code": cc(LOINC, "48642-3"), "valueQuantity": {"value": 25}}},
  {"severe-renal-dysfunction": (FAIL, ["eGFR 25 mL/min/1.73 m²", "< 30"])}, "ineligible", preIsMeaningful=False, **H)
v("egfr-loinc-88294-4", "eGFR recorded as LOINC 88294-4 (CKD-EPI, non-blacks) is read",
  {"Observation/egfr": {"code": cc(LOINC, "88294-4"), "valueQuantity": {"value": 64}}},
  {"severe-renal-dysfunction": (PASS, ["eGFR 64 mL/min/1.73 m²", "not below 30"])}, **H)
v("egfr-loinc-98980-6", "eGFR recorded as LOINC 98980-6 (CKD-EPI 2021, creatinine and cystatin C) is read",
  {"Observation/egfr": {"code": cc(LOINC, "98980-6"), "valueQuantity": {"value": 71}}},
  {"severe-renal-dysfunction": (PASS, ["eGFR 71", "not below 30"])}, **H)
# --- issue 14 section 3: a PRE only where it means something
v("afp-missing-needs-data", "No AFP: the PRE would rest on the training average; needs-data naming AFP, the PRE not used",
  {}, {"pre-score": (UNK, ["key inputs", "AFP not recorded"])}, "needs-data", to_record=["Record AFP (within 30 days)"],
  remove=["Observation/afp"], preIsMeaningful=False, toRecordCount=1, **H)
v("tumour-count-missing-needs-data", "No tumour count (BCLC recorded): needs-data naming the tumour count",
  {}, {"pre-score": (UNK, ["key inputs", "tumour count not recorded"])}, "needs-data", to_record=["Record tumour count (within 60 days)"],
  remove=["Observation/count"], preIsMeaningful=False, toRecordCount=1, **H)
v("platelets-missing-imputed", "No platelet count: a minor input, imputed and listed; still eligible",
  {}, {}, remove=["Observation/plt"], preIsMeaningful=True, imputed=["platelets"], **H)
# --- issue 14 section 4: needs-data that is true and readable
v("mri-single-dynamic-series-not-read", "A study with one dynamic series (all four phases in it), images not yet read: pending, never 'fewer than 4 series'",
  {"ImagingStudy/mri": {"series": [{"uid": "1.2.826.0.1.3680043.8.498.1.9", "number": 9, "description": "LAVA dynamic multiphase",
                                    "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}, "numberOfInstances": 160}]}},
  {"pre-score": (PEND, ["being computed"]), "mri-4-phase": (PEND, ["checked when the images are read"])}, "pending",
  pre={"status": "pending"}, toRecordCount=0, **H)
v("several-mr-studies-newest-in-window", "Three MR studies: the newest pre-operative one inside the window is used, and the others are mentioned",
  {"ImagingStudy/mri-old": {"resourceType": "ImagingStudy", "id": "mri-old", "status": "available", "subject": {"reference": "Patient/p1"},
                            "started": "2026-03-02T10:00:00Z", "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
                            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.2"}],
                            "series": [{"uid": "1.2.826.0.1.3680043.8.498.2.1", "number": 1, "description": "LAVA dynamic",
                                        "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}}]},
   "ImagingStudy/mri-new": {"resourceType": "ImagingStudy", "id": "mri-new", "status": "available", "subject": {"reference": "Patient/p1"},
                            "started": "2026-06-10T10:00:00Z", "description": "MRI liver 4-phase (repeat)",
                            "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
                            "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.3"}],
                            "series": [{"uid": "1.2.826.0.1.3680043.8.498.3.1", "number": 1, "description": "LAVA dynamic",
                                        "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}}]}},
  {"mri-4-phase": (PASS, ["all four phases found", "study of 2026-06-10 (MRI liver 4-phase (repeat)) used", "the newest of 3 MR studies on record"])},
  selectedStudy="ImagingStudy/mri-new", **H)
v("mr-study-without-date-pending", "An MR study without 'started', images not read: pending (its date is read from the images)",
  {"ImagingStudy/mri": {"started": None}},
  {"pre-score": (PEND, ["being computed"]), "mri-4-phase": (PEND, ["without a date", "checked when the images are read"])}, "pending", pre={"status": "pending"}, **H)
v("bclc-a-with-child-pugh-b7-ascites", "Recorded BCLC A next to Child-Pugh B7 with mild ascites: the stage is flagged to confirm",
  {"Observation/alb": {"valueQuantity": {"value": 3.2}},
   "Observation/ascites": {"valueCodeableConcept": cc("https://cdsrisk.example.org/fhir/CodeSystem/ascites-grade", "mild")}},
  {"bclc-stage": (TBC, ["BCLC A (recorded)", "Child-Pugh B7 with ascites"]),
   "child-pugh": (PASS, ["Child-Pugh 7 (B7)", "7 is B7"])}, **H)
v("bclc-a-with-portal-vein-tumour-thrombus", "Recorded BCLC A with a portal vein tumour thrombus on record: flagged to confirm (BCLC C)",
  {"Condition/pvtt": condition("pvtt", {"text": "Portal vein tumour thrombus (right branch)"})},
  {"bclc-stage": (TBC, ["BCLC A (recorded)", "macrovascular invasion on record", "BCLC C"])}, **H)
v("recent-myocardial-infarction-to-confirm", "Myocardial infarction 3 months ago: uncontrolled cardiac disease is for the investigator",
  {"Condition/mi": condition("mi", cc(ICD, "I21.4", "Non-ST elevation (NSTEMI) myocardial infarction"), onsetDateTime="2026-03-10")},
  {"heart-failure": (TBC, ["No heart failure recorded", "myocardial infarction on 2026-03-10 (within 6 months)"])}, **H)
v("old-myocardial-infarction-passes", "Myocardial infarction in 2019: not recent",
  {"Condition/mi": condition("mi", cc(SCT, "22298006", "Myocardial infarction"), "resolved", onsetDateTime="2019-04-02")},
  {"heart-failure": (PASS, ["No heart failure recorded"])}, **H)
v("unstable-angina-to-confirm", "Unstable angina on record: to be confirmed",
  {"Condition/ua": condition("ua", cc(ICD, "I20.0", "Unstable angina"))},
  {"heart-failure": (TBC, ["unstable angina on record"])}, **H)
v("atrial-fibrillation-to-confirm", "Active atrial fibrillation: whether it is controlled is the investigator's judgement",
  {"Condition/af": condition("af", cc(SCT, "49436004", "Atrial fibrillation"))},
  {"heart-failure": (TBC, ["active arrhythmia", "whether it is controlled"])}, **H)
v("readable-units-si", "SI units everywhere (µmol/L, g/L, ×10⁹/L): reasons show them as clinicians write them, never UCUM codes",
  {"Observation/bili": {"code": cc(LOINC, "14631-6"), "valueQuantity": {"value": 13.7, "unit": "umol/L", "code": "umol/L"}},
   "Observation/alb": {"valueQuantity": {"value": 41, "unit": "g/L", "code": "g/L"}},
   "Observation/plt": {"valueQuantity": {"value": 165, "unit": "10*9/L", "code": "10*9/L"}}},
  {"child-pugh": (PASS, ["Child-Pugh 5 (A5)", "ALBI grade 1"])}, **H)

def merge(dst, src):
    for k, val in src.items():
        if val is None:
            dst.pop(k, None)
        elif isinstance(val, dict) and isinstance(dst.get(k), dict):
            merge(dst[k], val)
        else:
            dst[k] = val

here = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(here):
    if f.endswith(".json"):
        os.remove(os.path.join(here, f))
for i, (name, description, changes, remove, expect, outcome, pre, to_record, extra) in enumerate(vignettes, 1):
    res = base()
    for key in remove:
        del res[key]
    for key, change in changes.items():
        if key in res:
            merge(res[key], copy.deepcopy(change))
        else:
            res[key] = copy.deepcopy(change)
    bundle = {"resourceType": "Bundle", "id": name, "type": "collection",
              "entry": [{"fullUrl": f"https://fhir.example.org/{key}", "resource": r} for key, r in res.items()]}
    criteria = {k: {"status": s, "reason": kw} for k, (s, kw) in {**BASE_EXPECT, **expect}.items()}
    if pre != {"status": "computed", "value": 0.72} and "pre-score" not in expect:
        raise SystemExit(f"{name}: set the pre-score expectation")
    stem = f"{i:02d}-{name}"
    with open(os.path.join(here, stem + ".json"), "w") as f:
        json.dump(bundle, f, indent=1)
    with open(os.path.join(here, stem + ".expected.json"), "w") as f:
        json.dump({"description": description, "evaluatedAt": EVAL, "pre": pre, "outcome": outcome,
                   "toRecord": to_record, **extra, "criteria": criteria}, f, indent=1, ensure_ascii=False)
print(len(vignettes), "vignettes")
