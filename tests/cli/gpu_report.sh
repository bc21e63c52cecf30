#!/usr/bin/env bash
# cci-verify report for NVIDIA GPU evidence (the attestation SDK's JSON, made here from the genuine
# nvtrust 545 report and chain): with the verifier's nonce and the driver and VBIOS RIMs it
# verifies (32 active measurements; index 35 not taken, NVDEC0 disabled); revocation, a RIM or the
# nonce missing cannot evaluate (exit 3); a wrong nonce, a forged RIM, an expired RIM signer and a
# flipped report byte are rejected (exit 1); flags of other vendors are usage errors (exit 2).
# libxmlsec1's own command, xmlsec1, is the second opinion on every RIM verdict used here.
source "$(dirname "$0")/lib.sh"
G="$CCI_TEST_VECTORS_DIR/nvgpu"
if [ ! -f "$G/manifest.json" ]; then echo "skipped: vectors not found ($G)"; exit 77; fi

NONCE=4cff7f5380ead8fad8ec2c531c110aca4302a88f603792801a8ca29ee151af2e
DRIVER="$G/rims/nvtrust/Driver_RIM_test_no_gpu.swidtag"
VBIOS="$G/rims/nvtrust/1010_0200_882_96005E0001_test_no_gpu.swidtag"
AT=(--at 2024-06-01T00:00:00Z)
# The SDK's serialized evidence: [{arch, nonce, evidence: base64(report), certificate: base64(PEM chain)}].
evidence() {  # evidence REPORT_HEX_FILE COPIES > FILE
  python3 - "$1" "$G/hopper/nvtrust545_chain.pem" "$NONCE" "$2" <<'PY'
import base64, json, sys
report = bytes.fromhex("".join(open(sys.argv[1]).read().split()))
chain = open(sys.argv[2], "rb").read()
one = {"arch": "HOPPER", "nonce": sys.argv[3], "evidence": base64.b64encode(report).decode(), "certificate": base64.b64encode(chain).decode()}
print(json.dumps([one] * int(sys.argv[4])))
PY
}
evidence "$G/hopper/nvtrust545_report.hex" 1 >"$WORK/gpu.json"
evidence "$G/hopper/nvtrust545_report.hex" 2 >"$WORK/gpus.json"
evidence "$G/negative/nvtrust545_flip_block8_value.hex" 1 >"$WORK/flipped.json"
OK=(--nonce "$NONCE" --driver-rim "$DRIVER" --vbios-rim "$VBIOS" "${AT[@]}")

expect 3 "genuine evidence, both RIMs, no revocation check: cannot evaluate" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}"
contains "$WORK/out" "FAIL  nvgpu.revocation: the OCSP status" "revocation is named as not checked"
expect 0 "... accepted with --insecure-no-crl" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl
for c in nvgpu.report nvgpu.device_chain nvgpu.report_signature nvgpu.request_nonce nvgpu.driver_rim_chain nvgpu.driver_rim_signature \
  nvgpu.vbios_rim_chain nvgpu.vbios_rim_signature nvgpu.driver_rim_version nvgpu.vbios_rim_version nvgpu.rim_index_conflict; do
  contains "$WORK/out" "PASS  $c:" "$c passes"
done
contains "$WORK/out" "PASS  nvgpu.measurements: 32 active measurements equal the RIMs' (index 35 not taken: NVDEC0 disabled)" "32 measurements compared"
contains "$WORK/out" "SKIP  nvgpu.fwid" "a 545 report has no FWID: the check says SKIP, not PASS"
expect 0 "json verdict" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --json
check "json: vendor nvidia, driver 545.00, VBIOS 96.00.5e.00.01" -- test \
  "$(jq -r '"\(.vendor) \(.report.gpus[0].driver_version) \(.report.gpus[0].vbios_version)"' "$WORK/out")" = "nvidia 545.00 96.00.5e.00.01"
expect 0 "two GPUs in one evidence list" -- "$VERIFY" report "$WORK/gpus.json" "${OK[@]}" --insecure-no-crl
contains "$WORK/out" "PASS  nvgpu.measurements: GPU 2: 32 active" "each GPU's checks are numbered"

