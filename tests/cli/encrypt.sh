#!/usr/bin/env bash
# cci-measure encrypt / decrypt on the embedded model: the round trip is byte-identical; an
# independent Python implementation of docs/encrypted-model.md (python3-cryptography) reads what
# cci wrote and writes what cci reads; every tampered input is refused (exit 1) naming what
# failed, with nothing left behind; usage errors (exit 2) come before any work.
source "$(dirname "$0")/lib.sh"
REF="$(dirname "$0")/cci_enc_reference.py"
python3 -c 'import cryptography' 2>/dev/null || { echo "FAIL: python3-cryptography missing (scripts/test installs it)"; exit 1; }
cp -r "$CCI_SOURCE_DIR/models/kjv-tiny" "$WORK/model"
M="$WORK/model"

expect 0 "encrypt the embedded model (a new key)" -- "$MEASURE" encrypt "$M" -o "$WORK/enc" --key-id kbs:///default/kjv/dek --chunk-size 65536
contains "$WORK/out" "wrote a new model key to $WORK/enc.dek (mode 0600)" "the new key file is named"
check "the key is 32 bytes, mode 0600" -- test "$(stat -c '%s %a' "$WORK/enc.dek")" = "32 600"
check "the key is never printed" -- bash -c "! grep -q -F \"\$(od -An -tx1 '$WORK/enc.dek' | tr -d ' \n')\" '$WORK/out' '$WORK/err'"
check "every file sealed, plus the index" -- test "$(ls "$WORK/enc" | wc -l)" = "$(( $(ls "$M" | wc -l) + 1 ))"
check "the index names the key id and every file's sealed digest" -- \
  jq -e '.schema == "cci.encrypted-model.v1" and .key_id == "kbs:///default/kjv/dek" and (.files | length) == 5 and all(.files[]; (.sealed_sha256 | length) == 64)' "$WORK/enc/cci-encryption.json"
check "the index digests are the files' SHA-256" -- bash -c \
  "cd '$WORK/enc' && jq -r '.files[] | \"\(.sealed_sha256)  \(.name)\"' cci-encryption.json | sha256sum -c --quiet"
check "no plaintext left in the sealed weights (a 64-byte run of the original is absent)" -- bash -c \
  "! grep -q -F -f <(head -c 4096 '$M/model.safetensors' | tail -c 64 | od -An -tx1 | tr -d ' \n') <(od -An -tx1 -v '$WORK/enc/model.safetensors' | tr -d ' \n')"

