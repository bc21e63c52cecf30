#!/usr/bin/env bash
# cci-verify report / show / fetch for Hygon CSV through the command line: the genuine chain
# and raw report verify completely; the trustee evidence verifies as far as it can (exit 3,
# naming what is missing); every tamper case is rejected (exit 1) naming the check; fetch
# from a Hygon KDS stand-in on 127.0.0.1, then offline from the cache.
source "$(dirname "$0")/lib.sh"
CSV="$CCI_TEST_VECTORS_DIR/csv"
if [ ! -f "$CSV/hygon_hrk.cert" ]; then echo "skipped: vectors not found ($CSV)"; exit 77; fi
export CCI_HYGON_KDS_URL=http://127.0.0.1:9

REPORT="$CSV/csvrs_NZA9T14052605_report_v1_raw.bin"
CHAIN=(--hrk "$CSV/hygon_hrk.cert" --hsk-cek "$CSV/csvrs_NZA9T14052605_hsk_cek.cert")
MEASURE=1178dadbf826ec7a07444ba358376d81c312cb53d703f9da83b26c1eee2ea052
RDATA="$(printf 'user data' | od -An -tx1 | tr -d ' \n')$(printf '0%.0s' $(seq 110))"
PINS=(--measurement "$MEASURE" --report-data "$RDATA")

expect 0 "genuine chain and raw V1 report verify completely" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}"
for c in csv.hrk_pinned csv.hrk_self_signature csv.hsk csv.cek csv.pek csv.chip_binding csv.report_signature csv.hmac policy.measurement policy.report_data; do
  contains "$WORK/out" "PASS  $c:" "$c passes"
done
contains "$WORK/out" "genuine Hygon CSV V1 report from chip NZA9T14052605" "verdict names the chip"
expect 0 "json verdict" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --json
contains "$WORK/out" '"vendor": "hygon"' "json vendor"
contains "$WORK/out" '"measure": "'"$MEASURE"'"' "json decodes the measure"
expect 1 "V1 without a pinned measurement and REPORT_DATA" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}"
contains "$WORK/out" "FAIL  policy.measurement: no expected measurement: a V1 report's fields are masked with an unsigned anonce" "why V1 needs pins"
expect 0 "--insecure-unpinned-v1 accepts it, visibly" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" --insecure-unpinned-v1
contains "$WORK/out" "SKIP  policy.measurement" "skipped measurement listed"
expect 1 "wrong measurement" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" --measurement "${MEASURE%??}00" --report-data "$RDATA"
contains "$WORK/out" "FAIL  policy.measurement" "measurement finding named"
expect 2 "an SNP-sized measurement for CSV" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" --measurement "$MEASURE$MEASURE" --report-data "$RDATA"
expect 1 "unexpected vm_id" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --vm-id 0102030405060708090a0b0c0d0e0f10
contains "$WORK/out" "FAIL  policy.vm_id" "vm_id finding named"
printf 'csv_generation: csv3\n' > "$WORK/csv3.yaml"
expect 1 "policy requires CSV3" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --policy "$WORK/csv3.yaml"
contains "$WORK/out" "FAIL  policy.csv_generation" "generation finding named"
contains "$WORK/out" "FAIL  policy.csv_generation: guest policy 0x40000001: csv, expected csv3 or later" "generation: actual and expected"
# SEV-SNP field flags on CSV evidence: asked for, so never skipped; from a file, listed as not applicable.
expect 1 "--host-data on CSV evidence fails" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --host-data "$MEASURE"
contains "$WORK/out" "FAIL  policy.host_data: host_data was given on the command line, but it is an SEV-SNP report field" "the SNP-only flag is named"
printf 'host_data: "%s"\n' "$MEASURE" > "$WORK/snp-only.yaml"
expect 0 "host_data from a policy file is not applicable to CSV" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --policy "$WORK/snp-only.yaml"
contains "$WORK/out" "SKIP  policy.host_data: host_data is an SEV-SNP report field: not applicable" "listed as SKIP"
expect 1 "--min-firmware applies to CSV (firmware API)" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" "${PINS[@]}" --min-firmware 99.0
contains "$WORK/out" ", expected at least 99.0" "firmware: actual and expected"

