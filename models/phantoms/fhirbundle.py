"""The phantom patient's FHIR R4 transaction Bundle, using the codes of docs/contracts.md §1.

Every entry is a PUT to a deterministic id, so seeding the same phantom twice is idempotent."""
from __future__ import annotations

import datetime as dt
import uuid

BASE = "https://cdsrisk.example.org/fhir"
OBS_CS = f"{BASE}/CodeSystem/observation"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
CPT = "http://www.ama-assn.org/go/cpt"
ECOG_ANSWERS = ("LA9622-7", "LA9623-5", "LA9624-3", "LA9625-0", "LA9626-8", "LA9627-6")
NYHA = {1: ("420300004", "New York Heart Association Classification - Class I"),
        2: ("421704003", "New York Heart Association Classification - Class II"),
        3: ("420913000", "New York Heart Association Classification - Class III"),
        4: ("422293003", "New York Heart Association Classification - Class IV")}


class BundleBuilder:
    def __init__(self, patient_id: str, seed_key: str):
        self.pid = patient_id
        self.base_id = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in patient_id.lower())[:40]
        self.seed_key = seed_key
        self.entries: list[dict] = []

    def rid(self, suffix: str) -> str:
        return f"{self.base_id}-{suffix}"[:64]

    def add(self, resource: dict) -> str:
        rtype, rid = resource["resourceType"], resource["id"]
        self.entries.append({
            "fullUrl": "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE}/{self.seed_key}/{rtype}/{rid}")),
            "resource": resource,
            "request": {"method": "PUT", "url": f"{rtype}/{rid}"},
        })
        return f"{rtype}/{rid}"

    def bundle(self) -> dict:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}


def _cc(system, code, display=None, text=None):
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    out = {"coding": [c]}
    if text:
        out["text"] = text
    return out