expect 3 "no --nonce: freshness cannot be evaluated" -- "$VERIFY" report "$WORK/gpu.json" --driver-rim "$DRIVER" --vbios-rim "$VBIOS" "${AT[@]}" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.request_nonce" "the nonce check is named"
expect 1 "another nonce" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$(printf '%064d' 0)" --driver-rim "$DRIVER" --vbios-rim "$VBIOS" "${AT[@]}" --insecure-no-crl
expect 3 "no VBIOS RIM: cannot evaluate, and the RIM service's id is named" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" --driver-rim "$DRIVER" "${AT[@]}" --insecure-no-crl
contains "$WORK/out" "NV_GPU_VBIOS_1010_0200_882_96005E0001" "... NV_GPU_VBIOS_1010_0200_882_96005E0001"
expect 1 "a driver RIM whose SignatureValue was changed" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" \
  --driver-rim "$G/negative/rim_driver_test_no_gpu_flip_sigvalue.swidtag" --vbios-rim "$VBIOS" "${AT[@]}" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.driver_rim_signature" "the RIM signature is named"
expect 1 "a VBIOS RIM with one hash digit changed" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" \
  --driver-rim "$DRIVER" --vbios-rim "$G/negative/rim_vbios_test_no_gpu_flip_hash1.swidtag" "${AT[@]}" --insecure-no-crl
expect 1 "after the RIM signers expired" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]:0:6}" --at 2025-07-01T00:00:00Z --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.driver_rim_chain" "the RIM chain is named"
expect 1 "a report byte flipped (block 8)" -- "$VERIFY" report "$WORK/flipped.json" "${OK[@]}" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.report_signature" "the report signature is named"

# The second opinion: libxmlsec1's own xmlsec1 on the same RIMs at the same times.
ROOT="$G/roots/nvidia_corim_signing_root_ca.pem"
check "xmlsec1 also verifies the driver RIM at 2024-06-01" -- xmlsec1 --verify --trusted-pem "$ROOT" --verification-time "2024-06-01 00:00:00" "$DRIVER" >/dev/null 2>&1
check "xmlsec1 also verifies the VBIOS RIM at 2024-06-01" -- xmlsec1 --verify --trusted-pem "$ROOT" --verification-time "2024-06-01 00:00:00" "$VBIOS" >/dev/null 2>&1
check "xmlsec1 also refuses the changed SignatureValue" -- sh -c "! xmlsec1 --verify --trusted-pem '$ROOT' --verification-time '2024-06-01 00:00:00' \
  '$G/negative/rim_driver_test_no_gpu_flip_sigvalue.swidtag' >/dev/null 2>&1"
check "xmlsec1 also refuses the driver RIM at 2025-07-01" -- sh -c "! xmlsec1 --verify --trusted-pem '$ROOT' --verification-time '2025-07-01 00:00:00' '$DRIVER' >/dev/null 2>&1"

expect 2 "--driver-rim with an SEV-SNP report" -- "$VERIFY" report "$CCI_TEST_VECTORS_DIR/snp/milan/tav_milan_v3_report.bin" --driver-rim "$DRIVER"
contains "$WORK/err" "--driver-rim and --vbios-rim are for NVIDIA GPU evidence" "... says whose flag it is"
expect 2 "--measurement with GPU evidence" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --measurement "$(printf '%096d' 0)"
expect 2 "--vek with GPU evidence" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --vek "$DRIVER"
expect 2 "a 16-byte nonce padded with zeros is not a GPU nonce" -- "$VERIFY" report "$WORK/gpu.json" --nonce "${NONCE:0:32}" --driver-rim "$DRIVER" --vbios-rim "$VBIOS" "${AT[@]}"
printf '[{"arch":"HOPPER","nonce":"00","evidence":"AA==","certificate":"AA=="}]' >"$WORK/bad.json"
expect 1 "evidence that does not parse" -- "$VERIFY" report "$WORK/bad.json" "${OK[@]}"
expect 0 "cci-verify show decodes the evidence" -- "$VERIFY" show "$WORK/gpu.json" --json
check "show: driver and the claimed nonce" -- test "$(jq -r '.report.gpus[0].driver_version + " " + .report.gpus[0].nonce_claimed' "$WORK/out")" = "545.00 $NONCE"
finish
