#!/usr/bin/env bash
# cci-run cert -> cci-verify cert on the simulated SEV-SNP platform playing the example
# deployment's launch measurement: an attested TLS certificate whose claims bind its key and the
# signed deployment manifest, accepted only with --trust-sim-root, the manifest and the release
# key; refused for another manifest, another key, another purpose, a swapped key, when expired,
# and when the simulator plays a measurement the manifest does not list.
source "$(dirname "$0")/lib.sh"

SIM="$WORK/sim"
"$MEASURE" keygen --private-key "$WORK/release.key" >/dev/null 2>&1
"$MEASURE" keygen --private-key "$WORK/other.key" >/dev/null 2>&1
SOURCE_DATE_EPOCH=0 "$MEASURE" manifest build "$CCI_SOURCE_DIR/examples/cci.yaml" --key "$WORK/release.key" -o "$WORK/manifest.json" >/dev/null 2>&1
SOURCE_DATE_EPOCH=1 "$MEASURE" manifest build "$CCI_SOURCE_DIR/examples/cci.yaml" --key "$WORK/release.key" -o "$WORK/other.json" >/dev/null 2>&1
check "two signed deployment manifests" -- test -s "$WORK/manifest.json" -a -s "$WORK/other.json"
SNP_MEAS="$("$VERIFY" manifest "$WORK/manifest.json" --key "$WORK/release.pub" --json | jq -r '[.predicate.images[].launch_measurements[] | select(.platform == "snp") | .measurement][0]')"
check "the manifest lists an SNP launch measurement" -- test "${#SNP_MEAS}" -eq 96
expect 0 "sim init playing the manifest's measurement" -- "$RUN" sim init "$SIM" --vendor amd --measurement "$SNP_MEAS"
expect 0 "cci-run cert --tee sim-snp" -- "$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out "$WORK/s.pem" --key-out "$WORK/s.key" --dns localhost --deploy eu-1 --hours 2
contains "$WORK/err" "SIMULATED" "the simulator is named"
check "key mode 0600" -- test "$(stat -c %a "$WORK/s.key")" = 600
check "the extension is there for openssl" -- sh -c "openssl x509 -in '$WORK/s.pem' -noout -text | grep -q 2.23.133.5.4.9"
check "the key matches the certificate" -- sh -c "[ \"\$(openssl pkey -in '$WORK/s.key' -pubout)\" = \"\$(openssl x509 -in '$WORK/s.pem' -noout -pubkey)\" ]"
V=(--trust-sim-root "$SIM" --offline --insecure-no-crl --manifest "$WORK/manifest.json" --release-key "$WORK/release.pub")
expect 0 "cci-verify cert accepts it with --trust-sim-root, the manifest and the release key" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --deploy eu-1
contains "$WORK/out" "verified SIMULATED:" "the verdict says SIMULATED"
contains "$WORK/out" "PASS  policy.report_data" "REPORT_DATA is the claims' hash"
contains "$WORK/out" "PASS  policy.measurement" "MEASUREMENT is one the deployment manifest lists"
contains "$WORK/out" "PASS  policy.min_tcb" "the manifest's policy (TCB minimums) applies"
expect 0 "--json" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --json
check "json says simulated" -- sh -c "jq -e '.simulated == true' '$WORK/out' >/dev/null"
expect 1 "without --trust-sim-root: rejected" -- "$VERIFY" cert "$WORK/s.pem" --offline --insecure-no-crl --manifest "$WORK/manifest.json" --release-key "$WORK/release.pub"
contains "$WORK/out" "FAIL  snp.ark_pinned" "the pinned-root check fails"
expect 1 "another manifest" -- "$VERIFY" cert "$WORK/s.pem" --trust-sim-root "$SIM" --offline --insecure-no-crl --manifest "$WORK/other.json" --release-key "$WORK/release.pub"
contains "$WORK/err" "is not the manifest the certificate's claims name" "the manifest claim is named"
expect 1 "the right manifest under another release key" -- "$VERIFY" cert "$WORK/s.pem" --trust-sim-root "$SIM" --offline --insecure-no-crl --manifest "$WORK/manifest.json" --release-key "$WORK/other.pub"
expect 2 "no manifest: nothing binds the model, refused" -- "$VERIFY" cert "$WORK/s.pem" --trust-sim-root "$SIM" --offline --insecure-no-crl
contains "$WORK/err" "--insecure-any-manifest" "it says what to give or name"
expect 1 "--insecure-any-manifest alone: still no expected measurement" -- "$VERIFY" cert "$WORK/s.pem" --trust-sim-root "$SIM" --offline --insecure-no-crl --insecure-any-manifest
contains "$WORK/out" "FAIL  policy.measurement" "the measurement is still required"
expect 0 "... with a pinned measurement it passes" -- "$VERIFY" cert "$WORK/s.pem" --trust-sim-root "$SIM" --offline --insecure-no-crl --insecure-any-manifest --measurement "$SNP_MEAS"
expect 1 "another purpose" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --purpose kbs
expect 1 "another deployment" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --deploy us-2
expect 1 "expired (checked 3 hours later)" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --at "$(( $(date +%s) + 3 * 3600 ))"
expect 2 "--nonce does not apply" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --nonce 00
# A simulator playing a VM image the manifest does not list.
"$RUN" sim init "$WORK/sim-other" --vendor amd --measurement "$(printf 'ab%.0s' $(seq 48))" >/dev/null 2>&1
"$RUN" cert --tee sim-snp --sim-dir "$WORK/sim-other" --manifest "$WORK/manifest.json" --out "$WORK/o.pem" --key-out "$WORK/o.key" --hours 2 >/dev/null 2>&1
expect 1 "a measurement the manifest does not list" -- "$VERIFY" cert "$WORK/o.pem" --trust-sim-root "$WORK/sim-other" --offline --insecure-no-crl --manifest "$WORK/manifest.json" --release-key "$WORK/release.pub"
contains "$WORK/out" "FAIL  policy.measurement" "the measurement check is named"
# The same report and claims under another key: re-sign the certificate with a new key.
openssl ecparam -name secp384r1 -genkey -noout -out "$WORK/swap.key" 2>/dev/null
openssl x509 -in "$WORK/s.pem" -signkey "$WORK/swap.key" -days 1 -out "$WORK/swapped.pem" 2>/dev/null
expect 1 "the evidence moved under another key" -- "$VERIFY" cert "$WORK/swapped.pem" "${V[@]}"
contains "$WORK/err" "pubkey-hash" "the key binding is named"
expect 1 "not a certificate (malformed)" -- "$VERIFY" cert "$WORK/manifest.json" "${V[@]}"
"$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out - --key-out "$WORK/p.key" --hours 2 >"$WORK/p.pem" 2>"$WORK/err"
check "cert --out -: the certificate on standard output" -- grep -q "BEGIN CERTIFICATE" "$WORK/p.pem"
expect 2 "cert --key-out - is refused (the private key goes to a file)" -- "$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out "$WORK/q.pem" --key-out - --hours 2
expect 2 "--hours over 24" -- "$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out "$WORK/x.pem" --key-out "$WORK/x.key" --hours 48
finish
