#!/usr/bin/env bash
# The SEV-SNP and Hygon CSV simulators end to end: cci-run sim init -> cci-run attest --tee sim-snp ->
# cci-verify report --trust-sim-root accepts (SIMULATED in text and JSON), and rejects the same
# evidence without the flag; debug, wrong measurement, low TCB, a flipped byte and bad keys.
source "$(dirname "$0")/lib.sh"
SIM="$WORK/sim"
MEAS=$(printf 'ab%.0s' $(seq 48))
NONCE=00112233445566778899aabbccddeeff

expect 0 "sim init" -- "$RUN" sim init "$SIM" --vendor amd
check "private keys are 0600" -- test "$(stat -c %a "$SIM/amd/vcek.key") $(stat -c %a "$SIM/amd/ark.key")" = "600 600"
expect 3 "sim init refuses to overwrite" -- "$RUN" sim init "$SIM" --vendor amd
expect 0 "attest --tee sim-snp" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce "$NONCE" --measurement "$MEAS" --out "$WORK/e.json"
contains "$WORK/err" "SIMULATED SEV-SNP" "attest warns that it is simulated"
expect 0 "verifier accepts with --trust-sim-root" -- "$VERIFY" report "$WORK/e.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MEAS"
contains "$WORK/out" "verified SIMULATED:" "verdict says SIMULATED"
contains "$WORK/out" "PASS  policy.measurement" "measurement finding passes"
contains "$WORK/out" "PASS  policy.report_data" "report_data finding passes"
contains "$WORK/out" "PASS  snp.crl" "the simulated CRL is checked"
expect 0 "show reads the evidence file cci-run attest writes" -- "$VERIFY" show "$WORK/e.json"
contains "$WORK/out" "format: cci.evidence.v1 (raw)" "show names the evidence format"
contains "$WORK/out" "family: 0x19" "show prints CPUID in hex"
expect 0 "show reads standard input" -- bash -c "'$VERIFY' show - < '$WORK/e.json'"
expect 0 "json says simulated" -- "$VERIFY" report "$WORK/e.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MEAS" --json
check "json simulated true" -- jq -e '.simulated == true and .report.simulated == true and .result == "pass"' "$WORK/out"
expect 1 "without the flag the simulated chain is rejected" -- "$VERIFY" report "$WORK/e.json" --offline --nonce "$NONCE" --measurement "$MEAS"
contains "$WORK/out" "FAIL  snp.ark_pinned" "pinned-root check fails"
contains "$WORK/out" "The given chain is SIMULATED" "the message says simulated"

"$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce "$NONCE" --measurement "$MEAS" --out - >"$WORK/e-stdout.json" 2>"$WORK/err"
check "attest --out -: the evidence on standard output" -- jq -e .tee "$WORK/e-stdout.json"
expect 2 "attest --out - --json is a usage error" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce "$NONCE" --measurement "$MEAS" --out - --json
expect 0 "attest a debug-enabled guest" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce "$NONCE" --measurement "$MEAS" --debug --out "$WORK/debug.json"
expect 1 "debug guest rejected" -- "$VERIFY" report "$WORK/debug.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MEAS"
contains "$WORK/out" "FAIL  policy.debug" "debug finding named"
expect 1 "wrong measurement rejected" -- "$VERIFY" report "$WORK/e.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "${MEAS%??}00"
contains "$WORK/out" "FAIL  policy.measurement" "measurement finding named"
printf 'min_tcb: {snp: 25}\n' > "$WORK/tcb.yaml"
expect 1 "TCB below the policy rejected" -- "$VERIFY" report "$WORK/e.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MEAS" --policy "$WORK/tcb.yaml"
contains "$WORK/out" "FAIL  policy.min_tcb" "TCB finding named"
jq -r .report "$WORK/e.json" | base64 -d > "$WORK/r.bin"
flip_byte "$WORK/r.bin" $((0x50))
jq --arg r "$(base64 -w0 "$WORK/r.bin")" '.report = $r' "$WORK/e.json" > "$WORK/flip.json"
expect 1 "one flipped byte rejected" -- "$VERIFY" report "$WORK/flip.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MEAS"
contains "$WORK/out" "FAIL  snp.report_signature" "signature check named"

