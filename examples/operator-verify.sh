#!/usr/bin/env bash
# Refuse to load a model unless it matches its signature; the exit code says why.
set -uo pipefail
model="$1" sig="$2" pub="$3"
cci-verify model "$model" --signature "$sig" --key "$pub" -q
case $? in
  0) echo "model verified" ;;
  1) echo "REJECTED: the model does not match its signature" >&2; exit 1 ;;
  2) echo "usage error" >&2; exit 2 ;;
  3) echo "cannot evaluate: missing or unreadable input" >&2; exit 3 ;;
  *) echo "internal error" >&2; exit 4 ;;
esac
