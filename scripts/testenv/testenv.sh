#!/usr/bin/env bash
# Thin wrapper: see testenv.py for the commands (run, start, stop, env).
# exec keeps the caller as the parent, so `start` watches the calling shell by default.
exec /usr/bin/python3 "$(dirname "$0")/testenv.py" "$@"
