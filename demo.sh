#!/usr/bin/env bash
# The end-to-end demo: installs what is missing, starts the test servers (Orthanc + DICOMweb, FHIR, PostgreSQL) on
# loopback, seeds the fifteen demo patients (twelve screening, three on study), starts the CdsRisk service with JWT auth for a demo client key, plays the
# EHR for every patient and keeps the service running until Ctrl-C. Everything it started stops when it exits.
#   DEMO_NO_WAIT=1          stop after playing (for scripted runs)
#   DEMO_ONLY=a,b           play only these scenarios
#   CDSRISK_PHANTOM_GENERATOR=PATH   another phantom generator (default models/phantoms/generate.py)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
work=.cdsrisk/demo
state="$work/testenv"

stop_all() {
  trap - EXIT INT TERM
  [ -n "${cli_pid:-}" ] && kill "$cli_pid" 2>/dev/null && wait "$cli_pid" 2>/dev/null
  ./scripts/testenv/testenv.sh stop --state-dir "$state" >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM

step() { printf '\n== %s\n' "$*"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }

step "setup: installing what is missing"
t=$(now); SETUP_SKIP_RESTORE=1 ./scripts/setup.sh; echo "   setup took $(secs "$t" "$(now)") s"

step "test servers: Orthanc + DICOMweb, FHIR, PostgreSQL on loopback"
rm -rf "$work/phantoms" "$work"/cdsrisk.db*
mkdir -p "$work"
t=$(now)
./scripts/testenv/testenv.sh start --state-dir "$state" --owner-pid $$ >/dev/null
echo "   started in $(secs "$t" "$(now)") s"
# shellcheck disable=SC1091
. "$state/env.sh"
echo "   FHIR      $CDSRISK_FHIR_BASE_URL"
echo "   DICOMweb  $CDSRISK_DICOMWEB_BASE_URL"

step "seeding the demo patients (phantom MRI studies + FHIR records)"
t=$(now)
seed_args=(--env "$state/env.json" --out "$work/phantoms")
[ -n "${CDSRISK_PHANTOM_GENERATOR:-}" ] && seed_args+=(--generator "$CDSRISK_PHANTOM_GENERATOR")
[ -n "${DEMO_ONLY:-}" ] && seed_args+=(--scenarios "$DEMO_ONLY")
manifest=$(/usr/bin/python3 scripts/testenv/seed.py "${seed_args[@]}") || {
  echo "demo: seeding failed (see the messages above)" >&2; exit 1; }
echo "   seeded in $(secs "$t" "$(now)") s; manifest: $manifest"

step "building the demo client"
if ! dotnet build src/CdsRisk.Cli -c Release -nologo > "$work/cli-build.log" 2>&1; then
  grep -E "error" "$work/cli-build.log" | sort -u | tail -20 >&2
  echo "demo: building the demo client failed; see $work/cli-build.log" >&2; exit 1
fi

step "starting the service and playing the EHR"
demo_args=(demo --env "$state/env.json" --manifest "$manifest" --work "$work" --api-project src/CdsRisk.Api)
[ -n "${DEMO_NO_WAIT:-}" ] && demo_args+=(--no-wait)
[ -n "${DEMO_ONLY:-}" ] && demo_args+=(--only "$DEMO_ONLY")
# Run in the background and wait, so that Ctrl-C reaches this shell's trap as well as the client.
pdeath=(); command -v setpriv >/dev/null && pdeath=(setpriv --pdeathsig TERM)
"${pdeath[@]}" dotnet run --project src/CdsRisk.Cli -c Release --no-build -- "${demo_args[@]}" &
cli_pid=$!
set +e
wait "$cli_pid"
status=$?
set -e
cli_pid=""
exit "$status"
