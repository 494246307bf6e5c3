#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian machine with the .NET SDK. Idempotent and quick when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
for pkg in orthanc orthanc-dicomweb python3-pydicom python3-numpy postgresql; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $(command -v sudo || true) apt-get update -qq
  $(command -v sudo || true) apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
dotnet restore CdsRisk.sln --verbosity quiet
