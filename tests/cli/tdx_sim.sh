#!/usr/bin/env bash
# The Intel TDX simulator end to end: cci-run sim init --vendor intel -> cci-run attest --tee
# sim-tdx -> cci-verify report. Refused without --trust-sim-root (exit 1), accepted with it
# (SIMULATED in text and JSON). Its quotes are checked a second way: cut apart by a Python reader
# written from Intel's quote format and the signatures verified with the openssl command. A PCK
# certificate revoked in a CRL made by `openssl ca` is refused (exit 1), collateral past its
# nextUpdate cannot evaluate (exit 3), a debug TD, another MRTD and flipped bytes are refused.
source "$(dirname "$0")/lib.sh"
SIM="$WORK/sim"
I="$SIM/intel"
MRTD=$(printf 'cd%.0s' $(seq 48))
NONCE=00112233445566778899aabbccddeeff

expect 0 "sim init --vendor intel" -- "$RUN" sim init "$SIM" --vendor intel --measurement "$MRTD"
contains "$WORK/out" "SIMULATED: not Intel hardware" "init says SIMULATED"
check "private keys are 0600" -- test "$(stat -c %a "$I/pck.key" "$I/attestation.key" "$I/root.key" | sort -u)" = 600
for f in tcb_info.json qe_identity.json tcb_info_issuer_chain.pem qe_identity_issuer_chain.pem pck_crl.der root_ca_crl.der; do
  check "collateral/$f written" -- test -s "$I/collateral/$f"
done
expect 3 "sim init refuses to overwrite" -- "$RUN" sim init "$SIM" --vendor intel
expect 2 "an SNP-only flag for a TDX platform" -- "$RUN" sim init "$WORK/sim2" --vendor intel --host-data 00
expect 2 "an MRTD of the wrong size" -- "$RUN" sim init "$WORK/sim3" --vendor intel --measurement 00

expect 0 "attest --tee sim-tdx (quote v5)" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" -o "$WORK/e.json"
contains "$WORK/err" "SIMULATED Intel TDX" "attest warns that it is simulated"
check "evidence file: tee sim-tdx, simulated" -- jq -e >/dev/null '.tee == "sim-tdx" and .simulated == true' "$WORK/e.json"
expect 0 "attest --report-version 4" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" --report-version 4 -o "$WORK/e4.json"
expect 2 "an SNP report version for TDX" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" --report-version 2 -o "$WORK/x.json"

# A second reader: Intel's layout in Python, the signatures with openssl.
for v in e e4; do
  jq -r .report "$WORK/$v.json" | base64 -d >"$WORK/$v.quote"
  mkdir -p "$WORK/$v"
  expect 0 "$v: the quote cuts apart by Intel's layout; QE REPORT_DATA binds the attestation key" -- \
    python3 "$(dirname "$0")/tdx_quote_split.py" "$WORK/$v.quote" "$WORK/$v"
  cp "$WORK/out" "$WORK/$v.fields"
  check "$v: MRTD and REPORT_DATA where Intel's layout puts them" -- test \
    "$(jq -r '"\(.mr_td) \(.report_data)"' "$WORK/$v.fields")" = "$MRTD ${NONCE}$(printf '00%.0s' $(seq 48))"
  expect 0 "$v: openssl verifies the quote signature with the attestation key" -- \
    openssl dgst -sha256 -verify "$WORK/$v/ak.pem" -signature "$WORK/$v/quote_sig.der" "$WORK/$v/signed.bin"
  openssl x509 -in "$WORK/$v/pck_chain.pem" -noout -pubkey >"$WORK/$v/pck_pub.pem"
  expect 0 "$v: openssl verifies the QE report signature with the PCK key" -- \
    openssl dgst -sha256 -verify "$WORK/$v/pck_pub.pem" -signature "$WORK/$v/qe_sig.der" "$WORK/$v/qe_report.bin"
  awk '/BEGIN/{n++} n>=2' "$WORK/$v/pck_chain.pem" >"$WORK/$v/untrusted.pem"
  expect 0 "$v: openssl verifies the PCK chain to the simulated root" -- \
    openssl verify -CAfile "$I/root.pem" -untrusted "$WORK/$v/untrusted.pem" "$WORK/$v/pck_chain.pem"
