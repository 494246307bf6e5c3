#!/usr/bin/env python3
"""Generates every scenario for a few seeds and checks that the trained model puts the high-risk phantoms at
PRE >= 0.5 and the low-risk ones below it (the scenarios' contract with the service's tests).

  /usr/bin/python3 models/verify_scenarios.py [--seeds 1 2 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "phantoms"))

import generate  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--out", type=Path, default=HERE / "work" / "scenarios")
    a = ap.parse_args(argv)
    today = dt.date(2026, 11, 27)
    failures, rows = [], []
    for scenario in generate.SCENARIOS:
        for seed in a.seeds:
            e = generate.generate(a.out / f"{scenario}-{seed}", seed, scenario, None, today, None)
            pre = e["referencePre"]
            low = scenario == "low-risk"
            if scenario == "needs-data-mri-no-delayed":
                ok = pre is None
            else:
                ok = pre is not None and ((pre < 0.5) if low else (pre >= 0.5))
            rows.append({"scenario": scenario, "seed": seed, "referencePre": pre, "groundTruthRisk": e["groundTruthRisk"], "ok": ok})
            if not ok:
                failures.append(rows[-1])
            print(json.dumps(rows[-1]), flush=True)
    pres = [r["referencePre"] for r in rows if r["referencePre"] is not None]
    print(f"{len(rows)} phantoms, {len(failures)} failures; PRE range {min(pres):.3f}..{max(pres):.3f}")
    high = [r["referencePre"] for r in rows if r["referencePre"] is not None and r["scenario"] != "low-risk"]
    low = [r["referencePre"] for r in rows if r["scenario"] == "low-risk"]
    card_path = HERE / "pre-reference" / "model-card.json"
    card = json.loads(card_path.read_text())
    card["scenarioCheck"] = {"seeds": a.seeds, "phantoms": len(rows), "failures": len(failures),
                             "highRiskPreRange": [round(min(high), 4), round(max(high), 4)],
                             "lowRiskPreRange": [round(min(low), 4), round(max(low), 4)]}
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
