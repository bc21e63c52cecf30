#!/usr/bin/env bash
# cci-verify blob and cci-verify manifest --rekor-bundle, offline: every Sigstore conformance bundle
# and every Rekor-entry case of the Sigstore vectors gives its expected verdict through the CLI, in
# a network namespace when unprivileged ones are available; a deployment manifest logged by a
# pipeline (a Rekor entry written here from a test log key by rekor_entry.py) is checked to be in
# the log, signed by the release key.
source "$(dirname "$0")/lib.sh"
SIG="$CCI_TEST_VECTORS_DIR/sigstore"
if [ ! -f "$SIG/manifest.json" ]; then echo "skipped: vectors not found ($SIG)"; exit 77; fi
OFFLINE=()
unshare -rn true 2>/dev/null && OFFLINE=(unshare -rn)

python3 - "$SIG/manifest.json" >"$WORK/cases" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
for c in m["cases"]:
    if c["kind"] == "sigstore-bundle":
        print("\t".join(["bundle", c["id"], c["expect"], c["bundle"], c.get("artifact", "conformance/a.txt"),
                         c.get("trusted_root", "trusted_root/public-good.json"), c["identity"], c["issuer"]]))
    elif c["kind"] == "rekor-entry":
        print("\t".join(["entry", c["id"], c["expect"], c["log_entry"], c["artifact"], c["rekor_key"], c["artifact_key"], "-"]))
PY
nb=0 ne=0
while IFS=$'\t' read -r kind id verdict file artifact root identity issuer; do
  want=1; [ "$verdict" = accept ] && want=0
  # An unknown bundle version cannot be evaluated (exit 3): refused all the same.
  # A log key file that is no longer a key cannot be evaluated either (exit 3).
  case "$id" in *unknown-version* | *rekor-key-flipped) want=3 ;; esac
  if [ "$kind" = bundle ]; then
    expect "$want" "$id: $verdict" -- "${OFFLINE[@]}" "$VERIFY" blob "$SIG/$artifact" --bundle "$SIG/$file" --trusted-root "$SIG/$root" \
      --identity "$identity" --issuer "$issuer"
    nb=$((nb + 1))
  else
    expect "$want" "$id: $verdict" -- "${OFFLINE[@]}" "$VERIFY" blob "$SIG/$artifact" --rekor-entry "$SIG/$file" --rekor-key "$SIG/$root" --key "$SIG/$identity"
    ne=$((ne + 1))
  fi
done <"$WORK/cases"
check "all 37 conformance bundles ran ($nb)" -- test "$nb" -eq 37
check "all 7 Rekor entries ran ($ne)" -- test "$ne" -eq 7

