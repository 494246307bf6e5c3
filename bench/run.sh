#!/usr/bin/env bash
# Runs every benchmark and prints the numbers (nothing asserts a time). Starts the test servers and seeds the one patient the
# hook benchmark needs; stops them on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
dotnet build bench/CdsRisk.Bench -c Release --nologo -v quiet
state=$(mktemp -d)
trap '/usr/bin/python3 scripts/testenv/testenv.py stop --state-dir "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
/usr/bin/python3 scripts/testenv/testenv.py start --state-dir "$state" --owner-pid $$ --json >/dev/null
manifest=$(/usr/bin/python3 scripts/testenv/seed.py --env "$state/env.json" --out "$state/seed" --scenarios eligible-high-risk)
patient=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['patients'][0]['patientId'])" "$manifest")
dotnet bench/CdsRisk.Bench/bin/Release/net10.0/CdsRisk.Bench.dll "${1:-all}" --env "$state/env.json" --patient "$patient" "${@:2}"
