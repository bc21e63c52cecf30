#!/usr/bin/env bash
# Revocation of NVIDIA GPU certificates by OCSP (RFC 6960), on a simulated GPU whose answers come
# from OpenSSL's own responder (ocsp_lib.sh): the device chain below its root except the
# attestation key (BROM, provisioner ICA, identity) and each RIM signer must have a current "good"
# answer. None, or only stale ones: cannot evaluate (exit 3). Revoked, unknown, a forged or
# wrongly signed answer, a delegated responder without id-kp-OCSPSigning: rejected (exit 1).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ocsp_lib.sh"
SIM="$WORK/sim"
SN=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
expect 0 "a simulated GPU" -- "$RUN" sim init "$SIM" --vendor nvidia
expect 0 "its evidence" -- "$RUN" sim gpu-evidence "$SIM" --nonce "$SN" -o "$WORK/gpu.json"
check "OpenSSL's responder answers for BROM, ICA, identity and the RIM signer" -- ocsp_all "$SIM" "$WORK/good"
R=(report "$WORK/gpu.json" --nonce "$SN" --trust-sim-root "$SIM")
ALL=(--ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/ica.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der")

expect 3 "no OCSP answers: cannot evaluate" -- "$VERIFY" "${R[@]}"
contains "$WORK/out" "nvgpu.revocation: the device chain: no current OCSP answer for cci SIMULATED GH100 A01 GSP BROM; cci SIMULATED NVIDIA GH100 Provisioner ICA; cci SIMULATED NVIDIA GH100 Identity" \
  "the three device certificates are named"
contains "$WORK/out" "nvgpu.driver_rim_revocation: the driver RIM's signer: no current OCSP answer for cci SIMULATED HCC RIM Signer" "the RIM signer is named"
expect 0 "every answer good and current: accepted" -- "$VERIFY" "${R[@]}" "${ALL[@]}"
for c in nvgpu.revocation nvgpu.driver_rim_revocation nvgpu.vbios_rim_revocation; do contains "$WORK/out" "PASS  $c" "$c passes"; done
contains "$WORK/out" "cci SIMULATED NVIDIA GH100 Identity good" "each certificate's status is said"
expect 0 "... as JSON" -- "$VERIFY" "${R[@]}" "${ALL[@]}" --json
check "json: the revocation checks pass" -- sh -c "jq -e '[.checks[] | select(.id | test(\"revocation\")) | .status] == [\"pass\",\"pass\",\"pass\"]' '$WORK/out' >/dev/null"
expect 0 "--insecure-no-crl: not checked, said" -- "$VERIFY" "${R[@]}" --insecure-no-crl
contains "$WORK/out" "SKIP  nvgpu.revocation: not checked: --insecure-no-crl" "the skip is said"

expect 3 "the ICA's answer missing" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "no current OCSP answer for cci SIMULATED NVIDIA GH100 Provisioner ICA (cci-verify fetch asks the responders; or give --ocsp FILE" "only the ICA is named"
expect 3 "answers valid for a day, asked about three days later: stale, cannot evaluate" -- "$VERIFY" "${R[@]}" "${ALL[@]}" --at "$(date -u -d '3 days' +%Y-%m-%dT%H:%M:%SZ)"
contains "$WORK/out" "holds for" "the answer's window is named"
expect 3 "... and an hour before they were made" -- "$VERIFY" "${R[@]}" "${ALL[@]}" --at "$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)"

check "a revoked BROM" -- ocsp_answer brom ica "$WORK/brom-revoked.der" revoked
expect 1 "a revoked device certificate: rejected" -- "$VERIFY" "${R[@]}" "${ALL[@]}" --ocsp "$WORK/brom-revoked.der"
contains "$WORK/out" "FAIL  nvgpu.revocation: the device chain: cci SIMULATED GH100 A01 GSP BROM is REVOKED since" "the revoked certificate is named"
contains "$WORK/out" "(keyCompromise)" "... with its reason"
check "a revoked RIM signer" -- ocsp_answer rim_signer rim_root "$WORK/rim-revoked.der" revoked
expect 1 "a revoked RIM signer: rejected" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/ica.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/rim-revoked.der"
contains "$WORK/out" "FAIL  nvgpu.driver_rim_revocation: the driver RIM's signer: cci SIMULATED HCC RIM Signer is REVOKED" "the RIM signer is named"
check "an answer 'unknown'" -- ocsp_answer ica identity "$WORK/ica-unknown.der" unknown
expect 1 "status unknown: rejected" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/ica-unknown.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "status unknown" "unknown is named"

check "an answer about the identity signed by the ICA's key, not the root's" -- ocsp_answer identity root "$WORK/identity-wrong.der" good ica
expect 1 "a responder the issuer did not appoint: rejected" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/ica.der" --ocsp "$WORK/identity-wrong.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "signed by no acceptable responder" "the responder is refused"
check "a responder the root delegated to (id-kp-OCSPSigning)" -- ocsp_delegate root delegated
check "... its answer about the identity" -- ocsp_answer identity root "$WORK/identity-delegated.der" good delegated
expect 0 "a delegated responder's answer: accepted" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/ica.der" --ocsp "$WORK/identity-delegated.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "cci SIMULATED NVIDIA GH100 Identity good" "the identity is good"
check "a responder certificate from the root without id-kp-OCSPSigning" -- ocsp_delegate root noeku none
check "... its answer" -- ocsp_answer identity root "$WORK/identity-noeku.der" good noeku
expect 1 "a responder without id-kp-OCSPSigning: rejected" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/good/ica.der" --ocsp "$WORK/identity-noeku.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "lacks the extended key usage id-kp-OCSPSigning" "the missing usage is named"
check "a SHA-1 CertID" -- ocsp_answer ica identity "$WORK/ica-sha1.der" good identity sha1
expect 0 "an answer with a SHA-1 CertID is matched too" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/ica-sha1.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der"

# Hostile files: a flipped signature byte, a truncated answer, something that is no answer.
OCSP_EXTRA=-resp_no_certs check "an answer without certificates, its signature last" -- ocsp_answer ica identity "$WORK/ica-nocerts.der"
expect 0 "... is accepted as it is" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/ica-nocerts.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der"
check "flip its last byte (in the signature)" -- python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[-1]^=1; open(sys.argv[2],'wb').write(b)" \
  "$WORK/ica-nocerts.der" "$WORK/ica-flipped.der"
expect 1 "a flipped signature: rejected" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/good/brom.der" --ocsp "$WORK/ica-flipped.der" --ocsp "$WORK/good/identity.der" --ocsp "$WORK/good/rim_signer.der"
contains "$WORK/out" "the signature does not verify" "the signature is named"
head -c 100 "$WORK/good/ica.der" >"$WORK/ica-short.der"
expect 1 "a truncated answer is malformed" -- "$VERIFY" "${R[@]}" --ocsp "$WORK/ica-short.der"
contains "$WORK/err" "--ocsp $WORK/ica-short.der: not a DER OCSP response" "the file is named"
expect 1 "a certificate given as an answer is malformed" -- "$VERIFY" "${R[@]}" --ocsp "$SIM/nvidia/device_root.pem"
expect 2 "--ocsp with CPU evidence is a usage error" -- "$VERIFY" "${SNP_OK[@]}" --ocsp "$WORK/good/ica.der"
contains "$WORK/err" "are for NVIDIA GPU evidence" "the flag's evidence is named"

# Live: cci-verify fetch (and report without --offline) ask a responder on 127.0.0.1 that answers
# with OpenSSL's responder for each issuer (ocsp_server.py), with a fresh nonce every time.
python3 "$(dirname "$0")/ocsp_server.py" --dir "$WORK/ocsp" --issuer ica --issuer identity --issuer root --issuer rim_root \
  --port-file "$WORK/port" --log "$WORK/ocsp.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
OCSP="http://127.0.0.1:$(cat "$WORK/port")"
requests() { grep -c "^$1 application/ocsp-request" "$WORK/ocsp.log" 2>/dev/null || echo 0; }
F=(fetch "$WORK/gpu.json" --items ocsp --driver-rim "$SIM/nvidia/driver_rim.xml" --vbios-rim "$SIM/nvidia/vbios_rim.xml" --trust-sim-root "$SIM")
expect 0 "fetch: answers about BROM, ICA, identity and the RIM signer" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/ok" --cache-dir "$WORK/c1" --output-dir "$WORK/answers"
for cn in "cci SIMULATED GH100 A01 GSP BROM" "cci SIMULATED NVIDIA GH100 Provisioner ICA" "cci SIMULATED NVIDIA GH100 Identity" "cci SIMULATED HCC RIM Signer"; do
  contains "$WORK/out" "downloaded ocsp $cn" "$cn asked"
done
check "four requests, the RIM signer of both RIMs asked once, as application/ocsp-request" -- test "$(requests ok)" = 4
check "--output-dir holds the answers" -- test -s "$WORK/answers/cci_SIMULATED_GH100_A01_GSP_BROM.ocsp.der"
expect 0 "report --offline takes the answers from the cache" -- "$VERIFY" "${R[@]}" --offline --cache-dir "$WORK/c1"
contains "$WORK/out" "PASS  nvgpu.revocation" "revocation passes from the cache"
contains "$WORK/out" "PASS  nvgpu.vbios_rim_revocation" "... for the RIM signer too"
expect 0 "fetch again: the cache's answers are current, nothing asked" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/ok" --cache-dir "$WORK/c1"
contains "$WORK/out" "cached     ocsp cci SIMULATED GH100 A01 GSP BROM" "cached is said"
check "... no new request" -- test "$(requests ok)" = 4
expect 0 "fetch --json" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/ok" --cache-dir "$WORK/c1" --json
check "json: four items, all cached" -- sh -c "jq -e '(.items | length) == 4 and all(.items[]; .status == \"cached\")' '$WORK/out' >/dev/null"
expect 0 "report without --offline asks the responder itself" -- "$VERIFY" "${R[@]}" --ocsp-url "$OCSP/ok" --cache-dir "$WORK/c2"
contains "$WORK/err" "fetched the OCSP answer about cci SIMULATED NVIDIA GH100 Identity from $OCSP/ok" "the download is said"
expect 3 "a responder that does not answer: cannot evaluate" -- "$VERIFY" "${R[@]}" --cache-dir "$WORK/c3"
contains "$WORK/err" "cannot get an OCSP answer about cci SIMULATED GH100 A01 GSP BROM" "the failure is said"
expect 3 "fetch from a responder answering HTTP 500" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/error" --cache-dir "$WORK/c4"
contains "$WORK/err" "HTTP 500 for the OCSP request about" "the status is named"
check "nothing cached" -- test ! -d "$WORK/c4/nvidia/ocsp"
expect 0 "fetch from a responder that will replay its first answer" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/replay" --cache-dir "$WORK/c5"
expect 3 "... its replayed answers carry an old nonce: refused, not cached" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/replay" --refresh --cache-dir "$WORK/c5"
contains "$WORK/err" "does not carry the request's nonce" "the replay is named"
expect 2 "--items other than rim and ocsp for GPU evidence" -- "$VERIFY" fetch "$WORK/gpu.json" --items vcek --cache-dir "$WORK/c5"
BROM_SERIAL="$(openssl x509 -in "$WORK/ocsp/brom.pem" -noout -serial | cut -d= -f2)"
printf '{"%s": "revoked"}\n' "$BROM_SERIAL" >"$WORK/ocsp/status.json"
expect 0 "fetch --refresh: the responder now says the BROM is revoked, and that answer is cached" -- "$VERIFY" "${F[@]}" --ocsp-url "$OCSP/ok" --refresh --cache-dir "$WORK/c1"
expect 1 "report --offline: the revoked device certificate rejects the GPU" -- "$VERIFY" "${R[@]}" --offline --cache-dir "$WORK/c1"
contains "$WORK/out" "FAIL  nvgpu.revocation: the device chain: cci SIMULATED GH100 A01 GSP BROM is REVOKED" "revoked, from the cache"
finish