done
check "v4 and v5 quotes" -- test "$(jq -r .version "$WORK/e.fields") $(jq -r .version "$WORK/e4.fields")" = "5 4"

expect 1 "without --trust-sim-root the simulated root is refused" -- "$VERIFY" report "$WORK/e.json" --nonce "$NONCE" --measurement "$MRTD"
contains "$WORK/out" "FAIL  tdx.pck_chain" "the chain check fails"
contains "$WORK/out" "trust it by name with --trust-sim-root DIR" "the message says how to trust a simulator"
expect 0 "with --trust-sim-root: verified, SIMULATED" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MRTD"
contains "$WORK/out" "verified SIMULATED: $WORK/e.json is a SIMULATED Intel TDX quote v5 (TD15), FMSPC 53494d000000, TCB UpToDate, NOT hardware" \
  "the verdict says SIMULATED"
for c in tdx.root_crl tdx.pck_crl tdx.tcb_info tdx.qe_identity tdx.pck_chain tdx.pck_revocation tdx.qe_report_signature tdx.qe_report_data \
  tdx.qe_identity_match tdx.quote_signature tdx.fmspc tdx.tcb_level tdx.module_identity policy.measurement policy.report_data; do
  contains "$WORK/out" "PASS  $c:" "$c passes"
done
expect 0 "the v4 quote" -- "$VERIFY" report "$WORK/e4.json" --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MRTD" --json
check "json: simulated, intel, v4, UpToDate" -- jq -e >/dev/null \
  '.simulated == true and .vendor == "intel" and .report.version == 4 and .report.tcb.status == "UpToDate" and .result == "pass"' "$WORK/out"
expect 0 "the raw quote verifies the same" -- "$VERIFY" report "$WORK/e.quote" --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MRTD"
expect 3 "--trust-sim-root naming a directory without a TDX platform" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$WORK" --insecure-any-measurement
contains "$WORK/err" "no simulated Intel TDX platform there" "the error names the directory"

expect 0 "attest a debug TD" -- "$RUN" attest --tee sim-tdx --sim-dir "$SIM" --nonce "$NONCE" --debug -o "$WORK/debug.json"
expect 1 "a debug TD is refused" -- "$VERIFY" report "$WORK/debug.json" --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$MRTD"
contains "$WORK/out" "FAIL  policy.debug" "the debug finding is named"
expect 1 "another MRTD is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --nonce "$NONCE" --measurement "$(printf '%096d' 0)"
contains "$WORK/out" "FAIL  policy.measurement" "the measurement finding is named"
expect 1 "another nonce is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --nonce 00 --measurement "$MRTD"
contains "$WORK/out" "FAIL  policy.report_data" "the REPORT_DATA finding is named"

# Flipped bytes: REPORT_DATA (signed), the attestation key, the QE report, a PEM byte of the PCK leaf.
SIGNED=$(stat -c %s "$WORK/e/signed.bin")
for at in $((SIGNED - 10)) $((SIGNED + 4 + 64 + 5)) $((SIGNED + 4 + 134 + 100)) $((SIGNED + 4 + 134 + 384 + 64 + 2 + 32 + 6 + 200)); do
  cp "$WORK/e.quote" "$WORK/flip.quote"
  flip_byte "$WORK/flip.quote" "$at"
  expect 1 "a flipped quote byte at $at is refused" -- "$VERIFY" report "$WORK/flip.quote" --trust-sim-root "$SIM" --insecure-any-measurement
done
cp -r "$I/collateral" "$WORK/col-flip"
flip_byte "$WORK/col-flip/tcb_info.json" 40
expect 1 "a flipped byte in TCB Info is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --tdx-collateral "$WORK/col-flip" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.tcb_info" "the TCB Info check is named"

