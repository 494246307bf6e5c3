#!/usr/bin/python3
"""An independent reference for docs/contracts.md §2, written with pydicom + numpy (not the C# code).

Writes a small oblique, signed, rescaled 4-phase MR study with its slices stored in shuffled order to
TestData/imaging-reference/*.dcm, and the expected [4, 32, 64, 64] tensor (sampled voxels and per-phase sums) to
TestData/imaging-reference/expected.json. Regenerate:
    /usr/bin/python3 tests/CdsRisk.UnitTests/Imaging/make_tensor_reference.py
"""
import json
import os
import random

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "TestData", "imaging-reference")
ROWS, COLS, SLICES = 40, 48, 20
GRID = (32, 64, 64)
STUDY = "1.2.826.0.1.3680043.10.1437.777"
DESCRIPTIONS = ["AX T1 PRE", "AX T1 ARTERIAL", "AX T1 PORTAL VENOUS", "AX T1 DELAYED"]

# An oblique orientation: rows along (cos a, sin a, 0), columns along (0, cos b, sin b) made orthogonal.
a, b = 0.3, 0.2
row = np.array([np.cos(a), np.sin(a), 0.0])
col = np.array([0.0, np.cos(b), np.sin(b)])
col = col - row * np.dot(row, col)
col /= np.linalg.norm(col)
normal = np.cross(row, col)


def resample_axis(v, axis, n_out):
    n_in = v.shape[axis]
    src = np.clip((np.arange(n_out, dtype=np.float64) + 0.5) * n_in / n_out - 0.5, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = (src - lo).reshape([n_out if i == axis else 1 for i in range(v.ndim)])
    return np.take(v, lo, axis=axis) * (1.0 - w) + np.take(v, hi, axis=axis) * w


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    rng = np.random.default_rng(42)
    expected = {"phases": []}
    tensor = np.zeros((4,) + GRID)
    for phase in range(4):
        series = "%s.%d" % (STUDY, phase + 1)
        volume = np.zeros((SLICES, ROWS, COLS))
        order = list(range(SLICES))
        random.Random(phase).shuffle(order)
        for k in order:
            z = np.linspace(-1, 1, SLICES)[k]
            yy, xx = np.mgrid[-1:1:ROWS * 1j, -1:1:COLS * 1j]
            values = 300 * np.exp(-((xx - 0.2 * phase) ** 2 + yy ** 2 + z ** 2) * 2) + 100 * yy + rng.normal(0, 5, (ROWS, COLS))
            slope, intercept = 0.5 + 0.25 * (k % 3), -50.0 * phase
            stored = np.round((values - intercept) / slope).astype(np.int16)
            volume[k] = stored.astype(np.float64) * slope + intercept
            position = np.array([-100.0, -80.0, 20.0]) + normal * (k * 3.0)
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            sop = "%s.%d" % (series, k + 1)
            ds.file_meta.MediaStorageSOPInstanceUID = sop
            ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            ds.SOPInstanceUID = sop
            ds.StudyInstanceUID = STUDY
            ds.SeriesInstanceUID = series
            ds.SeriesNumber = phase + 1
            ds.InstanceNumber = order.index(k) + 1
            ds.Modality = "MR"
            ds.StudyDate = "20261120"
            ds.SeriesDescription = DESCRIPTIONS[phase]
            ds.ImagePositionPatient = [round(float(v), 4) for v in position]
            ds.ImageOrientationPatient = [round(float(v), 6) for v in list(row) + list(col)]
            ds.PixelSpacing = [4.0, 4.0]
            ds.Rows, ds.Columns = ROWS, COLS
            ds.SamplesPerPixel = 1
            ds.PhotometricInterpretation = "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
            ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
            ds.PixelData = stored.tobytes()
            ds.is_little_endian, ds.is_implicit_VR = True, False
            ds.save_as(os.path.join(OUT, "p%d_s%02d.dcm" % (phase, order.index(k))), write_like_original=False)
        # Positions were rounded to 4 decimals; the slice order along the normal is k.
        v = resample_axis(resample_axis(resample_axis(volume, 2, GRID[2]), 1, GRID[1]), 0, GRID[0])
        mean, std = v.mean(), v.std()
        tensor[phase] = np.clip((v - mean) / max(std, 1e-6), -5, 5)
    flat = tensor.reshape(-1)
    expected["sampleStride"] = 97
    expected["samples"] = [float(x) for x in flat[::97]]
    expected["phaseSums"] = [float(tensor[p].sum()) for p in range(4)]
    expected["phaseAbsSums"] = [float(np.abs(tensor[p]).sum()) for p in range(4)]
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
