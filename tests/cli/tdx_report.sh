#!/usr/bin/env bash
# cci-verify report for Intel TDX quotes through the command line: genuine quotes with Intel's
# collateral verify at their clocks (TCB status UpToDate, the checks named); a debug TD, a TCB
# level Intel does not list, a wrong MRTD and flipped bytes are rejected (exit 1); collateral past
# nextUpdate, or none, cannot evaluate (exit 3); flags of other vendors are usage errors (exit 2);
# a byte flipped anywhere in the quote or its collateral never verifies; an Azure TD's HCL report is
# bound by its quote's REPORT_DATA, and one changed byte breaks that binding.
source "$(dirname "$0")/lib.sh"
T="$CCI_TEST_VECTORS_DIR/tdx"
if [ ! -f "$T/manifest.json" ]; then echo "skipped: vectors not found ($T)"; exit 77; fi

Q="$T/quotes/dcapqvl_b0c06f_v4_sample.dat"
COL="$T/collateral/dcapqvl_b0c06f000000_2025-06-19"
AT=(--at 2025-07-01T00:00:00Z)
MRTD="$(jq -r '.quotes[] | select(.path == "quotes/dcapqvl_b0c06f_v4_sample.dat") | .mr_td' "$T/manifest.json")"
RDATA="$(jq -r '.quotes[] | select(.path == "quotes/dcapqvl_b0c06f_v4_sample.dat") | .report_data' "$T/manifest.json")"

expect 0 "a genuine TDX quote with Intel's collateral, MRTD and REPORT_DATA pinned" -- \
  "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --report-data "$RDATA"
for c in tdx.root_crl tdx.pck_crl tdx.tcb_info tdx.qe_identity tdx.pck_chain tdx.pck_revocation tdx.qe_report_signature tdx.qe_report_data \
  tdx.qe_identity_match tdx.quote_signature tdx.fmspc tdx.tcb_level tdx.module_identity policy.debug policy.tcb_status policy.measurement policy.report_data; do
  contains "$WORK/out" "PASS  $c:" "$c passes"
done
contains "$WORK/out" "genuine Intel TDX quote v4 (TD10), FMSPC b0c06f000000, TCB UpToDate" "the verdict names FMSPC and TCB status"
expect 0 "json verdict" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --json
check "json: vendor intel, TCB UpToDate, evaluation data number 17" -- test \
  "$(jq -r '"\(.vendor) \(.report.tcb.status) \(.report.tcb.evaluation_data_number)"' "$WORK/out")" = "intel UpToDate 17"
expect 1 "another MRTD" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$(printf '%096d' 0)"
contains "$WORK/out" "FAIL  policy.measurement" "the measurement finding is named"
expect 1 "no expected MRTD" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}"
contains "$WORK/out" "FAIL  policy.measurement" "an unpinned MRTD is refused by default"
expect 2 "an SNP-sized measurement for TDX is a usage error" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$(printf '%064d' 0)"
expect 2 "--hsk-cek with a TDX quote" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --hsk-cek "$Q"
expect 2 "--tdx-collateral with an SEV-SNP report" -- "$VERIFY" report "$CCI_TEST_VECTORS_DIR/snp/genoa/trustee_genoa_model0xa0_v3_report.bin" --tdx-collateral "$COL"

expect 1 "a debug TD verifies but is refused by policy" -- "$VERIFY" report "$T/quotes/trustee_50806f_v4_debug.dat" \
  --tdx-collateral "$T/collateral/gtg_50806f000000_2023-06-18" --at 2023-07-01T01:00:00Z --insecure-any-measurement