HAPPY=(blob "$SIG/conformance/a.txt" --bundle "$SIG/conformance/happy-path-v0.3/bundle.sigstore.json" --trusted-root "$SIG/trusted_root/public-good.json"
  --issuer https://token.actions.githubusercontent.com)
ID=https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main
expect 0 "a message-signature bundle: the signer named" -- "$VERIFY" "${HAPPY[@]}" --identity "$ID"
contains "$WORK/out" "signed by $ID" "the signer in the verdict"
expect 0 "--json" -- "$VERIFY" --json "${HAPPY[@]}" --identity "$ID"
check "JSON names the signer and the media type" -- python3 -c "
import json; d=json.load(open('$WORK/out')); assert d['signer']['identity']=='$ID' and d['media_type'].endswith('version=0.3'), d"
expect 1 "another file under the same bundle" -- "$VERIFY" blob "$SIG/oak/endorsement.json" "${HAPPY[@]:2}" --identity "$ID"
contains "$WORK/err" "(tlog-body)" "the failing check named"
expect 1 "a clock before the signing time" -- "$VERIFY" "${HAPPY[@]}" --identity "$ID" --at 2020-01-01T00:00:00Z
contains "$WORK/err" "(signing-time)" "the signing time named"
expect 2 "neither --bundle nor --rekor-entry" -- "$VERIFY" blob "$SIG/conformance/a.txt"
expect 2 "a Rekor entry without the log's key" -- "$VERIFY" blob "$SIG/oak/endorsement.json" --rekor-entry "$SIG/oak/logentry.json"
expect 0 "a Rekor entry checked against the trusted root's log" -- "$VERIFY" blob "$SIG/oak/endorsement.json" --rekor-entry "$SIG/oak/logentry.json" \
  --trusted-root "$SIG/trusted_root/public-good.json"
contains "$WORK/err" "give --key PUB" "an unchecked signer is pointed out"
expect 1 "a Rekor entry by another signer than --key" -- "$VERIFY" blob "$SIG/oak/endorsement.json" --rekor-entry "$SIG/oak/logentry.json" \
  --rekor-key "$SIG/oak/rekor_public_key.pem" --key "$OMS/keys/signing-key-pub.pem"
contains "$WORK/err" "(signature)" "the signer named as the failing check"

# A deployment manifest in the log (what a pipeline's cosign sign-blob --key release.key leaves).
set -e
"$MEASURE" keygen --private-key "$WORK/release.key" >/dev/null 2>&1
"$MEASURE" keygen --private-key "$WORK/other.key" >/dev/null 2>&1
"$MEASURE" manifest build "$CCI_SOURCE_DIR/examples/cci.yaml" --key "$WORK/release.key" -o "$WORK/m.json" >/dev/null 2>&1
openssl ecparam -name prime256v1 -genkey -noout -out "$WORK/log.key" 2>/dev/null
openssl ec -in "$WORK/log.key" -pubout -out "$WORK/log.pub" 2>/dev/null
R="$CCI_SOURCE_DIR/tests/cli/rekor_entry.py"
python3 "$R" "$WORK/m.json" "$WORK/release.key" "$WORK/release.pub" "$WORK/log.key" "$WORK/log.pub" "$WORK/m.rekor.json"
python3 "$R" "$WORK/m.json" "$WORK/release.key" "$WORK/release.pub" "$WORK/log.key" "$WORK/log.pub" "$WORK/m.cosign.json" --cosign
python3 "$R" "$WORK/m.json" "$WORK/other.key" "$WORK/other.pub" "$WORK/log.key" "$WORK/log.pub" "$WORK/other.rekor.json"
python3 "$R" "$WORK/m.json" "$WORK/release.key" "$WORK/release.pub" "$WORK/other.key" "$WORK/other.pub" "$WORK/wronglog.rekor.json"
set +e
M=(manifest "$WORK/m.json" --release-key "$WORK/release.pub")
expect 0 "the manifest is in the log, signed by the release key" -- "${OFFLINE[@]}" "$VERIFY" "${M[@]}" --rekor-bundle "$WORK/m.rekor.json" --rekor-key "$WORK/log.pub"
contains "$WORK/err" "inclusion proof and signed checkpoint checked" "the inclusion proof checked"
expect 0 "cosign's bundle form (rekorBundle: the log's promise)" -- "$VERIFY" "${M[@]}" --rekor-bundle "$WORK/m.cosign.json" --rekor-key "$WORK/log.pub"
expect 0 "--json: the log position" -- "$VERIFY" --json "${M[@]}" --rekor-bundle "$WORK/m.rekor.json" --rekor-key "$WORK/log.pub"
check "JSON transparency_log" -- python3 -c "
import json; d=json.load(open('$WORK/out'))['transparency_log']; assert d['log_index']==4242 and d['inclusion_proof'] is True and d['kind']=='rekord', d"
expect 1 "logged by another key than the release key" -- "$VERIFY" "${M[@]}" --rekor-bundle "$WORK/other.rekor.json" --rekor-key "$WORK/log.pub"
contains "$WORK/err" "(signature)" "the signer named"
expect 1 "an entry the log's key did not sign" -- "$VERIFY" "${M[@]}" --rekor-bundle "$WORK/wronglog.rekor.json" --rekor-key "$WORK/log.pub"
contains "$WORK/err" "(tlog-set)" "the signed entry timestamp named"
expect 1 "the entry of another file" -- "$VERIFY" "${M[@]}" --rekor-bundle "$SIG/oak/logentry.json" --rekor-key "$SIG/oak/rekor_public_key.pem"
contains "$WORK/err" "(rekord-artifact-hash)" "the artifact hash named"
expect 1 "a log key missing from the trusted root" -- "$VERIFY" "${M[@]}" --rekor-bundle "$WORK/m.rekor.json" --trusted-root "$SIG/trusted_root/public-good.json"
contains "$WORK/err" "(tlog-key-unknown)" "the unknown log named"
expect 2 "--rekor-key without --rekor-bundle" -- "$VERIFY" "${M[@]}" --rekor-key "$WORK/log.pub"
finish
