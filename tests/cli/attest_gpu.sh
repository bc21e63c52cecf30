#!/usr/bin/env bash
# cci-run attest --gpu: one evidence file with the CPU TEE's report and the GPUs' evidence, bound
# together offline. Each GPU answers SHA-256("cci-attest-gpu-nonce" || nonce); the CPU report's
# REPORT_DATA is SHA-512("cci-attest-gpu" || len || nonce || SHA-256(GPU evidence)).
# cci-verify report --nonce gives one verdict over both; a wrong nonce, GPU evidence spliced from
# another capture, or GPU evidence removed is rejected.
source "$(dirname "$0")/lib.sh"
SIM="$WORK/sim"
N=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
N2=ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100
expect 0 "a simulated SEV-SNP platform" -- "$RUN" sim init "$SIM"
expect 0 "... and a simulated GPU beside it" -- "$RUN" sim init "$SIM" --vendor nvidia
A=(attest --tee sim-snp --sim-dir "$SIM")
V=(report --trust-sim-root "$SIM" --offline --insecure-no-crl --insecure-any-measurement)
expect 0 "attest --gpu sim" -- "$RUN" "${A[@]}" --nonce "$N" --gpu sim -o "$WORK/ev.json"
contains "$WORK/out" "with the GPUs' evidence bound to it" "the GPUs are said"
check "the file carries the GPU evidence" -- sh -c "jq -e '.gpu_evidence | length > 100' '$WORK/ev.json' >/dev/null"
expect 0 "cci-verify report --nonce: one verdict over CPU and GPU" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --nonce "$N"
for c in snp.report_signature policy.report_data nvgpu.device_chain nvgpu.report_signature nvgpu.request_nonce nvgpu.measurements policy.gpu_mode; do
  contains "$WORK/out" "PASS  $c" "$c passes"
done
contains "$WORK/err" "GPU evidence: carried by the evidence file, bound to the CPU report's REPORT_DATA" "the binding is said"
expect 0 "... as JSON, with the GPU evidence's digest" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --nonce "$N" --json
check "json: one GPU, the digest of its evidence" -- sh -c "jq -e '(.report.gpus | length) == 1 and (.gpu_evidence_sha256 | length) == 64' '$WORK/out' >/dev/null"
expect 0 "cci-verify show decodes the GPUs beside the report" -- "$VERIFY" show "$WORK/ev.json" --json
check "show: one GPU, its driver" -- sh -c "jq -e '(.report.gpus | length) == 1 and .report.gpus[0].driver_version == \"550.90.07\"' '$WORK/out' >/dev/null"
expect 0 "... and for humans, each GPU as its own block" -- "$VERIFY" show "$WORK/ev.json"
contains "$WORK/out" "gpus[0]:" "the GPU's block"
contains "$WORK/out" "  driver_version: 550.90.07" "its driver, indented"
expect 0 "a policy expecting one GPU" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --nonce "$N" --gpu-count 1
expect 1 "... or two" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --nonce "$N" --gpu-count 2

expect 1 "another nonce: rejected" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --nonce "$N2"
contains "$WORK/out" "FAIL  policy.report_data" "the CPU report's binding fails"
contains "$WORK/out" "FAIL  nvgpu.request_nonce" "the GPU's nonce fails"
expect 2 "--report-data instead of --nonce is refused" -- "$VERIFY" "${V[@]}" "$WORK/ev.json" --report-data "$N$N"
contains "$WORK/err" "carries GPU evidence bound to the verifier's nonce: give --nonce" "the refusal says why"
expect 2 "no --nonce is refused" -- "$VERIFY" "${V[@]}" "$WORK/ev.json"

# Splicing: GPU evidence from another capture (another nonce) into this file.
expect 0 "a second capture for another nonce" -- "$RUN" "${A[@]}" --nonce "$N2" --gpu sim -o "$WORK/ev2.json"
jq --slurpfile o "$WORK/ev2.json" '.gpu_evidence = $o[0].gpu_evidence' "$WORK/ev.json" >"$WORK/spliced.json"
expect 1 "GPU evidence spliced from another capture: rejected" -- "$VERIFY" "${V[@]}" "$WORK/spliced.json" --nonce "$N"
contains "$WORK/out" "FAIL  policy.report_data" "the CPU report does not vouch for it"
jq 'del(.gpu_evidence)' "$WORK/ev.json" >"$WORK/removed.json"
expect 1 "GPU evidence removed: the CPU report no longer matches the nonce" -- "$VERIFY" "${V[@]}" "$WORK/removed.json" --nonce "$N"
contains "$WORK/out" "FAIL  policy.report_data" "REPORT_DATA names what was removed"
jq '.gpu_evidence = 7' "$WORK/ev.json" >"$WORK/badtype.json"
expect 1 "gpu_evidence that is not base64 text: malformed" -- "$VERIFY" "${V[@]}" "$WORK/badtype.json" --nonce "$N"
contains "$WORK/err" "gpu_evidence is not a base64 string" "the field is named"

expect 2 "--gpu without --nonce" -- "$RUN" "${A[@]}" --report-data "$N$N" --gpu sim -o "$WORK/x.json"
expect 2 "--gpu with an unknown source" -- "$RUN" "${A[@]}" --nonce "$N" --gpu cuda -o "$WORK/x.json"
check "nothing written" -- test ! -e "$WORK/x.json"
finish
