#!/usr/bin/env bash
# A keyless release served and verified end to end: the model bundle is signed through a private
# Sigstore instance made here (tests/cli/sigstore_instance.py: its own Fulcio CA, CT log and Rekor
# log, a trusted_root.json naming them), so cci-run serve starts only for the expected signer, its
# workers check the bundle again, and cci-verify remote names the signer it verified.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/serve_lib.sh"
PY=/usr/bin/python3  # Debian's python3-cryptography (scripts/lib.sh installs it)
SI="$CCI_SOURCE_DIR/tests/cli/sigstore_instance.py"
trap 'serve_stop; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT

serve_setup || { echo "FAIL setup"; exit 1; }
"$PY" "$SI" init "$WORK/sigstore" || { echo "FAIL the test Sigstore instance"; exit 1; }
"$PY" "$SI" sign "$WORK/sigstore" "$WORK/model.sig" ci@example.com https://issuer.test "$WORK/keyless.sig" || { echo "FAIL keyless signing"; exit 1; }
TR="$WORK/sigstore/trusted_root.json"
ID=(--identity ci@example.com --issuer https://issuer.test --trusted-root "$TR")
RID=(--release-identity ci@example.com --release-issuer https://issuer.test --trusted-root "$TR")

expect 0 "cci-verify model: the model signed keylessly" -- "$VERIFY" model "$MODEL" --signature "$WORK/keyless.sig" "${ID[@]}"
contains "$WORK/out" "sigstore.sct" "the test instance's SCT verified"
if [ -f "$CCI_TEST_VECTORS_DIR/sigstore/trusted_root/public-good.json" ]; then
  expect 1 "another trusted root does not know this instance" -- "$VERIFY" model "$MODEL" --signature "$WORK/keyless.sig" \
    --identity ci@example.com --issuer https://issuer.test --trusted-root "$CCI_TEST_VECTORS_DIR/sigstore/trusted_root/public-good.json"
fi

SERVE=("$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" --model "$MODEL" --manifest "$WORK/keyless.sig" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 --threads 1)
expect 1 "serve refuses a bundle by another signer than --release-identity" -- "${SERVE[@]}" --release-identity other@example.com \
  --release-issuer https://issuer.test --trusted-root "$TR"
contains "$WORK/err" "refusing to serve" "it says it refuses"
contains "$WORK/err" "sigstore.identity" "and names the failed check"
expect 2 "serve needs a signer: a release key or a keyless identity" -- "${SERVE[@]}"
expect 2 "... not both" -- "${SERVE[@]}" --release-key "$WORK/release.pub" "${RID[@]}"
expect 2 "... --trusted-root is not for a release key" -- "${SERVE[@]}" --release-key "$WORK/release.pub" --trusted-root "$TR"
expect 2 "... and a keyless identity needs its issuer" -- "${SERVE[@]}" --release-identity ci@example.com --trusted-root "$TR"
expect 1 "a deployment manifest signed with the release key is not a keyless signer's" -- "$RUN" serve --tee sim-snp --sim-dir "$WORK/sim" \
  --model "$MODEL" --deployment "$WORK/cci-manifest.json" --api-keys "$WORK/keys.txt" --listen 127.0.0.1:0 "${RID[@]}"

SIGNED="--manifest $WORK/keyless.sig" RELEASE="${RID[*]}" check "server from the keyless model bundle starts" -- serve_start
check "a completion: the worker verified the keyless bundle again" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":4,"temperature":0}')" = 200
R=("$VERIFY" remote "$URL" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl --insecure-any-measurement)
expect 0 "cci-verify remote --release-identity: verified" -- "${R[@]}" "${RID[@]}"
contains "$WORK/err" "signed by the keyless signer ci@example.com (issuer https://issuer.test)" "the signer named in the verdict"
expect 1 "cci-verify remote with another identity" -- "${R[@]}" --release-identity other@example.com --release-issuer https://issuer.test --trusted-root "$TR"
expect 1 "cci-verify remote with another issuer" -- "${R[@]}" --release-identity ci@example.com --release-issuer https://issuer.test/ --trusted-root "$TR"
expect 2 "cci-verify remote with the release key against a keyless release" -- "${R[@]}" --release-key "$WORK/release.pub"
serve_stop

# A deployment manifest signed keylessly: the statement cci-measure writes (--unsigned), signed by
# the pipeline's identity into a Sigstore bundle.
expect 2 "manifest build needs --key or --unsigned" -- "$MEASURE" manifest build "$WORK/cci.yaml" -o "$WORK/x.json"
expect 0 "manifest build --unsigned writes the statement" -- "$MEASURE" manifest build "$WORK/cci.yaml" --unsigned -o "$WORK/statement.json"
check "the statement is an in-toto statement of the deployment predicate" -- python3 -c "
import json; d=json.load(open('$WORK/statement.json')); assert d['predicateType']=='https://cci.dev/deployment-manifest/v1', d['predicateType']"
"$PY" "$SI" sign "$WORK/sigstore" "$WORK/statement.json" ci@example.com https://issuer.test "$WORK/keyless-manifest.json"
expect 0 "cci-verify manifest: keyless" -- "$VERIFY" manifest "$WORK/keyless-manifest.json" "${ID[@]}"
contains "$WORK/err" "signed keylessly by ci@example.com (issuer https://issuer.test)" "the signer named"
expect 1 "cci-verify manifest: another identity" -- "$VERIFY" manifest "$WORK/keyless-manifest.json" --identity ci@example.co --issuer https://issuer.test --trusted-root "$TR"
expect 1 "cci-verify manifest: the keyless manifest against the release key" -- "$VERIFY" manifest "$WORK/keyless-manifest.json" --release-key "$WORK/release.pub"
expect 2 "cci-verify manifest: no signer" -- "$VERIFY" manifest "$WORK/keyless-manifest.json"
# Everything else that reads a deployment manifest takes the keyless one with its signer.
NONCE=00112233445566778899aabbccddeeff
"$RUN" attest --tee sim-snp --sim-dir "$WORK/sim" --nonce "$NONCE" -o "$WORK/evidence.json" >/dev/null 2>&1
expect 0 "cci-verify report --deployment: the keyless manifest's measurement" -- "$VERIFY" report "$WORK/evidence.json" \
  --deployment "$WORK/keyless-manifest.json" "${RID[@]}" --offline --trust-sim-root "$WORK/sim" --nonce "$NONCE"
contains "$WORK/out" "PASS  policy.measurement" "the measurement it lists"
expect 1 "... and with another signer" -- "$VERIFY" report "$WORK/evidence.json" --deployment "$WORK/keyless-manifest.json" \
  --release-identity x@example.com --release-issuer https://issuer.test --trusted-root "$TR" --offline --trust-sim-root "$WORK/sim" --nonce "$NONCE"
expect 0 "cci-measure kbs-artifacts from the keyless manifest" -- "$MEASURE" kbs-artifacts "$WORK/keyless-manifest.json" "${RID[@]}" -o "$WORK/trustee"
check "reference values written" -- test -s "$WORK/trustee/reference-values.json"
expect 0 "cci-run generate --signature: the keyless model bundle" -- "$RUN" generate --model "$MODEL" --signature "$WORK/keyless.sig" "${RID[@]}" \
  --prompt "And God said" --temperature 0 --max-tokens 2
expect 1 "... refused for another signer" -- "$RUN" generate --model "$MODEL" --signature "$WORK/keyless.sig" --release-identity x@example.com \
  --release-issuer https://issuer.test --trusted-root "$TR" --prompt "And God said" --max-tokens 2
SIGNED="--deployment $WORK/keyless-manifest.json" RELEASE="${RID[*]}" check "server from the keyless deployment manifest starts" -- serve_start
check "a completion" -- test "$(api /v1/completions "$KEY_A" '{"prompt":"And God said","max_tokens":4,"temperature":0}')" = 200
# The deployment names the VM: no measurement waiver; the manifest's own measurement is required.
expect 0 "cci-verify remote: the keyless deployment, its measurement and policy" -- "$VERIFY" remote "$URL" --trust-sim-root "$WORK/sim" --offline \
  --insecure-no-crl "${RID[@]}"
contains "$WORK/out" "PASS  policy.measurement" "the measurement the keyless manifest lists"
contains "$WORK/err" "deployment 'tiny-demo', signed by the keyless signer ci@example.com" "the signer named"
expect 1 "cci-verify remote: another identity" -- "$VERIFY" remote "$URL" --trust-sim-root "$WORK/sim" --offline --insecure-no-crl \
  --release-identity-regexp '.*@example\.org' --release-issuer https://issuer.test --trusted-root "$TR"
serve_stop
finish
