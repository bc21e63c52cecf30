#!/usr/bin/env bash
# cci-verify report / show through the command line: every vector of vectors/snp/manifest.json
# gives its expected exit code at its verify_at time (table-driven from the manifest), and the
# output names what failed.
source "$(dirname "$0")/lib.sh"
SNP="$CCI_TEST_VECTORS_DIR/snp"
if [ ! -f "$SNP/manifest.json" ]; then echo "skipped: vectors not found ($SNP)"; exit 77; fi

n=$(jq '.vectors | length' "$SNP/manifest.json")
check "manifest lists vectors" -- test "$n" -ge 17
for i in $(seq 0 $((n - 1))); do
  row() { jq -r ".vectors[$i].$1 // empty" "$SNP/manifest.json"; }
  id=$(row id); want=$(row expect); at=$(row verify_at); at=${at:-2026-06-01T00:00:00Z}
  # The table checks authenticity: the debug-enabled and VLEK vectors are accepted only
  # because the permissions are named (the default policy refuses both, tested below), and
  # any launch measurement only because that is named too (an expected one is required by
  # default, tested below).
  args=(report --offline --insecure-no-crl "$SNP/$(row report)" --vek "$SNP/$(row vek)" --at "$at" --insecure-allow-debug --allow-vlek --insecure-any-measurement)
  for ca in $(jq -r ".vectors[$i].ca[]" "$SNP/manifest.json"); do args+=(--cert-chain "$SNP/$ca"); done
  [ "$(row version)" = 2 ] && args+=(--product "$(row product)")
  if [ "$want" = accept ]; then rc=0; else rc=1; fi
  expect "$rc" "$id ($want)" -- "$VERIFY" "${args[@]}"
done