# The Python reader decrypts what cci wrote, file by file.
for f in "$M"/*; do
  n="$(basename "$f")"
  check "the reference reads $n" -- bash -c "python3 '$REF' decrypt '$WORK/enc.dek' '$WORK/enc/$n' | cmp -s - '$f'"
done

expect 0 "decrypt" -- "$MEASURE" decrypt "$WORK/enc" -o "$WORK/plain" --dek "$WORK/enc.dek"
check "the round trip is byte-identical" -- diff -r "$M" "$WORK/plain"
check "the plaintext directory is 0700" -- test "$(stat -c %a "$WORK/plain")" = 700
expect 0 "decrypt --json" -- "$MEASURE" decrypt "$WORK/enc" -o "$WORK/plain2" --dek "$WORK/enc.dek" --json
check "json names the key id and the model digest" -- jq -e '.key_id == "kbs:///default/kjv/dek" and (.model_digest.sha256 | length) == 64' "$WORK/out"
check "the model digest is cci-measure model's root digest" -- test "$(jq -r .model_digest.sha256 "$WORK/out")" = "$("$MEASURE" model "$M" --print-digest 2>/dev/null)"

# What the Python writer seals, cci reads: a one-file model whose digest the reference computes.
mkdir -p "$WORK/one" "$WORK/one.enc"
printf 'a model of one file\n' >"$WORK/one/w.bin"
ROOT="$(python3 -c 'import hashlib,sys; d=hashlib.sha256(open(sys.argv[1],"rb").read()).digest(); print(hashlib.sha256(d).hexdigest())' "$WORK/one/w.bin")"
python3 "$REF" encrypt "$WORK/enc.dek" "$WORK/one/w.bin" w.bin file:///k 4096 0102030405060a "$ROOT" >"$WORK/one.enc/w.bin"
expect 0 "cci decrypts what the reference sealed" -- "$MEASURE" decrypt "$WORK/one.enc" -o "$WORK/one.plain" --dek "$WORK/enc.dek"
check "... to the same bytes" -- cmp "$WORK/one/w.bin" "$WORK/one.plain/w.bin"

# The deployment manifest records the encrypted copy: key id and sealed digests, checked to be this model.
printf 'version: 1\nname: sealed\nmodel:\n  path: %s\n  encrypted: %s\n' "$M" "$WORK/enc" >"$WORK/sealed.yaml"
"$MEASURE" keygen --private-key "$WORK/rel.key" >/dev/null 2>&1
expect 0 "manifest build with model.encrypted" -- "$MEASURE" manifest build "$WORK/sealed.yaml" --key "$WORK/rel.key" -o "$WORK/sealed-manifest.json"
expect 0 "... which verifies" -- "$VERIFY" manifest "$WORK/sealed-manifest.json" --release-key "$WORK/rel.pub" --json
check "the manifest records the key id and every sealed file's digest, equal to the index" -- bash -c \
  "test \"\$(jq -c '[.predicate.model.encryption.key_id, (.predicate.model.encryption.files | map([.name, .sealed_sha256]))]' '$WORK/out')\" = \"\$(jq -c '[.key_id, (.files | map([.name, .sealed_sha256]))]' '$WORK/enc/cci-encryption.json')\""
check "the manifest validates against its schema" -- python3 "$(dirname "$0")/validate_json.py" "$CCI_SOURCE_DIR/manifests/deployment-v1.schema.json" <(jq '.payload | @base64d | fromjson' "$WORK/sealed-manifest.json")
printf 'version: 1\nname: sealed\nmodel:\n  path: %s\n  encrypted: %s\n' "$WORK/one" "$WORK/enc" >"$WORK/other.yaml"
expect 1 "model.encrypted of another model is refused" -- "$MEASURE" manifest build "$WORK/other.yaml" --key "$WORK/rel.key" -o "$WORK/x.json"
contains "$WORK/err" "is not this model encrypted" "the mismatch is named"

# Attacks: each refused with exit 1, naming what failed, and no output directory.
attack() {  # attack DESCRIPTION WANT: decrypt $WORK/bad (prepared by the caller)
  expect 1 "$1" -- "$MEASURE" decrypt "$WORK/bad" -o "$WORK/bad.plain" --dek "${KEY:-$WORK/enc.dek}"
  contains "$WORK/err" "$2" "... names it"
  check "... and leaves nothing behind" -- bash -c "! ls -a '$WORK' | grep -q -e '^bad.plain' -e '.partial-'"
}
fresh() { rm -rf "$WORK/bad"; cp -r "$WORK/enc" "$WORK/bad"; }
fresh; head -c 32 /dev/urandom >"$WORK/other.dek"; chmod 600 "$WORK/other.dek"
KEY="$WORK/other.dek" attack "a wrong key" "does not decrypt with this key"
fresh; flip_byte "$WORK/bad/model.safetensors" 70000
attack "a flipped ciphertext byte" "model.safetensors: chunk 1 of"
fresh; truncate -s -1 "$WORK/bad/model.safetensors"
attack "a truncated file" "the file was truncated or extended"
fresh; HS="$(python3 "$REF" header "$WORK/enc/model.safetensors" | jq .header_size)"
python3 - "$WORK/bad/model.safetensors" "$HS" <<'PY'
import sys
p, hs, cs = sys.argv[1], int(sys.argv[2]), 65536 + 16
b = bytearray(open(p, "rb").read())
b[hs:hs + cs], b[hs + cs:hs + 2 * cs] = b[hs + cs:hs + 2 * cs], b[hs:hs + cs]
open(p, "wb").write(b)
PY
attack "two chunks swapped" "chunk 0 of"
fresh; mv "$WORK/bad/config.json" "$WORK/bad/config.renamed.json"
attack "a renamed file" "holds the encrypted file 'config.json'"
fresh; rm "$WORK/bad/training.json"
attack "a dropped file" "a file was removed, added or taken from another model"
unset KEY

# Usage errors: exit 2, before any work.
expect 2 "encrypt into an existing directory" -- "$MEASURE" encrypt "$M" -o "$WORK/enc" --key-id kbs:///a/b/c --dek "$WORK/enc.dek"
expect 2 "a new key over an existing key file" -- "$MEASURE" encrypt "$M" -o "$WORK/enc3" --key-id kbs:///a/b/c --dek-out "$WORK/enc.dek"
check "... which is unchanged" -- test "$(stat -c %s "$WORK/enc.dek")" = 32
expect 2 "a chunk size that is not a power of two" -- "$MEASURE" encrypt "$M" -o "$WORK/enc4" --key-id kbs:///a/b/c --chunk-size 5000
contains "$WORK/err" "chunk_size" "the field is named"
expect 2 "a key id with a space" -- "$MEASURE" encrypt "$M" -o "$WORK/enc5" --key-id "kbs:///a b"
expect 2 "an output inside the model" -- "$MEASURE" encrypt "$M" -o "$M/enc" --key-id kbs:///a/b/c
expect 2 "-o - for a directory" -- "$MEASURE" encrypt "$M" -o - --key-id kbs:///a/b/c
expect 2 "--dek-out - (a key only to a 0600 file)" -- "$MEASURE" encrypt "$M" -o "$WORK/enc6" --key-id kbs:///a/b/c --dek-out -
expect 0 "--dek - reads the key from standard input" -- bash -c "'$MEASURE' decrypt '$WORK/enc' -o '$WORK/p5' --dek - < '$WORK/enc.dek'"
check "... and decrypts" -- diff -r "$M" "$WORK/p5"
check "no key file was made by the refused runs" -- bash -c "! ls '$WORK' | grep -q -e 'enc[345].dek'"
printf 'short' >"$WORK/short.dek"; chmod 600 "$WORK/short.dek"
expect 3 "a key file that is not 32 bytes" -- "$MEASURE" decrypt "$WORK/enc" -o "$WORK/p3" --dek "$WORK/short.dek"
contains "$WORK/err" "a model key is 32 raw bytes" "the key size is explained"
chmod 644 "$WORK/enc.dek"
expect 0 "a readable key file works, with a warning" -- "$MEASURE" decrypt "$WORK/enc" -o "$WORK/p4" --dek "$WORK/enc.dek"
contains "$WORK/err" "can be read by other users" "the warning names the risk"
# cci-measure kbs-artifacts: what a trustee KBS needs, from a signed deployment with launch measurements.
sed -e "s|path: tiny-model|path: $M|" -e "s|launch/|$CCI_SOURCE_DIR/examples/launch/|g" "$CCI_SOURCE_DIR/examples/cci.yaml" >"$WORK/full.yaml"
expect 0 "a deployment manifest with VM images" -- "$MEASURE" manifest build "$WORK/full.yaml" --key "$WORK/rel.key" -o "$WORK/full.json"
expect 0 "kbs-artifacts" -- "$MEASURE" kbs-artifacts "$WORK/full.json" --release-key "$WORK/rel.pub" -o "$WORK/trustee"
"$VERIFY" manifest "$WORK/full.json" --release-key "$WORK/rel.pub" --json >"$WORK/full.verified.json" 2>/dev/null
SNP_B64="$(jq -r '[.predicate.images[].launch_measurements[] | select(.platform == "snp") | .measurement] | unique | .[]' "$WORK/full.verified.json" |
  python3 -c 'import base64, sys; print("\n".join(base64.b64encode(bytes.fromhex(h)).decode() for h in sys.stdin.read().split()))' |
  sort | jq -R . | jq -sc .)"
CSV_HEX="$(jq -c '[.predicate.images[].launch_measurements[] | select(.platform == "csv") | .measurement] | unique | sort' "$WORK/full.verified.json")"
check "the RVPS reference values are the deployment's SNP measurements, base64 (the SNP verifier's claim form)" -- \
  test "$(jq -c '.snp_launch_measurement | sort' "$WORK/trustee/reference-values.json")" = "$SNP_B64"
check "... and its CSV measurements, hex (the CSV verifier's claim form)" -- test "$(jq -c '.csv_launch_measurement | sort' "$WORK/trustee/reference-values.json")" = "$CSV_HEX"
check "the RVPS message wraps exactly those values" -- bash -c \
  "jq -e '.version == \"0.1.0\" and .type == \"sample\"' '$WORK/trustee/rvps-message.json' >/dev/null &&
   test \"\$(jq -r .payload '$WORK/trustee/rvps-message.json' | base64 -d | jq -cS .)\" = \"\$(jq -cS . '$WORK/trustee/reference-values.json')\""
for m in $(echo "$SNP_B64" | jq -r '.[]'); do contains "$WORK/trustee/resource-policy.rego" "\"$m\"" "the resource policy lists $m"; done
contains "$WORK/trustee/resource-policy.rego" 'snp.policy_debug_allowed == "0"' "... requires debug off"
contains "$WORK/trustee/resource-policy.rego" 'to_number(snp.reported_tcb_microcode) >= 115' "... and the TCB minimums of the signed policy"
contains "$WORK/trustee/attestation-policy-csv.rego" "input.csv.measure in data.reference.csv_launch_measurement" "a CSV attestation policy"
expect 2 "kbs-artifacts into an existing directory" -- "$MEASURE" kbs-artifacts "$WORK/full.json" --release-key "$WORK/rel.pub" -o "$WORK/trustee"
"$MEASURE" keygen --private-key "$WORK/other.key" >/dev/null 2>&1
expect 1 "kbs-artifacts of a manifest under another key" -- "$MEASURE" kbs-artifacts "$WORK/full.json" --release-key "$WORK/other.pub" -o "$WORK/t2"
expect 3 "kbs-artifacts of a deployment without VM images" -- "$MEASURE" kbs-artifacts "$WORK/sealed-manifest.json" --release-key "$WORK/rel.pub" -o "$WORK/t3"
contains "$WORK/err" "no SEV-SNP, CSV or TDX launch measurement" "... saying why"
finish
