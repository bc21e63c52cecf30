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
contains "$WORK/out" "FAIL  nvgpu.revocation: the device chain: no current OCSP answer for GH100 A01 GSP BROM; NVIDIA GH100 Provisioner ICA 1; NVIDIA GH100 Identity" \
  "revocation names the device certificates without an OCSP answer"
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
# One GPU's report listed twice is not two GPUs: each verifies on its own, and --gpu-count 2 would
# count them, so the list is refused for naming one device twice (its device certificate's key).
expect 1 "one GPU's report twice in one evidence list" -- "$VERIFY" report "$WORK/gpus.json" "${OK[@]}" --insecure-no-crl
contains "$WORK/out" "PASS  nvgpu.report_signature: GPU 2: " "each GPU's checks are numbered"
contains "$WORK/out" "FAIL  nvgpu.distinct_gpus: GPU 2 is GPU 1 (the same device certificate key, GH100 A01 GSP BROM serialNumber 41FFEEB20009E0BE49)" \
  "the repeated device is named"
expect 1 "... also when --gpu-count 2 asks for two" -- "$VERIFY" report "$WORK/gpus.json" "${OK[@]}" --insecure-no-crl --gpu-count 2
contains "$WORK/out" "FAIL  nvgpu.distinct_gpus" "the duplicate, not the count, decides"
# The same report twice, the second with its chain reordered (ICA before BROM): OpenSSL would still
# build the path, but the chain must be in order (each certificate followed by its issuer), so the
# device certificate is always the leaf's issuer and the duplicate cannot hide behind another.
python3 - "$G/hopper/nvtrust545_chain.pem" "$WORK/reordered.pem" <<'PY'
import sys
pems = open(sys.argv[1]).read().split("-----END CERTIFICATE-----")[:5]
pems = [p.strip() + "\n-----END CERTIFICATE-----\n" for p in pems]
open(sys.argv[2], "w").write(pems[0] + pems[2] + pems[1] + pems[3] + pems[4])
PY
python3 - "$WORK/gpus.json" "$WORK/reordered.pem" "$WORK/gpus-reordered.json" <<'PY'
import base64, json, sys
ev = json.load(open(sys.argv[1]))
ev[1]["certificate"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
json.dump(ev, open(sys.argv[3], "w"))
PY
expect 1 "one GPU twice, the second chain reordered" -- "$VERIFY" report "$WORK/gpus-reordered.json" "${OK[@]}" --insecure-no-crl --gpu-count 2
contains "$WORK/out" "FAIL  nvgpu.device_chain: GPU 2: the chain is not in order: certificate 2 (NVIDIA GH100 Provisioner ICA 1) did not issue certificate 1 (GH100 A01 GSP FMC LF)" \
  "the order is checked, naming the pair"
# The same GPU after a firmware change: another attestation key (FMC leaf), the same device
# certificate (BROM). Two genuine NVAT captures; each verifies alone at 2025-06-01.
python3 - "$G/hopper" "$WORK/same-device.json" <<'PY'
import base64, json, sys
d = sys.argv[1]
def one(n, nonce):
    report = bytes.fromhex("".join(open(f"{d}/nvat{n}_report.hex").read().split()))
    return {"arch": "HOPPER", "nonce": nonce, "evidence": base64.b64encode(report).decode(),
            "certificate": base64.b64encode(open(f"{d}/nvat{n}_chain.pem", "rb").read()).decode()}
json.dump([one(570, "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"),
           one(580, "5bb22e377702d4e1e8215a903ba094826b9ac7f731dee1fe8102958bf2840aca")], open(sys.argv[2], "w"))
PY
expect 1 "two captures of one GPU under different attestation keys" -- "$VERIFY" report "$WORK/same-device.json" \
  --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb --at 2025-06-01T00:00:00Z --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.distinct_gpus: GPU 2 is GPU 1 (the same device certificate key, GH100 A01 GSP BROM serialNumber 41E23D711E1C4FBFAC)" \
  "one device, whatever its attestation key"
check "... and each capture's own device certificate is in the JSON" -- sh -c '"$0" report "$1" --nonce 931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb \
  --at 2025-06-01T00:00:00Z --insecure-no-crl --json | jq -e ".report.gpus[1].device_certificate | test(\"serialNumber=41E23D711E1C4FBFAC\")" >/dev/null' "$VERIFY" "$WORK/same-device.json"
expect 1 "a minimum driver above the GPU's" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --gpu-min-driver 545.0.1
contains "$WORK/out" "FAIL  policy.gpu_driver_version: driver version 545.00, expected at least 545.0.1" "the driver version is named"
expect 0 "minimum driver and VBIOS met" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --gpu-min-driver 545 --gpu-min-vbios 96.00.5E.00.01
contains "$WORK/out" "PASS  policy.gpu_vbios_version: VBIOS version 96.00.5e.00.01 (expected at least 96.00.5e.00.01)" "the VBIOS version passes"
expect 1 "a minimum VBIOS above the GPU's (hex: 5f > 5e)" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --gpu-min-vbios 96.00.5f.00.00
expect 2 "a VBIOS version that is not one" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --gpu-min-vbios 96.00.5e
contains "$WORK/err" "--gpu-min-vbios" "... naming the flag"
expect 2 "--gpu-count 0" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --gpu-count 0
printf 'gpu_count: 1\ngpu_min_driver_version: "550.54"\n' >"$WORK/gpu.yaml"
expect 1 "a policy file's minimum driver" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --policy "$WORK/gpu.yaml"
contains "$WORK/out" "FAIL  policy.gpu_driver_version" "the file's minimum is applied"
contains "$WORK/out" "PASS  policy.gpu_count" "... and its count"
expect 1 "a CPU TEE's field flag on GPU evidence fails (asked for, never skipped)" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --insecure-no-crl --host-data "$(printf '%064d' 0)"
contains "$WORK/out" "FAIL  policy.host_data: host_data was given on the command line, but it applies to CPU TEE reports only" "named as a CPU key"
expect 0 "an SEV-SNP report with GPU keys from a policy file: listed as not applicable" -- "$VERIFY" "${SNP_OK[@]}" --policy "$WORK/gpu.yaml"
contains "$WORK/out" "SKIP  policy.gpu_count: gpu_count applies to NVIDIA GPU evidence" "... as SKIP"
expect 1 "--gpu-count on an SEV-SNP report fails" -- "$VERIFY" "${SNP_OK[@]}" --gpu-count 1
contains "$WORK/out" "FAIL  policy.gpu_count: gpu_count was given on the command line, but it applies to NVIDIA GPU evidence only" "named as a GPU key"

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
contains "$WORK/err" "--driver-rim, --vbios-rim and --ocsp are for NVIDIA GPU evidence" "... says whose flag it is"
expect 2 "--measurement with GPU evidence" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --measurement "$(printf '%096d' 0)"
expect 2 "--vek with GPU evidence" -- "$VERIFY" report "$WORK/gpu.json" "${OK[@]}" --vek "$DRIVER"
expect 2 "a 16-byte nonce padded with zeros is not a GPU nonce" -- "$VERIFY" report "$WORK/gpu.json" --nonce "${NONCE:0:32}" --driver-rim "$DRIVER" --vbios-rim "$VBIOS" "${AT[@]}"
printf '[{"arch":"HOPPER","nonce":"00","evidence":"AA==","certificate":"AA=="}]' >"$WORK/bad.json"
expect 1 "evidence that does not parse" -- "$VERIFY" report "$WORK/bad.json" "${OK[@]}"
expect 0 "cci-verify show decodes the evidence" -- "$VERIFY" show "$WORK/gpu.json" --json
check "show: driver and the claimed nonce" -- test "$(jq -r '.report.gpus[0].driver_version + " " + .report.gpus[0].nonce_claimed' "$WORK/out")" = "545.00 $NONCE"
# A simulated GPU (cci-run sim init --vendor nvidia; cci-run sim gpu-evidence): its chain and RIMs
# verify only when the directory is trusted by name; xmlsec1 agrees on its RIMs.
SIM="$WORK/sim"
expect 0 "sim init --vendor nvidia" -- "$RUN" sim init "$SIM" --vendor nvidia
contains "$WORK/out" "SIMULATED: not NVIDIA hardware" "the simulator says what it is"
check "its private keys are 0600" -- test "$(stat -c %a "$SIM/nvidia/attestation.key") $(stat -c %a "$SIM/nvidia/rim_signer.key")" = "600 600"
expect 3 "sim init into an existing platform is refused (never overwritten)" -- "$RUN" sim init "$SIM" --vendor nvidia
check "xmlsec1 verifies the simulated driver RIM with the simulated RIM root" -- sh -c '"$0" "$@" >/dev/null 2>&1' \
  xmlsec1 --verify --trusted-pem "$SIM/nvidia/rim_root.pem" --enabled-key-data x509 "$SIM/nvidia/driver_rim.xml"
check "... and the VBIOS RIM" -- sh -c '"$0" "$@" >/dev/null 2>&1' xmlsec1 --verify --trusted-pem "$SIM/nvidia/rim_root.pem" --enabled-key-data x509 "$SIM/nvidia/vbios_rim.xml"
SN=$(printf 'a5%.0s' $(seq 32))
expect 0 "sim gpu-evidence, two GPUs" -- "$RUN" sim gpu-evidence "$SIM" --nonce "$SN" --gpus 2 -o "$WORK/sim.json"
contains "$WORK/err" "proves nothing about hardware" "a warning says it is simulated"
expect 0 "simulated GPUs verify with --trust-sim-root" -- "$VERIFY" report "$WORK/sim.json" --nonce "$SN" --trust-sim-root "$SIM" --insecure-no-crl --gpu-count 2 --gpu-min-driver 550.90.07
contains "$WORK/out" "PASS  nvgpu.distinct_gpus: 2 GPUs, 2 different device certificate keys" "two simulated GPUs are two devices"
contains "$WORK/out" "PASS  policy.gpu_count: GPUs in the evidence 2 as expected" "the count passes"
contains "$WORK/out" "PASS  policy.gpu_mode: GPU 1: confidential-computing mode" "the mode is named for each GPU"
contains "$WORK/out" "PASS  nvgpu.measurements: GPU 2: 32 active measurements equal the RIMs'" "every measurement compared, per GPU"
contains "$WORK/out" "PASS  nvgpu.fwid: GPU 1: the report's FWID is the one in the attestation key's certificate" "the FWID binds"
contains "$WORK/out" "SIMULATED NVIDIA GPU evidence, 2 GPUs" "the verdict says SIMULATED"
expect 1 "--gpu-count 1 with two GPUs" -- "$VERIFY" report "$WORK/sim.json" --nonce "$SN" --trust-sim-root "$SIM" --insecure-no-crl --gpu-count 1
contains "$WORK/out" "FAIL  policy.gpu_count: GPUs in the evidence 2, expected 1" "the count fails, both sides shown"
expect 1 "... and are refused without it" -- "$VERIFY" report "$WORK/sim.json" --nonce "$SN" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.device_chain: GPU 1: the chain's root (CN=cci SIMULATED NVIDIA Device Identity CA" "the simulated root is named"
expect 1 "another nonce" -- "$VERIFY" report "$WORK/sim.json" --nonce "$(printf '%064d' 0)" --trust-sim-root "$SIM" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.request_nonce" "the nonce check fails"
expect 0 "a changed measurement" -- "$RUN" sim gpu-evidence "$SIM" --nonce "$SN" --flip-measurement 20 -o "$WORK/sim-flip.json"
expect 1 "... is refused, naming the index and the RIM" -- "$VERIFY" report "$WORK/sim-flip.json" --nonce "$SN" --trust-sim-root "$SIM" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.measurements: measurement index 20 (driver RIM)" "index 20 of the driver RIM"
python3 - "$WORK/sim.json" "$WORK/sim-byte.json" <<'PY'
import base64, json, sys
ev = json.load(open(sys.argv[1]))
r = bytearray(base64.b64decode(ev[0]["evidence"])); r[200] ^= 1
ev[0]["evidence"] = base64.b64encode(bytes(r)).decode()
json.dump(ev, open(sys.argv[2], "w"))
PY
expect 1 "a flipped byte in a simulated report" -- "$VERIFY" report "$WORK/sim-byte.json" --nonce "$SN" --trust-sim-root "$SIM" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.report_signature: GPU 1" "the signature check fails"
expect 0 "a simulated GPU in protected PCIe mode" -- "$RUN" sim init "$WORK/sim-pp" --vendor nvidia --gpu-mode ppcie --gpu-driver 570.124.03
expect 0 "its evidence" -- "$RUN" sim gpu-evidence "$WORK/sim-pp" --nonce "$SN" -o "$WORK/pp.json"
expect 1 "protected PCIe is refused by the built-in policy" -- "$VERIFY" report "$WORK/pp.json" --nonce "$SN" --trust-sim-root "$WORK/sim-pp" --insecure-no-crl
contains "$WORK/out" "FAIL  policy.gpu_mode: protected PCIe (PPCIE)" "the mode is named"
printf 'gpu_allow_ppcie: true\n' >"$WORK/ppcie.yaml"
expect 0 "... and accepted by a policy that allows it" -- "$VERIFY" report "$WORK/pp.json" --nonce "$SN" --trust-sim-root "$WORK/sim-pp" --insecure-no-crl --policy "$WORK/ppcie.yaml"
expect 1 "a minimum driver above the simulated 570.124.03" -- "$VERIFY" report "$WORK/pp.json" --nonce "$SN" --trust-sim-root "$WORK/sim-pp" --insecure-no-crl --policy "$WORK/ppcie.yaml" --gpu-min-driver 570.133
expect 1 "trusting one simulated platform does not extend to another's GPU" -- "$VERIFY" report "$WORK/pp.json" --nonce "$SN" --trust-sim-root "$SIM" --insecure-no-crl --policy "$WORK/ppcie.yaml"
# NVIDIA Opaque Data Format 2.0 (drivers from CUDA 13.5 on): an NVDAOD header and a value type in
# every opaque entry. Signed and verified end to end; the mode comes from its FEATURE_FLAG entry.
expect 0 "a simulated GPU writing the versioned opaque layout" -- "$RUN" sim init "$WORK/sim-v2" --vendor nvidia --gpu-opaque nvdaod --gpu-mode mpt --gpu-driver 620.12
expect 0 "its evidence" -- "$RUN" sim gpu-evidence "$WORK/sim-v2" --nonce "$SN" -o "$WORK/v2.json"
expect 0 "verifies, RIMs and policy included" -- "$VERIFY" report "$WORK/v2.json" --nonce "$SN" --trust-sim-root "$WORK/sim-v2" --insecure-no-crl --gpu-min-driver 620 --json
check "json: layout NVDAOD 2.0.0, opaque data version 2 (the header's), FSP SVN 1, MPT, driver 620.12" -- test \
  "$(jq -r '.report.gpus[0] | "\(.opaque_format) \(.opaque_data_version) \(.fsp_ucode_svn) \(.feature_flag) \(.driver_version)"' "$WORK/out")" = "NVDAOD 2.0.0 2 1 MPT 620.12"
python3 - "$WORK/v2.json" "$WORK/v2-major3.json" <<'PY'
import base64, json, sys
ev = json.load(open(sys.argv[1]))
r = bytearray(base64.b64decode(ev[0]["evidence"]))
r[r.index(b"NVDAOD") + 8] = 3  # the header's major version
ev[0]["evidence"] = base64.b64encode(bytes(r)).decode()
json.dump(ev, open(sys.argv[2], "w"))
PY
expect 1 "an opaque data major version cci does not know" -- "$VERIFY" report "$WORK/v2-major3.json" --nonce "$SN" --trust-sim-root "$WORK/sim-v2" --insecure-no-crl
contains "$WORK/out" "FAIL  nvgpu.report: GPU attestation report: opaque data format version 3.0 is newer than cci reads (up to 2.x)" "refused, saying why"
expect 2 "--gpu-opaque that is no layout" -- "$RUN" sim init "$WORK/sim-v3" --vendor nvidia --gpu-opaque v3
expect 2 "--gpu-opaque with --vendor intel" -- "$RUN" sim init "$WORK/sim-v4" --vendor intel --gpu-opaque nvdaod
expect 2 "--gpu-driver with --vendor amd" -- "$RUN" sim init "$WORK/sim-x" --vendor amd --gpu-driver 550.1
expect 2 "--measurement with --vendor nvidia" -- "$RUN" sim init "$WORK/sim-y" --vendor nvidia --measurement "$(printf '%096d' 0)"
expect 2 "a VBIOS version that is not one" -- "$RUN" sim init "$WORK/sim-z" --vendor nvidia --gpu-vbios 96.00
expect 2 "a 16-byte nonce" -- "$RUN" sim gpu-evidence "$SIM" --nonce "${SN:0:32}" -o "$WORK/x.json"

# NVIDIA's RIM service, stood in for on 127.0.0.1 (kds_server.py): GET {base}/ID answers
# {"id": ID, "rim": base64(SWID XML), "sha256": hex}. cci-verify fetch gets the RIMs for the
# report's versions, checked (signature, chain to the pinned RIM root at --at) before caching;
# report --offline then needs no --driver-rim/--vbios-rim.
expect 3 "the RIMs' ids, as the verdict names them" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" "${AT[@]}" --insecure-no-crl --offline
DRIVER_ID="$(grep -o 'serves it as NV_GPU_DRIVER_[A-Za-z0-9_.]*' "$WORK/out" | head -1 | sed 's/serves it as //')"
VBIOS_ID="$(grep -o 'serves it as NV_GPU_VBIOS_[A-Za-z0-9_]*' "$WORK/out" | head -1 | sed 's/serves it as //')"
check "both ids named ($DRIVER_ID, $VBIOS_ID)" -- test -n "$DRIVER_ID" -a -n "$VBIOS_ID"
rim_json() {  # rim_json ID FILE [SHA256] > JSON
  python3 -c 'import base64, hashlib, json, sys
x = open(sys.argv[2], "rb").read()
print(json.dumps({"id": sys.argv[1], "rim": base64.b64encode(x).decode(), "sha256": sys.argv[3] if len(sys.argv) > 3 else hashlib.sha256(x).hexdigest()}))' "$@"
}
rim_json "$DRIVER_ID" "$DRIVER" >"$WORK/driver.json"
rim_json "$VBIOS_ID" "$VBIOS" >"$WORK/vbios.json"
rim_json "$DRIVER_ID" "$G/negative/rim_driver_test_no_gpu_flip_sigvalue.swidtag" >"$WORK/driver-forged.json"
rim_json "$DRIVER_ID" "$DRIVER" "$(printf '%064d' 0)" >"$WORK/driver-badsum.json"
jq -n --arg d "$DRIVER_ID" --arg v "$VBIOS_ID" --arg w "$WORK" \
  '{("/good/" + $d): ($w + "/driver.json"), ("/good/" + $v): ($w + "/vbios.json"), ("/forged/" + $d): ($w + "/driver-forged.json"), ("/badsum/" + $d): ($w + "/driver-badsum.json")}' >"$WORK/rims.map"
python3 "$(dirname "$0")/kds_server.py" --map "$WORK/rims.map" --port-file "$WORK/rim.port" --log "$WORK/rim.log" &
RIMSRV=$!
trap 'kill $RIMSRV 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/rim.port" ] && break; sleep 0.1; done
RS="http://127.0.0.1:$(cat "$WORK/rim.port")/ok"
FR=(fetch "$WORK/gpu.json" --items rim --insecure-http-kds "${AT[@]}")
expect 0 "fetch --items rim: both RIMs from the service" -- "$VERIFY" "${FR[@]}" --rim-url "$RS/good" --cache-dir "$WORK/rc"
contains "$WORK/out" "downloaded rim $DRIVER_ID" "the driver RIM is downloaded"
contains "$WORK/out" "downloaded rim $VBIOS_ID" "the VBIOS RIM is downloaded"
check "two GETs, one per RIM" -- test "$(grep -c "^ok /good/NV_GPU_" "$WORK/rim.log")" = 2
expect 0 "report --offline: the cached RIMs, no --driver-rim or --vbios-rim" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" "${AT[@]}" \
  --insecure-no-crl --offline --cache-dir "$WORK/rc"
contains "$WORK/out" "PASS  nvgpu.measurements: 32 active measurements equal the RIMs'" "the measurements are compared with the cached RIMs"
contains "$WORK/out" "PASS  nvgpu.driver_rim_signature: driver RIM $DRIVER_ID (cache)" "the RIM's origin is said"
expect 0 "fetch again: cached" -- "$VERIFY" "${FR[@]}" --rim-url "$RS/good" --cache-dir "$WORK/rc"
contains "$WORK/out" "cached     rim $DRIVER_ID" "cached is said"
expect 0 "report without --offline gets the RIMs itself" -- "$VERIFY" report "$WORK/gpu.json" --nonce "$NONCE" "${AT[@]}" --insecure-no-crl \
  --rim-url "$RS/good" --insecure-http-kds --cache-dir "$WORK/rc2"
contains "$WORK/err" "fetched the RIM $DRIVER_ID" "the download is said"
expect 3 "a RIM whose signature was altered is refused, not cached" -- "$VERIFY" "${FR[@]}" --rim-url "$RS/forged" --cache-dir "$WORK/rc3"
contains "$WORK/err" "RIM service answer for $DRIVER_ID refused" "the refusal names the RIM"
check "... nothing cached for it" -- test ! -e "$WORK/rc3/nvidia/rim/$DRIVER_ID.xml"
expect 3 "an answer whose sha256 is not the RIM's is refused" -- "$VERIFY" "${FR[@]}" --rim-url "$RS/badsum" --cache-dir "$WORK/rc4"
contains "$WORK/err" "its sha256 is not the RIM's" "the digest is named"
expect 2 "plain http without --insecure-http-kds is refused" -- "$VERIFY" fetch "$WORK/gpu.json" --items rim "${AT[@]}" --rim-url "$RS/good" --cache-dir "$WORK/rc5"
finish