# --- tamper cases: exit 1, the failing check named ------------------------------------------
while read -r file check; do
  expect 1 "derived $file" -- "$VERIFY" report --offline "$CSV/derived/csvrs_NZA9T14052605_report_v1_raw.$file.bin" "${CHAIN[@]}" "${PINS[@]}"
  contains "$WORK/out" "FAIL  $check" "$file names $check"
done <<'EOT'
flip_report_data csv.report_signature
flip_measure csv.report_signature
flip_policy csv.report_signature
flip_sig_r csv.report_signature
flip_pek_pubkey csv.pek
flip_chip_id csv.hmac
r_highbyte csv.report_structure
EOT
expect 1 "an HRK that is not the pinned one" -- "$VERIFY" report --offline "$REPORT" --hrk "$CSV/derived/hygon_hrk.flip_qx.cert" --hsk-cek "$CSV/csvrs_NZA9T14052605_hsk_cek.cert" "${PINS[@]}"
contains "$WORK/out" "FAIL  csv.hrk_pinned" "pinned HRK check named"
expect 1 "a CEK with the wrong usage" -- "$VERIFY" report --offline "$REPORT" --hrk "$CSV/hygon_hrk.cert" --hsk-cek "$CSV/derived/csvrs_NZA9T14052605_hsk_cek.cek_usage.cert" "${PINS[@]}"
contains "$WORK/out" "FAIL  csv.cek" "CEK usage check named"
cp "$REPORT" "$WORK/anonce.bin"
printf '\x9a' | dd of="$WORK/anonce.bin" bs=1 seek=$((0xBC)) conv=notrunc 2>/dev/null
expect 1 "anonce altered" -- "$VERIFY" report --offline "$WORK/anonce.bin" "${CHAIN[@]}" "${PINS[@]}"
expect 1 "this chip's HSK/CEK for another chip's PEK" -- "$VERIFY" report --offline "$CSV/trustee_KPA64911240507_evidence_v1wrapper.json" "${CHAIN[@]}" --insecure-unpinned-v1
contains "$WORK/out" "FAIL  csv.pek" "PEK check named"
head -c 2000 "$REPORT" > "$WORK/short.bin"
expect 1 "truncated report (as --vendor hygon)" -- "$VERIFY" report --offline --vendor hygon "$WORK/short.bin" "${CHAIN[@]}" "${PINS[@]}"
printf '{"attestation_report": {"magic": [0], "flags": 0}}' > "$WORK/bad.json"
expect 1 "malformed evidence JSON" -- "$VERIFY" report --offline "$WORK/bad.json" "${CHAIN[@]}" "${PINS[@]}"
contains "$WORK/err" "attestation_report.magic" "JSON error names the field"
expect 2 "SNP-only flags on CSV evidence" -- "$VERIFY" report --offline "$REPORT" "${CHAIN[@]}" --vek x.der

# --- missing collateral: exit 3 --------------------------------------------------------------
expect 3 "no HSK/CEK (offline, empty cache)" -- "$VERIFY" report --offline "$REPORT" --hrk "$CSV/hygon_hrk.cert" "${PINS[@]}"
contains "$WORK/out" "FAIL  csv.hsk: no HSK/CEK for chip NZA9T14052605" "missing HSK/CEK named"
contains "$WORK/out" "PASS  csv.report_signature" "the report signature is still checked"
expect 3 "trustee v1 wrapper verifies as far as it can" -- "$VERIFY" report --offline "$CSV/trustee_KPA64911240507_evidence_v1wrapper.json" --hrk "$CSV/hygon_hrk.cert" --insecure-unpinned-v1 --json
contains "$WORK/out" '"reason": "MISSING_COLLATERAL"' "json says collateral is missing"
contains "$WORK/out" '"id": "csv.envelope_serial"' "envelope serial compared"
contains "$WORK/out" '"pek_encoding": "restored"' "restored PEK reported"
expect 3 "legacy trustee JSON verifies as far as it can" -- "$VERIFY" report --offline "$CSV/trustee_NZA9T01021905_evidence_legacyjson.json" --hrk "$CSV/hygon_hrk.cert" --insecure-unpinned-v1
contains "$WORK/out" "PASS  csv.report_signature" "legacy report signature verifies"
contains "$WORK/out" "SKIP  csv.hmac" "HMAC skip explained"