# Collateral past nextUpdate (a year after init) cannot evaluate; a time the user names is used.
expect 3 "collateral past its nextUpdate: cannot evaluate" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --insecure-any-measurement \
  --at "$(date -u -d '+400 days' +%Y-%m-%dT%H:%M:%SZ)"

# Revocation, with CRLs made by openssl's own CA tool (not by cci): the PCK certificate in the
# PCK CRL, then the PCK CA in the root CA CRL.
revoke() {  # revoke CERT ISSUER_CERT ISSUER_KEY OUT_DER
  local d="$WORK/ca-$RANDOM"
  mkdir -p "$d"
  printf 'R\t491231235959Z\t%s\t%s\tunknown\t/CN=revoked\n' "$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)" \
    "$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)" >"$d/index.txt"
  echo 01 >"$d/crlnumber"
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=30\n' "$d" "$d" >"$d/ca.cnf"
  openssl ca -batch -gencrl -config "$d/ca.cnf" -cert "$2" -keyfile "$3" -out "$d/crl.pem" 2>"$d/log" &&
    openssl crl -in "$d/crl.pem" -outform DER -out "$4"
}
cp -r "$I/collateral" "$WORK/col-pck"
check "openssl ca makes a PCK CRL listing the PCK certificate" -- revoke "$I/pck.pem" "$I/pck_ca.pem" "$I/pck_ca.key" "$WORK/col-pck/pck_crl.der"
expect 1 "a revoked PCK certificate is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --tdx-collateral "$WORK/col-pck" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.pck_revocation: the PCK certificate is revoked by the PCK CRL" "the revocation is named"
cp -r "$I/collateral" "$WORK/col-ca"
check "openssl ca makes a root CA CRL listing the PCK CA" -- revoke "$I/pck_ca.pem" "$I/root.pem" "$I/root.key" "$WORK/col-ca/root_ca_crl.der"
expect 1 "a revoked PCK CA is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --tdx-collateral "$WORK/col-ca" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.pck_revocation: the PCK CA is revoked by the root CA CRL" "the CA's revocation is named"
cp -r "$I/collateral" "$WORK/col-unsigned"
# An impostor CA: the PCK CA's name, another key.
openssl req -x509 -new -key "$I/tcb_signing.key" -subj "/$(openssl x509 -in "$I/pck_ca.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//' |
  awk -F, '{for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? "/" : "")}')" -days 30 -out "$WORK/impostor.pem" 2>/dev/null
check "the impostor CA has the PCK CA's name" -- test "$(openssl x509 -in "$WORK/impostor.pem" -noout -subject)" = "$(openssl x509 -in "$I/pck_ca.pem" -noout -subject)"
check "a PCK CRL signed by another key" -- revoke "$I/pck.pem" "$WORK/impostor.pem" "$I/tcb_signing.key" "$WORK/col-unsigned/pck_crl.der"
expect 1 "... is refused" -- "$VERIFY" report "$WORK/e.json" --trust-sim-root "$SIM" --tdx-collateral "$WORK/col-unsigned" --insecure-any-measurement
contains "$WORK/out" "FAIL  tdx.pck_crl" "the PCK CRL check is named"

