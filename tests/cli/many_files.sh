#!/usr/bin/env bash
# A directory of 100 000 small files: listed, sorted, hashed, signed and verified. Under ASan
# 20 000 (the same code paths, each file several times slower there); the dev build keeps the scale.
source "$(dirname "$0")/lib.sh"
DIRS=100
[ "$SANITIZED" = 1 ] && DIRS=20
FILES=$((DIRS * 1000))
mkdir -p "$WORK/many"
python3 - "$WORK/many" "$DIRS" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(int(sys.argv[2])):
    os.mkdir(os.path.join(root, "d%03d" % d))
    for f in range(1000):
        with open(os.path.join(root, "d%03d" % d, "f%04d.txt" % f), "w") as fh:
            fh.write("%d/%d\n" % (d, f))
PY
expect 0 "keygen" -- "$MEASURE" keygen --private-key "$WORK/k.key"
expect 0 "sign $FILES files" -- "$MEASURE" model "$WORK/many" --key "$WORK/k.key" -o "$WORK/many.sig" --json
contains "$WORK/out" "\"files\": $FILES" "all $FILES files hashed"
expect 0 "verify $FILES files" -- "$VERIFY" model "$WORK/many" --signature "$WORK/many.sig" --key "$WORK/k.pub" -q
echo changed > "$WORK/many/d010/f0500.txt"
expect 1 "one changed file among $FILES" -- "$VERIFY" model "$WORK/many" --signature "$WORK/many.sig" --key "$WORK/k.pub"
contains "$WORK/out" "mismatch: d010/f0500.txt" "the changed file is named"
finish