expect 0 "show decodes CSV" -- "$VERIFY" show "$REPORT"
contains "$WORK/out" "chip_id: NZA9T14052605" "show prints the chip"
contains "$WORK/err" "nothing here is verified" "show says it verified nothing"

# --- fetch from a Hygon KDS stand-in, then offline ------------------------------------------
jq -n --arg c "$CSV" '{"/hrk": "\($c)/hygon_hrk.cert", "/hsk_cek?snumber=NZA9T14052605": "\($c)/csvrs_NZA9T14052605_hsk_cek.cert"}' > "$WORK/map.json"
python3 "$(dirname "$0")/kds_server.py" --map "$WORK/map.json" --port-file "$WORK/port" --log "$WORK/kds.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
KDS="http://127.0.0.1:$(cat "$WORK/port")"
expect 2 "a key server over plain http is refused unless named" -- "$VERIFY" fetch "$REPORT" --kds-url "$KDS/ok"
contains "$WORK/err" "--insecure-http-kds" "the flag to name is given"
H=(--insecure-http-kds)
expect 3 "Hygon KDS 404" -- "$VERIFY" fetch "$REPORT" --kds-url "$KDS/notfound" "${H[@]}"
expect 3 "garbage HSK/CEK refused" -- "$VERIFY" fetch "$REPORT" --kds-url "$KDS/garbage" "${H[@]}"
check "garbage not cached" -- test ! -e "$CCI_CACHE_DIR/hygon/hsk_cek/NZA9T14052605/hsk_cek.cert"
expect 0 "fetch HRK and HSK||CEK" -- "$VERIFY" fetch "$REPORT" --kds-url "$KDS/ok" "${H[@]}"
contains "$WORK/out" "downloaded hsk_cek" "HSK||CEK downloaded"
check "asked by the report's chip ID" -- grep -q "ok /hsk_cek?snumber=NZA9T14052605" "$WORK/kds.log"
kill $SERVER; wait $SERVER 2>/dev/null
expect 0 "verifies offline from the cache, server gone" -- "$VERIFY" report --offline "$REPORT" "${PINS[@]}"
contains "$WORK/out" "PASS  csv.chip_binding: HSK/CEK from the cache" "binding through the cache"
# A cache entry that no longer verifies (written by anything else) is dropped, never used.
HC="$CCI_CACHE_DIR/hygon/hsk_cek/NZA9T14052605/hsk_cek.cert"
python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[900]^=1; open(sys.argv[1],'wb').write(b)" "$HC"
expect 3 "a tampered cached HSK||CEK is refused (offline)" -- "$VERIFY" report --offline "$REPORT" "${PINS[@]}"
contains "$WORK/err" "dropped" "the bad entry is reported dropped"
check "... and removed from the cache" -- test ! -e "$HC"

# --- cci-bench verify: both vendors, figures present (speed goals are read from the JSON, not asserted here)
if [ -f "$CCI_TEST_VECTORS_DIR/snp/manifest.json" ]; then
  expect 0 "cci-bench verify --json" -- "$BENCH" verify --seconds 0.05 --json
  check "bench reports SNP and CSV ratios" -- jq -e '(.snp.ratio > 0) and (.csv.ratio > 0) and (.csv.sm2_verify_us > 0) and (.schema == "cci.bench.verify.v2")' "$WORK/out"
fi
finish