# A TDX deployment manifest: MRTD computed from Debian's OVMF.fd, RTMR0-3 and MRCONFIGID as the
# description records them; the simulator plays that TD; an attested TLS certificate from it is
# accepted against the manifest alone, and refused when an RTMR or MRCONFIGID differs.
OVMF=/usr/share/ovmf/OVMF.fd
if [ -f "$OVMF" ]; then
  Z=$(printf '%096d' 0)
  R2=$(printf 'ab%.0s' $(seq 48))
  CFG=$(printf 'c0%.0s' $(seq 48))
  "$MEASURE" keygen --private-key "$WORK/release.key" >/dev/null 2>&1
  deployment() {  # deployment FILE [RTMR2 MRCONFIGID]: without them, a tdx launch with no rtmrs
    {
      printf 'version: 1\nname: tdx-demo\nmodel:\n  path: %s\nimages:\n  - name: td\n    ovmf: %s\n    launch:\n      - mode: tdx\n' \
        "$CCI_SOURCE_DIR/examples/tiny-model" "$OVMF"
      if [ $# -gt 1 ]; then printf '        rtmrs: [%s, %s, %s, %s]\n        mr_config_id: %s\n' "$Z" "$Z" "$2" "$Z" "$3"; fi
    } >"$1"
  }
  deployment "$WORK/tdx.yaml" "$R2" "$CFG"
  expect 0 "a deployment manifest with a tdx launch" -- "$MEASURE" manifest build "$WORK/tdx.yaml" --key "$WORK/release.key" -o "$WORK/tdx-manifest.json"
  "$VERIFY" manifest "$WORK/tdx-manifest.json" --key "$WORK/release.pub" --json >"$WORK/m.json" 2>/dev/null
  check "it records MRTD (sha384, not hardware-confirmed), RTMR0-3 and MRCONFIGID" -- jq -e >/dev/null --arg r2 "$R2" --arg cfg "$CFG" \
    '.predicate.images[0].launch_measurements[0] | .platform == "tdx" and .digest_alg == "sha384" and .hardware_confirmed == false and
     (.measurement | length) == 96 and .rtmrs[2] == $r2 and .mr_config_id == $cfg' "$WORK/m.json"
  check "the manifest validates against its schema" -- python3 "$(dirname "$0")/validate_json.py" "$CCI_SOURCE_DIR/manifests/deployment-v1.schema.json" \
    <(jq '.payload | @base64d | fromjson' "$WORK/tdx-manifest.json")
  TD_MRTD=$(jq -r '.predicate.images[0].launch_measurements[0].measurement' "$WORK/m.json")
  check "its MRTD is cci-measure image's" -- test "$TD_MRTD" = "$("$MEASURE" image --mode tdx --ovmf "$OVMF" 2>/dev/null)"
  # What a trustee KBS needs to release a model key to this TD: the TDX verifier's claims (hex).
  expect 0 "kbs-artifacts for the tdx deployment" -- "$MEASURE" kbs-artifacts "$WORK/tdx-manifest.json" --release-key "$WORK/release.pub" -o "$WORK/trustee" --json
  check "it counts one tdx launch and no SEV-SNP measurement" -- jq -e '.tdx_launches == 1 and .snp_measurements == 0' "$WORK/out"
  check "reference values: tdx.mr_td, tdx.rtmr_0..3 and tdx.mr_config_id, as sets" -- jq -e >/dev/null --arg m "$TD_MRTD" --arg r2 "$R2" --arg cfg "$CFG" --arg z "$Z" \
    '.["tdx.mr_td"] == [$m] and .["tdx.rtmr_0"] == [$z] and .["tdx.rtmr_2"] == [$r2] and .["tdx.mr_config_id"] == [$cfg]' "$WORK/trustee/reference-values.json"
  for want in "tdx := submod[\"ear.veraison.annotated-evidence\"].tdx" "tdx.quote.body.mr_td == \"$TD_MRTD\"" "tdx.quote.body.rtmr_2 == \"$R2\"" \
    "tdx.quote.body.mr_config_id == \"$CFG\"" "tdx.td_attributes.debug == false"; do
    contains "$WORK/trustee/resource-policy.rego" "$want" "the resource policy requires $want"
  done
  deployment "$WORK/nortmr.yaml"
  expect 3 "a tdx launch without rtmrs is refused (MRTD alone binds only the firmware)" -- "$MEASURE" manifest build "$WORK/nortmr.yaml" --key "$WORK/release.key" -o "$WORK/x.json"
  contains "$WORK/err" "rtmrs" "the error names rtmrs"

  # The simulator plays the TD: its RTMR2 and MRCONFIGID are set in platform.json (what a real TD's firmware and host would report).
  TDSIM="$WORK/tdsim"
  expect 0 "sim init playing the manifest's MRTD and MRCONFIGID" -- "$RUN" sim init "$TDSIM" --vendor intel --measurement "$TD_MRTD" --mr-config-id "$CFG"
  jq --arg r2 "$R2" '.guest.rtmr[2] = $r2' "$TDSIM/intel/platform.json" >"$WORK/p.json" && cp "$WORK/p.json" "$TDSIM/intel/platform.json"
  expect 0 "cci-run cert --tee sim-tdx" -- "$RUN" cert --tee sim-tdx --sim-dir "$TDSIM" --manifest "$WORK/tdx-manifest.json" --out "$WORK/td.pem" --key-out "$WORK/td.key" --dns localhost
  check "the certificate's evidence is an Intel TEE quote: CBOR tag 60000 (d9 ea60) around a 2-item array" -- \
    sh -c "openssl x509 -in '$WORK/td.pem' -outform DER | od -An -tx1 -v | tr -d ' \\n' | grep -q 'd9ea6082'"
  TV=(--trust-sim-root "$TDSIM" --manifest "$WORK/tdx-manifest.json" --release-key "$WORK/release.pub")
  expect 0 "cci-verify cert accepts it against the manifest alone" -- "$VERIFY" cert "$WORK/td.pem" "${TV[@]}"
  for c in policy.measurement policy.rtmr policy.report_data; do contains "$WORK/out" "PASS  $c" "$c passes"; done
  contains "$WORK/out" "verified SIMULATED:" "the verdict says SIMULATED"
  deployment "$WORK/tdx-other.yaml" "$Z" "$CFG"
  "$MEASURE" manifest build "$WORK/tdx-other.yaml" --key "$WORK/release.key" -o "$WORK/other-manifest.json" >/dev/null 2>&1
  expect 0 "a certificate naming the manifest with another RTMR2" -- "$RUN" cert --tee sim-tdx --sim-dir "$TDSIM" --manifest "$WORK/other-manifest.json" --out "$WORK/o.pem" --key-out "$WORK/o.key"
  expect 1 "... is refused: RTMR2 differs" -- "$VERIFY" cert "$WORK/o.pem" --trust-sim-root "$TDSIM" --manifest "$WORK/other-manifest.json" --release-key "$WORK/release.pub"
  contains "$WORK/out" "FAIL  policy.rtmr: RTMR2 differ" "the register is named"
  deployment "$WORK/tdx-cfg.yaml" "$R2" "$Z"
  "$MEASURE" manifest build "$WORK/tdx-cfg.yaml" --key "$WORK/release.key" -o "$WORK/cfg-manifest.json" >/dev/null 2>&1
  "$RUN" cert --tee sim-tdx --sim-dir "$TDSIM" --manifest "$WORK/cfg-manifest.json" --out "$WORK/c.pem" --key-out "$WORK/c.key" >/dev/null 2>&1
  expect 1 "another MRCONFIGID is refused" -- "$VERIFY" cert "$WORK/c.pem" --trust-sim-root "$TDSIM" --manifest "$WORK/cfg-manifest.json" --release-key "$WORK/release.pub"
  contains "$WORK/out" "FAIL  policy.rtmr: MRCONFIGID differ" "MRCONFIGID is named"
else
  echo "skipped part: $OVMF not installed (apt-get install ovmf)"
fi

# Hardware: --tee tdx needs configfs-tsm; the error says what was tried.
expect 3 "--tee tdx without configfs-tsm" -- "$RUN" attest --tee tdx --tsm-root "$WORK/no-tsm" --tdx-guest "$WORK/no-tdx" --nonce 00 -o "$WORK/x.json"
contains "$WORK/err" "configfs-tsm for TDX ($WORK/no-tsm: absent)" "the source tried is named"
check "no evidence file left behind" -- test ! -e "$WORK/x.json"
finish