# --- policy ---------------------------------------------------------------------------
M3=(report --offline --insecure-no-crl "$SNP/milan/tav_milan_v3_report.bin" --vek "$SNP/milan/tav_milan_v3_vcek.pem" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan.pem" --at 2026-06-01)
expect 1 "default policy refuses the debug-enabled guest" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/gsg_milan_v2_report.bin" --vek "$SNP/milan/gsg_milan_v2_vcek.der" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan.pem" --at 2024-06-01 --product Milan
contains "$WORK/out" "FAIL  policy.debug" "debug finding named"
expect 1 "default policy refuses VLEK" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/vlek/trustee_milan_v3_vlek_report.bin" --vek "$SNP/vlek/trustee_milan_v3_vlek.der" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan_vlek.pem" --at 2025-06-01
contains "$WORK/out" "FAIL  policy.vlek" "vlek finding named"
MEAS=5feee30d6d7e1a29f403d70a4198237ddfb13051a2d6976439487c609388ed7f98189887920ab2fa0096903a0c23fca1
expect 0 "expected measurement" -- "$VERIFY" "${M3[@]}" --measurement "$MEAS"
expect 1 "other measurement" -- "$VERIFY" "${M3[@]}" --measurement "${MEAS%??}00"
contains "$WORK/out" "FAIL  policy.measurement" "measurement finding named"
# Secure by default: a genuine report with no expected measurement is not "verified".
expect 1 "no expected measurement: rejected" -- "$VERIFY" "${M3[@]}"
contains "$WORK/out" "FAIL  policy.measurement: no expected measurement" "the missing expectation is named"
contains "$WORK/out" "--insecure-any-measurement" "... with what to give or name"
expect 0 "--insecure-any-measurement accepts any image, visibly" -- "$VERIFY" "${M3[@]}" --insecure-any-measurement
contains "$WORK/out" "SKIP  policy.measurement: no expected measurement: ANY VM image is accepted" "the waived check is listed"
M3+=(--measurement "$MEAS")
expect 0 "nonce (REPORT_DATA all zero)" -- "$VERIFY" "${M3[@]}" --nonce 00
expect 1 "wrong nonce" -- "$VERIFY" "${M3[@]}" --nonce 01 --json
contains "$WORK/out" '"reason": "POLICY_VIOLATION"' "json reason for a policy failure"
printf 'min_tcb: {bootloader: 4, snp: 25}\nplatform_info_required: [0, 5]\nplatform_info_forbidden: [6]\nmin_firmware: "1.55"\n' > "$WORK/p.yaml"
expect 1 "policy file: snp TCB too low" -- "$VERIFY" "${M3[@]}" --policy "$WORK/p.yaml"
contains "$WORK/out" "snp 24 < 25" "TCB component named"
printf 'min_tcb: {bootloader: 4, snp: 24, microcode: 219}\nplatform_info_required: [0, 5]\nmax_vmpl: 0\n' > "$WORK/ok.yaml"
expect 0 "policy file met" -- "$VERIFY" "${M3[@]}" --policy "$WORK/ok.yaml"
printf 'min_tcb: {snp: 24}\nallow_debugg: true\n' > "$WORK/bad.yaml"
expect 3 "policy file with an unknown key" -- "$VERIFY" "${M3[@]}" --policy "$WORK/bad.yaml"
contains "$WORK/err" "bad.yaml:2: policy: unknown key 'allow_debugg'" "unknown policy key with line"
# --- field flags (go-sev-guest style), composed with a policy file ----------------------
HOSTDATA=4f4448c67f3c8dfc8de8a5e37125d807dadcc41f06cf23f615dbd52eec777d10
IDKEY=0ad79ceb0b648b0e6a90d8aa9f6ea24c33a968b6632085353145e8b19a4741a2dab9ba342e13be4fc0d225e889cc1a58
FIELDS=(--host-data "0x$HOSTDATA" --family-id 01000000000000000000000000000000 --image-id 02000000000000000000000000000000
  --id-key-digest "$IDKEY" --min-tcb 0xdb18000000000004 --min-build 29 --min-firmware 1.55 --min-guest-svn 2 --platform-info 0x25 --vmpl 0)
expect 0 "field flags equal to the report's values" -- "$VERIFY" "${M3[@]}" "${FIELDS[@]}"
for c in host_data family_id image_id id_key_digest min_tcb min_build min_firmware guest_svn platform_info vmpl; do
  contains "$WORK/out" "PASS  policy.$c:" "policy.$c checked"
done
contains "$WORK/err" "policy: built-in default + --host-data, --family-id" "the policy source names the flags"
expect 1 "field flags one off" -- "$VERIFY" "${M3[@]}" --host-data "${HOSTDATA%?}1" --min-tcb snp=25 --vmpl 1 --platform-info 0x5 --min-build 30
contains "$WORK/out" "FAIL  policy.host_data: HOST_DATA $HOSTDATA, expected ${HOSTDATA%?}1" "HOST_DATA: actual and expected"
contains "$WORK/out" "FAIL  policy.min_tcb: REPORTED_TCB bl=4 tee=0 snp=24 ucode=219 (snp 24 < 25), expected at least" "TCB: actual and expected"
contains "$WORK/out" "FAIL  policy.vmpl: VMPL 0, expected 1" "VMPL: actual and expected"
contains "$WORK/out" "FAIL  policy.platform_info: PLATFORM_INFO 0x25, expected 0x5" "PLATFORM_INFO: actual and expected"
contains "$WORK/out" "FAIL  policy.min_build: firmware build (CURRENT_BUILD, COMMITTED_BUILD) 29, 29, expected at least 30" "build: actual and expected"
expect 1 "json: actual and expected fields" -- "$VERIFY" "${M3[@]}" --vmpl 1 --json
check "json finding has both sides" -- test "$(jq -c '.policy.findings[] | select(.id == "policy.vmpl") | [.actual, .expected]' "$WORK/out")" = '["0","1"]'
# A flag replaces its key from the file; the file's other keys still apply.
printf 'min_tcb: {snp: 25}\nmax_vmpl: 0\nmin_firmware: "1.56"\n' > "$WORK/compose.yaml"
expect 1 "policy file alone fails (snp 25, firmware 1.56)" -- "$VERIFY" "${M3[@]}" --policy "$WORK/compose.yaml"
expect 1 "--min-tcb over the file's min_tcb; its min_firmware still applies" -- "$VERIFY" "${M3[@]}" --policy "$WORK/compose.yaml" --min-tcb snp=24
contains "$WORK/out" "PASS  policy.min_tcb" "the flag's minimum replaced the file's"
contains "$WORK/out" "FAIL  policy.min_firmware: firmware (CURRENT_MAJOR.MINOR) 1.55, expected at least 1.56" "the file's other key kept"
expect 0 "both replaced" -- "$VERIFY" "${M3[@]}" --policy "$WORK/compose.yaml" --min-tcb snp=24 --min-firmware 1.55
contains "$WORK/err" "policy: policy file $WORK/compose.yaml + --min-tcb, --min-firmware" "the source names file and flags"
expect 2 "--host-data of the wrong length" -- "$VERIFY" "${M3[@]}" --host-data 00
contains "$WORK/err" "--host-data: expected 64 hex digits" "the flag and the form are named"
expect 2 "--min-tcb with an unknown component" -- "$VERIFY" "${M3[@]}" --min-tcb spl=3
contains "$WORK/err" "--min-tcb: 'spl=3'" "the bad component is named"
expect 2 "--vmpl out of range" -- "$VERIFY" "${M3[@]}" --vmpl 4

# Turin sets PLATFORM_INFO bit 6, unknown to older verifiers: never a failure by itself.
expect 0 "Turin with unknown platform-info bit" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/turin/tav_turin_v5_report.bin" --vek "$SNP/turin/tav_turin_v5_vcek.pem" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_turin_vcek.pem" --at 2026-06-01 --insecure-any-measurement

# --- extended-report certificate table (auxblob) -----------------------------------------
le32() { local v=$1; printf "\\$(printf %03o $((v & 255)))\\$(printf %03o $(((v >> 8) & 255)))\\$(printf %03o $(((v >> 16) & 255)))\\$(printf %03o $(((v >> 24) & 255)))"; }
guid() { printf '%s' "$1" | sed 's/../\\x&/g' | xargs -0 printf; }   # bytes already in EFI order
openssl x509 -in "$SNP/milan/tav_milan_v3_vcek.pem" -outform der -out "$WORK/vcek.der"
openssl x509 -in "$SNP/ca/ask_milan.pem" -outform der -out "$WORK/ask.der"
openssl x509 -in "$SNP/ca/ark_milan.pem" -outform der -out "$WORK/ark.der"
v=$(stat -c %s "$WORK/vcek.der"); a=$(stat -c %s "$WORK/ask.der"); r=$(stat -c %s "$WORK/ark.der"); base=96
{
  guid 8d75da6364e66445adc5f4b93be8accd; le32 $base; le32 "$v"
  guid 79b3b74aacbbe44fa02f05aef327c782; le32 $((base + v)); le32 "$a"
  guid a406b4c003a8524997433fb6014cd0ae; le32 $((base + v + a)); le32 "$r"
  head -c 24 /dev/zero
  cat "$WORK/vcek.der" "$WORK/ask.der" "$WORK/ark.der"
} > "$WORK/auxblob.bin"
expect 0 "certificate table supplies VCEK, ASK and ARK" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/tav_milan_v3_report.bin" --cert-table "$WORK/auxblob.bin" --at 2026-06-01 --measurement "$MEAS"
head -c 60 "$WORK/auxblob.bin" > "$WORK/auxblob-cut.bin"
expect 1 "truncated certificate table" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/tav_milan_v3_report.bin" --cert-table "$WORK/auxblob-cut.bin" --at 2026-06-01
expect 3 "no VCEK given and none cached (offline)" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/tav_milan_v3_report.bin"
contains "$WORK/out" "FAIL  snp.vek: no VCEK/VLEK certificate" "the missing VCEK is named"
# Secure by default: without a CRL the revocation check fails, and says how to get one.
expect 3 "no CRL and no --insecure-no-crl" -- "$VERIFY" report --offline "$SNP/milan/tav_milan_v3_report.bin" --vek "$SNP/milan/tav_milan_v3_vcek.pem" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan.pem" --at 2026-06-01 --json
contains "$WORK/out" '"reason": "MISSING_COLLATERAL"' "json says collateral is missing"
contains "$WORK/out" "no CRL for ARK-Milan" "the missing CRL is named"
expect 0 "--insecure-no-crl skips revocation, visibly" -- "$VERIFY" "${M3[@]}"
contains "$WORK/out" "SKIP  snp.crl: revocation not checked" "the skipped check is listed"

# JSON document: every check and the decoded report.
expect 0 "json verdict" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/genoa/lunal_genoa_v5_report.bin" --vek "$SNP/genoa/lunal_genoa_v5_vcek.der" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_genoa.pem" --at 2026-06-01 --json --insecure-any-measurement
contains "$WORK/out" '"schema": "cci.verify.report.v1"' "json schema"
contains "$WORK/out" '"id": "snp.vek_hwid"' "json lists the checks"
contains "$WORK/out" '"current_mit_vector": "0xb"' "json decodes v5 fields"
# Failures name the check.
expect 1 "Milan report with the Genoa chain" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/tav_milan_v3_report.bin" --vek "$SNP/milan/tav_milan_v3_vcek.pem" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_genoa.pem" --at 2026-06-01
contains "$WORK/out" "FAIL  snp.ark_pinned" "the pinned-root check is named"
expect 1 "expired VLEK at today's date" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/vlek/trustee_milan_v3_vlek_report.bin" --vek "$SNP/vlek/trustee_milan_v3_vlek.der" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan_vlek.pem" --at 2026-06-01
contains "$WORK/out" "FAIL  snp.chain:" "expiry is named"
expect 2 "unknown --product" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/gsg_milan_v2_report.bin" --vek "$SNP/milan/gsg_milan_v2_vcek.der" --product Atlantis
expect 2 "v2 report without --product: a missing flag (usage), not a rejection" -- "$VERIFY" report --offline --insecure-no-crl "$SNP/milan/gsg_milan_v2_report.bin" --vek "$SNP/milan/gsg_milan_v2_vcek.der" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan.pem" --at 2024-06-01
contains "$WORK/err" "give --product Milan|Genoa|Turin" "the missing flag is named"
head -c 1000 "$SNP/milan/tav_milan_v3_report.bin" > "$WORK/trunc.bin"
expect 1 "truncated report" -- "$VERIFY" report --offline --insecure-no-crl "$WORK/trunc.bin" --vek "$SNP/milan/tav_milan_v3_vcek.pem" --cert-chain "$SNP/ca/kds_cert_chain/ask_ark_milan.pem"
# Hostile evidence files never reach "internal error": a mistyped field is a named rejection.
printf '{"schema":"cci.evidence.v1","simulated":"no","tee":"snp","report":"AQID"}' > "$WORK/ev-typed.json"
expect 1 "evidence file with \"simulated\":\"no\": rejected (exit 1), not an internal error" -- "$VERIFY" report "$WORK/ev-typed.json" --offline --json
check "... its JSON verdict names the field" -- test "$(jq -r '.result + " " + .field' "$WORK/out")" = "error simulated"
printf '{"schema":"cci.evidence.v1","tee":"snp","report":"AQID","certificates":{"vek":7}}' > "$WORK/ev-typed2.json"
expect 1 "evidence file with a certificate of the wrong type: rejected" -- "$VERIFY" report "$WORK/ev-typed2.json" --offline
contains "$WORK/err" "certificates.vek" "the field is named"
expect 3 "missing report file" -- "$VERIFY" report --offline --insecure-no-crl "$WORK/none.bin" --vek "$SNP/milan/tav_milan_v3_vcek.pem"
expect 0 "show decodes without verifying" -- "$VERIFY" show "$SNP/milan/virtee_milan_v2_report.hex" --product Milan
check "show prints the measurement (hex, 64 digits a line)" -- bash -c "grep -A2 '^measurement:\$' '$WORK/out' | tr -d ' \n' | grep -q 'measurement:7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f'"
contains "$WORK/out" "platform_info_flags: SMT_EN" "show names the platform info bits"
contains "$WORK/out" "  flags: SMT" "show names the guest policy bits"
contains "$WORK/err" "nothing here is verified" "show says it verified nothing"
for c in report show; do
  expect 0 "cci-verify $c --help" -- "$VERIFY" $c --help
  contains "$WORK/out" "Example" "cci-verify $c --help has examples"
done
finish
