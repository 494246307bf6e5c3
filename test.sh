#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs unit then integration tests.
# The integration tests start their own Orthanc / FHIR / PostgreSQL servers on loopback (scripts/testenv).
set -euo pipefail
cd "$(dirname "$0")"
# Set-up checks what is installed and does nothing more when all is there; the build restores NuGet packages itself.
SETUP_SKIP_RESTORE=1 ./scripts/setup.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Quiet build: every warning and error is printed in full (warnings are errors), nothing else.
dotnet build CdsRisk.sln -c Release -nologo -verbosity:quiet
results=$(mktemp -d)
status=0
# CDSRISK_PRIVATE_NETWORK=1 runs the tests (and so the servers they start) in a network namespace of their own with only
# loopback: Orthanc, which listens on every interface, is then unreachable from outside by construction.
isolate=()
if [ -n "${CDSRISK_PRIVATE_NETWORK:-}" ]; then
  if unshare -n true 2>/dev/null && command -v ip >/dev/null; then
    isolate=(unshare -n sh -c 'ip link set lo up && exec "$@"' isolate)
  else
    echo "test.sh: unshare -n is not available here; running without network isolation" >&2
  fi
fi
for project in tests/CdsRisk.UnitTests tests/CdsRisk.IntegrationTests; do
  "${isolate[@]}" dotnet test "$project" -c Release --no-build --logger "trx;LogFileName=$(basename "$project").trx" \
    --results-directory "$results" || status=1
done
# One closing line in the plain 'N passed, N failed' form, summed over the .trx files.
python3 - "$results" <<'PY'
import sys, glob, re
passed = failed = skipped = 0
for f in glob.glob(sys.argv[1] + "/*.trx"):
    text = open(f, encoding="utf-8").read()
    m = re.search(r'<Counters [^>]*>', text)
    if not m: continue
    attrs = dict(re.findall(r'(\w+)="(\d+)"', m.group(0)))
    passed += int(attrs.get("passed", 0)); failed += int(attrs.get("failed", 0)) + int(attrs.get("error", 0))
    skipped += int(attrs.get("notExecuted", 0))
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