contains "$WORK/out" "FAIL  policy.debug" "the debug finding is named"
contains "$WORK/out" "PASS  policy.tcb_status: TCB status UpToDate" "its TCB status is UpToDate"
# The policy's TDX keys: a minimum TCB evaluation data number, and TCB statuses accepted by name.
expect 1 "a minimum TCB evaluation data number above Intel's" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --min-tcb-evaluation-number 18
contains "$WORK/out" "FAIL  policy.min_tcb_evaluation_number: TCB evaluation data number 17, expected at least 18" "both sides named"
expect 0 "... met" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --min-tcb-evaluation-number 17
expect 2 "--accept-tcb-status Revoked is a usage error" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --accept-tcb-status Revoked
printf 'tdx_accept_tcb_status: [OutOfDate]\nmin_tcb_evaluation_number: 17\n' >"$WORK/tdx.yaml"
expect 0 "a policy file with the TDX keys" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" --policy "$WORK/tdx.yaml"
contains "$WORK/out" "PASS  policy.min_tcb_evaluation_number" "the file's minimum is applied"
expect 0 "an SEV-SNP report with a TDX key from a policy file: listed as not applicable" -- "$VERIFY" "${SNP_OK[@]}" --policy "$WORK/tdx.yaml"
contains "$WORK/out" "SKIP  policy.min_tcb_evaluation_number" "... as SKIP"
expect 1 "--min-tcb-evaluation-number on an SEV-SNP report fails (asked for, never skipped)" -- "$VERIFY" "${SNP_OK[@]}" --min-tcb-evaluation-number 17
contains "$WORK/out" "FAIL  policy.min_tcb_evaluation_number: min_tcb_evaluation_number was given on the command line, but it applies to Intel TDX quotes only" "named as TDX-only"
expect 1 "a TCB level TCB Info does not list" -- "$VERIFY" report "$T/quotes/dcapqvl_b0c06f_v4_sample2.bin" --tdx-collateral "$COL" "${AT[@]}" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.tcb_level" "TCB not supported, named"
expect 1 "a flipped REPORT_DATA byte" -- "$VERIFY" report "$T/negative/dcapqvl_b0c06f_v4_flip_reportdata.dat" --tdx-collateral "$COL" "${AT[@]}" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.quote_signature" "the quote signature fails"
expect 1 "another FMSPC's TCB Info" -- "$VERIFY" report "$Q" --tdx-collateral "$T/collateral/dcapqvl_20a06f000000_2025-09-02" --at 2025-09-10T00:00:00Z --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.fmspc" "FMSPC mismatch named"

expect 3 "collateral past nextUpdate cannot evaluate" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" --at 2025-07-20T00:00:00Z --measurement "$MRTD"
contains "$WORK/err" "cannot evaluate" "... saying so"
expect 3 "no collateral cannot evaluate" -- "$VERIFY" report "$Q" "${AT[@]}" --measurement "$MRTD"
contains "$WORK/out" "FAIL  tdx.collateral" "the missing collateral is named"
expect 1 "QE Identity not yet valid is a rejection" -- "$VERIFY" report "$Q" --tdx-collateral "$COL" --at 2025-06-19T10:20:00Z --measurement "$MRTD"
contains "$WORK/out" "FAIL  tdx.qe_identity" "QE Identity named"

# One byte flipped at a spread of offsets across header, body, signature data, QE report, QE
# authentication data and PCK chain, and across each collateral file: never exit 0.
size=$(stat -c %s "$Q")
flips=0
accepted=""
for off in 0 1 4 9 30 48 100 200 400 600 631 632 640 700 760 764 770 900 1154 1200 1218 1222 1300 2000 3000 4000 $((size - 71)); do
  cp "$Q" "$WORK/flip.dat"
  printf "$(printf '\\x%02x' $(( $(od -An -tu1 -j "$off" -N1 "$Q") ^ 1 )))" | dd of="$WORK/flip.dat" bs=1 seek="$off" conv=notrunc status=none
  flips=$((flips + 1))
  "$VERIFY" report "$WORK/flip.dat" --tdx-collateral "$COL" "${AT[@]}" --measurement "$MRTD" >/dev/null 2>&1 && accepted="$accepted $off"
