#!/usr/bin/env bash
# Runs a command under strace and fails if any of its processes tried to reach a host outside loopback, or made a DNS query.
# Every connect(), sendto(), sendmsg() and sendmmsg() with an IPv4/IPv6 address counts, failed attempts included (a host that
# cannot be reached here would be reached elsewhere). Unix sockets and netlink are local IPC and are not counted.
#
#   scripts/check-no-egress.sh                     the full demo: DEMO_NO_WAIT=1 ./demo.sh (run scripts/setup.sh first)
#   scripts/check-no-egress.sh [--allow HOST:PORT]... [--log FILE] -- COMMAND [ARGS...]
#
# --allow admits a configured endpoint that is not on loopback (an IP literal and port, e.g. 10.0.0.5:8042).
# Exit status: 0 nothing outside; 1 egress found (listed); 2 the command failed; 3 nothing was traced (strace unusable?).
# The integration test NoEgressTests runs it around the service under the demo's configuration.
set -euo pipefail
cd "$(dirname "$0")/.."

allow=()
log=""
while [ $# -gt 0 ]; do
  case "$1" in
    --allow) allow+=("$2"); shift 2 ;;
    --log) log="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "check-no-egress: unknown option $1" >&2; exit 64 ;;
  esac
done
cmd=("$@")
[ ${#cmd[@]} -eq 0 ] && cmd=(env DEMO_NO_WAIT=1 ./demo.sh)

command -v strace >/dev/null || { echo "check-no-egress: strace is not installed (Debian package strace; scripts/setup.sh installs it)" >&2; exit 3; }
if [ -z "$log" ]; then
  log=$(mktemp -t cdsrisk-egress.XXXXXX)
  trap 'rm -f "$log"' EXIT
fi

# -f: every thread and child; --seccomp-bpf: only the traced calls stop the process (the service runs at nearly full speed).
set +e
strace -f --seccomp-bpf -qq -Y -e trace=connect,sendto,sendmsg,sendmmsg -e signal=none -o "$log" -- "${cmd[@]}"
status=$?
set -e

/usr/bin/python3 - "$log" "$status" "${allow[@]}" <<'PY'
import collections, ipaddress, re, sys

log, status, allowed = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
inet = re.compile(r'sa_family=AF_INET, sin_port=htons\((\d+)\), sin_addr=inet_addr\("([0-9.]+)"\)')
inet6 = re.compile(r'sa_family=AF_INET6, sin6_port=htons\((\d+)\),.*?inet_pton\(AF_INET6, "([0-9a-fA-F:.]+)"')
line_re = re.compile(r'^(\d+)(?:<([^>]*)>)?\s+(connect|sendto|sendmsg|sendmmsg)\(')

def local(address):
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified

seen, bad, calls = collections.Counter(), collections.Counter(), 0
with open(log, encoding="utf-8", errors="replace") as f:
    for line in f:
        m = line_re.match(line)
        if not m:
            continue
        calls += 1
        found = inet.search(line) or inet6.search(line)
        if not found:
            continue  # AF_UNIX, AF_NETLINK, AF_UNSPEC, or a send on a connected socket (its connect() was looked at)
        port, address = int(found.group(1)), found.group(2)
        where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
        seen[where] += 1
        if where in allowed or f"{address}:{port}" in allowed:
            continue
        if port == 53:
            bad[(where, m.group(3), m.group(2) or "?", "DNS query")] += 1
        elif not local(address):
            bad[(where, m.group(3), m.group(2) or "?", "outside loopback")] += 1

print(f"check-no-egress: {calls} socket calls traced; destinations:")
for where, n in sorted(seen.items()):
    print(f"  {where:<28} {n}")
if bad:
    print("check-no-egress: FAILED, connections outside the configuration:")
    for (where, call, comm, why), n in sorted(bad.items()):
        print(f"  {why}: {call} to {where} by thread '{comm}' ({n}x)")
    sys.exit(1)
if status != 0:
    print(f"check-no-egress: the command failed (exit {status})")
    sys.exit(2)
if not seen:
    print("check-no-egress: no IP connection was traced at all; strace may not work here")
    sys.exit(3)
print("check-no-egress: OK, nothing outside loopback and no DNS query")
PY