expect 2 "report data longer than 64 bytes" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --report-data "$(printf '00%.0s' $(seq 65))" --out "$WORK/x.json"
expect 2 "report data shorter than 64 bytes" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --report-data 00 --out "$WORK/x.json"
chmod 644 "$SIM/amd/vcek.key"
expect 3 "world-readable simulator key refused" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce 00 --out "$WORK/x.json"
contains "$WORK/err" "mode 644" "mode named"
chmod 600 "$SIM/amd/vcek.key"
mv "$SIM/amd/vcek.key" "$WORK/vcek.key.bak"
expect 3 "missing simulator key" -- "$RUN" attest --tee sim-snp --sim-dir "$SIM" --nonce 00 --out "$WORK/x.json"
check "no evidence file left behind" -- test ! -e "$WORK/x.json"
NOTEE=(--tsm-root "$WORK/no-tsm" --sev-guest "$WORK/no-sev-guest" --csv-guest "$WORK/no-csv-guest")
expect 3 "no TEE here: the error lists what was tried" -- "$RUN" attest --nonce 00 --out "$WORK/x.json" "${NOTEE[@]}"
contains "$WORK/err" "tried configfs-tsm ($WORK/no-tsm: absent); $WORK/no-sev-guest (absent); $WORK/no-csv-guest (absent)" "sources tried are named, in order"
contains "$WORK/err" "--tee sim-snp|sim-csv" "the simulator is offered by name"
expect 3 "a sev-guest device that fails the ioctl" -- "$RUN" attest --nonce 00 --out "$WORK/x.json" --tsm-root "$WORK/no-tsm" --sev-guest /dev/null
contains "$WORK/err" "SNP_GET_EXT_REPORT on /dev/null failed: Inappropriate ioctl for device" "the device's error code is reported"
expect 3 "a csv-guest device that fails the ioctl" -- "$RUN" attest --tee csv --nonce 00 --out "$WORK/x.json" --csv-guest /dev/null
contains "$WORK/err" "CSV_CMD_GET_REPORT on /dev/null failed" "the device's error code is reported"
check "no evidence file left behind by failing devices" -- test ! -e "$WORK/x.json"
GMEAS=$(printf '5a%.0s' $(seq 48)); HOSTDATA=$(printf '1c%.0s' $(seq 32))
expect 0 "sim init with chip ID, firmware and the guest from flags" -- "$RUN" sim init "$WORK/sim2" --vendor amd --product Genoa --firmware 1.58.3 --chip-id "$(printf 'ab%.0s' $(seq 64))" --snp-spl 30 \
  --measurement "$GMEAS" --host-data "$HOSTDATA" --guest-policy 0x30000
