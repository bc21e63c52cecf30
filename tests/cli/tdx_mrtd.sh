#!/usr/bin/env bash
# cci-measure image --mode tdx: the MRTD of a TDVF image equals a second, separately written
# computation (tdvf_mrtd.py, from the same public specifications) on Debian's OVMF.fd and on a
# synthetic image that has a zero-filled tail, a section that is only added and a PAGE.AUG section;
# the derivation is reported; hostile TDVF metadata is refused naming the field (exit 1); an image
# without TDX metadata cannot be measured (exit 3); --kernel is refused (RTMRs are not computed),
# and so is a deployment description's tdx launch without the RTMR0-3 of a reference boot.
# No independent reference MRTD exists for Debian's OVMF.fd (vectors/tdx/README.md says why).
source "$(dirname "$0")/lib.sh"
ORACLE="$(dirname "$0")/tdvf_mrtd.py"
OVMF=/usr/share/ovmf/OVMF.fd

if [ ! -f "$OVMF" ]; then
  echo "FAIL $OVMF is missing: install Debian's ovmf package (scripts/test does)"
  exit 1
fi
expect 0 "MRTD of Debian's OVMF.fd" -- "$MEASURE" image --mode tdx --ovmf "$OVMF" --json
check "it equals the second computation's" -- test "$(jq -r .measurement "$WORK/out")" = "$(python3 "$ORACLE" mrtd "$OVMF")"
check "SHA-384, platform tdx, not hardware-confirmed" -- test "$(jq -r '"\(.digest_alg) \(.platform) \(.hardware_confirmed)"' "$WORK/out")" = "sha384 tdx false"
check "the derivation names the six TDVF sections and the count of buffers" -- \
  bash -c "jq -r .derivation '$WORK/out' | grep -q '538 TDH.MEM.PAGE.ADD and 7680 TDH.MR.EXTEND' && jq -r .derivation '$WORK/out' | grep -q 'BFV 0xffe20000+0x1e0000 (added, extended), CFV 0xffe00000+0x20000 (added)'"
check "a warning says no independent reference value was available" -- bash -c "jq -r '.warnings[]' '$WORK/out' | grep -q 'no independent reference value'"
expect 0 "plain output is the MRTD alone" -- "$MEASURE" image --mode tdx --ovmf "$OVMF"
check "... 96 hex digits" -- grep -Eqx '[0-9a-f]{96}' "$WORK/out"

python3 "$ORACLE" make "$WORK/tdvf.fd"
expect 0 "MRTD of a synthetic TDVF image" -- "$MEASURE" image --mode tdx --ovmf "$WORK/tdvf.fd" --json
check "it equals the second computation's (zero-filled tail, added-only and PAGE.AUG sections)" -- \
  test "$(jq -r .measurement "$WORK/out")" = "$(python3 "$ORACLE" mrtd "$WORK/tdvf.fd")"
contains "$WORK/out" "PAGE.AUG, not added" "the PAGE.AUG section is named as not added"
# One byte of the extended section changes MRTD; one byte outside every section does not.
python3 - "$WORK/tdvf.fd" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[0x5FFF] ^= 1
open(sys.argv[1] + ".bfv", "wb").write(b)
b[0x5FFF] ^= 1
b[0xA000] ^= 1
open(sys.argv[1] + ".gap", "wb").write(b)
PY
base="$(jq -r .measurement "$WORK/out")"
check "a byte flipped in the extended firmware volume changes MRTD" -- \
  test "$("$MEASURE" image --mode tdx --ovmf "$WORK/tdvf.fd.bfv" 2>/dev/null)" != "$base"
check "a byte flipped outside every section does not" -- test "$("$MEASURE" image --mode tdx --ovmf "$WORK/tdvf.fd.gap" 2>/dev/null)" = "$base"

for v in "signature:TDVF descriptor signature" "version:TDVF descriptor version" "length:TDVF descriptor length" \
  "outside:TDVF section DataOffset" "overlap:TDVF section MemoryAddress" "unaligned:TDVF section MemoryAddress" \
  "attributes:TDVF section Attributes" "raw-larger:TDVF section RawDataSize" "huge:TDVF section MemoryDataSize"; do
  python3 "$ORACLE" make "$WORK/bad.fd" "${v%%:*}"
  expect 1 "hostile TDVF metadata (${v%%:*}) is refused" -- "$MEASURE" image --mode tdx --ovmf "$WORK/bad.fd" --json
  check "... naming ${v#*:}" -- test "$(jq -r .field "$WORK/out")" = "${v#*:}"
done
python3 "$ORACLE" make "$WORK/bad.fd" no-tdx
expect 3 "an image without TDX metadata cannot be measured for TDX" -- "$MEASURE" image --mode tdx --ovmf "$WORK/bad.fd"
contains "$WORK/err" "not a TDVF image" "... saying so"
expect 3 "--kernel with --mode tdx: RTMRs are not computed" -- "$MEASURE" image --mode tdx --ovmf "$OVMF" --kernel "$OVMF"
contains "$WORK/err" "RTMR1 and RTMR2" "... saying which registers"
# A deployment manifest has no TDX section yet: mode tdx there is refused, not silently dropped.
EX="$CCI_SOURCE_DIR/examples"
sed -e "s|path: tiny-model|path: $EX/tiny-model|" -e "s|launch/|$EX/launch/|g" -e "s|mode: csv|mode: tdx|" "$EX/cci.yaml" >"$WORK/tdx.yaml"
"$MEASURE" keygen --private-key "$WORK/rel.key" >/dev/null 2>&1
expect 3 "a deployment description with mode tdx but no RTMR0-3" -- "$MEASURE" manifest build "$WORK/tdx.yaml" --key "$WORK/rel.key" -o "$WORK/m.json"
contains "$WORK/err" "a tdx launch needs rtmrs" "... says RTMR0-3 are needed (MRTD binds only the firmware; cli/tdx_sim builds one with them)"
check "... and writes no manifest" -- test ! -e "$WORK/m.json"
finish
