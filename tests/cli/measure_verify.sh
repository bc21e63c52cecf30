#!/usr/bin/env bash
# cci-measure / cci-verify end to end: the reference vectors, a round trip, every bad input
# of the foundation issue with its exit code.
source "$(dirname "$0")/lib.sh"
need_vectors

# --- reference vectors ---------------------------------------------------------------
expect 0 "files/sha256 root of mini-model" -- "$MEASURE" model "$OMS/mini-model" --print-digest --ignore ignore-me
contains "$WORK/out" 7711ef82e5afc53169152a43cf65f3eef9a2b2c4d397356041f5b2f25703aa58 "mini-model files/sha256 root"
expect 0 "files/blake2b root" -- "$MEASURE" model "$OMS/mini-model" --print-digest --ignore ignore-me --hash blake2b
contains "$WORK/out" a90927e4c0282ddcc750e64921000ac935d83f695ca61b7283427cf4d3b82207 "mini-model files/blake2b root"
expect 0 "shards(4) root" -- "$MEASURE" model "$OMS/mini-model" --print-digest --ignore ignore-me --shard-size 4
contains "$WORK/out" c837215e0e1b7d26c33f675b53a61362dbd98206bf8cd83289ee6c54a2cce35f "mini-model shards(4) root"
expect 0 "v1.1.0 key bundle" -- "$VERIFY" model "$OMS/v1.1.0-elliptic-key" --signature "$OMS/v1.1.0-elliptic-key/model.sig" --key "$OMS/keys/signing-key-pub.pem"
expect 0 "v1.0.1 key bundle" -- "$VERIFY" model "$OMS/v1.0.1-elliptic-key" --signature "$OMS/v1.0.1-elliptic-key/model.sig" --key "$OMS/keys/signing-key-pub.pem" --ignore ignore-me
for v in v1.1.0-certificate v1.0.1-certificate; do
  expect 0 "$v bundle" -- "$VERIFY" model "$OMS/$v" --signature "$OMS/$v/model.sig" --certificate-chain "$OMS/keys/int-ca-cert.pem" --certificate-chain "$OMS/keys/ca-cert.pem" --ignore ignore-me
done
expect 1 "certificate bundle after the certificates expired" -- "$VERIFY" model "$OMS/v1.1.0-certificate" --signature "$OMS/v1.1.0-certificate/model.sig" --certificate-chain "$OMS/keys/ca-cert.pem" --at 2040-01-01
contains "$WORK/out" "expired" "expiry is named"

