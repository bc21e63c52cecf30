#!/usr/bin/env bash
# A directory of 100 000 small files: listed, sorted, hashed, signed and verified.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/many"
python3 - "$WORK/many" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    os.mkdir(os.path.join(root, "d%03d" % d))
    for f in range(1000):
        with open(os.path.join(root, "d%03d" % d, "f%04d.txt" % f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
PY
expect 0 "keygen" -- "$MEASURE" keygen --private-key "$WORK/k.key"
expect 0 "sign 100 000 files" -- "$MEASURE" model "$WORK/many" --key "$WORK/k.key" -o "$WORK/many.sig" --json
contains "$WORK/out" '"files": 100000' "all 100 000 files hashed"
expect 0 "verify 100 000 files" -- "$VERIFY" model "$WORK/many" --signature "$WORK/many.sig" --key "$WORK/k.pub" -q
echo changed > "$WORK/many/d050/f0500.txt"
expect 1 "one changed file among 100 000" -- "$VERIFY" model "$WORK/many" --signature "$WORK/many.sig" --key "$WORK/k.pub"
contains "$WORK/out" "mismatch: d050/f0500.txt" "the changed file is named"
finish