def _qty(value, unit, code=None):
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def build_bundle(*, patient_id: str, seed_key: str, today: dt.date, clinical: dict, tumour: dict, scenario: dict,
                 study: dict | None, units: str, follow_up: dict | None = None, now: dt.date | None = None) -> dict:
    """today: the day of the screening picture; for an on-study patient (follow_up) the resection is a week after it and
    now is the real today the follow-up is dated against."""
    b = BundleBuilder(patient_id, seed_key)
    subject = {"reference": f"Patient/{b.base_id}"}
    obs_time = (dt.datetime.combine(today - dt.timedelta(days=5), dt.time(9, 30)).isoformat() + "Z")
    patient = {
        "resourceType": "Patient", "id": b.base_id,
        "meta": {"tag": [{"system": f"{BASE}/CodeSystem/tags", "code": "synthetic-phantom"}]},
        "identifier": [{"system": f"{BASE}/phantom-patient-id", "value": patient_id}],
        "active": True,
        "name": [{"family": "Phantom", "given": [scenario["name"].replace("-", " ").title()]}],
        "gender": "male" if clinical["sex_male"] else "female",
        "birthDate": clinical["birth_date"],
    }
    b.add(patient)

    hcc = {
        "resourceType": "Condition", "id": b.rid("hcc"),
        "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "category": [_cc("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")],
        # SNOMED 109841003 is the disorder (liver cell carcinoma); 25370001 is the morphologic abnormality, not a Condition code.
        "code": {"coding": [{"system": SNOMED, "code": "109841003", "display": "Liver cell carcinoma"},
                            {"system": ICD10, "code": "C22.0", "display": "Liver cell carcinoma"}],
                 "text": "Hepatocellular carcinoma"},
        "subject": subject,
        "onsetDateTime": (today - dt.timedelta(days=20)).isoformat(),
        "recordedDate": (today - dt.timedelta(days=18)).isoformat(),
        "stage": [{"summary": _cc(f"{BASE}/CodeSystem/bclc", scenario.get("bclc", "A"),
                                  text=f"BCLC {scenario.get('bclc', 'A')}")}],
        "evidence": [{"code": [_cc(f"{BASE}/CodeSystem/hcc-diagnosis-basis", scenario.get("basis", "imaging"))]}],
    }
    b.add(hcc)

    def obs(suffix, code, value_key, value, category="laboratory", extra_codings=()):
        o = {"resourceType": "Observation", "id": b.rid(suffix), "status": "final",
             "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category", category)],
             "code": {"coding": [code, *extra_codings]}, "subject": subject, "effectiveDateTime": obs_time,
             value_key: value}
        b.add(o)

    conventional = units == "conventional"
    obs("afp", {"system": LOINC, "code": "1834-1", "display": "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma"},
        "valueQuantity", _qty(clinical["afp_ng_ml"], "ng/mL"))
    if conventional:
        obs("albumin", {"system": LOINC, "code": "1751-7", "display": "Albumin [Mass/volume] in Serum or Plasma"},
            "valueQuantity", _qty(round(clinical["albumin_g_l"] / 10, 2), "g/dL"))
        obs("bilirubin", {"system": LOINC, "code": "1975-2", "display": "Bilirubin.total [Mass/volume] in Serum or Plasma"},
            "valueQuantity", _qty(round(clinical["bilirubin_umol_l"] / 17.1, 4), "mg/dL"))
        obs("creatinine", {"system": LOINC, "code": "2160-0", "display": "Creatinine [Mass/volume] in Serum or Plasma"},
            "valueQuantity", _qty(round(clinical["creatinine_umol_l"] / 88.4, 2), "mg/dL"))
        obs("platelets", {"system": LOINC, "code": "777-3", "display": "Platelets [#/volume] in Blood by Automated count"},
            "valueQuantity", _qty(clinical["platelets_10e9_l"], "10*3/uL"))
    else:
        obs("albumin", {"system": LOINC, "code": "1751-7", "display": "Albumin [Mass/volume] in Serum or Plasma"},
            "valueQuantity", _qty(clinical["albumin_g_l"], "g/L"))
        obs("bilirubin", {"system": LOINC, "code": "14631-6", "display": "Bilirubin.total [Moles/volume] in Serum or Plasma"},
            "valueQuantity", _qty(clinical["bilirubin_umol_l"], "umol/L"))
        obs("creatinine", {"system": LOINC, "code": "14682-9", "display": "Creatinine [Moles/volume] in Serum or Plasma"},
            "valueQuantity", _qty(clinical["creatinine_umol_l"], "umol/L"))
        obs("platelets", {"system": LOINC, "code": "777-3", "display": "Platelets [#/volume] in Blood by Automated count"},
            "valueQuantity", _qty(clinical["platelets_10e9_l"], "10*9/L"))
    obs("inr", {"system": LOINC, "code": "6301-6", "display": "INR in Platelet poor plasma by Coagulation assay"},
        "valueQuantity", _qty(clinical["inr"], "{INR}"))
    obs("egfr", {"system": LOINC, "code": "98979-8", "display": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)"},
        "valueQuantity", _qty(clinical["egfr"], "mL/min/{1.73_m2}"))
    obs("tumour-size", {"system": LOINC, "code": "33728-7", "display": "Size.maximum dimension in Tumor"},
        "valueQuantity", _qty(tumour["size_cm"] if conventional else round(tumour["size_cm"] * 10, 1),
                              "cm" if conventional else "mm"), category="imaging")
    obs("tumour-count", {"system": OBS_CS, "code": "hcc-nodule-count", "display": "HCC nodule count"},
        "valueInteger", tumour["count"], category="imaging")
    obs("ascites", {"system": OBS_CS, "code": "ascites-grade", "display": "Ascites grade"},
        "valueCodeableConcept", _cc(f"{BASE}/CodeSystem/ascites-grade", clinical["ascites"]), category="exam")
    obs("encephalopathy", {"system": OBS_CS, "code": "hepatic-encephalopathy-grade", "display": "Hepatic encephalopathy grade"},
        "valueInteger", clinical["encephalopathy"], category="exam")
    if clinical.get("ecog") is not None:
        e = clinical["ecog"]
        obs("ecog", {"system": LOINC, "code": "89247-1", "display": "ECOG Performance Status score"},
            "valueCodeableConcept", _cc(LOINC, ECOG_ANSWERS[e], text=f"ECOG {e}"), category="survey")
    for n, (sbp, dbp) in enumerate(clinical["bp"]):
        b.add({"resourceType": "Observation", "id": b.rid(f"bp-{n + 1}"), "status": "final",
               "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs")],
               "code": {"coding": [{"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}]},
               "subject": subject,
               "effectiveDateTime": (dt.datetime.combine(today - dt.timedelta(days=5 + 7 * n), dt.time(9, 0)).isoformat() + "Z"),
               "component": [
                   {"code": {"coding": [{"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}]},
                    "valueQuantity": _qty(sbp, "mm[Hg]")},
                   {"code": {"coding": [{"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}]},
                    "valueQuantity": _qty(dbp, "mm[Hg]")}]})
    if clinical.get("nyha"):
        code, display = NYHA[clinical["nyha"]]
        obs("nyha", {"system": LOINC, "code": "88020-3", "display": "Functional capacity NYHA"},
            "valueCodeableConcept", _cc(SNOMED, code, display), category="exam")

    for cond in scenario.get("conditions", []):
        b.add({"resourceType": "Condition", "id": b.rid(cond["id"]),
               "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
               "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
               "code": {"coding": cond["coding"], "text": cond["text"]}, "subject": subject,
               "recordedDate": (today - dt.timedelta(days=10)).isoformat()})
    for al in scenario.get("allergies", []):
        b.add({"resourceType": "AllergyIntolerance", "id": b.rid(al["id"]),
               "clinicalStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active"),
               "verificationStatus": _cc("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed"),
               "type": "allergy", "category": ["medication"], "criticality": "high",
               "code": {"coding": al["coding"], "text": al["text"]}, "patient": subject,
               "recordedDate": (today - dt.timedelta(days=400)).isoformat()})

    b.add({"resourceType": "ServiceRequest", "id": b.rid("hepatectomy"), "status": "completed" if follow_up else "active", "intent": "order",
           "category": [_cc(SNOMED, "387713003", "Surgical procedure")],
           "code": {"coding": [{"system": CPT, "code": "47120", "display": "Hepatectomy, resection of liver; partial lobectomy"}],
                    "text": "Partial hepatectomy"},
           "subject": subject, "authoredOn": (today - dt.timedelta(days=2)).isoformat(),
           "occurrenceDateTime": (today + dt.timedelta(days=7)).isoformat(),
           "reasonReference": [{"reference": f"Condition/{b.rid('hcc')}"}]})

    if study is not None:
        endpoint = b.add({"resourceType": "Endpoint", "id": b.rid("dicomweb"), "status": "active",
                          "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                                             "code": "dicom-wado-rs"},
                          "name": "Phantom DICOMweb", "payloadType": [{"text": "DICOM"}],
                          "payloadMimeType": ["application/dicom"], "address": "{{DICOMWEB_BASE}}"})
        b.add({"resourceType": "ImagingStudy", "id": b.rid("mri"), "status": "available",
               "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:" + study["uid"]}],
               "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
               "subject": subject, "started": study["started"], "endpoint": [{"reference": endpoint}],
               "procedureCode": [_cc(LOINC, "36134-5", "MR Abdomen WO and W contrast IV")],
               "description": "MR ABDOMEN W AND WO CONTRAST",
               "numberOfSeries": len(study["series"]),
               "numberOfInstances": sum(s["instances"] for s in study["series"]),
               "series": [{"uid": s["uid"], "number": s["number"],
                           "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"},
                           "description": s["description"], "numberOfInstances": s["instances"],
                           "bodySite": {"system": SNOMED, "code": "818981001", "display": "Abdomen"}}
                          for s in study["series"]]})
    if follow_up:
        add_follow_up(b, subject, today + dt.timedelta(days=7), now or today, follow_up)
    return b.bundle()


TRIAL_STUDY_ID = "nct07282184"


def add_follow_up(b: BundleBuilder, subject: dict, surgery: dt.date, now: dt.date, spec: dict) -> None:
    """On study after the resection (issue 17): the ResearchStudy (identifier NCT07282184 at ClinicalTrials.gov), the patient's
    ResearchSubject on-study, the completed hepatectomy, the follow-up visits and, during therapy, the drug given with its labs."""
    def at(day: dt.date, hour: int = 9) -> str:
        return dt.datetime.combine(day, dt.time(hour, 0)).isoformat() + "Z"

    study = b.add({"resourceType": "ResearchStudy", "id": b.rid("research-study"), "status": "active",
                   "identifier": [{"system": "https://clinicaltrials.gov", "value": "NCT07282184"}],
                   "title": "Adjuvant therapy after resection of early HCC at high risk of aggressive recurrence (NCT07282184)"})
    b.add({"resourceType": "ResearchSubject", "id": b.rid("research-subject"), "status": "on-study",
           "period": {"start": (surgery - dt.timedelta(days=3)).isoformat()},
           "study": {"reference": study}, "individual": subject})
    b.add({"resourceType": "Procedure", "id": b.rid("resection"), "status": "completed",
           "code": {"coding": [{"system": CPT, "code": "47120", "display": "Hepatectomy, resection of liver; partial lobectomy"}],
                    "text": "Partial hepatectomy"},
           "subject": subject, "performedDateTime": surgery.isoformat(),
           "basedOn": [{"reference": f"ServiceRequest/{b.rid('hepatectomy')}"}]})

    def lab(suffix, code, display, value, unit, day, high=None):
        o = {"resourceType": "Observation", "id": b.rid(suffix), "status": "final",
             "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
             "code": {"coding": [{"system": LOINC, "code": code, "display": display}]}, "subject": subject,
             "effectiveDateTime": at(day), "valueQuantity": _qty(value, unit)}
        if high is not None:
            o["referenceRange"] = [{"high": _qty(high, unit)}]
        b.add(o)

    for day_after in spec.get("visits", ()):
        day = surgery + dt.timedelta(days=day_after)
        n = f"d{day_after}"
        if day_after not in spec.get("no_mri", ()):
            b.add({"resourceType": "ImagingStudy", "id": b.rid(f"follow-up-mri-{n}"), "status": "available",
                   "modality": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "MR"}],
                   "subject": subject, "started": at(day, 11),
                   "procedureCode": [_cc(LOINC, "36134-5", "MR Abdomen WO and W contrast IV")],
                   "description": "MR LIVER W AND WO CONTRAST (follow-up)"})
        lab(f"follow-up-afp-{n}", "1834-1", "Alpha-1-Fetoprotein [Mass/volume] in Serum or Plasma", 3.8, "ng/mL", day)
        lab(f"follow-up-bilirubin-{n}", "14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma", 11.0, "umol/L", day, 21)
        lab(f"follow-up-alt-{n}", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", 28, "U/L", day, 40)

    if spec.get("pathology") == "hcc":
        b.add({"resourceType": "Observation", "id": b.rid("pathology"), "status": "final",
               "category": [_cc("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
               "code": {"coding": [{"system": LOINC, "code": "34574-4", "display": "Pathology report final diagnosis"}]},
               "subject": subject, "effectiveDateTime": at(surgery + dt.timedelta(days=5), 14),
               "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "109841003", "display": "Liver cell carcinoma"}],
                                        "text": "Hepatocellular carcinoma, resection margins clear"}})

    therapy = spec.get("therapy")
    if therapy:
        given = now - dt.timedelta(days=therapy["given_days_ago"])
        # The drug as a Medication resource, named by medicationReference (RxNorm 32592 oxaliplatin).
        medication = b.add({"resourceType": "Medication", "id": b.rid("oxaliplatin"),
                            "code": {"coding": [{"system": RXNORM, "code": "32592", "display": "oxaliplatin"}], "text": "Oxaliplatin"}})
        b.add({"resourceType": "MedicationAdministration", "id": b.rid("oxaliplatin-cycle-1"), "status": "completed",
               "medicationReference": {"reference": medication}, "subject": subject, "effectiveDateTime": at(given, 10),
               "dosage": {"route": _cc(SNOMED, "47625008", "Intravenous route"), "dose": _qty(130, "mg/m2", "mg/m2")}})
        before = given - dt.timedelta(days=1)
        lab("pre-cycle-1-platelets", "777-3", "Platelets [#/volume] in Blood by Automated count", 168, "10*9/L", before)
        lab("pre-cycle-1-neutrophils", "751-8", "Neutrophils [#/volume] in Blood by Automated count", 3.1, "10*9/L", before)
        lab("pre-cycle-1-bilirubin", "14631-6", "Bilirubin.total [Moles/volume] in Serum or Plasma", 12.0, "umol/L", before, 21)
        lab("pre-cycle-1-alt", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", 35, "U/L", before, 40)
        lab("alt-rise", "1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", therapy["alt_u_l"], "U/L",
            now - dt.timedelta(days=1), 40)
