"""Writes a phantom as MR Image Storage Part 10 files (Explicit VR Little Endian)."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from phantom import Grid, Scanner

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
IMPLEMENTATION_UID = "2.25.118930211208331466431926391145206530321"
SERIES_DESCRIPTIONS = ("T1 VIBE pre", "T1 arterial", "T1 portal venous", "T1 delayed 3min")
# seconds after the non-contrast acquisition; contrast is injected at +60 s
PHASE_OFFSETS_S = (0, 80, 130, 240)
CONTRAST_START_S = 60
CONTRAST_AGENT = "GADOTERATE MEGLUMINE"


def uid(*parts) -> str:
    """Deterministic UID under the 2.25 (UUID-derived) root: 2.25.<128-bit integer>."""
    h = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()[:16]
    return "2.25." + str(int.from_bytes(h, "big") >> 1)


def _tm(t: dt.datetime) -> str:
    return t.strftime("%H%M%S.%f")[:13]


def write_series(out_dir: Path, *, key: tuple, grid: Grid, scanner: Scanner, phases: dict[int, np.ndarray],
                 study_dt: dt.datetime, patient: dict, layout: str) -> list[dict]:
    """phases: phase index (0..3) -> stored uint16 [D, H, W] (slice k at ascending z).
    Returns the series written: [{uid, number, description, instances}]."""
    out_dir.mkdir(parents=True, exist_ok=True)
    study_uid = uid(*key, "study")
    frame_uid = uid(*key, "frame-of-reference")
    x0, y0, z0 = grid.origin()
    series = []
    if layout == "separate":
        plan = [(p, [p]) for p in sorted(phases)]
    else:
        plan = [("dyn", sorted(phases))]
    for s_index, (s_key, members) in enumerate(plan):
        number = 10 + s_index if layout == "separate" else 20
        series_uid = uid(*key, "series", s_key)
        desc = SERIES_DESCRIPTIONS[s_key] if layout == "separate" else "T1 VIBE dynamic"
        n_written = 0
        for t_index, p in enumerate(members):
            vol = phases[p]
            acq = study_dt + dt.timedelta(seconds=PHASE_OFFSETS_S[p])
            for k in range(grid.nz - 1, -1, -1):  # instance 1 = most superior slice
                n_written += 1
                ds = _slice_dataset(key, grid, scanner, vol[k], k, p, study_uid, frame_uid, series_uid, number,
                                    desc, n_written, acq, study_dt, patient, x0, y0, z0)
                if layout == "dynamic":
                    ds.TemporalPositionIdentifier = t_index + 1
                    ds.NumberOfTemporalPositions = len(members)
                    ds.AcquisitionNumber = t_index + 1
                    ds.TemporalResolution = 30000.0
                ds.save_as(str(out_dir / f"s{number:02d}_{n_written:04d}.dcm"), write_like_original=False)
        series.append({"uid": series_uid, "number": number, "description": desc, "instances": n_written})
    return series


def _slice_dataset(key, grid: Grid, scanner: Scanner, pixels: np.ndarray, k: int, phase: int, study_uid, frame_uid,
                   series_uid, number, desc, instance, acq: dt.datetime, study_dt: dt.datetime, patient, x0, y0, z0):
    sop_uid = uid(*key, "instance", series_uid, instance)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MR_IMAGE_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    meta.ImplementationVersionName = "CDSRISK_PHANTOM"
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = True
    ds.is_implicit_VR = False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = sop_uid
    date = study_dt.strftime("%Y%m%d")
    content = acq + dt.timedelta(milliseconds=40 * instance)
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = date
    ds.StudyTime = _tm(study_dt)
    ds.SeriesTime = _tm(acq)
    ds.AcquisitionTime = _tm(acq)
    ds.ContentTime = _tm(content)
    ds.AccessionNumber = patient["accession"]
    ds.Modality = "MR"
    ds.Manufacturer = "CdsRisk synthetic"
    ds.ManufacturerModelName = scanner.name
    ds.InstitutionName = "Synthetic phantom - not a patient"
    ds.StudyDescription = "MR ABDOMEN W AND WO CONTRAST"
    ds.SeriesDescription = desc
    ds.ProtocolName = "LIVER DYNAMIC T1"
    ds.PatientName = patient["dicom_name"]
    ds.PatientID = patient["id"]
    ds.PatientBirthDate = patient["birth_date"].replace("-", "")
    ds.PatientSex = "M" if patient["sex_male"] else "F"
    ds.BodyPartExamined = "ABDOMEN"
    ds.ScanningSequence = "GR"
    ds.SequenceVariant = ["SP", "SS"]
    ds.ScanOptions = "FS"
    ds.MRAcquisitionType = "3D"
    ds.SliceThickness = f"{grid.dz:g}"
    ds.SpacingBetweenSlices = f"{grid.dz:g}"
    ds.RepetitionTime = "3.9"
    ds.EchoTime = "1.9"
    ds.FlipAngle = "9"
    ds.MagneticFieldStrength = "1.5" if scanner.name.endswith("Alpha") else "3"
    if phase > 0:
        ds.ContrastBolusAgent = CONTRAST_AGENT
        ds.ContrastBolusRoute = "IV"
        ds.ContrastBolusStartTime = _tm(study_dt + dt.timedelta(seconds=CONTRAST_START_S))
        ds.ContrastBolusVolume = "15"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = number
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = instance
    z = z0 + k * grid.dz
    ds.ImagePositionPatient = [f"{x0:.4f}", f"{y0:.4f}", f"{z:.4f}"]
    ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
    ds.FrameOfReferenceUID = frame_uid
    ds.PositionReferenceIndicator = ""
    ds.SliceLocation = f"{z:.4f}"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(pixels.shape[0]), int(pixels.shape[1])
    ds.PixelSpacing = [f"{grid.dy:g}", f"{grid.dx:g}"]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if scanner.rescale_slope is not None:
        ds.RescaleIntercept = f"{scanner.rescale_intercept:g}"
        ds.RescaleSlope = f"{scanner.rescale_slope:g}"
        ds.RescaleType = "US"
    ds.WindowCenter = "600"
    ds.WindowWidth = "1200"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return ds
