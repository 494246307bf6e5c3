"""The PRE model's image preprocessing, exactly as docs/contracts.md §2 states it.

This one implementation is used for training, for evaluation and for the referencePre that the C#
side must reproduce, so that the three cannot drift apart.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

GRID = (32, 64, 64)
CLIP = 5.0
STD_FLOOR = 1e-6


def _resample_axis(v: np.ndarray, axis: int, n_out: int) -> np.ndarray:
    """Linear interpolation along one axis, align_corners=False: output k reads input
    (k + 0.5) * n_in / n_out - 0.5, clamped to [0, n_in - 1]."""
    n_in = v.shape[axis]
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * n_in / n_out - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = src - lo
    shape = [1] * v.ndim
    shape[axis] = n_out
    w = w.reshape(shape)
    return np.take(v, lo, axis=axis) * (1.0 - w) + np.take(v, hi, axis=axis) * w


def resample(volume: np.ndarray, grid=GRID) -> np.ndarray:
    """Trilinear (separable) resampling in index space of a [D, H, W] volume onto `grid`."""
    v = volume.astype(np.float64, copy=False)
    v = _resample_axis(v, 2, grid[2])
    v = _resample_axis(v, 1, grid[1])
    v = _resample_axis(v, 0, grid[0])
    return v


def normalise(v: np.ndarray) -> np.ndarray:
    """Per phase: (v - mean) / max(std, 1e-6) over the resampled phase (population std), clipped to [-5, 5]."""
    mean = v.mean()
    std = v.std()
    return np.clip((v - mean) / max(std, STD_FLOOR), -CLIP, CLIP)


def preprocess_phases(phases: list[np.ndarray]) -> np.ndarray:
    """Four [D, H, W] volumes of modality values (slices ascending along the normal) -> float32 [4, 32, 64, 64]."""
    if len(phases) != 4:
        raise ValueError(f"need 4 phases, got {len(phases)}")
    return np.stack([normalise(resample(p)) for p in phases]).astype(np.float32)


# --- clinical features -------------------------------------------------------------------------
FEATURES = ("age_years", "sex_male", "afp_ng_ml", "albumin_g_l", "bilirubin_umol_l",
            "platelets_10e9_l", "inr", "tumour_size_cm", "tumour_count")


def transform_feature(name: str, value: float) -> float:
    return math.log10(max(value, 1.0)) if name == "afp_ng_ml" else float(value)


def clinical_vector(values: dict, stats: list[dict]) -> tuple[np.ndarray, list[str]]:
    """values: name -> value in the canonical unit or None. stats: model card clinical.features.
    Returns the standardised float32 [9] vector and the names imputed with the training mean."""
    out = np.zeros(len(FEATURES), dtype=np.float32)
    imputed = []
    for i, (name, st) in enumerate(zip(FEATURES, stats)):
        assert st["name"] == name
        v = values.get(name)
        if v is None:
            imputed.append(name)
            out[i] = 0.0
        else:
            out[i] = (transform_feature(name, v) - st["mean"]) / st["std"]
    return out, imputed


# --- reading phases back from DICOM (for referencePre and the parity fixture) ------------------
def read_dicom_phases(folder: Path) -> list[np.ndarray]:
    """Reads the generator's own DICOM output: groups by series and temporal position, orders the
    groups by acquisition time, sorts slices by the projection of ImagePositionPatient on the normal,
    and applies RescaleSlope/Intercept. Returns the volumes in time order."""
    import pydicom

    groups: dict[tuple, list] = {}
    for f in sorted(Path(folder).glob("*.dcm")):
        ds = pydicom.dcmread(str(f))
        key = (ds.SeriesInstanceUID, int(getattr(ds, "TemporalPositionIdentifier", 1) or 1))
        groups.setdefault(key, []).append(ds)
    vols = []
    for key, items in groups.items():
        row = np.array([float(a) for a in items[0].ImageOrientationPatient[:3]])
        col = np.array([float(a) for a in items[0].ImageOrientationPatient[3:]])
        normal = np.cross(row, col)
        items.sort(key=lambda d: float(np.dot(normal, [float(a) for a in d.ImagePositionPatient])))
        slope = float(getattr(items[0], "RescaleSlope", 1) or 1)
        intercept = float(getattr(items[0], "RescaleIntercept", 0) or 0)
        vol = np.stack([d.pixel_array.astype(np.float64) for d in items]) * slope + intercept
        vols.append((str(items[0].AcquisitionTime), vol))
    vols.sort(key=lambda kv: kv[0])
    return [v for _, v in vols]
