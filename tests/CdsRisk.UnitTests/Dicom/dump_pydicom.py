#!/usr/bin/python3
"""Dumps pydicom's reading of every file under TestData/pydicom to pydicom-reading.json.

The C# tests (PydicomConformanceTests) compare our reader with this fixture.
Regenerate (Debian python3-pydicom 2.3 and python3-numpy):
    /usr/bin/python3 tests/CdsRisk.UnitTests/Dicom/dump_pydicom.py
"""
import base64
import hashlib
import json
import os
import sys

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "TestData", "pydicom")
OUT = os.path.join(DATA, "pydicom-reading.json")

STRING_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UI", "UR", "UT", "PN"}
INT_VRS = {"US", "SS", "UL", "SL", "SV", "UV"}
FLOAT_VRS = {"FL", "FD"}
NUMBER_STRING_VRS = {"IS", "DS"}
BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or SS or OW", "US or OW"}


def as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return list(value)
    return [value]


def dump_value(elem):
    vr = elem.VR
    if vr in STRING_VRS:
        if vr in ("LT", "ST", "UT", "UR"):
            return [str(elem.value)] if elem.value not in (None, "") else []
        return [str(v) for v in as_list(elem.value)]
    if vr in INT_VRS or vr == "AT":
        return [int(v) for v in as_list(elem.value)]
    if vr in FLOAT_VRS:
        return [float(v) for v in as_list(elem.value)]
    if vr in NUMBER_STRING_VRS:
        return [None if v is None or v == "" else float(v) for v in as_list(elem.value)]
    return None


def dump_dataset(ds, depth=0):
    out = []
    for tag in sorted(ds.keys()):
        raw = ds.get_item(tag)
        tag_hex = "%08X" % int(tag)
        entry = {"tag": tag_hex}
        # Private or pixel data: compare the raw length only (pydicom guesses private VRs from its private dictionary).
        if tag.is_private and isinstance(raw, RawDataElement) and raw.VR != "SQ":
            entry["length"] = len(raw.value) if raw.value is not None else 0
            out.append(entry)
            continue
        elem = ds[tag]
        entry["vr"] = elem.VR
        if elem.VR == "SQ":
            entry["items"] = [dump_dataset(item, depth + 1) for item in elem.value]
        elif elem.VR in BINARY_VRS or tag == 0x7FE00010:
            value = elem.value if isinstance(elem.value, (bytes, bytearray)) else b""
            entry["length"] = len(value)
            entry["sha256"] = hashlib.sha256(value).hexdigest()
        else:
            entry["values"] = dump_value(elem)
        out.append(entry)
    return out


def pixels(ds):
    if "PixelData" not in ds:
        return None
    try:
        arr = ds.pixel_array
    except Exception as exc:  # noqa: BLE001 - reported in the fixture
        return {"error": type(exc).__name__}
    flat = arr.reshape(-1).astype("float64")
    return {
        "shape": list(arr.shape),
        "sum": float(flat.sum()),
        "min": float(flat.min()),
        "max": float(flat.max()),
        "first": [float(v) for v in flat[:16]],
        "last": [float(v) for v in flat[-16:]],
    }


def main():
    files = []
    for root, _, names in os.walk(DATA):
        for name in names:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, DATA).replace(os.sep, "/")
            if rel in ("pydicom-reading.json", "LICENSE-pydicom.txt"):
                continue
            files.append(rel)
    result = {}
    for rel in sorted(files):
        path = os.path.join(DATA, rel)
        entry = {}
        try:
            try:
                ds = pydicom.dcmread(path)
                entry["preamble"] = True
            except pydicom.errors.InvalidDicomError:
                ds = pydicom.dcmread(path, force=True)
                entry["preamble"] = False
            ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
            entry["transferSyntax"] = str(ts) if ts else None
            entry["implicit"] = bool(ds.is_implicit_VR)
            entry["littleEndian"] = bool(ds.is_little_endian)
            entry["meta"] = dump_dataset(ds.file_meta) if hasattr(ds, "file_meta") else []
            entry["elements"] = dump_dataset(ds)
            entry["pixels"] = pixels(ds)
            entry["read"] = True
        except Exception as exc:  # noqa: BLE001 - reported in the fixture
            entry = {"read": False, "error": "%s: %s" % (type(exc).__name__, str(exc)[:200])}
        result[rel] = entry
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"pydicom": pydicom.__version__, "files": result}, f, indent=1, sort_keys=True)
    print("wrote %s (%d files)" % (OUT, len(result)))


if __name__ == "__main__":
    sys.exit(main())