contains "$WORK/sim2/amd/platform.json" '"minor": 58' "firmware minor recorded"
contains "$WORK/sim2/amd/platform.json" "abababab" "chip ID recorded"
contains "$WORK/sim2/amd/platform.json" "$GMEAS" "the guest's measurement recorded"
expect 0 "attest on that platform" -- "$RUN" attest --tee sim-snp --sim-dir "$WORK/sim2" --nonce "$NONCE" --out "$WORK/g.json"
expect 0 "its report carries the flags' values" -- "$VERIFY" report "$WORK/g.json" --offline --trust-sim-root "$WORK/sim2" --nonce "$NONCE" --measurement "$GMEAS" --json
contains "$WORK/out" '"current_firmware": "1.58.3"' "CURRENT firmware version from --firmware"
contains "$WORK/out" "abababab" "CHIP_ID from --chip-id"
contains "$WORK/out" "\"host_data\": \"$HOSTDATA\"" "HOST_DATA from --host-data"
expect 1 "the platform's guest is not any other measurement" -- "$VERIFY" report "$WORK/g.json" --offline --trust-sim-root "$WORK/sim2" --nonce "$NONCE" --measurement "${GMEAS%??}00"
expect 1 "no expected measurement: rejected, naming what to give" -- "$VERIFY" report "$WORK/g.json" --offline --trust-sim-root "$WORK/sim2" --nonce "$NONCE"
contains "$WORK/out" "FAIL  policy.measurement: no expected measurement" "the missing expectation is the failed check"
expect 0 "sim init with a debug guest policy" -- "$RUN" sim init "$WORK/sim4" --vendor amd --guest-policy 0xb0000
"$RUN" attest --tee sim-snp --sim-dir "$WORK/sim4" --nonce "$NONCE" --out "$WORK/d.json" >/dev/null 2>&1
expect 1 "... whose reports the default policy refuses" -- "$VERIFY" report "$WORK/d.json" --offline --trust-sim-root "$WORK/sim4" --nonce "$NONCE" --insecure-any-measurement
contains "$WORK/out" "FAIL  policy.debug" "the debug finding is named"
expect 2 "a malformed --measurement" -- "$RUN" sim init "$WORK/sim5" --measurement abc
expect 2 "a malformed --guest-policy" -- "$RUN" sim init "$WORK/sim5" --guest-policy -1
expect 2 "a malformed --firmware" -- "$RUN" sim init "$WORK/sim3" --firmware 1.x
expect 2 "a Turin chip ID longer than 8 bytes" -- "$RUN" sim init "$WORK/sim3" --product Turin --chip-id "$(printf 'ab%.0s' $(seq 64))"
# --- Hygon CSV --------------------------------------------------------------------------------
export CCI_HYGON_KDS_URL=http://127.0.0.1:9
CMEAS=$(printf 'cd%.0s' $(seq 32))
expect 0 "sim init --vendor hygon (same DIR)" -- "$RUN" sim init "$SIM" --vendor hygon --chip-id SIMCHIP42
check "CSV private keys are 0600" -- test "$(stat -c %a "$SIM/hygon/pek.key")" = 600
for ver in 1 2; do
  expect 0 "attest --tee sim-csv V$ver" -- "$RUN" attest --tee sim-csv --sim-dir "$SIM" --nonce "$NONCE" --measurement "$CMEAS" --report-version $ver --out "$WORK/c$ver.json"
  expect 0 "CSV V$ver accepted with --trust-sim-root" -- "$VERIFY" report "$WORK/c$ver.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$CMEAS"
  contains "$WORK/out" "verified SIMULATED:" "CSV V$ver verdict says SIMULATED"
  contains "$WORK/out" "PASS  csv.chip_binding" "CSV V$ver chip binding through the simulator's store"
  expect 1 "CSV V$ver rejected without the flag" -- "$VERIFY" report "$WORK/c$ver.json" --offline --nonce "$NONCE" --measurement "$CMEAS"
  contains "$WORK/out" "It is a SIMULATED root" "CSV V$ver: the message says simulated"
done
contains "$WORK/out" "chip SIMCHIP42" "the chip ID given to sim init is reported"
expect 0 "CSV debug-enabled guest" -- "$RUN" attest --tee sim-csv --sim-dir "$SIM" --nonce "$NONCE" --measurement "$CMEAS" --debug --out "$WORK/cd.json"
expect 1 "CSV debug guest rejected" -- "$VERIFY" report "$WORK/cd.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$CMEAS"
contains "$WORK/out" "FAIL  policy.debug" "CSV debug finding named"
expect 1 "CSV wrong measurement" -- "$VERIFY" report "$WORK/c1.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "${CMEAS%??}00"
contains "$WORK/out" "FAIL  policy.measurement" "CSV measurement finding named"
jq -r .report "$WORK/c2.json" | base64 -d > "$WORK/c2.bin"
flip_byte "$WORK/c2.bin" $((0x40))
jq --arg r "$(base64 -w0 "$WORK/c2.bin")" '.report = $r' "$WORK/c2.json" > "$WORK/c2flip.json"
expect 1 "CSV V2 with one flipped byte" -- "$VERIFY" report "$WORK/c2flip.json" --offline --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$CMEAS"
contains "$WORK/out" "FAIL  csv.report_signature" "CSV signature check named"
expect 3 "--trust-sim-root without a CSV platform" -- "$VERIFY" report "$WORK/c1.json" --offline --trust-sim-root "$WORK" --nonce "$NONCE" --measurement "$CMEAS"

for c in "sim init" attest; do
  expect 0 "cci-run $c --help" -- "$RUN" $c --help
  contains "$WORK/out" "Example" "cci-run $c --help has examples"
done
finish