# --- negative cases derived from the vectors -------------------------------------------
cp -r "$OMS/v1.1.0-elliptic-key" "$WORK/m"; chmod -R u+w "$WORK/m"
SIG="$WORK/m/model.sig"; PUB="$OMS/keys/signing-key-pub.pem"
printf 'signme-1\x01' > "$WORK/m/signme-1"
expect 1 "flipped byte in signme-1" -- "$VERIFY" model "$WORK/m" --signature "$SIG" --key "$PUB"
contains "$WORK/out" "mismatch: signme-1" "mismatching file named"
cp "$OMS/v1.1.0-elliptic-key/signme-1" "$WORK/m/signme-1"
echo extra > "$WORK/m/extra.txt"
expect 1 "extra unsigned file" -- "$VERIFY" model "$WORK/m" --signature "$SIG" --key "$PUB"
contains "$WORK/out" "extra: extra.txt" "extra file named"
expect 0 "extra file with --ignore-unsigned-files" -- "$VERIFY" model "$WORK/m" --signature "$SIG" --key "$PUB" --ignore-unsigned-files
rm "$WORK/m/extra.txt" "$WORK/m/signme-2"
expect 1 "missing file" -- "$VERIFY" model "$WORK/m" --signature "$SIG" --key "$PUB"
contains "$WORK/out" "missing: signme-2" "missing file named"
cp "$OMS/v1.1.0-elliptic-key/signme-2" "$WORK/m/"
python3 - "$SIG" "$WORK/badsig.sig" <<'PY'
import json, sys, base64
b = json.load(open(sys.argv[1])); s = bytearray(base64.b64decode(b["dsseEnvelope"]["signatures"][0]["sig"])); s[-2] ^= 1
b["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(s)).decode(); open(sys.argv[2], "w").write(json.dumps(b))
PY
expect 1 "flipped signature byte" -- "$VERIFY" model "$WORK/m" --signature "$WORK/badsig.sig" --key "$PUB"
head -c 300 "$SIG" > "$WORK/trunc.sig"
expect 1 "truncated bundle" -- "$VERIFY" model "$WORK/m" --signature "$WORK/trunc.sig" --key "$PUB"
contains "$WORK/err" "not valid JSON" "truncation explained"
echo '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}' > "$WORK/partial.sig"
expect 1 "bundle without material" -- "$VERIFY" model "$WORK/m" --signature "$WORK/partial.sig" --key "$PUB"
contains "$WORK/err" "verificationMaterial" "missing field named"
expect 3 "bundle file missing" -- "$VERIFY" model "$WORK/m" --signature "$WORK/nope.sig" --key "$PUB"
expect 2 "neither --key nor --certificate-chain" -- "$VERIFY" model "$WORK/m" --signature "$SIG"
expect 2 "unknown flag" -- "$VERIFY" model "$WORK/m" --frobnicate
expect 1 "--json on a rejection" -- "$VERIFY" model "$WORK/m" --signature "$WORK/badsig.sig" --key "$PUB" --json
contains "$WORK/out" '"exit_code": 1' "JSON carries the exit code"
contains "$WORK/out" '"schema": "cci.verify.model.v1"' "JSON carries its schema"

# --- keygen, sign, round trip ------------------------------------------------------------
expect 0 "keygen (default P-384)" -- "$MEASURE" keygen --private-key "$WORK/k.key"
check "private key mode 0600" -- test "$(stat -c %a "$WORK/k.key")" = 600
check "public key written next to it" -- test -s "$WORK/k.pub"
expect 2 "keygen refuses to overwrite" -- "$MEASURE" keygen --private-key "$WORK/k.key"
expect 0 "keygen p256 --force" -- "$MEASURE" keygen --private-key "$WORK/k.key" --type ecdsa-p256 --force
expect 0 "keygen sm2" -- "$MEASURE" keygen --private-key "$WORK/sm2.key" --type sm2
cp -r "$OMS/mini-model" "$WORK/model"; chmod -R u+w "$WORK/model"
expect 0 "sign mini-model" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o "$WORK/model.sig" --ignore ignore-me
expect 0 "round trip verifies" -- "$VERIFY" model "$WORK/model" --signature "$WORK/model.sig" --key "$WORK/k.pub"
# "-" for outputs: the bundle on standard output, the status lines on stderr, no file named "-".
(cd "$WORK" && "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o - --ignore ignore-me >"$WORK/stdout.sig" 2>"$WORK/err")
check "-o -: the bundle on standard output" -- test -s "$WORK/stdout.sig"
contains "$WORK/err" "wrote the bundle to standard output" "-o -: the status line goes to stderr"
check "-o - creates no file named -" -- test ! -e "$WORK/-"
expect 0 "the bundle from standard output verifies" -- "$VERIFY" model "$WORK/model" --signature "$WORK/stdout.sig" --key "$WORK/k.pub"
expect 2 "-o - with --json is a usage error (both on stdout)" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o - --json
expect 2 "-o - with --incremental is a usage error (the state needs a file)" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o - --incremental "$WORK/x.sig"
head -c 16384 /dev/zero >"$WORK/img"
expect 2 "verity --hash-file - is refused (the tree is written with seeks)" -- "$MEASURE" verity "$WORK/img" --hash-file -
contains "$WORK/err" "needs a file" "... saying why"
python3 - "$WORK/model.sig" <<'PY' > "$WORK/layout"
import json, sys, base64
b = json.load(open(sys.argv[1])); p = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
print(list(b), list(b["verificationMaterial"]), list(b["dsseEnvelope"]), list(p), list(p["predicate"]),
      list(p["predicate"]["resources"][0]), list(p["predicate"]["serialization"]), p["predicate"]["resources"][1]["name"])
PY
contains "$WORK/layout" "['mediaType', 'verificationMaterial', 'dsseEnvelope'] ['publicKey', 'tlogEntries'] ['payload', 'payloadType', 'signatures'] ['_type', 'subject', 'predicateType', 'predicate'] ['resources', 'serialization'] ['algorithm', 'name', 'digest'] ['allow_symlinks', 'method', 'hash_type', 'ignore_paths'] model/z.bin" "bundle layout follows the reference field for field"
# --incremental: the first run hashes everything and writes the state; a changed file is
# hashed again even with its old mtime put back; the statement equals a full sign's.
cp -r "$OMS/mini-model" "$WORK/inc"; chmod -R u+w "$WORK/inc"
expect 0 "incremental sign without a previous bundle" -- "$MEASURE" model "$WORK/inc" --key "$WORK/k.key" -o "$WORK/inc.sig" --ignore ignore-me --incremental "$WORK/inc.sig"
contains "$WORK/err" "hashing every file" "first incremental run says it hashes everything"
check "state written next to the bundle" -- test -s "$WORK/inc.sig.state"
old_mtime=$(stat -c %y "$WORK/inc/signme-1"); sleep 0.05
printf 'X' | dd of="$WORK/inc/signme-1" bs=1 count=1 conv=notrunc status=none; touch -d "$old_mtime" "$WORK/inc/signme-1"
expect 0 "incremental re-sign" -- "$MEASURE" model "$WORK/inc" --key "$WORK/k.key" -o "$WORK/inc2.sig" --ignore ignore-me --incremental "$WORK/inc.sig" --json
check "incremental: all files but the changed one reused" -- python3 -c 'import json,sys; i=json.load(open(sys.argv[1]))["incremental"]; n=json.load(open(sys.argv[1]))["files"]; sys.exit(0 if i["files_reused"] == n - 1 and i["previous"] else 1)' "$WORK/out"
expect 0 "full sign of the changed model" -- "$MEASURE" model "$WORK/inc" --key "$WORK/k.key" -o "$WORK/inc-full.sig" --ignore ignore-me
payload() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dsseEnvelope"]["payload"])' "$1"; }
check "incremental statement equals the full sign's" -- test "$(payload "$WORK/inc2.sig")" = "$(payload "$WORK/inc-full.sig")"
check "and differs from the old one (the change was seen)" -- test "$(payload "$WORK/inc2.sig")" != "$(payload "$WORK/inc.sig")"
expect 0 "incremental bundle verifies" -- "$VERIFY" model "$WORK/inc" --signature "$WORK/inc2.sig" --key "$WORK/k.pub"
expect 0 "another key" -- "$MEASURE" keygen --private-key "$WORK/other.key"
expect 3 "incremental from a bundle of another key" -- "$MEASURE" model "$WORK/inc" --key "$WORK/other.key" -o "$WORK/inc3.sig" --ignore ignore-me --incremental "$WORK/inc.sig"
contains "$WORK/err" "does not verify with the signing key" "foreign previous bundle refused"
expect 2 "incremental state inside the model" -- "$MEASURE" model "$WORK/inc" --key "$WORK/k.key" -o "$WORK/inc/m.sig" --incremental "$WORK/inc.sig"
contains "$WORK/err" "inside the model directory" "state inside the model refused"
expect 0 "sign inside the model dir (bundle ignored automatically)" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o "$WORK/model/model.sig"
expect 0 "verify with the bundle inside the dir" -- "$VERIFY" model "$WORK/model" --signature "$WORK/model/model.sig" --key "$WORK/k.pub"
expect 0 "sign with shards and blake2b" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o "$WORK/sh.sig" --shard-size 3 --hash blake2b --ignore model.sig
expect 0 "verify shards+blake2b" -- "$VERIFY" model "$WORK/model" --signature "$WORK/sh.sig" --key "$WORK/k.pub"
expect 2 "SM2 key cannot sign an OMS bundle" -- "$MEASURE" model "$WORK/model" --key "$WORK/sm2.key" -o "$WORK/x.sig"
check "no bundle written on failure" -- test ! -e "$WORK/x.sig"

# --- output replaced atomically, never half-written -----------------------------------------
echo "previous bundle" > "$WORK/out.sig"
expect 0 "existing output is replaced" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o "$WORK/out.sig"
check "replaced content is a bundle" -- grep -q dsseEnvelope "$WORK/out.sig"
cp "$WORK/out.sig" "$WORK/out.before"
ln -s /nonexistent "$WORK/model/dangling"
expect 3 "failing run (broken input) keeps the old output" -- "$MEASURE" model "$WORK/model" --key "$WORK/k.key" -o "$WORK/out.sig"
check "old output untouched" -- cmp -s "$WORK/out.sig" "$WORK/out.before"
check "no temporary files left" -- test -z "$(ls -A "$WORK" | grep '\.tmp-')"
rm "$WORK/model/dangling"

# --- keys ------------------------------------------------------------------------------
echo "not a key" > "$WORK/bad.key"
expect 3 "wrong key file" -- "$MEASURE" model "$WORK/model" --key "$WORK/bad.key" -o "$WORK/y.sig"
echo "s3cret" > "$WORK/pass"
expect 0 "keygen --encrypt" -- "$MEASURE" keygen --private-key "$WORK/enc.key" --key-pass-file "$WORK/pass"
expect 3 "encrypted key without passphrase" -- "$MEASURE" model "$WORK/model" --key "$WORK/enc.key" -o "$WORK/y.sig"
contains "$WORK/err" "encrypted" "encryption explained"
echo "wrong" > "$WORK/wrongpass"
expect 3 "encrypted key with a wrong passphrase" -- "$MEASURE" model "$WORK/model" --key "$WORK/enc.key" --key-pass-file "$WORK/wrongpass" -o "$WORK/y.sig"
expect 0 "encrypted key with CCI_KEY_PASSWORD" -- env CCI_KEY_PASSWORD=s3cret "$MEASURE" model "$WORK/model" --key "$WORK/enc.key" -o "$WORK/y.sig"
expect 0 "bundle signed with the encrypted key verifies" -- "$VERIFY" model "$WORK/model" --signature "$WORK/y.sig" --key "$WORK/enc.pub"
expect 1 "verifying with another key fails" -- "$VERIFY" model "$WORK/model" --signature "$WORK/y.sig" --key "$WORK/k.pub"
contains "$WORK/err" "y.sig is not signed by the key in $WORK/k.pub (oms.key_hint); the files were not checked" "a wrong key is named as such, not as a model mismatch"
expect 0 "verify --json lists every file, not only problems" -- "$VERIFY" model "$WORK/model" --signature "$WORK/y.sig" --release-key "$WORK/enc.pub" --json
check "... each with status ok" -- jq -e '(.files | length) > 0 and all(.files[]; .status == "ok")' "$WORK/out"

# --- hostile model trees -------------------------------------------------------------------
mkdir -p "$WORK/t1"; echo a > "$WORK/t1/a"; echo secret > "$WORK/outside"; ln -s "$WORK/outside" "$WORK/t1/link"
expect 3 "symlink to outside the directory" -- "$MEASURE" model "$WORK/t1" --print-digest
contains "$WORK/err" "allow-symlinks" "the fix is named"
expect 0 "... accepted with --allow-symlinks" -- "$MEASURE" model "$WORK/t1" --print-digest --allow-symlinks
mkdir -p "$WORK/t2/d"; echo a > "$WORK/t2/d/a"; ln -s .. "$WORK/t2/d/up"
expect 3 "symlink loop" -- "$MEASURE" model "$WORK/t2" --print-digest --allow-symlinks
contains "$WORK/err" "loop" "loop named"
mkdir -p "$WORK/t3"; echo a > "$WORK/t3/$(printf 'caf\xe9.bin')"
expect 3 "non-UTF-8 file name" -- "$MEASURE" model "$WORK/t3" --print-digest
contains "$WORK/err" 'caf\xe9.bin' "the name is shown escaped"
expect 3 "model path missing" -- "$MEASURE" model "$WORK/none" --print-digest
expect 2 "no key and no --print-digest" -- "$MEASURE" model "$WORK/t1"
expect 2 "bad --hash value" -- "$MEASURE" model "$WORK/t1" --print-digest --hash md5
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
  mkdir -p "$WORK/t4"; echo a > "$WORK/t4/a"; echo b > "$WORK/t4/b"; chmod 000 "$WORK/t4/b"; chmod 755 "$WORK" "$WORK/t4"
  expect 3 "unreadable file (as nobody)" -- setpriv --reuid=65534 --regid=65534 --clear-groups "$MEASURE" model "$WORK/t4" --print-digest
  contains "$WORK/err" "cannot open b" "unreadable file named"
elif [ "$(id -u)" -ne 0 ]; then
  mkdir -p "$WORK/t4"; echo a > "$WORK/t4/a"; echo b > "$WORK/t4/b"; chmod 000 "$WORK/t4/b"
  expect 3 "unreadable file" -- "$MEASURE" model "$WORK/t4" --print-digest
fi

# --- help and version ------------------------------------------------------------------------
for t in "$MEASURE" "$VERIFY" "$BENCH" "$RUN"; do
  expect 0 "$(basename "$t") --help" -- "$t" --help
  contains "$WORK/out" "Example" "$(basename "$t") --help shows an example"
  expect 0 "$(basename "$t") --version" -- "$t" --version
  cp "$WORK/out" "$WORK/version-long"
  expect 0 "$(basename "$t") -V" -- "$t" -V
  check "-V prints what --version prints" -- cmp -s "$WORK/out" "$WORK/version-long"
  check "man page for $(basename "$t")" -- test -s "$CCI_SOURCE_DIR/docs/man/$(basename "$t").1.md"
done
expect 0 "cci-measure model --help" -- "$MEASURE" model --help
contains "$WORK/out" "Examples:" "subcommand help has examples"
expect 2 "cci-run without a subcommand" -- "$RUN"
finish
