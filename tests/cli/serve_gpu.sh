#!/usr/bin/env bash
# cci-run serve --gpu with a simulated NVIDIA GPU beside the simulated SEV-SNP platform: every
# fresh answer carries the GPU evidence, its request nonce derived from the client's nonce and the
# TLS exporter, its SHA-256 in the claims the CPU report binds (cci-gpu); cci-verify remote gives
# one verdict over CPU + GPU + manifest + channel. A policy (flag or deployment manifest) that
# expects GPUs fails on a server without them; a GPU the verifier does not trust fails the verdict.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
source "$(dirname "$0")/ocsp_lib.sh"
trap 'serve_stop; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

check "setup: signed model, simulated platform, two users" -- serve_setup
expect 0 "a simulated GPU beside the simulated SEV-SNP platform" -- "$RUN" sim init "$WORK/sim" --vendor nvidia
REMOTE=(remote --release-key "$WORK/release.pub" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl)

check "server with --gpu sim starts" -- serve_start --gpu sim
contains "$WORK/serve.log" "simulated NVIDIA GPU" "the simulated GPU is announced at start"
expect 0 "cci-verify remote: one verdict over the SEV-SNP report and the GPU" -- "$VERIFY" "${REMOTE[@]}" "$URL" --gpu-count 1
for c in snp.report_signature policy.measurement policy.report_data nvgpu.device_chain nvgpu.report_signature nvgpu.request_nonce \
  nvgpu.fwid nvgpu.measurements policy.gpu_count policy.gpu_mode; do
  contains "$WORK/out" "PASS  $c" "$c passes"
done
contains "$WORK/err" "GPU evidence: named by the fresh claims (cci-gpu)" "the GPU binding is said"
contains "$WORK/out" "SIMULATED NVIDIA GPU evidence, 1 GPU" "the verdict names the GPU"
expect 0 "... as JSON" -- "$VERIFY" "${REMOTE[@]}" "$URL" --json
check "json: the GPU's driver and the digest the claims name" -- sh -c \
  "jq -e '(.report.gpus | length) == 1 and .report.gpus[0].driver_version == \"550.90.07\" and (.remote.gpu_evidence_sha256 | length) == 64' '$WORK/out' >/dev/null"
expect 1 "a policy expecting two GPUs" -- "$VERIFY" "${REMOTE[@]}" "$URL" --gpu-count 2
contains "$WORK/out" "FAIL  policy.gpu_count: GPUs in the evidence 1, expected 2" "the count is named"
expect 1 "a minimum driver above the GPU's" -- "$VERIFY" "${REMOTE[@]}" "$URL" --gpu-min-driver 560
expect 3 "GPU revocation is not checked offline: cannot evaluate without --insecure-no-crl" -- "$VERIFY" remote --release-key "$WORK/release.pub" \
  --trust-sim-root "$WORK/sim" --offline "$URL" --crl "$WORK/sim/amd/crl.der"
contains "$WORK/out" "FAIL  nvgpu.revocation" "revocation is named"
check "OpenSSL's responder answers for the simulated GPU's certificates" -- ocsp_all "$WORK/sim" "$WORK/ocsp-good"
expect 0 "... and with the OCSP answers (--ocsp) the GPU's revocation is checked: accepted" -- "$VERIFY" remote --release-key "$WORK/release.pub" \
  --trust-sim-root "$WORK/sim" --offline "$URL" --crl "$WORK/sim/amd/crl.der" --ocsp "$WORK/ocsp-good/brom.der" --ocsp "$WORK/ocsp-good/ica.der" \
  --ocsp "$WORK/ocsp-good/identity.der" --ocsp "$WORK/ocsp-good/rim_signer.der" --driver-rim "$WORK/sim/nvidia/driver_rim.xml"
for c in nvgpu.revocation nvgpu.driver_rim_revocation snp.crl; do contains "$WORK/out" "PASS  $c" "$c passes"; done
mkdir -p "$WORK/cpu-only" && cp -r "$WORK/sim/amd" "$WORK/cpu-only/"
expect 1 "a GPU whose simulated root the verifier does not trust (only the CPU simulator is)" -- "$VERIFY" remote --release-key "$WORK/release.pub" \
  --trust-sim-root "$WORK/cpu-only" --offline --insecure-no-crl "$URL"
contains "$WORK/out" "PASS  snp.report_signature" "the CPU side still verifies"
contains "$WORK/out" "FAIL  nvgpu.device_chain: the chain's root (CN=cci SIMULATED NVIDIA Device Identity CA" "the GPU's chain fails, naming its root"
serve_stop

check "server without --gpu starts" -- serve_start
expect 0 "without GPUs the verdict is the CPU's" -- "$VERIFY" "${REMOTE[@]}" "$URL"
check "... with no GPU in it" -- sh -c "! grep -q nvgpu '$WORK/out'"
expect 1 "a policy expecting a GPU fails on a server that shows none" -- "$VERIFY" "${REMOTE[@]}" "$URL" --gpu-count 1
contains "$WORK/out" "FAIL  policy.gpu_count: the policy expects 1 GPUs, and the server's fresh evidence names none" "the missing GPU is named"
check "... and the CPU report's not-applicable line for it is gone" -- sh -c "! grep -q 'gpu_count was given on the command line' '$WORK/out'"
serve_stop

# A deployment manifest whose policy requires a GPU: a server that shows none is rejected by
# cci-verify remote with nothing but the release key (the manifest comes from the server).
sed 's/^policy:$/policy:\n  gpu_count: 1/' "$WORK/cci.yaml" >"$WORK/cci-gpu.yaml"
expect 0 "a deployment manifest with gpu_count: 1" -- "$MEASURE" manifest build "$WORK/cci-gpu.yaml" --key "$WORK/release.key" -o "$WORK/gpu-manifest.json"
SIGNED="--deployment $WORK/gpu-manifest.json" check "server from it, without --gpu, starts" -- serve_start
expect 1 "the manifest's GPU requirement rejects a server without GPU evidence" -- "$VERIFY" "${REMOTE[@]}" "$URL"
contains "$WORK/out" "FAIL  policy.gpu_count: the policy expects 1 GPUs, and the server's fresh evidence names none" "the missing GPU is named"
serve_stop
SIGNED="--deployment $WORK/gpu-manifest.json" check "server from it, with --gpu sim, starts" -- serve_start --gpu sim
expect 0 "... and accepts the server with its GPU" -- "$VERIFY" "${REMOTE[@]}" "$URL"
contains "$WORK/out" "PASS  policy.gpu_count: GPUs in the evidence 1 as expected" "the manifest's count passes"
serve_stop

expect 2 "--gpu sim without --sim-dir" -- "$RUN" serve --tee sim-snp --gpu sim --model "$MODEL" --deployment "$WORK/cci-manifest.json" \
  --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
expect 2 "--gpu with an unknown source" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --gpu cuda --model "$MODEL"
expect 3 "--gpu nvml where there is no NVIDIA driver" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --gpu nvml --model "$MODEL" \
  --deployment "$WORK/cci-manifest.json" --release-key "$WORK/release.pub" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0
contains "$WORK/err" "libnvidia-ml.so.1" "the missing NVML library is named"
finish
