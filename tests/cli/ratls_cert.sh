#!/usr/bin/env bash
# cci-run cert -> cci-verify cert on the simulated SEV-SNP platform: an attested TLS certificate
# whose claims bind its key and the manifest, accepted only with --trust-sim-root, and refused
# for another manifest, another purpose, a swapped key, or when expired.
source "$(dirname "$0")/lib.sh"

SIM="$WORK/sim"
expect 0 "sim init" -- "$RUN" sim init "$SIM" --vendor amd
echo '{"deployment": 1}' > "$WORK/manifest.json"
echo '{"deployment": 2}' > "$WORK/other.json"
expect 0 "cci-run cert --tee sim-snp" -- "$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out "$WORK/s.pem" --key-out "$WORK/s.key" --dns localhost --deploy eu-1 --hours 2
contains "$WORK/err" "SIMULATED" "the simulator is named"
check "key mode 0600" -- test "$(stat -c %a "$WORK/s.key")" = 600
check "the extension is there for openssl" -- sh -c "openssl x509 -in '$WORK/s.pem' -noout -text | grep -q 2.23.133.5.4.9"
check "the key matches the certificate" -- sh -c "[ \"\$(openssl pkey -in '$WORK/s.key' -pubout)\" = \"\$(openssl x509 -in '$WORK/s.pem' -noout -pubkey)\" ]"
V=(--trust-sim-root "$SIM" --offline --insecure-no-crl)
expect 0 "cci-verify cert accepts it with --trust-sim-root" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --deploy eu-1
contains "$WORK/out" "verified SIMULATED:" "the verdict says SIMULATED"
contains "$WORK/out" "PASS  policy.report_data" "REPORT_DATA is the claims' hash"
expect 0 "--json" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --json
check "json says simulated" -- sh -c "jq -e '.simulated == true' '$WORK/out' >/dev/null"
expect 1 "without --trust-sim-root: rejected" -- "$VERIFY" cert "$WORK/s.pem" --offline --insecure-no-crl
contains "$WORK/out" "FAIL  snp.ark_pinned" "the pinned-root check fails"
expect 1 "another manifest" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --manifest "$WORK/other.json"
contains "$WORK/err" "claims name another manifest" "the manifest claim is named"
expect 1 "another purpose" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --purpose kbs
expect 1 "another deployment" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --deploy us-2
expect 1 "expired (checked 3 hours later)" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --at "$(( $(date +%s) + 3 * 3600 ))"
expect 2 "--nonce does not apply" -- "$VERIFY" cert "$WORK/s.pem" "${V[@]}" --nonce 00
# The same report and claims under another key: re-sign the certificate with a new key.
openssl ecparam -name secp384r1 -genkey -noout -out "$WORK/other.key" 2>/dev/null
openssl x509 -in "$WORK/s.pem" -signkey "$WORK/other.key" -days 1 -out "$WORK/swapped.pem" 2>/dev/null
expect 1 "the evidence moved under another key" -- "$VERIFY" cert "$WORK/swapped.pem" "${V[@]}"
contains "$WORK/err" "pubkey-hash" "the key binding is named"
expect 1 "not a certificate (malformed)" -- "$VERIFY" cert "$WORK/manifest.json" "${V[@]}"
expect 2 "--hours over 24" -- "$RUN" cert --tee sim-snp --sim-dir "$SIM" --manifest "$WORK/manifest.json" --out "$WORK/x.pem" --key-out "$WORK/x.key" --hours 48
finish