done
check "a flipped quote byte is never accepted ($flips offsets)" -- test -z "$accepted"
for f in tcb_info.json qe_identity.json pck_crl.der root_ca_crl.der tcb_info_issuer_chain.pem; do
  fsize=$(stat -c %s "$COL/$f")
  for off in 40 $((fsize / 2)) $((fsize - 60)); do
    rm -rf "$WORK/col" && cp -r "$COL" "$WORK/col" && chmod -R u+w "$WORK/col"
    printf "$(printf '\\x%02x' $(( $(od -An -tu1 -j "$off" -N1 "$COL/$f") ^ 1 )))" | dd of="$WORK/col/$f" bs=1 seek="$off" conv=notrunc status=none
    "$VERIFY" report "$Q" --tdx-collateral "$WORK/col" "${AT[@]}" --measurement "$MRTD" >/dev/null 2>&1 && accepted="$accepted $f@$off"
  done
done
check "a flipped collateral byte is never accepted" -- test -z "$accepted"
echo "$accepted"

# cci-bench verify covers TDX (speed goals are read from the JSON, not asserted here).
expect 0 "cci-bench verify --vendor intel --json" -- "$BENCH" verify --vendor intel --seconds 0.05 --json
check "it reports the TDX appraisal against three P-256 verifications, goal 1.5" -- \
  jq -e '(.tdx.ratio > 0) and (.tdx.ecdsa_p256_verify_us > 0) and (.tdx.goal_ratio == 1.5) and (.tdx.crl_checked == true) and (has("snp") | not)' "$WORK/out"
# cci-verify show --event-log: every event of trustee's CCEL logs as trustee's own parser lists it
# (index, type name, digests, data, whether the digest is the data's, the text cci reads), and
# the replayed RTMRs against a quote: equal for the log that belongs to it, not for one that does not.
for log in CCEL_data CCEL_data_ovmf CCEL_data_grub CCEL_data_grub_gke; do
  expect 0 "show --event-log $log" -- "$VERIFY" show --event-log "$T/ccel/trustee/$log" --json
  check "... every event as trustee's golden lists it" -- python3 - "$WORK/out" "$T/ccel/trustee/${log}_out.json" <<'PY'
import json, sys
mine = json.load(open(sys.argv[1]))["event_log"]["events"]
gold = json.load(open(sys.argv[2]))["uefi_event_logs"]
# Text: cci gives the ASCII string the PC Client spec defines for the event type; trustee also
# decodes UCS-2 and td-shim structures. Where cci gives one, it is trustee's.
texts = 0
assert len(mine) == len(gold), (len(mine), len(gold))
for i, (m, g) in enumerate(zip(mine, gold)):
    want = (g["index"], g["type_name"], [(d["alg"], d["digest"]) for d in g["digests"]], g["event"], g["digest_matches_event"])
    got = (m["index"], m["type_name"], [(d["alg"], d["digest"]) for d in m["digests"]], m["data"], m["digest_matches_data"])
    assert got == want, (i, got, want)
    if "text" in m:
        assert m["text"] == g["details"].get("string"), (i, m["text"])
        texts += 1
assert texts > 0
PY
done
expect 0 "show QUOTE --event-log: the COS-113 quote with its own CCEL" -- \
  "$VERIFY" show "$T/quotes/gtg_00806f05_v4_cos113.dat" --event-log "$T/ccel/gtg_cos113/ccel_data.dat" --json
check "... all four replayed RTMRs equal the quote's" -- test "$(jq '[.event_log.replayed[].matches_quote] | all' "$WORK/out")" = true
expect 0 "show QUOTE --event-log: trustee's CCEL_data next to a quote it does not belong to" -- \
  "$VERIFY" show "$T/quotes/trustee_50806f_v4_debug.dat" --event-log "$T/ccel/trustee/CCEL_data" --json
check "... RTMR0 differs, and says so" -- test "$(jq '.event_log.replayed.rtmr0.matches_quote' "$WORK/out")" = false
expect 0 "show --event-log as text" -- "$VERIFY" show --event-log "$T/ccel/trustee/CCEL_data_ovmf"
contains "$WORK/out" 'RTMR1  EV_EFI_ACTION' "... lists the register and type of each event"
contains "$WORK/out" '"Exit Boot Services Returned with Success"' "... with the text it carries"
contains "$WORK/out" "replayed rtmr0: 8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90abe193" "... and the replayed RTMR0 (trustee's golden)"
head -c 100 "$T/ccel/trustee/CCEL_data_ovmf" >"$WORK/short.log"
expect 1 "a truncated event log is refused" -- "$VERIFY" show --event-log "$WORK/short.log"
contains "$WORK/err" "event log" "... naming the event log"
expect 2 "show without FILE or --event-log" -- "$VERIFY" show

# Azure: the HCL report whose runtime data the TD's quote binds (REPORT_DATA = SHA-256(variable
# data) || 0, trustee's test_verify_hcl_var_data). Intel's collateral for this FMSPC is not in the
# vectors, so the verdict is "cannot evaluate" (exit 3) with the binding checked and passed.
AZQ="$T/quotes/trustee_azure_00806f05_v4.bin"
HCL="$T/azure/trustee_azure_hcl_report.bin"
AZ=(--at 2026-01-01T00:00:00Z --insecure-any-measurement --offline)
WANT_SHA="$(jq -r '.cases[] | select(.id == "azure-hcl-report-data-binding") | .expected_sha256' "$T/manifest.json")"
expect 3 "an Azure TD quote with its HCL report: the binding holds (no collateral here)" -- "$VERIFY" report "$AZQ" --azure-hcl "$HCL" "${AZ[@]}" --json
check "json: the binding passed and the runtime data's SHA-256 is the vectors'" -- jq -e >/dev/null --arg s "$WANT_SHA" \
  '(.checks[] | select(.id == "tdx.azure_hcl_binding") | .status) == "pass" and .report.azure_hcl.runtime_data_sha256 == $s' "$WORK/out"
check "json: the HCL claims are printed (its keys)" -- jq -e >/dev/null '.report.azure_hcl.runtime_data.keys | length > 0' "$WORK/out"
cp "$HCL" "$WORK/hcl-flip.bin"
flip_byte "$WORK/hcl-flip.bin" $((0x4D4 + 40))
expect 1 "an HCL report with one runtime-data byte changed is not this TD's" -- "$VERIFY" report "$AZQ" --azure-hcl "$WORK/hcl-flip.bin" "${AZ[@]}"
contains "$WORK/out" "FAIL  tdx.azure_hcl_binding" "the binding check is named"
head -c 1200 "$HCL" >"$WORK/hcl-short.bin"
expect 1 "a truncated HCL report is refused" -- "$VERIFY" report "$AZQ" --azure-hcl "$WORK/hcl-short.bin" "${AZ[@]}"
contains "$WORK/err" "runtime data size" "... naming the field"
cp "$HCL" "$WORK/hcl-snp.bin"
printf '\x02' | dd of="$WORK/hcl-snp.bin" bs=1 seek=$((0x4C8)) conv=notrunc 2>/dev/null
expect 3 "an HCL report of type SEV-SNP with a TDX quote" -- "$VERIFY" report "$AZQ" --azure-hcl "$WORK/hcl-snp.bin" "${AZ[@]}"
contains "$WORK/err" "SEV-SNP" "... says what it is"
expect 2 "--azure-hcl with --nonce (the nonce belongs in the vTPM quote)" -- "$VERIFY" report "$AZQ" --azure-hcl "$HCL" "${AZ[@]}" --nonce 00
expect 2 "--azure-hcl with an SEV-SNP report" -- "$VERIFY" report "$CCI_TEST_VECTORS_DIR/snp/genoa/trustee_genoa_model0xa0_v3_report.bin" --azure-hcl "$HCL"
finish
